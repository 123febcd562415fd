"""What a package embeds: OLE objects (`ole_objects`) and documents embedded as packages of
their own (a workbook behind a chart, a presentation in a document), checked as the document
is, within its bounds, at most two deep; any other archive is refused.
"""

from __future__ import annotations

import io
import zipfile

from tradehall.membership.evidence.inspection.budget import _XmlBudget
from tradehall.membership.evidence.inspection.ole_objects import (
    _OLE_MAGIC,
    _embedded_object_refusal,
)
from tradehall.membership.evidence.inspection.verdicts import REFUSED, EvidenceRefused
from tradehall.membership.evidence.inspection.zip_packages import (
    _ZIP_MAGIC,
    _open_zip,
    _tail_holds_zip_end,
    _zip_in,
)

# A document embedded in the document as a package of its own (a workbook behind a chart,
# word/embeddings/Microsoft_Excel_Worksheet.xlsx; a presentation in a document) is checked as
# the document is, with the document's bounds (its parts, bytes and elements count with the
# document's); one nested deeper than this is refused.
MAX_NESTED_DEPTH = 2


def _check_embedded_objects(package: zipfile.ZipFile, budget: _XmlBudget, depth: int) -> None:
    """Every part that is an OLE compound file (whatever its name: Office finds an object by
    its relationship), checked as an object: not a package, an Equation Editor 3.0 object or a
    linked object (its source fetched when it is updated), and no macros or encryption in it.
    Every part that is a zip (an OOXML or ODF document embedded in this one), checked as a
    document: found by its first bytes or, after any others, by its end record (`_zip_in`)."""
    for entry in package.infolist():
        try:
            with package.open(entry) as part:
                head = part.read(len(_OLE_MAGIC))
                if head == _OLE_MAGIC or head.startswith(_ZIP_MAGIC):
                    data = head + part.read()
                elif _tail_holds_zip_end(part):  # a zip after a few bytes, perhaps
                    with package.open(entry) as again:
                        data = again.read()
                    if not _zip_in(data):
                        continue
                else:
                    continue
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
            raise EvidenceRefused("this office document is damaged", REFUSED) from None
        if head != _OLE_MAGIC:  # a zip
            _check_nested(data, entry.filename, budget, depth + 1)
            continue
        packages: list[tuple[str, bytes]] = []
        found = _embedded_object_refusal(data, packages)
        if found is not None:
            raise EvidenceRefused(
                f"this document holds {found} ({entry.filename}); send one without it "
                "(an embedded file can be sent on its own)",
                REFUSED,
            )
        for stream, document in packages:  # a document in the object: checked as one
            _check_nested(document, f"{entry.filename}:{stream}", budget, depth + 1)


def _check_nested(data: bytes, name: str, budget: _XmlBudget, depth: int) -> None:
    """A zip embedded in the document: an OOXML or ODF document, checked as the document is;
    anything else (an archive, a package of another kind) is refused, as is one nested more
    than `MAX_NESTED_DEPTH` deep. A refusal says where the embedded document is."""
    # Imported here, not above: `ooxml` and `odf` import this module to check what they embed.
    from tradehall.membership.evidence.inspection.odf import _check_odf_package
    from tradehall.membership.evidence.inspection.ooxml import _check_ooxml_package

    if depth > MAX_NESTED_DEPTH:
        raise EvidenceRefused(
            f"this document holds documents embedded more than {MAX_NESTED_DEPTH} deep "
            f"({name}); send them on their own",
            REFUSED,
        )
    try:
        budget.directory(data)
        with _open_zip(io.BytesIO(data), len(data), budget) as package:
            entries = package.infolist()
            if any(entry.filename == "[Content_Types].xml" for entry in entries):
                _check_ooxml_package(package, None, budget, depth)
                return
            if entries and entries[0].filename == "mimetype":
                _check_odf_package(package, None, budget, depth)
                return
    except EvidenceRefused as refused:
        raise EvidenceRefused(
            f"{refused.reason} (in the embedded {name})", refused.status
        ) from None
    raise EvidenceRefused(
        f"this document holds an embedded archive ({name}); send its files on their own", REFUSED
    )
