"""What an uploaded file is, decided from its bytes; and whether we keep it.

libmagic names the type (never the file's name or the client's Content-Type). We take PDF,
PNG, JPEG, GIF, WebP, OOXML (DOCX, XLSX, PPTX), ODF (ODT, ODS, ODP) and legacy Word and Excel
(OLE). Anything else is a 415. Then each kind is opened and checked for what makes a document
act rather than be read, and for not being what libmagic took it for (422):

- PDF (pypdf walks every object reachable from the trailer): JavaScript, launch and import
  actions, additional actions (/AA), embedded files, rich media, XFA forms; encrypted PDFs (we
  cannot look inside) and PDFs pypdf cannot read.
- OOXML and ODF are zip packages: their central directory is checked before anything is
  extracted (entries, total expanded size, expansion ratio: zip bombs), then the package must
  declare the type libmagic saw ([Content_Types].xml's main part, ODF's `mimetype`), and hold
  no macros (vbaProject, macro-enabled types, ActiveX; ODF Basic/Scripts, script event
  listeners) and no encrypted entries.
- OLE (legacy .doc, .xls): no VBA storages, no embedded packages (Ole10Native), no Excel 4
  macro sheets, not encrypted, and the main stream is there.

Images are kept as they are: served as attachments with their own type and nosniff, a polyglot
has nothing to run in.
"""

from __future__ import annotations

import codecs
import html
import re
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import magic
import olefile  # type: ignore[import-untyped]
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

UNSUPPORTED = 415
REFUSED = 422
TOO_LARGE = 413

MiB = 1 << 20
# Zip packages: refused before anything is extracted when their central directory says so.
MAX_ZIP_ENTRIES = 5_000
MAX_ZIP_EXPANDED = 100 * MiB
MAX_ZIP_RATIO = 100
ZIP_RATIO_FLOOR = 1 * MiB  # below this expanded size, a high ratio is harmless
MAX_MANIFEST_BYTES = 1 * MiB
# An XML part read whole to be checked as its parser reads it (an ODF document's content.xml,
# a Word document's body, a worksheet): thousands of pages (pictures are parts of their own).
MAX_XML_PART_BYTES = 32 * MiB
MAX_PDF_OBJECTS = 500_000


class EvidenceRefused(Exception):
    """The upload is not kept: `reason` is for the client, `status` the HTTP status."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Inspected:
    content_type: str
    extension: str


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
        _check_ooxml(path, main_type)
        return Inspected(detected, extension)
    if detected in ODF:
        _check_odf(path, detected)
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


# --- PDF ----------------------------------------------------------------------------------------

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


# --- zip packages (OOXML, ODF) --------------------------------------------------------------------


def _open_zip(path: Path) -> zipfile.ZipFile:
    """The package, once its central directory shows it is no zip bomb (nothing extracted)."""
    try:
        package = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise EvidenceRefused("this document is not a readable zip package", REFUSED) from None
    try:
        entries = package.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise EvidenceRefused(f"this package has more than {MAX_ZIP_ENTRIES} parts", REFUSED)
        expanded = sum(entry.file_size for entry in entries)
        size = max(path.stat().st_size, 1)
        if expanded > MAX_ZIP_EXPANDED or (
            expanded > ZIP_RATIO_FLOOR and expanded > MAX_ZIP_RATIO * size
        ):
            raise EvidenceRefused("this package expands far beyond its size (a zip bomb)", REFUSED)
        if any(entry.flag_bits & 0x1 for entry in entries):
            raise EvidenceRefused("this package is encrypted: send it without a password", REFUSED)
    except BaseException:
        package.close()
        raise
    return package


def _read_part(package: zipfile.ZipFile, name: str, limit: int = MAX_MANIFEST_BYTES) -> bytes:
    try:
        with package.open(name) as part:
            data = part.read(limit + 1)
    except KeyError:
        raise EvidenceRefused(f"this package has no {name}", REFUSED) from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise EvidenceRefused("this office document is damaged", REFUSED) from None
    if len(data) > limit:
        raise EvidenceRefused(f"this package's {name} is too large", REFUSED)
    return data


_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?(Override|Default)\b([^>]*)>")
_ATTRIBUTE = re.compile(rb"""([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _content_types(xml: bytes) -> Iterator[tuple[str, dict[str, str]]]:
    """[Content_Types].xml's Override and Default elements, read without an XML parser (no
    entities, no DTD: nothing in the file can make the reading expand)."""
    for element in _ELEMENT.finditer(xml):
        attributes = {
            name.decode("ascii", "replace"): (double or single).decode("utf-8", "replace")
            for name, double, single in _ATTRIBUTE.findall(element.group(2))
        }
        yield element.group(1).decode("ascii"), attributes


# Part names (lowercased) and content types that carry macros or ActiveX controls.
_OOXML_ACTIVE_PARTS = re.compile(r"(?:^|/)(?:vbaproject\.bin|vbadata\.xml|activex/)")
_OOXML_ACTIVE_TYPES = ("macroenabled", "vbaproject", "activex", "ms-office.vba")


def _check_ooxml(path: Path, main_type: str) -> None:
    with _open_zip(path) as package:
        names = {entry.filename for entry in package.infolist()}
        for name in names:
            if _OOXML_ACTIVE_PARTS.search(name.lower()):
                raise EvidenceRefused("this document holds macros or ActiveX controls", REFUSED)
        declared = list(_content_types(_read_part(package, "[Content_Types].xml")))
        mains = []
        for kind, attributes in declared:
            content_type = attributes.get("ContentType", "")
            if any(word in content_type.lower() for word in _OOXML_ACTIVE_TYPES):
                raise EvidenceRefused("this document holds macros or ActiveX controls", REFUSED)
            if kind == "Override" and content_type == main_type:
                mains.append(attributes.get("PartName", "").lstrip("/"))
        if len(mains) != 1 or mains[0] not in names:
            raise EvidenceRefused("this file is not the office document it appears to be", REFUSED)
        for name in sorted(names):
            if name.lower().endswith(".rels"):
                fetched = _external_fetch(_read_part(package, name))
                if fetched is not None:
                    raise EvidenceRefused(
                        f"this document fetches from outside as it opens ({fetched}); "
                        "send one without it",
                        REFUSED,
                    )
            elif _DDE_PARTS.match(name.lower()):
                text = _xml_text(_read_part(package, name, MAX_XML_PART_BYTES))
                if _dde(text.decode("utf-8", "replace")):
                    raise EvidenceRefused(
                        "this document holds a DDE link (it starts a program once links are "
                        "updated); send one without it",
                        REFUSED,
                    )


# Parts that hold Word's fields or Excel's formulas and external links.
_DDE_PARTS = re.compile(r"^(?:word/.+|xl/worksheets/.+|xl/externallinks/.+)\.xml$")
_FIELD_TOKEN = re.compile(
    r"<(?:[\w.-]+:)?fldChar\b[^>]*?fldCharType\s*=\s*[\"'](begin|separate|end)[\"']"
    r"|<(?:[\w.-]+:)?instrText\b[^>]*>([^<]*)<"
    r"|<(?:[\w.-]+:)?fldSimple\b[^>]*?instr\s*=\s*(?:\"([^\"]*)\"|'([^']*)')"
)
_FORMULA = re.compile(r"<(?:[\w.-]+:)?f\b[^>]*>([^<]*)<")
_FORMULA_STRING = re.compile(r'"(?:[^"]|"")*"')
_DDE_LINK = re.compile(r"<(?:[\w.-]+:)?ddeLink\b")
_DDE_FIELDS = frozenset({"DDE", "DDEAUTO"})


def _dde(text: str) -> bool:
    """Whether a part holds DDE: a Word field whose name is DDE or DDEAUTO (in any case, its
    code split over runs as Word stores it) or whose name a nested field computes; an Excel
    formula naming a program (`app|topic!item`, outside its strings); an Excel DDE link."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text or _DDE_LINK.search(text):
        return True
    for formula in _FORMULA.findall(text):
        if "|" in _FORMULA_STRING.sub("", html.unescape(formula)):
            return True
    codes: list[str] = []  # the codes of the fields open at this point, innermost last
    for token in _FIELD_TOKEN.finditer(text):
        char_type, instr, simple_double, simple_single = token.groups()
        simple = simple_double if simple_double is not None else simple_single
        if simple is not None:
            if _dde_code(html.unescape(simple)):
                return True
        elif instr is not None:
            if codes:
                codes[-1] += html.unescape(instr)
        elif char_type == "begin":
            if codes and not codes[-1].strip():
                return True  # a field's name made by a nested field (QUOTE 68 68 69 ...)
            codes.append("")
        elif codes:  # separate or end: the code is complete
            if _dde_code(codes[-1]):
                return True
            if char_type == "end":
                codes.pop()
            else:
                codes[-1] = codes[-1] + " "  # the result follows: no more code
    return any(_dde_code(code) for code in codes)


def _dde_code(code: str) -> bool:
    words = code.split()
    return bool(words) and words[0].upper() in _DDE_FIELDS


_RELATIONSHIP = re.compile(rb"<(?:[\w.-]+:)?Relationship\b([^>]*)>")


def _xml_text(data: bytes) -> bytes:
    """A part's bytes as UTF-8, whichever Unicode encoding it declares by its first bytes
    (Office reads UTF-16 parts too: scanning their raw bytes would find nothing)."""
    for marks, codec in (
        ((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE), "utf-16"),
        ((b"<\0",), "utf-16-le"),
        ((b"\0<",), "utf-16-be"),
    ):
        if data.startswith(marks):
            return data.decode(codec, "replace").encode("utf-8")
    return data


def _external_fetch(rels: bytes) -> str | None:
    """The type of the first relationship that reaches outside the package other than as a
    link someone clicks: an external OLE object (Follina), template, frame, image, workbook
    link. Office fetches these as the document opens. Values are read with their character
    references resolved, as Office reads them."""
    for element in _RELATIONSHIP.finditer(_xml_text(rels)):
        attributes = {
            name.decode("ascii", "replace").rpartition(":")[2]: html.unescape(
                (double or single).decode("utf-8", "replace")
            ).strip()
            for name, double, single in _ATTRIBUTE.findall(element.group(1))
        }
        if attributes.get("TargetMode", "").casefold() != "external":
            continue
        kind = attributes.get("Type", "").rstrip("/").rpartition("/")[2]
        if kind.casefold() != "hyperlink":
            return kind or "an untyped relationship"
    return None


_ODF_ACTIVE_PARTS = re.compile(r"^(?:basic|scripts)/")


def _check_odf(path: Path, detected: str) -> None:
    with _open_zip(path) as package:
        entries = package.infolist()
        if not entries or entries[0].filename != "mimetype":
            raise EvidenceRefused("this file is not the office document it appears to be", REFUSED)
        if _read_part(package, "mimetype", 200).strip() != detected.encode("ascii"):
            raise EvidenceRefused("this file is not the office document it appears to be", REFUSED)
        names = {entry.filename for entry in entries}
        for name in names:
            if _ODF_ACTIVE_PARTS.match(name.lower()):
                raise EvidenceRefused("this document holds macros or scripts", REFUSED)
        if "content.xml" not in names:
            raise EvidenceRefused("this file is not the office document it appears to be", REFUSED)
        if "META-INF/manifest.xml" in names and b"encryption-data" in _read_part(
            package, "META-INF/manifest.xml"
        ):
            raise EvidenceRefused("this document is encrypted: send it without a password", REFUSED)
        for name in ("content.xml", "styles.xml"):
            if name in names and _odf_script(_read_part(package, name, MAX_XML_PART_BYTES)):
                raise EvidenceRefused("this document holds macros or scripts", REFUSED)


# In content.xml and styles.xml: event listeners and links that run macros, including the
# application's own installed scripts (no Basic/ needed in the package). Matched as the XML
# parser sees them: an event listener under any prefix (Impress's, which run programs, too),
# the script addresses in any case.
_ODF_SCRIPT = re.compile(
    r"<(?:[\w.-]+:)?event-listener\b|vnd\.sun\.star\.script:|macro:///", re.IGNORECASE
)


def _odf_script(part: bytes) -> bool:
    """Whether an ODF XML part holds a script as the office suite reads it: in whichever
    Unicode encoding its first bytes say, with character references and entities resolved.
    A DTD (ODF has none) could define an entity standing for anything: it counts as one."""
    text = _xml_text(part).decode("utf-8", "replace")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        return True
    return _ODF_SCRIPT.search(html.unescape(text)) is not None


# --- legacy OLE (DOC, XLS) ------------------------------------------------------------------------

_OLE_ACTIVE = {"macros", "vba", "_vba_project_cur", "_vba_project", "\x01ole10native"}
_OLE_ENCRYPTED = {"encryptedpackage", "encryptioninfo"}
_BIFF_BOUNDSHEET, _BIFF_FILEPASS, _BIFF_EOF = 0x0085, 0x002F, 0x000A
_WORD_IDENT, _WORD_ENCRYPTED = 0xA5EC, 0x0100


def _check_ole(path: Path, main_streams: tuple[str, ...]) -> None:
    try:
        if not olefile.isOleFile(str(path)):
            raise EvidenceRefused("this file is not the office document it appears to be", REFUSED)
        with olefile.OleFileIO(str(path)) as ole:
            entries = ole.listdir(streams=True, storages=True)
            for entry in entries:
                lowered = {part.lower() for part in entry}
                if lowered & _OLE_ACTIVE:
                    raise EvidenceRefused(
                        "this document holds macros or embedded programs", REFUSED
                    )
                if lowered & _OLE_ENCRYPTED:
                    raise EvidenceRefused(
                        "this document is encrypted: send it without a password", REFUSED
                    )
            main = next((name for name in main_streams if ole.exists(name)), None)
            if main is None:
                raise EvidenceRefused(
                    "this file is not the office document it appears to be", REFUSED
                )
            with ole.openstream(main) as stream:
                head = stream.read(64 * 1024 if main == "WordDocument" else MAX_MANIFEST_BYTES)
    except EvidenceRefused:
        raise
    except Exception:
        raise EvidenceRefused("this office document cannot be read", REFUSED) from None
    if main == "WordDocument":
        _check_word_header(head)
    else:
        _check_workbook_globals(head)


def _check_word_header(fib: bytes) -> None:
    if len(fib) < 12 or struct.unpack_from("<H", fib, 0)[0] != _WORD_IDENT:
        raise EvidenceRefused("this file is not the office document it appears to be", REFUSED)
    if struct.unpack_from("<H", fib, 0x0A)[0] & _WORD_ENCRYPTED:
        raise EvidenceRefused("this document is encrypted: send it without a password", REFUSED)


def _check_workbook_globals(stream: bytes) -> None:
    """The workbook's global records (BIFF8), up to their EOF: no password, no macro sheet."""
    offset = 0
    while offset + 4 <= len(stream):
        record, length = struct.unpack_from("<HH", stream, offset)
        data = stream[offset + 4 : offset + 4 + length]
        if record == _BIFF_FILEPASS:
            raise EvidenceRefused("this workbook is encrypted: send it without a password", REFUSED)
        # BOUNDSHEET: the sheet's type is its sixth byte; 1 is an Excel 4 macro sheet, 6 VBA.
        if record == _BIFF_BOUNDSHEET and len(data) >= 6 and data[5] in (0x01, 0x06):
            raise EvidenceRefused("this workbook holds macro sheets", REFUSED)
        if record == _BIFF_EOF:
            return
        offset += 4 + length
