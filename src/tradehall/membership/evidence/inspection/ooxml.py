"""OOXML packages (DOCX, XLSX, PPTX): the package must declare the type libmagic saw
([Content_Types].xml's main part), and hold no macros (vbaProject, macro-enabled types,
ActiveX, Excel 4 macro sheets), no data connection, no binary workbook part (.xlsb: not XML,
not checked); its embedded objects and documents are checked (`embedded`), its relationships
(`relationships`) and every XML part (`ooxml_parts`) read.
"""

from __future__ import annotations

import re
import zipfile

from tradehall.membership.evidence.inspection.budget import _XmlBudget
from tradehall.membership.evidence.inspection.embedded import _check_embedded_objects
from tradehall.membership.evidence.inspection.formulas import (
    _CONNECTION_PART,
    _CONNECTION_REFUSED,
    _CONNECTION_TYPES,
)
from tradehall.membership.evidence.inspection.ooxml_parts import _DdeFinder
from tradehall.membership.evidence.inspection.relationships import _external_fetch
from tradehall.membership.evidence.inspection.verdicts import REFUSED, EvidenceRefused
from tradehall.membership.evidence.inspection.xml_parts import _one, _parse, _Part, _values
from tradehall.membership.evidence.inspection.zip_packages import MAX_MANIFEST_BYTES


class _ContentTypes(_Part):
    """[Content_Types].xml's Override and Default elements."""

    def __init__(self) -> None:
        super().__init__()
        self.declared_types: list[tuple[str, list[tuple[str, str]]]] = []

    def element(self, prefix: str, local: str, attributes: list[tuple[str, str]]) -> None:
        if local in ("Override", "Default"):
            self.declared_types.append((local, attributes))


# Part names (lowercased) and content types that carry macros or ActiveX controls.
_OOXML_ACTIVE_PARTS = re.compile(
    r"(?:^|/)(?:vbaproject\.bin|vbadata\.xml|activex/|macrosheets/|intlmacrosheets/)"
)
# "macrosheet": an Excel 4 macro sheet (the XLM macros refused in legacy XLS too).
_OOXML_ACTIVE_TYPES = ("macroenabled", "vbaproject", "activex", "ms-office.vba", "macrosheet")

# Excel's binary workbook (.xlsb) and its parts (BIFF12 records: worksheets, external links,
# connections, query tables, defined names), declared `application/vnd.ms-excel.…` without
# `+xml`. Their formulas and links are not XML: we cannot check them as we check a workbook's,
# so a binary part is refused wherever it is (a workbook, one embedded in a document, a part
# of an .xlsx). An ordinary user rarely embeds an .xlsb; Excel saves any of them as .xlsx.
# Excel's XML parts under its own types (a form control's properties, slicers, threaded
# comments: `+xml`), a legacy workbook embedded as an OLE object (`application/vnd.ms-excel`,
# checked as an object) and macro-enabled types (refused as macros) are not these.
_BINARY_EXCEL = "application/vnd.ms-excel."
_BINARY_REFUSED = (
    "this document holds a binary workbook or part of one ({}: Excel's .xlsb format, whose "
    "formulas and links cannot be checked); send it saved as .xlsx (Excel Workbook)"
)


def _binary_excel(content_type: str) -> bool:
    """Whether a (lowercased) content type is a binary Excel part's."""
    return "sheet.binary" in content_type or (
        content_type.startswith(_BINARY_EXCEL)
        and _XML_TYPE.search(content_type) is None
        and not any(word in content_type for word in _OOXML_ACTIVE_TYPES)
    )


def _check_ooxml_package(
    package: zipfile.ZipFile, main_type: str | None, budget: _XmlBudget, depth: int
) -> None:
    """An OOXML package: the document (`main_type`, its main part's) or one embedded in it
    (`main_type` None: any kind, as its object names it), `depth` packages deep."""
    names = {entry.filename for entry in package.infolist()}
    for name in names:
        lowered = name.lower()
        if _OOXML_ACTIVE_PARTS.search(lowered):
            raise EvidenceRefused("this document holds macros or ActiveX controls", REFUSED)
        if lowered == _CONNECTION_PART:
            raise EvidenceRefused(_CONNECTION_REFUSED.format(name), REFUSED)
    _check_embedded_objects(package, budget, depth)
    types = _ContentTypes()
    declaration = budget.read(package, "[Content_Types].xml", MAX_MANIFEST_BYTES)
    _parse(declaration, types, "[Content_Types].xml", budget)
    mains = []
    xml_parts: set[str] = set()  # declared XML (lowercased: OPC's names ignore case)
    xml_extensions: set[str] = set()
    for kind, attributes in types.declared_types:
        content_types = _values(attributes, "ContentType")
        for content_type in content_types:
            lowered = content_type.strip().lower()
            if _binary_excel(lowered):
                parts = _values(attributes, "PartName") or [
                    f"*.{extension}" for extension in _values(attributes, "Extension")
                ]
                raise EvidenceRefused(_BINARY_REFUSED.format(", ".join(parts)), REFUSED)
            if any(word in lowered for word in _OOXML_ACTIVE_TYPES):
                raise EvidenceRefused("this document holds macros or ActiveX controls", REFUSED)
            if any(word in lowered for word in _CONNECTION_TYPES):
                where = ", ".join(_values(attributes, "PartName")) or "declared"
                raise EvidenceRefused(_CONNECTION_REFUSED.format(where), REFUSED)
        if kind == "Override" and main_type in content_types:
            mains.append((_one(attributes, "PartName") or "").lstrip("/"))
        if any(_XML_TYPE.search(content_type) for content_type in content_types):
            if kind == "Override":
                xml_parts.update(
                    name.lstrip("/").lower() for name in _values(attributes, "PartName")
                )
            else:
                xml_extensions.update(
                    extension.lower() for extension in _values(attributes, "Extension")
                )
    if main_type is not None and (len(mains) != 1 or mains[0] not in names):
        raise EvidenceRefused("this file is not the office document it appears to be", REFUSED)
    for name in sorted(names):
        if name.lower().endswith(".rels"):
            rels = budget.read(package, name, MAX_MANIFEST_BYTES)
            fetched = _external_fetch(rels, name, budget)
            if fetched is not None:
                raise EvidenceRefused(
                    f"this document fetches from outside as it opens ({fetched}); "
                    "send one without it",
                    REFUSED,
                )
        elif name != "[Content_Types].xml" and (
            name.lower() in xml_parts
            or name.lower().rpartition(".")[2] in xml_extensions
            or name.lower().endswith(".xml")
        ):
            _parse(budget.read(package, name), _DdeFinder(name), name, budget)


# Every XML part is read for DDE, wherever it is and whatever its name: Office opens a part by
# the content type [Content_Types].xml gives it (the document could be evil/main.dat), and
# fields or formulas are in the body, headers, notes, cells, defined names, conditional formats,
# data validations, tables, charts, external links.
_XML_TYPE = re.compile(r"[+/]xml\s*(?:;|$)", re.IGNORECASE)
