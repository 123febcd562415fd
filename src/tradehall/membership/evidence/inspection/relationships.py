"""OOXML relationships (the .rels parts): none fetched from outside as the document opens
(an external OLE object, a frame, an image or workbook link, a template anywhere but on a
local drive), and no data connection.
"""

from __future__ import annotations

import re

from tradehall.membership.evidence.inspection.budget import _XmlBudget
from tradehall.membership.evidence.inspection.formulas import _CONNECTION_REFUSED
from tradehall.membership.evidence.inspection.verdicts import REFUSED, EvidenceRefused
from tradehall.membership.evidence.inspection.xml_parts import _one, _parse, _Part, _values

_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STRICT_RELATIONSHIPS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
_HYPERLINK = frozenset({f"{_RELATIONSHIPS}/hyperlink", f"{_STRICT_RELATIONSHIPS}/hyperlink"})
_TEMPLATE = frozenset(
    {f"{_RELATIONSHIPS}/attachedTemplate", f"{_STRICT_RELATIONSHIPS}/attachedTemplate"}
)
_CONNECTION_RELATIONSHIPS = frozenset(
    f"{base}/{kind}"
    for base in (_RELATIONSHIPS, _STRICT_RELATIONSHIPS)
    for kind in ("connections", "queryTable")
)
# A target that names a scheme (http:, file:, mhtml:, C:) or a host (\\host, //host).
_NOT_A_PART = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:|[\\/]{2})")
# A path on a local drive, as Word writes an attached template's: C:\... or file:///C:/...
_LOCAL_DRIVE = re.compile(r"^(?:[Ff][Ii][Ll][Ee]:///)?[A-Za-z]:[\\/]")


class _Relationships(_Part):
    """A .rels part's Relationship elements."""

    def __init__(self) -> None:
        super().__init__()
        self.relationships: list[list[tuple[str, str]]] = []

    def element(self, prefix: str, local: str, attributes: list[tuple[str, str]]) -> None:
        if local == "Relationship":
            self.relationships.append(attributes)


def _external_fetch(rels: bytes, part: str, budget: _XmlBudget) -> str | None:
    """The type of the first relationship that reaches outside the package other than as a
    link someone clicks: an external OLE object (Follina; at any target, even a local path: it
    runs an object), a frame, image or workbook link, a template anywhere but on a local drive
    (a document made from the organisation's own letterhead names it so). Office fetches
    these as the document opens. A target that names a scheme or a host counts as outside
    whatever its mode says."""
    read = _Relationships()
    _parse(rels, read, part, budget)
    in_settings = part.lower().endswith("_rels/settings.xml.rels")
    for attributes in read.relationships:
        for kind in _values(attributes, "Type"):
            if kind.strip() in _CONNECTION_RELATIONSHIPS:
                raise EvidenceRefused(
                    _CONNECTION_REFUSED.format(f"a {kind.strip().rpartition('/')[2]} in {part}"),
                    REFUSED,
                )
        targets = [target.strip() for target in _values(attributes, "Target")]
        modes = {mode.strip().casefold() for mode in _values(attributes, "TargetMode")}
        if "external" not in modes and not any(_NOT_A_PART.match(t) for t in targets):
            continue
        kind = _one(attributes, "Type") or ""
        if kind in _HYPERLINK:
            continue
        if (
            kind in _TEMPLATE
            and in_settings
            and targets
            and all(_LOCAL_DRIVE.match(target) for target in targets)
        ):
            continue  # a template on the opener's own drive: nothing fetched from elsewhere
        return kind.rstrip("/").rpartition("/")[2] or "an untyped relationship"
    return None
