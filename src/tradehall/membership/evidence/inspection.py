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
  listeners), no relationship fetched from outside on opening, no DDE, nothing fetched from
  elsewhere when it is opened, updated or refreshed (Word's INCLUDEPICTURE, INCLUDETEXT, LINK
  fields, also as its tracked changes accepted or rejected would leave them; a mail merge's
  data source; Excel's data connections and Power Query; references to another workbook;
  presentation sounds linked from outside), no formula or field code written across markup
  Office reads otherwise, no binary workbook part (.xlsb: not XML, not checked), and no
  encrypted entries. A document embedded in one as a package of its own is checked as the
  document is, within its bounds, at most two deep.
  Their XML parts are read by an XML parser (defusedxml's expat: a DTD or an entity
  is refused, a part that is not well-formed is refused), never by patterns over the bytes.
- OLE (legacy .doc, .xls): no VBA storages, no embedded packages (Ole10Native), no Excel 4
  macro sheets, not encrypted, and the main stream is there.

Images are kept as they are: served as attachments with their own type and nosniff, a polyglot
has nothing to run in.
"""

from __future__ import annotations

import codecs
import io
import re
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from xml.sax import InputSource, SAXException
from xml.sax.handler import ContentHandler

import magic
import olefile  # type: ignore[import-untyped]
from defusedxml import (  # type: ignore[import-untyped]
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.expatreader import DefusedExpatParser  # type: ignore[import-untyped]
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
# All the XML parts of one document that are parsed, together: parsing runs in Python (a SAX
# callback an element), and 85 MiB of tiny elements under the zip's bounds took 30 s of CPU,
# holding the interpreter's lock, off the event loop but slowing every request meanwhile.
MAX_XML_BYTES = 32 * MiB
# Within those bytes, tiny elements (`<a/>`: 8 million of them) still cost about 15 s; each
# element and attribute is a Python callback. A real document is far below these: a workbook of
# 50,000 rows by 12 columns as Excel writes it (25 MiB) holds 1.3 million elements and 1.35
# million attributes, a Word document of 700 pages 110,000 elements. An element holds at most
# about 1.5 attributes in the densest real part (a worksheet's cells: r, s, t).
MAX_XML_ELEMENTS = 2_000_000  # processing instructions included
MAX_XML_ATTRIBUTES = 3_000_000  # namespace declarations included
# One start tag of millions of attributes costs expat itself seconds before any handler sees
# it, more than linearly (400,000: 0.4 s; 1.6 million: 2.4 s; 3.4 million: 8.5 s). A tag under
# 1 MiB holds at most some 130,000 (0.15 s); a longer run without a `<` (a tag, or a text
# without markup) may hold at most 10,000 `=`: a long value (VML's base64 o:gfxdata, a long
# text) passes, a tag of a million attributes does not. Real tags hold tens of attributes.
MAX_XML_RUN_BYTES = 1 * MiB
MAX_LONG_RUN_ATTRIBUTES = 10_000
# And no element of more than 10,000 attributes, however short: refused at the first such tag,
# not after 3 million attributes in tags of 100,000 (4 s).
MAX_ELEMENT_ATTRIBUTES = 10_000
_LONG_RUN = re.compile(b"<[^<]{%d,}" % MAX_XML_RUN_BYTES)
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


def _open_zip(
    source: Path | io.BytesIO, size: int, budget: _XmlBudget | None = None
) -> zipfile.ZipFile:
    """The package, once its central directory shows it is no zip bomb (nothing extracted).
    A package embedded in the document (`budget`, the document's) shares the document's
    bounds: its parts and expanded bytes count with the document's own."""
    try:
        package = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise EvidenceRefused("this document is not a readable zip package", REFUSED) from None
    try:
        entries = package.infolist()
        expanded = sum(entry.file_size for entry in entries)
        if len(entries) > MAX_ZIP_ENTRIES:
            raise EvidenceRefused(f"this package has more than {MAX_ZIP_ENTRIES} parts", REFUSED)
        if len({entry.filename for entry in entries}) != len(entries):
            # We read the last entry of a name; a reader that keeps the first, or walks the
            # local headers (as one repairing a package does), would open the other.
            raise EvidenceRefused("this package holds two parts of one name", REFUSED)
        if expanded > MAX_ZIP_EXPANDED or (
            expanded > ZIP_RATIO_FLOOR and expanded > MAX_ZIP_RATIO * max(size, 1)
        ):
            raise EvidenceRefused("this package expands far beyond its size (a zip bomb)", REFUSED)
        if any(entry.flag_bits & 0x1 for entry in entries):
            raise EvidenceRefused("this package is encrypted: send it without a password", REFUSED)
        if budget is not None:
            budget.package(len(entries), expanded)
    except BaseException:
        package.close()
        raise
    return package


_TOO_MANY_PARTS = (
    f"this document and those embedded in it have more than {MAX_ZIP_ENTRIES} parts; send it "
    "in parts"
)


class _XmlBudget:
    """What one document's XML parts may hold, together, to be parsed: bytes (`MAX_XML_BYTES`)
    and, counted as they are parsed, elements and attributes (`MAX_XML_ELEMENTS`,
    `MAX_XML_ATTRIBUTES`)."""

    def __init__(self) -> None:
        self.left = MAX_XML_BYTES
        self.elements_left = MAX_XML_ELEMENTS
        self.attributes_left = MAX_XML_ATTRIBUTES
        self.entries_left = MAX_ZIP_ENTRIES
        self.expanded_left = MAX_ZIP_EXPANDED

    def package(self, entries: int, expanded: int) -> None:
        """One more zip package (the document, or one embedded in it) of `entries` parts
        expanding to `expanded` bytes: all of them together within the zip's bounds."""
        self.entries_left -= entries
        self.expanded_left -= expanded
        if self.entries_left < 0:
            raise EvidenceRefused(_TOO_MANY_PARTS, REFUSED)
        if self.expanded_left < 0:
            raise EvidenceRefused(
                f"this document and those embedded in it expand to more than "
                f"{MAX_ZIP_EXPANDED // MiB} MiB; send it in parts",
                REFUSED,
            )

    def directory(self, data: bytes) -> None:
        """Before a zip embedded in the document is opened: Python reads a zip's whole
        central directory before its entries can be counted, and a directory deflates well (100
        MiB of it in a 7 MiB upload held 700 MiB for 9 s of CPU). Each of its entries starts
        with a signature, so their count bounds the entries: more than are left, refused
        unread."""
        if data.count(_ZIP_DIRECTORY_ENTRY) > self.entries_left:
            raise EvidenceRefused(_TOO_MANY_PARTS, REFUSED)

    def element(self, attributes: int) -> None:
        """One more element (or processing instruction) of `attributes` attributes."""
        self.elements_left -= 1
        self.attributes_left -= attributes
        if attributes > MAX_ELEMENT_ATTRIBUTES:
            raise EvidenceRefused(
                f"this document holds an element of more than {MAX_ELEMENT_ATTRIBUTES:,} "
                "attributes; send one without it",
                REFUSED,
            )
        if self.elements_left < 0 or self.attributes_left < 0:
            raise EvidenceRefused(
                f"this document holds more than {MAX_XML_ELEMENTS:,} elements or "
                f"{MAX_XML_ATTRIBUTES:,} attributes to check: send it in parts",
                REFUSED,
            )

    def read(self, package: zipfile.ZipFile, name: str, limit: int = MAX_XML_PART_BYTES) -> bytes:
        data = _read_part(package, name, limit)
        self.left -= len(data)
        if self.left < 0:
            raise EvidenceRefused(
                f"this document holds more than {MAX_XML_BYTES // MiB} MiB of text and markup "
                "to check: send it in parts",
                REFUSED,
            )
        return data


# A package's check: the package, the type it should be (None: any of its kind, as an embedded
# one), the budget its document shares, and how many packages deep it is.
PackageCheck = Callable[[zipfile.ZipFile, str | None, "_XmlBudget", int], None]


def _check_document(path: Path, check: PackageCheck, kind: str) -> None:
    """The uploaded document, a zip package of `kind`, with a budget of its own."""
    budget = _XmlBudget()
    with _open_zip(path, path.stat().st_size, budget) as package:
        check(package, kind, budget, 0)


def _article(word: str) -> str:
    """ "an" before a vowel (an INCLUDEPICTURE field), else "a" (a LINK field)."""
    return "an" if word[:1].upper() in "AEIOU" else "a"


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


# --- XML parts, read by a parser that expands nothing ---------------------------------------------


class _Part(ContentHandler):
    """A part read by the XML parser (defusedxml's expat: no DTD, no entity, nothing fetched).
    Elements are seen by their local name under any prefix, as before (a renamed prefix must
    not hide one), and attributes as (local name, value) pairs, all of them: a prefixed twin of
    an attribute is not dropped in favour of the other. Text comes as the parser gives it:
    character references resolved, a CDATA section as text, comments and processing
    instructions dropped. A handler refuses by raising `EvidenceRefused`, which stops the
    parse. Each element, attribute and processing instruction is counted against the
    document's budget, before any of them is looked at."""

    budget: _XmlBudget | None = None

    def element(self, prefix: str, local: str, attributes: list[tuple[str, str]]) -> None:
        """An element opens."""

    def closed(self, local: str) -> None:
        """An element closes."""

    def text(self, content: str) -> None:
        """Some of an element's text."""

    def startElement(self, name: str, attrs: Any) -> None:
        items: list[tuple[str, str]] = attrs.items()  # a new list (AttributesImpl's items)
        if self.budget is not None:
            self.budget.element(len(items))
        prefix, _, local = name.rpartition(":")
        if items:  # most elements have none: no list built, no namespace looked for
            attributes = [
                (str(key).rpartition(":")[2], str(value))
                for key, value in items
                if key != "xmlns" and not str(key).startswith("xmlns:")
            ]
        else:
            attributes = items
        self.declared(items)
        self.element(prefix, local, attributes)

    def declared(self, items: list[tuple[str, str]]) -> None:
        """The element's attributes, for a handler that needs its namespace declarations."""

    def endElement(self, name: str) -> None:
        self.closed(name.rpartition(":")[2])

    def characters(self, content: str) -> None:
        self.text(content)

    def processingInstruction(self, target: str, data: str) -> None:
        if self.budget is not None:
            self.budget.element(0)


class _ScopedPart(_Part):
    """A part whose handler asks which namespace an element's prefix is declared for. Each
    prefix keeps the namespaces it is bound to, innermost last, so a look-up costs the same at
    any depth (walking the open elements made a part of a million nested ones take an hour).
    `scopes` holds, for each open element, the prefixes it declares (None: none)."""

    def __init__(self) -> None:
        super().__init__()
        self.scopes: list[list[str] | None] = []
        self.bound: dict[str, list[str]] = {}

    def declared(self, items: list[tuple[str, str]]) -> None:
        declared = None
        for key, value in items:
            if key == "xmlns" or str(key).startswith("xmlns:"):
                prefix = str(key).partition(":")[2]
                if declared is None:
                    declared = []
                declared.append(prefix)  # popped as often as it is pushed
                self.bound.setdefault(prefix, []).append(str(value))
        self.scopes.append(declared)

    def namespace(self, prefix: str) -> str:
        namespaces = self.bound.get(prefix)
        return namespaces[-1] if namespaces else f"undeclared:{prefix}"

    def endElement(self, name: str) -> None:
        super().endElement(name)
        declared = self.scopes.pop()
        if declared is not None:
            for prefix in declared:
                self.bound[prefix].pop()


def _values(attributes: list[tuple[str, str]], local: str) -> list[str]:
    """Every value of the attributes of this local name (under any prefix)."""
    return [value for name, value in attributes if name == local]


def _one(attributes: list[tuple[str, str]], local: str) -> str | None:
    """The attribute of this local name; two of them that disagree are refused (a reader
    that takes one and a check that takes the other would see different documents)."""
    values = set(_values(attributes, local))
    if len(values) > 1:
        raise EvidenceRefused(
            f"this office document is damaged (its {local} is given twice)", REFUSED
        )
    return values.pop() if values else None


class _Parser(DefusedExpatParser):  # type: ignore[misc]
    """defusedxml's expat reader, giving an element's text in one piece rather than a callback
    a line (32 MiB of newlines were 32 million Python calls). `_parse` feeds it a part in one
    piece: fed in 64 KiB pieces, expat 2.5 rescans an unfinished token from its start each
    time (one 30 MiB attribute value: 9 s, against 1 s in one piece)."""

    def reset(self) -> None:
        super().reset()
        self._parser.buffer_text = True


def _parse(data: bytes, handler: _Part, name: str, budget: _XmlBudget | None = None) -> None:
    """Parse a part with no DTD and no entities (defusedxml refuses either). A part whose
    first bytes make expat read it as UTF-16 (or UTF-8 with a byte order mark) is re-encoded to
    UTF-8 first (`_two_byte_encoding`), whatever its declaration claims, so that the long-run
    check and expat read the same bytes; any other part is read in the encoding its declaration
    names (UTF-8 without one). A part that is not well-formed is refused (422), as is one the
    parser cannot decode. Its elements and attributes count against `budget`, the
    document's."""
    source = InputSource()
    handler.budget = budget
    try:
        codec = _two_byte_encoding(data)
        if codec is not None:
            data = data.decode(codec).encode("utf-8")
            source.setEncoding("utf-8")  # expat then ignores the declaration's encoding
            if b"\0" in data:
                # Never a character of XML; and expat, even told UTF-8, would read a part
                # starting with one as UTF-16, not the bytes checked here.
                raise ValueError("a NUL character")
        for run in _LONG_RUN.finditer(data):
            if data.count(b"=", run.start(), run.end()) > MAX_LONG_RUN_ATTRIBUTES:
                raise EvidenceRefused(
                    f"this document's {name} holds a tag of more than "
                    f"{MAX_LONG_RUN_ATTRIBUTES:,} attributes; send it in parts",
                    REFUSED,
                )
        parser = _Parser(
            forbid_dtd=True, forbid_entities=True, forbid_external=True, bufsize=len(data) + 1
        )
        parser.setContentHandler(handler)
        source.setByteStream(io.BytesIO(data))
        parser.parse(source)
    except EvidenceRefused:
        raise
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden):
        raise EvidenceRefused(
            f"this document's {name} declares a DTD, whose entities could stand for anything "
            "(macros or scripts, links); send one without it",
            REFUSED,
        ) from None
    except (SAXException, ValueError, LookupError, UnicodeError, RecursionError):
        raise EvidenceRefused(
            f"this office document is damaged ({name} is not well-formed XML)", REFUSED
        ) from None


def _two_byte_encoding(data: bytes) -> str | None:
    """The codec to re-encode a part to UTF-8 with before it is checked, decided from its
    first bytes as expat decides (xmltok.c, initScan): a byte order mark; else a first byte
    NUL is UTF-16BE and a second byte NUL UTF-16LE (`' <'` in UTF-16LE is `20 00 3C 00`). None
    for a part expat reads byte by byte: UTF-8, or an 8-bit encoding its declaration names,
    which expat takes only if `<`, `=` and the other markup are the ASCII bytes (pyexpat
    refuses multi-byte ones). So the long-run check reads the bytes expat parses."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if data[:1] == b"\0":
        return "utf-16-be"
    if data[1:2] == b"\0":
        return "utf-16-le"
    return None


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


# Excel's data connections and the query tables filled from them (ECMA-376 18.13): a web query,
# an ODBC or OLE DB query (a database, another workbook, Power Query's mashup), a text file or
# an OLAP cube, fetched when the workbook is refreshed (on opening, if the connection says so,
# or on a timer). A UNC path sends the opener's NTLM hash; a web query tells someone who opened
# it, and when. Every connection is refused, whatever it fetches: evidence has no reason to
# carry one, and a workbook's values are what it shows. Found by the workbook's relationship,
# the part's declared content type, its usual name, and its elements (`_DdeFinder`).
_CONNECTION_TYPES = ("spreadsheetml.connections+xml", "spreadsheetml.querytable+xml")
_CONNECTION_PART = "xl/connections.xml"
_CONNECTION_REFUSED = (
    "this workbook holds a data connection ({}: it fetches from a database, a web page or a "
    "file when the workbook is refreshed); send one with its values instead"
)


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
# Excel's elements whose text is a formula.
# Office Math (an equation in any document): its <m:f> is a fraction, not a formula; `A|B` in
# one is a conditional probability.
_MATH = frozenset(
    {
        "http://schemas.openxmlformats.org/officeDocument/2006/math",
        "http://purl.oclc.org/ooxml/officeDocument/math",
    }
)
_FORMULAS = frozenset(
    {
        "f",
        "formula",
        "formula1",
        "formula2",
        "definedName",
        "calculatedColumnFormula",
        "totalsRowFormula",
    }
)
# How much of a field's code is kept: its name is all that is checked (a code of a million
# runs must not be rebuilt a million times).
_CODE_KEPT = 64
_FORMULA_STRING = re.compile(r'"(?:[^"]|"")*"')
_DDE_FIELDS = frozenset({"DDE", "DDEAUTO"})
_DDE_REFUSED = (
    "this document holds a DDE link (it starts a program once links are updated); "
    "send one without it"
)
# Spreadsheet functions that fetch from outside as the sheet is computed (a web address, a UNC
# path: Windows sends the opener's NTLM hash) or start a program: Excel's WEBSERVICE (FILTERXML
# only reads a string it is given: taken), IMAGE, RTD (a COM server, on this or another
# machine), CALL and REGISTER.ID (a DLL); Google Sheets' IMPORT* and IMAGE; LibreOffice's DDE.
# Matched by name after any prefix (`_xlfn.`, `COM.MICROSOFT.`), as a call (followed by `(`),
# outside strings, quoted sheet names and bracketed references.
_FETCHING = frozenset(
    {
        "WEBSERVICE",
        "IMAGE",
        "RTD",
        "CALL",
        "REGISTER.ID",
        "IMPORTXML",
        "IMPORTHTML",
        "IMPORTDATA",
        "IMPORTFEED",
        "IMPORTRANGE",
        "DDE",
    }
)
_FORMULA_QUOTED = re.compile(r'"(?:[^"]|"")*"|\'(?:[^\']|\'\')*\'')
_FORMULA_BRACKETED = re.compile(r"\[[^\[\]]*\]")
MAX_FORMULA_CHARACTERS = 65_536
_MAX_FORMULA_NESTING = 8  # brackets in brackets: a table's structured reference nests two
# A name starts where no name character precedes it, and is matched whole (possessive): a
# formula of 64 KiB of letters is scanned once, not once from each letter.
_FORMULA_CALL = re.compile(r"(?<![A-Za-z0-9_.])([A-Za-z_][A-Za-z0-9_.]*+)\s*+\(")
# Google Sheets writes a formula Excel lacks as __xludf.DUMMYFUNCTION("IMPORTXML(""..."")"),
# and restores it when the file is opened in Sheets again.
_DUMMY_FUNCTION = re.compile(r'DUMMYFUNCTION\s*\(\s*"((?:[^"]|"")*)"', re.IGNORECASE)
_FETCH_REFUSED = (
    "this document holds a formula that fetches from outside or starts a program as it is "
    "computed ({}); send one with its values instead"
)


def _fetching_call(formula: str, depth: int = 0, bare: str | None = None) -> str | None:
    """The first function in the formula that fetches from outside (`_FETCHING`), if any.
    `bare`: the formula with its strings and quoted names blanked, if the caller has it."""
    if len(formula) > MAX_FORMULA_CHARACTERS:
        raise EvidenceRefused(
            f"this document holds a formula of more than {MAX_FORMULA_CHARACTERS:,} characters "
            "(Excel writes at most 8,192); send it with its values instead",
            REFUSED,
        )
    if bare is None:
        bare = _FORMULA_QUOTED.sub(" ", formula)
    for _ in range(_MAX_FORMULA_NESTING):  # [[#This Row],[Column]]: innermost first
        unbracketed = _FORMULA_BRACKETED.sub(" ", bare)
        if unbracketed == bare:
            break
        bare = unbracketed
    for match in _FORMULA_CALL.finditer(bare):
        segments = match.group(1).upper().rsplit(".", 2)  # REGISTER.ID, after any prefix
        for name in (segments[-1], ".".join(segments[-2:])):
            if name in _FETCHING:
                return name
    if depth < 2:
        for wrapped in _DUMMY_FUNCTION.finditer(formula):
            found = _fetching_call(wrapped.group(1).replace('""', '"'), depth + 1)
            if found is not None:
                return found
    return None


# The elements holding a field's code: as the part is written, and once its tracked changes are
# rejected (a deleted code's text, w:delInstrText, is back).
_CODE = frozenset({"instrText"})
_CODE_AND_DELETED = frozenset({"instrText", "delInstrText"})
# Tracked changes (WordprocessingML's; delInstrText under any prefix, as instrText): what a
# reading with them all accepted does not see (a deletion, the source of a move, a deleted
# code's text) and what one with them all rejected does not see (an insertion, a move's
# destination).
_TRACKED = frozenset({"del", "ins", "moveFrom", "moveTo", "delInstrText"})
_HIDDEN_WHEN_ACCEPTED = frozenset({"del", "moveFrom", "delInstrText"})
_HIDDEN_WHEN_REJECTED = frozenset({"ins", "moveTo"})
# The changes a reviewer accepts or rejects one by one (a deleted code's text is its deletion's).
_DECIDED = frozenset({"del", "ins", "moveFrom", "moveTo"})
_ACCEPTED = " once its tracked changes are accepted"
_REJECTED = " once its tracked changes are rejected"
_DELETIONS_ACCEPTED = " once its tracked deletions are accepted and insertions rejected"
_WORD = frozenset(
    {
        "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
        "http://purl.oclc.org/ooxml/wordprocessingml/main",
    }
)
# A Word mail merge's data source (ECMA-376 17.14, in settings.xml's w:mailMerge): a
# connection string (ODBC, OLE DB: a server, a workbook, a UNC path), the query run on it (for
# a text file, its path), the source's and the header source's relationships, and Office's
# recipient list's connection (odso's udl and src). Word reads it as the document opens (after
# a prompt that names only the query, or none where the SQL security check is off). A merge
# with none of them (a letter not yet given its recipients) is taken; a blank value is none.
_MAIL_MERGE_SOURCES = frozenset(
    {"connectString", "query", "dataSource", "headerSource", "udl", "src"}
)
_MAIL_MERGE_REFUSED = (
    "this document holds a mail merge's data source ({}: Word reads a database or a file as "
    "the document opens); send the merged document, or one without its data source"
)
# How much of a formula has been seen: nothing, its own text, or the one <f> it holds.
_FORMULA_EMPTY, _FORMULA_TEXT, _FORMULA_NESTED = 0, 1, 2
_FORMULA_ELSEWHERE = (
    "this document holds a formula written across markup Office may read otherwise "
    "(mc:AlternateContent, or an element inside the formula); send one without it"
)


class _Fields:
    """Word's complex fields as one reading of a part sees them: the code of each (the text of
    its code elements, `code_elements`, between its begin and separate, over any number of
    runs) is refused if it names DDE, DDEAUTO or one of `_FETCHING_FIELDS` (in any case), or if
    a nested field computes or completes such a name. A code is text: an element inside one is
    refused, and so is a code (its text, or a field mark) inside an element of another prefix
    than its begin's, or one declaring a namespace, opened since its begin
    (mc:AlternateContent's branches, an ignorable namespace's element): Word may read the code
    otherwise. `reading` says, in a refusal, which reading found it (tracked changes accepted or
    rejected; empty: the part as it is written). `hidden`: how deep the reading is inside
    elements it does not see (`hides`: a deletion, once changes are accepted). `_DdeFinder`
    hands each element to each reading and keeps their `hidden`, `foreign` and `in_code`
    inline (that is done for every element while a field is open: no call an element)."""

    def __init__(
        self,
        part: str,
        reading: str = "",
        code_elements: frozenset[str] = _CODE,
        hides: frozenset[str] = frozenset(),
    ) -> None:
        self.part = part
        self.reading = reading
        self.code_elements = code_elements
        self.field_elements = code_elements | {"fldChar"}
        self.hides = hides  # tracked changes this reading does not see
        self.codes: list[str] = []  # the codes of the fields open at this point, innermost last
        self.in_code = False
        # Elements opened while a field is open that are of another prefix than its begin's, or
        # declare a namespace, by depth; for each open field, its begin's prefix and how many of
        # them were open at its begin (`_IN_RESULT` once its code is complete). Word reads one
        # branch of mc:AlternateContent and drops an element of a namespace the document calls
        # ignorable: a code written across them is not the code Word reads (INCLUDE, then X in
        # a branch Word skips, then PICTURE). No namespace is looked up: an element costs the
        # same at any depth.
        self.foreign: list[int] = []
        self.foreign_at_begin: list[int] = []
        self.field_prefixes: list[str] = []
        # For each open field, the authors of the tracked changes open at its begin or opened
        # while its name was unfinished (`changed_in_name`).
        self.changes: list[tuple[int, str]] = []  # shared: (depth, author) of those open
        self.name_changes: list[set[str]] = []
        self.unfinished: str | None = None  # the code last found unfinished (its very string)
        # For each open field, whether its name may still become a refused one (in its code:
        # once `_name_unfinished` says no, it stays no as the code grows).
        self.naming: list[bool] = []
        self.hidden = 0

    def read_deleted_code(self) -> None:
        """From here on, a deleted code's text (w:delInstrText) is code too."""
        self.code_elements = _CODE_AND_DELETED
        self.field_elements = _CODE_AND_DELETED | {"fldChar"}

    def fork(self, reading: str, code_elements: frozenset[str], hides: frozenset[str]) -> _Fields:
        """Another reading of the part, seeing what this one has seen so far."""
        other = _Fields(self.part, reading, code_elements, hides)
        other.codes = list(self.codes)
        other.in_code = self.in_code
        other.foreign = list(self.foreign)
        other.foreign_at_begin = list(self.foreign_at_begin)
        other.field_prefixes = list(self.field_prefixes)
        other.changes = self.changes
        other.name_changes = [set(changes) for changes in self.name_changes]
        other.naming = list(self.naming)
        return other

    def opened(self, prefix: str, local: str, attributes: list[tuple[str, str]]) -> None:
        """One of `field_elements` opens (a code, a field's mark)."""
        if local in self.code_elements:
            self.refuse_code_elsewhere()
            self.in_code = True
        else:
            self.field_char(_one(attributes, "fldCharType"), prefix)

    def text(self, content: str) -> None:
        if self.codes:
            code = self.codes[-1] + content
            self.codes[-1] = code[_FIELD_LEADING.match(code).end() :][:_CODE_KEPT]  # type: ignore[union-attr]

    def refuse_field(self, code: str) -> None:
        name = _field_name(code)
        if name in _DDE_FIELDS:
            raise EvidenceRefused(_DDE_REFUSED, REFUSED)
        if name in _FETCHING_FIELDS:
            raise EvidenceRefused(
                f"this document holds {_article(name)} {name} field in {self.part}{self.reading} "
                f"(it fetches {_FETCHING_FIELDS[name]} from elsewhere when fields are updated); "
                "send one without it, or with the field's result kept instead (unlinked)",
                REFUSED,
            )

    def refuse_code_elsewhere(self) -> None:
        """Refuses a field's code (its text, or a field mark) inside an element of another
        prefix than its begin's, or one declaring a namespace, opened since its begin."""
        if self.foreign_at_begin and len(self.foreign) > self.foreign_at_begin[-1]:
            raise EvidenceRefused(_CODE_ELSEWHERE, REFUSED)

    def field_char(self, char_type: str | None, prefix: str) -> None:
        codes = self.codes
        self.refuse_code_elsewhere()
        if char_type == "begin":
            if codes and _name_unfinished(codes[-1]):
                # a field's name made, or completed, by a nested field (QUOTE 68 68 69 ...,
                # IN{QUOTE 67}LUDEPICTURE)
                raise EvidenceRefused(_COMPUTED_FIELD, REFUSED)
            codes.append("")
            self.foreign_at_begin.append(len(self.foreign))
            self.field_prefixes.append(prefix)
            # The two innermost suffice: one author, or more? (O(1) at any depth.)
            self.name_changes.append({author for _, author in self.changes[-2:]})
            self.naming.append(True)
        elif char_type in ("separate", "end") and codes:  # the code is complete
            self.refuse_field(codes[-1])
            if char_type == "end":
                codes.pop()
                self.foreign_at_begin.pop()
                self.field_prefixes.pop()
                self.name_changes.pop()
                self.naming.pop()
            else:
                codes[-1] = codes[-1] + " "  # the result follows: no more code
                self.naming[-1] = False
                self.foreign_at_begin[-1] = _IN_RESULT

    def changed_in_name(self) -> None:
        """A tracked change opens (the last of `changes`) in the code of the innermost open
        field, whose name was not yet found finished (`naming`): if its name could yet become a
        refused one (`_name_unfinished`), the change may help make that name. The readings see
        each kind of change (insertions, deletions) all accepted or all rejected; Word also
        accepts or rejects one reviewer's changes alone: INCLUD, +X by A, +EPICTURE by B, with
        A's rejected, is INCLUDEPICTURE. So changes by two authors in a name in the making (or
        around its begin) are refused. One author's (a field inserted with changes tracked, a
        reference's bookmark edited after its name) are read both ways by the readings. Not
        seen: one author's changes decided one by one (each clicked apart)."""
        code = self.codes[-1]
        if code is not self.unfinished:  # the code grew since it was last found unfinished
            if not _name_unfinished(code):
                self.naming[-1] = False
                return
            self.unfinished = code
        touching = self.name_changes[-1]
        author = self.changes[-1][1]
        if author not in touching:
            touching.add(author)
            if len(touching) > 1:
                raise EvidenceRefused(_TRACKED_NAME, REFUSED)

    def ended(self) -> None:
        """The part ends: fields still open are read as they are."""
        for code in self.codes:
            self.refuse_field(code)


class _DdeFinder(_ScopedPart):
    """Refuses DDE and what fetches from elsewhere when it is updated, refreshed or opened:
    Word fields (`_Fields`: DDE, DDEAUTO, `_FETCHING_FIELDS`, a name a nested field computes, a
    code written where Word may read it otherwise) as the part is written and, once it holds
    tracked changes, as Word reads it with them all accepted, all rejected, and insertions and
    deletions decided apart (a deleted field comes back when a reviewer rejects its deletion;
    two changes in a field's name in the making are refused); a simple field's instr; an Excel
    formula (the text of an <f>, a defined name, a rule's formula) naming a program
    (`app|topic!item`, outside its strings), calling a function that fetches (`_FETCHING`),
    referring to another workbook, or written across markup (`formula_child`); an Excel DDE
    link; a data connection or a Power Query query; a Word mail merge's data source. `part` is
    the part's name, for the refusal."""

    def __init__(self, part: str = "") -> None:
        super().__init__()
        self.part = part
        self.fields = _Fields(part)
        # The part as written; from its first tracked change on, also with them all accepted
        # and all rejected (until then, they read the same).
        self.readings = [self.fields]
        self.formula: list[str] | None = None
        self.in_formula = 0
        self.formula_shape = _FORMULA_EMPTY

    def element(self, prefix: str, local: str, attributes: list[tuple[str, str]]) -> None:
        tracked = local in _TRACKED and (local == "delInstrText" or self.namespace(prefix) in _WORD)
        if tracked and len(self.readings) == 1:
            fields = self.fields
            self.readings = [
                fields.fork(_ACCEPTED, _CODE, _HIDDEN_WHEN_ACCEPTED),
                fields.fork(_REJECTED, _CODE_AND_DELETED, _HIDDEN_WHEN_REJECTED),
                # Insertions and deletions decided apart (a reviewer rejecting only another's
                # deletions, or only insertions): insertions and deletions rejected, and...
                fields.fork(_DELETIONS_ACCEPTED, _CODE, _TRACKED),
                # ... the part as written, a deleted code's text read as code: insertions
                # accepted, deletions rejected. Last: a reading above says which it found.
                fields,
            ]
            fields.read_deleted_code()
        decided = tracked and local in _DECIDED
        if decided:
            author = (_one(attributes, "author") or "") if attributes else ""
            self.fields.changes.append((len(self.scopes), author))
        for reading in self.readings:
            if reading.hidden:
                reading.hidden += 1
                continue
            if decided and reading.codes and reading.naming[-1] and not reading.in_code:
                reading.changed_in_name()
            if tracked and local in reading.hides:
                reading.hidden = 1
                continue
            if reading.in_code:  # a code is text
                raise EvidenceRefused(_CODE_ELSEWHERE, REFUSED)
            if reading.codes and (
                prefix != reading.field_prefixes[-1] or self.scopes[-1] is not None
            ):
                reading.foreign.append(len(self.scopes))
            if local in reading.field_elements:
                reading.opened(prefix, local, attributes)
        if self.in_formula:
            self.formula_child(local)
        elif local in _FORMULAS and not (local == "f" and self.namespace(prefix) in _MATH):
            self.in_formula, self.formula, self.formula_shape = 1, [], _FORMULA_EMPTY
        if local in _WATCHED:  # one look-up an element for the few names below
            self.watched(prefix, local, attributes)

    def formula_child(self, local: str) -> None:
        """An element inside a formula: a formula is text, so only Excel's own nesting is
        taken, one <f> holding the whole formula (x14's <formula1><xm:f>…</xm:f>). Anything
        else (mc:AlternateContent, whose branches Office reads one of; an element Office drops,
        its namespace ignorable; pieces) is refused: the formula Office reads is not the text
        checked."""
        if self.in_formula > 1 or local != "f" or self.formula_shape != _FORMULA_EMPTY:
            raise EvidenceRefused(_FORMULA_ELSEWHERE, REFUSED)
        self.formula_shape = _FORMULA_NESTED
        self.in_formula = 2

    def watched(self, prefix: str, local: str, attributes: list[tuple[str, str]]) -> None:
        if local == "fldSimple":
            for code in _values(attributes, "instr"):
                self.fields.refuse_field(code)
        elif local == "ddeLink":
            raise EvidenceRefused(_DDE_REFUSED, REFUSED)
        elif local == "DataMashup":
            if self.namespace(prefix) == _DATA_MASHUP:
                raise EvidenceRefused(
                    _CONNECTION_REFUSED.format(f"a Power Query query in {self.part}"), REFUSED
                )
        elif local in _MAIL_MERGE_SOURCES:
            if self.namespace(prefix) in _WORD and any(value.strip() for _, value in attributes):
                raise EvidenceRefused(
                    _MAIL_MERGE_REFUSED.format(f"{local} in {self.part}"), REFUSED
                )
        elif self.namespace(prefix) in _SPREADSHEET:  # a connection's parts
            raise EvidenceRefused(_CONNECTION_REFUSED.format(f"{local} in {self.part}"), REFUSED)

    def text(self, content: str) -> None:
        for reading in self.readings:
            if reading.in_code and not reading.hidden:
                reading.text(content)
        if self.in_formula and self.formula is not None:
            if self.in_formula == 1 and not content.isspace():
                if self.formula_shape == _FORMULA_NESTED:
                    raise EvidenceRefused(_FORMULA_ELSEWHERE, REFUSED)
                self.formula_shape = _FORMULA_TEXT
            self.formula.append(content)

    def closed(self, local: str) -> None:
        depth = len(self.scopes)
        changes = self.fields.changes
        if changes and changes[-1][0] == depth:
            changes.pop()
        for reading in self.readings:
            if reading.hidden:
                reading.hidden -= 1
                continue
            reading.in_code = False  # a code holds no element: this is its own end
            if reading.foreign and reading.foreign[-1] == depth:
                reading.foreign.pop()
        if self.in_formula:
            self.in_formula -= 1
            if not self.in_formula and self.formula is not None:
                formula, self.formula = "".join(self.formula), None
                if "|" in _FORMULA_STRING.sub("", formula):
                    raise EvidenceRefused(_DDE_REFUSED, REFUSED)
                # Blanked once, for both checks (a formula too long is refused unread).
                bare = (
                    _FORMULA_QUOTED.sub(" ", formula)
                    if len(formula) <= MAX_FORMULA_CHARACTERS
                    else None
                )
                fetching = _fetching_call(formula, bare=bare)
                if fetching is not None:
                    raise EvidenceRefused(_FETCH_REFUSED.format(fetching), REFUSED)
                if _external_workbook(formula, bare):
                    raise EvidenceRefused(_EXTERNAL_REFERENCE, REFUSED)

    def endDocument(self) -> None:
        for reading in self.readings:
            reading.ended()


# Word fields whose update reaches outside the document (Word updates fields when asked: F9,
# printing, a prompt to update links on opening; DDEAUTO, and LINK with \a, by themselves):
# INCLUDEPICTURE (IMPORT, its Word 6 name) fetches a picture, INCLUDETEXT (INCLUDE) a file's
# text, LINK an object's source, DATABASE a query's result, RD a file to index. From a UNC path
# Windows sends the opener's NTLM hash; from a web address, someone learns who opened it and
# when. DDE and DDEAUTO start a program (`_DDE_FIELDS`). A field is known by the first word of
# its code, in any case, after any spaces, backslashes and quotes; PAGE, DATE, REF, TOC,
# HYPERLINK (followed only on a click) and the others are taken.
_FETCHING_FIELDS = {
    "INCLUDEPICTURE": "a picture",
    "IMPORT": "a picture",
    "INCLUDETEXT": "a file's text",
    "INCLUDE": "a file's text",
    "LINK": "a linked object's contents",
    "DATABASE": "a database query's result",
    "RD": "a file to index",
}
_FIELD_LEADING = re.compile(r"[\s\\\"']*")
_FIELD_NAME = re.compile(r"[\s\\\"']*([A-Za-z]*)")
_COMPUTED_FIELD = (
    "this document holds a field whose name another field computes (it could be DDE, which "
    "starts a program, or a field that fetches from elsewhere); send one without it"
)
# The elements `_DdeFinder` looks at beyond field codes and formulas: a simple field, an Excel
# DDE link, a Power Query mashup (customXml), a data connection's parts (in SpreadsheetML's
# namespace: the words are common elsewhere) and a mail merge's data source (in
# WordprocessingML's).
_WATCHED = frozenset(
    {
        "fldSimple",
        "ddeLink",
        "DataMashup",
        "connection",
        "webPr",
        "dbPr",
        "olapPr",
        "textPr",
        *_MAIL_MERGE_SOURCES,
    }
)
_DATA_MASHUP = "http://schemas.microsoft.com/DataMashup"
_SPREADSHEET = frozenset(
    {
        "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "http://purl.oclc.org/ooxml/spreadsheetml/main",
    }
)


def _field_name(code: str) -> str:
    """A Word field's name: the first word of its code, upper case."""
    return _FIELD_NAME.match(code).group(1).upper()  # type: ignore[union-attr]


_IN_RESULT = 1 << 62  # a field's mark once its code is complete: its result may hold anything
_CODE_ELSEWHERE = (
    "this document holds a field whose code is written inside markup Word may read otherwise "
    "(mc:AlternateContent, or an element of another namespace); send one without it"
)
_TRACKED_NAME = (
    "this document holds a field whose name is written across tracked changes (accepting some "
    "and rejecting others could make it DDE, or a field that fetches from elsewhere); send it "
    "with its tracked changes accepted or rejected"
)
_REFUSED_FIELDS = frozenset({*_DDE_FIELDS, *_FETCHING_FIELDS})
_LETTERS = re.compile(r"[A-Za-z]*")


def _name_unfinished(code: str) -> bool:
    """Whether a nested field beginning after `code` (the outer field's code so far, leading
    spaces, backslashes and quotes dropped) could make or complete a refused field's name:
    Word puts the nested field's result into the outer code before it reads the name, so
    DD{QUOTE 69}AUTO is DDEAUTO. Nothing yet, or only the first letters of such a name."""
    if not code.strip():
        return True
    start = code.upper()
    return _LETTERS.fullmatch(code) is not None and any(
        name.startswith(start) for name in _REFUSED_FIELDS
    )


# A reference to another workbook in Excel's grammar: [1]Sheet1!A1 (an external link's number,
# as OOXML stores it; [0] is the workbook itself), [Book.xlsx]Sheet1!A1, or a quoted name
# holding a path: '\\host\share\[Book.xlsx]Sheet1'!A1, 'http://host/[b.xlsx]S'!A1,
# 'C:\x\b.xlsx'!Total. A sheet's name holds none of [ ] \ /, so a quoted name holding one
# of them before `!` names a file. Excel fetches it when links are updated.
_EXCEL_BOOK = re.compile(r"\[(?!\s*0\s*\])[^\[\]]*\][^\[\]!'\"\s(),;+\-*/&=<>^%:]*!")
# Strings and quoted names, in order (as `_FORMULA_QUOTED`): the one group is a quoted name
# holding a character no sheet's name holds, followed by `!`; empty for every other. One pass
# in the regular expression engine, not a Python step a name.
_QUOTED_BOOK = re.compile(
    r""""(?:[^"]|"")*"|'(?:[^'\[\]\\/]|'')*'|('(?:[^']|'')*')(?=\s*!)|'(?:[^']|'')*'"""
)


def _external_workbook(formula: str, bare: str | None = None) -> bool:
    """Whether an Excel formula refers to another workbook (outside its strings). `bare`: the
    formula with its strings and quoted names blanked, if the caller has it."""
    if "!" not in formula:
        return False
    if any(_QUOTED_BOOK.findall(formula)):
        return True
    if bare is None:
        bare = _FORMULA_QUOTED.sub(" ", formula)
    return _EXCEL_BOOK.search(bare) is not None


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


_ODF_ACTIVE_PARTS = re.compile(r"^(?:basic|scripts)/")


_ODF_TYPE = b"application/vnd.oasis.opendocument."


def _check_odf_package(
    package: zipfile.ZipFile, detected: str | None, budget: _XmlBudget, depth: int
) -> None:
    """An ODF package: the document (of type `detected`) or one embedded in it (`detected`
    None: any OpenDocument type), `depth` packages deep."""
    entries = package.infolist()
    if not entries or entries[0].filename != "mimetype":
        raise EvidenceRefused("this file is not the office document it appears to be", REFUSED)
    declared = _read_part(package, "mimetype", 200).strip()
    expected = declared == detected.encode("ascii") if detected else declared.startswith(_ODF_TYPE)
    if not expected:
        raise EvidenceRefused("this file is not the office document it appears to be", REFUSED)
    names = {entry.filename for entry in entries}
    for name in names:
        if _ODF_ACTIVE_PARTS.match(name.lower()):
            raise EvidenceRefused("this document holds macros or scripts", REFUSED)
    if "content.xml" not in names:
        raise EvidenceRefused("this file is not the office document it appears to be", REFUSED)
    _check_embedded_objects(package, budget, depth)
    if "META-INF/manifest.xml" in names:
        manifest = _OdfManifest()
        _parse(_read_part(package, "META-INF/manifest.xml"), manifest, "manifest")
        if manifest.encrypted:
            raise EvidenceRefused("this document is encrypted: send it without a password", REFUSED)
    # The document's own and each embedded object's (Object 1/content.xml).
    for name in sorted(names):
        if name.rpartition("/")[2] in ("content.xml", "styles.xml"):
            _parse(budget.read(package, name), _OdfScripts(), name, budget)
    if "meta.xml" in names:  # a reload from (a redirect to) elsewhere: meta:auto-reload
        _parse(budget.read(package, "meta.xml"), _OdfScripts(), "meta.xml", budget)


class _OdfManifest(_Part):
    def __init__(self) -> None:
        super().__init__()
        self.encrypted = False

    def element(self, prefix: str, local: str, attributes: list[tuple[str, str]]) -> None:
        if local == "encryption-data":
            self.encrypted = True


_ODF_REFUSED = "this document holds macros or scripts"
_PRESENTATION = "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"
# ODF 1.3's presentation:action values that only move about the show (or play a sound, show a
# place in the document, hide a shape). "execute" runs a program or macro and "verb" an
# object's verb: refused, as is any value not listed here.
_HARMLESS_ACTIONS = frozenset(
    {
        "none",
        "previous-page",
        "next-page",
        "first-page",
        "last-page",
        "last-visited-page",
        "hide",
        "stop",
        "show",
        "fade-out",
        "sound",
    }
)
# The script addresses: the suite's scripting framework (its own installed scripts, LibreLogo's
# included, run with no Basic/ in the package) and Basic macros.
_SCRIPT_ADDRESS = re.compile(r"vnd\.sun\.star\.script:|macro:///", re.IGNORECASE)
# A link that runs something when followed: a macro, a dispatch command of the suite
# (.uno:, slot:; e.g. one that runs a macro or opens a file), a UNO service (service:).
_MACRO_ADDRESS = re.compile(r"\s*(?:macro:|\.uno:|slot:|service:)", re.IGNORECASE)
# DDE in ODF: a section's or table's source (office:dde-source), a declared connection and the
# field showing it (text:dde-connection-decl, text:dde-connection), a sheet's link
# (table:dde-link). Each starts the named program (or asks it for data) when links update.
_ODF_DDE = frozenset({"dde-source", "dde-connection-decl", "dde-connection", "dde-link"})
# Attributes holding a formula or condition: a cell's (table:formula), a text field's
# (text:formula, text:condition), a validation's (table:condition), a named expression's
# (table:expression), a conditional format's or style map's (calcext:condition's value,
# style:condition).
# A named range's or a chart's addresses (table:cell-range-address, table:base-cell-address)
# are read as formulas too: one may name another file ('file:///x.ods'#$Sheet1.A1).
_ODF_FORMULAS = frozenset(
    {"formula", "condition", "expression", "cell-range-address", "base-cell-address"}
)
_ODF_EXCEL_GRAMMAR = re.compile(r"\s*msoxl:", re.IGNORECASE)
# Elements whose link (xlink:href) the suite loads as the document opens, or as it updates its
# links: a linked image (CVE-2020-12802: fetched on opening), object, sheet, section or range,
# a floating frame, a plug-in or applet, a fill, background, bullet or chart symbol image, a
# font, the document itself reloaded from an address (meta.xml's meta:auto-reload: a
# redirect), a sound played as a slide appears or an effect runs (presentation:sound,
# anim:audio; a click's sound is its listener's), the database a form or a database field
# connects to (form:connection-resource: ODF's data connection). A link to a place outside
# the package is refused (a UNC path sends the opener's NTLM hash; a web address tells someone
# who opened it, and when); one to a part of the package (Pictures/x.png, ./Object 1) is taken.
# A form's image button (form:image) opens its link on a click, as text:a and draw:a do:
# taken; a form control's picture (form:image-data), shown as the document opens, is a linked
# image.
_ODF_LINKED = {
    "image": "a linked image",
    "fill-image": "a linked image",
    "background-image": "a linked image",
    "list-level-style-image": "a linked image",
    "symbol-image": "a linked image",
    "object": "a linked object",
    "object-ole": "a linked object",
    "table-source": "a linked sheet",
    "cell-range-source": "a linked range",
    "section-source": "a linked section",
    "floating-frame": "a floating frame",
    "plugin": "a linked plug-in or medium",
    "applet": "an applet",
    "font-face-uri": "a linked font",
    "auto-reload": "a reload from elsewhere",
    "sound": "a sound played in the show",
    "audio": "a sound played in the show",
    "connection-resource": "a database a form or field connects to",
}
_ODF_FORM = frozenset({"urn:oasis:names:tc:opendocument:xmlns:form:1.0", "undeclared:form"})
_FETCH_ON_OPENING = (
    "this document fetches from outside as it opens ({}); send one with it embedded or without it"
)
# An external reference in an ODF formula (OpenFormula's Source: 'IRI'#): a sheet of another
# document, which the suite loads when links update: ['file:///x.ods'#$Sheet1.A1], a UNC path
# or a web address. A quoted sheet name is followed by '.', not '#': [$'Sheet 2'.A1].
_FORMULA_SOURCE = re.compile(r"\s*#")
_EXTERNAL_REFERENCE = (
    "this document holds a formula that refers to another file (fetched when links are "
    "updated); send one with its values instead"
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_ODF_META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"


def _template_elsewhere(href: str) -> bool:
    """Whether a document's template (meta:template, which the suite looks at as the document
    opens, to offer its newer styles) is on another machine: a web or other address, a UNC path
    (it sends the opener's NTLM hash) or file://host/. One on the opener's own drives (a path
    beside the document, /home/…, C:\\…, file:///…) is taken, as Word's attached template is."""
    address = unquote(href.strip()).replace("\\", "/")
    if address.startswith("//"):
        return True
    if address.lower().startswith("file:"):
        rest = address[5:]  # file:///path is this machine's; file://host/ and file://// are not
        return not rest.startswith("///") or rest.startswith("////")
    return bool(_SCHEME.match(address)) and not _LOCAL_DRIVE.match(address)


def _in_the_document(href: str) -> bool:
    """Whether a link stays inside the document: a place in it (#Slide 3) or a part of the
    package (Media/chime.wav). A scheme, an absolute path, a host or a path that climbs out of
    the package (../other.odp: beside the document) reaches outside."""
    address = unquote(href.strip())
    if address.startswith("#"):
        return True
    if _SCHEME.match(address) or address.startswith(("/", "\\")):
        return False
    depth = 0
    for segment in re.split(r"[\\/]", address):
        if segment == "..":
            depth -= 1
            if depth < 0:
                return False
        elif segment not in ("", "."):
            depth += 1
    return True


class _OdfScripts(_ScopedPart):
    """Refuses what runs a script in content.xml or styles.xml: an event listener (any but a
    presentation's), a presentation's listener whose action runs something ("execute", "verb",
    any value not in ODF's list of moves) or whose links (its own, its sound's) go outside the
    document, a script language or macro name on a listener, a macro field, a script address in
    any attribute (percent-decoded) or text, and a link to a macro, a dispatch command or a
    service. Refuses DDE (`_ODF_DDE`), formulas that fetch from outside (`_FETCHING`), refer to
    another file (`'file:///x.ods'#$Sheet1.A1`) or, written in Excel's grammar (msoxl:), name a
    program (`app|topic!item`), and a link loaded as the document opens (`_ODF_LINKED`: a
    linked image, object, sheet, section) to a place outside the package. The presentation
    and form namespaces are the ones their prefixes are declared for."""

    def __init__(self) -> None:
        super().__init__()
        self.in_listener = 0
        self.tail = ""

    def element(self, prefix: str, local: str, attributes: list[tuple[str, str]]) -> None:
        for name, value in attributes:
            # As the suite reads a link: %2Euno: is .uno: (no call for the many without a %).
            address = unquote(value) if "%" in value else value
            if _SCRIPT_ADDRESS.search(address) or (
                name == "href" and _MACRO_ADDRESS.match(address)
            ):
                raise EvidenceRefused(_ODF_REFUSED, REFUSED)
            if name in _ODF_FORMULAS or (name == "value" and local == "condition"):
                _check_odf_formula(value)
            if name == "image-data" and not _in_the_document(value):  # a form control's image
                raise EvidenceRefused(_FETCH_ON_OPENING.format("a linked image"), REFUSED)
            if name == "datasource" and not _in_the_document(value):
                # form:datasource: a registered data source's name (taken), or the address of
                # a database (file:///x.odb, sdbc:..., a UNC path), as form:connection-resource
                raise EvidenceRefused(
                    _FETCH_ON_OPENING.format(_ODF_LINKED["connection-resource"]), REFUSED
                )
        if (
            local in _ODF_LINKED
            and not all(_in_the_document(href) for href in _values(attributes, "href"))
            and (self.namespace(prefix) not in _ODF_FORM or local == "connection-resource")
            and not self.in_listener  # a click's links: the listener's own refusal, below
        ):
            raise EvidenceRefused(_FETCH_ON_OPENING.format(_ODF_LINKED[local]), REFUSED)
        if (
            local == "template"
            and self.namespace(prefix) == _ODF_META
            and any(_template_elsewhere(href) for href in _values(attributes, "href"))
        ):
            raise EvidenceRefused(_FETCH_ON_OPENING.format("a template from elsewhere"), REFUSED)
        if local in _ODF_DDE:
            raise EvidenceRefused(_DDE_REFUSED, REFUSED)
        if local == "execute-macro":
            raise EvidenceRefused(_ODF_REFUSED, REFUSED)
        if local == "event-listener":
            if self.namespace(prefix) not in (_PRESENTATION, "undeclared:presentation"):
                raise EvidenceRefused(_ODF_REFUSED, REFUSED)
            if _values(attributes, "language") or _values(attributes, "macro-name"):
                raise EvidenceRefused(_ODF_REFUSED, REFUSED)
            if any(action not in _HARMLESS_ACTIONS for action in _values(attributes, "action")):
                raise EvidenceRefused(_ODF_REFUSED, REFUSED)
        if local == "event-listener" or self.in_listener:
            self.in_listener += 1
            if not all(_in_the_document(href) for href in _values(attributes, "href")):
                raise EvidenceRefused(_ODF_REFUSED, REFUSED)

    def closed(self, local: str) -> None:
        if self.in_listener:
            self.in_listener -= 1

    def text(self, content: str) -> None:
        # Every script address holds a colon: text without one, after a tail without one,
        # cannot complete one.
        if ":" not in content and ":" not in self.tail:
            self.tail = content[-32:] if len(content) >= 32 else (self.tail + content)[-32:]
            return
        seen = self.tail + content
        if _SCRIPT_ADDRESS.search(seen):
            raise EvidenceRefused(_ODF_REFUSED, REFUSED)
        self.tail = seen[-32:]


def _check_odf_formula(formula: str) -> None:
    fetching = _fetching_call(formula)
    if fetching is not None:
        raise EvidenceRefused(_FETCH_REFUSED.format(fetching), REFUSED)
    for quoted in _FORMULA_QUOTED.finditer(formula):  # strings and quoted names, in order
        if quoted.group().startswith("'") and _FORMULA_SOURCE.match(formula, quoted.end()):
            raise EvidenceRefused(_EXTERNAL_REFERENCE, REFUSED)
    if _ODF_EXCEL_GRAMMAR.match(formula):
        if "|" in _FORMULA_STRING.sub("", formula):
            raise EvidenceRefused(_DDE_REFUSED, REFUSED)
        if _external_workbook(formula):  # '\\host\share\[b.xlsx]Sheet1'!A1, [b.xlsx]S!A1
            raise EvidenceRefused(_EXTERNAL_REFERENCE, REFUSED)


# --- OLE objects embedded in a package (word/embeddings/oleObject1.bin, ODF's Object 1) ---------

_OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
# Objects whose server is a known way in, by class: the Packager (ProgID "Package": it carries
# any file, an executable or a script, and runs it on a double-click; the Windows 7+ Packager
# Shell Object likewise) and Equation Editor 3.0 (CVE-2017-11882, CVE-2018-0802: removed from
# Office in 2018 for them). An embedded workbook, chart, document or drawing is taken.
_OLE_PACKAGE = "an embedded file (an OLE package: it runs what it holds)"
_OLE_REFUSED_CLASSES = {
    "0003000C-0000-0000-C000-000000000046": _OLE_PACKAGE,
    "F20DA720-C02F-11CE-927B-0800095AE340": _OLE_PACKAGE,
    "0002CE02-0000-0000-C000-000000000046": "an Equation Editor 3.0 object",
    "0002CE03-0000-0000-C000-000000000046": "an Equation Editor 3.0 object",
}
_OLE_REFUSED_PROGIDS = {
    "package": _OLE_PACKAGE,
    "equation.3": "an Equation Editor 3.0 object",
}


# A document embedded in the document as a package of its own (a workbook behind a chart,
# word/embeddings/Microsoft_Excel_Worksheet.xlsx; a presentation in a document) is checked as
# the document is, with the document's bounds (its parts, bytes and elements count with the
# document's); one nested deeper than this is refused.
MAX_NESTED_DEPTH = 2
_ZIP_MAGIC = b"PK\x03\x04"
# A reader opens a zip from its end-of-central-directory record, in its last 64 KiB + 22 bytes
# (the record, and a comment of at most 65,535), whatever comes first: a zip after a few bytes
# (a self-extractor's stub, or junk) is one too, its offsets counting them.
_ZIP_END = b"PK\x05\x06"
_ZIP_DIRECTORY_ENTRY = b"PK\x01\x02"
_ZIP_END_WITHIN = 22 + 65_535
_CHUNK = 1 << 20


def _zip_in(data: bytes) -> bool:
    """Whether `data` is a zip as readers find one: from its first bytes, or from an
    end-of-central-directory record that opens to at least one entry (four bytes of an image
    that happen to look like one open to nothing)."""
    if data.startswith(_ZIP_MAGIC):
        return True
    if _ZIP_END not in data[-_ZIP_END_WITHIN:]:
        return False
    if data.count(_ZIP_DIRECTORY_ENTRY) > MAX_ZIP_ENTRIES:
        return True  # refused unread by `_check_nested` (`_XmlBudget.directory`)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as found:
            return bool(found.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return False


def _tail_holds_zip_end(part: Any) -> bool:
    """Whether what is left of an open part ends with a zip's end record within its reach
    (read in chunks, keeping only the tail)."""
    tail = b""
    while chunk := part.read(_CHUNK):
        tail = (tail + chunk)[-(_ZIP_END_WITHIN + len(_ZIP_END)) :]
    return _ZIP_END in tail


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


def _embedded_object_refusal(data: bytes, packages: list[tuple[str, bytes]]) -> str | None:
    """What makes the embedded OLE object refused, or None; the OOXML or ODF documents it
    holds are added to `packages` (`_ole_packages`), to be checked as documents."""
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            packages.extend(_ole_packages(ole))
            for entry in ole.listdir(streams=True, storages=True):
                lowered = {part.lower() for part in entry}
                if "\x01ole10native" in lowered:
                    return _OLE_PACKAGE
                if lowered & _OLE_ACTIVE:
                    return "an embedded object with macros"
                if lowered & _OLE_ENCRYPTED:
                    return "an encrypted embedded object"
            for direntry in ole.direntries:
                clsid = str(getattr(direntry, "clsid", "") or "").upper()
                if clsid in _OLE_REFUSED_CLASSES:
                    return _OLE_REFUSED_CLASSES[clsid]
            if ole.exists("\x01CompObj"):
                with ole.openstream("\x01CompObj") as stream:
                    prog_id = _compobj_prog_id(stream.read(4096))
                if prog_id is not None and prog_id.lower() in _OLE_REFUSED_PROGIDS:
                    return _OLE_REFUSED_PROGIDS[prog_id.lower()]
            if ole.exists("\x01Ole"):
                with ole.openstream("\x01Ole") as stream:
                    header = stream.read(8)
                if len(header) == 8 and struct.unpack_from("<I", header, 4)[0] & 0x1:
                    return "a linked object (its source is fetched when it is updated)"
    except Exception:
        return "an embedded object that cannot be read"
    return None


def _ole_packages(ole: Any) -> list[tuple[str, bytes]]:
    """The documents an OLE compound file holds as zip packages in `Package` streams: how
    Office embeds an OOXML document (a workbook, a presentation) in a legacy document's
    ObjectPool or in an OLE object (a zip as `_zip_in` finds one). Other `Package` streams are
    left alone."""
    found = []
    for entry in ole.listdir(streams=True, storages=False):
        if entry[-1].lower() == "package":
            with ole.openstream(entry) as stream:
                data = stream.read()
            if _zip_in(data):
                found.append(("/".join(entry), data))
    return found


def _compobj_prog_id(stream: bytes) -> str | None:
    """The ProgID in a CompObj stream ([MS-OLEDS] 2.3.8): after a 28-byte header, the user
    type (a length-prefixed string), the clipboard format (none, a number, or a string), then
    the ProgID (a length-prefixed string). None if the stream ends before it."""

    def string(offset: int) -> tuple[str, int] | None:
        if offset + 4 > len(stream):
            return None
        (length,) = struct.unpack_from("<I", stream, offset)
        end = offset + 4 + length
        if end > len(stream):
            return None
        return stream[offset + 4 : end].split(b"\0", 1)[0].decode("latin-1"), end

    user_type = string(28)
    if user_type is None or user_type[1] + 4 > len(stream):
        return None
    offset = user_type[1]
    (marker,) = struct.unpack_from("<I", stream, offset)
    if marker in (0xFFFFFFFF, 0xFFFFFFFE):
        offset += 8
    elif marker == 0:
        offset += 4
    else:
        clipboard = string(offset)
        if clipboard is None:
            return None
        offset = clipboard[1]
    prog_id = string(offset)
    return prog_id[0] if prog_id is not None else None


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
            for direntry in ole.direntries:  # objects in it (ObjectPool/_1234567890)
                clsid = str(getattr(direntry, "clsid", "") or "").upper()
                if clsid in _OLE_REFUSED_CLASSES:
                    raise EvidenceRefused(
                        f"this document holds {_OLE_REFUSED_CLASSES[clsid]}", REFUSED
                    )
            main = next((name for name in main_streams if ole.exists(name)), None)
            if main is None:
                raise EvidenceRefused(
                    "this file is not the office document it appears to be", REFUSED
                )
            with ole.openstream(main) as stream:
                head = stream.read(64 * 1024 if main == "WordDocument" else MAX_MANIFEST_BYTES)
            packages = _ole_packages(ole)
    except EvidenceRefused:
        raise
    except Exception:
        raise EvidenceRefused("this office document cannot be read", REFUSED) from None
    budget = _XmlBudget()
    for stream, document in packages:  # an OOXML document in its ObjectPool
        _check_nested(document, stream, budget, 1)
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
