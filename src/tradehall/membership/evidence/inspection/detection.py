"""The entry point: what an uploaded file is, decided from its bytes, and the check each
kind is given.

libmagic names the type (never the file's name or the client's Content-Type). We take PDF,
PNG, JPEG, GIF, WebP, OOXML (DOCX, XLSX, PPTX), ODF (ODT, ODS, ODP) and legacy Word and Excel
(OLE). Anything else is a 415. Then each kind is opened and checked (422).

Images are kept as they are: served as attachments with their own type and nosniff, a polyglot
has nothing to run in.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import magic

from tradehall.membership.evidence.inspection.budget import _XmlBudget
from tradehall.membership.evidence.inspection.legacy_office import _check_ole
from tradehall.membership.evidence.inspection.odf import _check_odf_package
from tradehall.membership.evidence.inspection.ooxml import _check_ooxml_package
from tradehall.membership.evidence.inspection.pdf import _check_pdf
from tradehall.membership.evidence.inspection.verdicts import (
    REFUSED,
    UNSUPPORTED,
    EvidenceRefused,
    Inspected,
)
from tradehall.membership.evidence.inspection.zip_packages import _open_zip

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"

IMAGES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
# The content type of the main part each OOXML package must declare.
_OOXML = "application/vnd.openxmlformats-officedocument"
OOXML_MAIN = {
    DOCX: ("docx", f"{_OOXML}.wordprocessingml.document.main+xml"),
    XLSX: ("xlsx", f"{_OOXML}.spreadsheetml.sheet.main+xml"),
    PPTX: ("pptx", f"{_OOXML}.presentationml.presentation.main+xml"),
}
ODF = {ODT: "odt", ODS: "ods", ODP: "odp"}
# The stream each legacy OLE document must hold.
OLE_MAIN = {DOC: ("doc", ("WordDocument",)), XLS: ("xls", ("Workbook", "Book"))}

ACCEPTED = (
    "PDF, PNG, JPEG, GIF, WebP, Word, Excel or PowerPoint (DOCX, XLSX, PPTX), "
    "OpenDocument (ODT, ODS, ODP), or legacy Word or Excel (DOC, XLS)"
)


def inspect(path: Path) -> Inspected:
    """The file's content type and extension, or `EvidenceRefused`."""
    detected = magic.from_file(str(path), mime=True)
    if detected in ("inode/x-empty", "application/x-empty"):
        raise EvidenceRefused("the file is empty", REFUSED)
    if detected == PDF:
        _check_pdf(path)
        return Inspected(PDF, "pdf")
    if detected in IMAGES:
        return Inspected(detected, IMAGES[detected])
    if detected in OOXML_MAIN:
        extension, main_type = OOXML_MAIN[detected]
        _check_document(path, _check_ooxml_package, main_type)
        return Inspected(detected, extension)
    if detected in ODF:
        _check_document(path, _check_odf_package, detected)
        return Inspected(detected, ODF[detected])
    if detected in OLE_MAIN:
        extension, streams = OLE_MAIN[detected]
        _check_ole(path, streams)
        return Inspected(detected, extension)
    raise EvidenceRefused(_unsupported(detected), UNSUPPORTED)


def _unsupported(detected: str) -> str:
    if detected == "image/svg+xml":
        why = "an SVG image (it can hold scripts)"
    elif detected in ("application/zip", "application/x-zip-compressed"):
        why = "a zip archive"
    elif detected.startswith("text/") or detected.endswith(("xml", "html")):
        why = f"text ({detected})"
    else:
        why = detected
    return f"this file is {why}; we take {ACCEPTED}"


# A package's check: the package, the type it should be (None: any of its kind, as an embedded
# one), the budget its document shares, and how many packages deep it is.
PackageCheck = Callable[[zipfile.ZipFile, str | None, "_XmlBudget", int], None]


def _check_document(path: Path, check: PackageCheck, kind: str) -> None:
    """The uploaded document, a zip package of `kind`, with a budget of its own."""
    budget = _XmlBudget()
    with _open_zip(path, path.stat().st_size, budget) as package:
        check(package, kind, budget, 0)
