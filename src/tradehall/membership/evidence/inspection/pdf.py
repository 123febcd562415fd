"""PDF: pypdf walks every object reachable from the trailer. Refused: JavaScript, launch and
import actions, additional actions (/AA), embedded files, rich media, XFA forms, an action run
on opening other than going to a place in the document; encrypted PDFs (we cannot look inside)
and PDFs pypdf cannot read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from tradehall.membership.evidence.inspection.verdicts import REFUSED, EvidenceRefused

MAX_PDF_OBJECTS = 500_000

# Names that make a PDF act: as a key (/JS, /AA, ...) or as a value (/S /JavaScript, /Launch).
PDF_ACTIVE = {
    "/JavaScript": "JavaScript",
    "/JS": "JavaScript",
    "/Launch": "a launch action",
    "/AA": "additional (automatic) actions",
    "/EmbeddedFile": "an embedded file",
    "/EmbeddedFiles": "embedded files",
    "/RichMedia": "rich media",
    "/RichMediaExecute": "a rich media action",
    "/XFA": "an XFA form",
    "/ImportData": "an import-data action",
    "/GoToE": "a go-to-embedded action",
}


def _check_pdf(path: Path) -> None:
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            raise EvidenceRefused("this PDF is encrypted: send it without a password", REFUSED)
        found = _pdf_active_content(reader) or _pdf_opening_action(reader)
    except EvidenceRefused:
        raise
    except Exception:
        raise EvidenceRefused("this PDF cannot be read", REFUSED) from None
    if found is not None:
        raise EvidenceRefused(f"this PDF holds {found}; send one without it", REFUSED)


def _pdf_active_content(reader: PdfReader) -> str | None:
    """The first active content found walking every object reachable from the trailer."""
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [reader.trailer]
    visited = 0
    while stack:
        item = stack.pop()
        visited += 1
        if visited > MAX_PDF_OBJECTS:
            raise EvidenceRefused("this PDF has too many objects to check", REFUSED)
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            stack.append(item.get_object())
        elif isinstance(item, DictionaryObject):  # streams too
            for name, value in item.items():
                if name in PDF_ACTIVE:
                    return PDF_ACTIVE[name]
                stack.append(value)
        elif isinstance(item, ArrayObject):
            stack.extend(item)
        elif isinstance(item, NameObject) and item in PDF_ACTIVE:
            return PDF_ACTIVE[item]
    return None


# What an /OpenAction may do: show a place in the document. Any other action runs as the file
# is opened, with no click: fetch a remote file (a UNC path sends Windows' NTLM hash), submit a
# form or open a web address (telling someone who opened it, and when), play media.
_HARMLESS_OPENING = frozenset({"/GoTo"})
_MAX_CHAINED_ACTIONS = 64


def _pdf_opening_action(reader: PdfReader) -> str | None:
    """An action the document runs on opening, other than going to a place in it."""
    catalog = reader.trailer["/Root"].get_object()
    if not isinstance(catalog, DictionaryObject):
        return None
    pending: list[Any] = [catalog.get("/OpenAction")]
    seen = 0
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            item = item.get_object()
        if not isinstance(item, DictionaryObject):
            continue  # a destination (an array: a page and a view), or nothing
        seen += 1
        if seen > _MAX_CHAINED_ACTIONS:
            return "a chain of actions on opening"
        kind = item.get("/S")
        if kind is not None and str(kind) not in _HARMLESS_OPENING:
            return f"an action on opening ({str(kind).lstrip('/')})"
        chained = item.get("/Next")
        if isinstance(chained, IndirectObject):
            chained = chained.get_object()
        pending.extend(chained if isinstance(chained, ArrayObject) else [chained])
    return None
