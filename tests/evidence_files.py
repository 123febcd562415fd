"""Real files, made here, for the evidence tests: valid ones and each kind we refuse."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from tradehall.membership.evidence import EvidenceRefused, inspect

OOXML = "application/vnd.openxmlformats-officedocument"
DOCX_MAIN = f"{OOXML}.wordprocessingml.document.main+xml"
XLSX_MAIN = f"{OOXML}.spreadsheetml.sheet.main+xml"


def pdf(*, action: DictionaryObject | None = None, javascript: str | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    if action is not None:
        writer._root_object[NameObject("/OpenAction")] = action
    if javascript is not None:  # document-level JavaScript, in the /Names tree
        script = DictionaryObject(
            {
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject(javascript),
            }
        )
        names = ArrayObject([TextStringObject("start"), writer._add_object(script)])
        writer._root_object[NameObject("/Names")] = DictionaryObject(
            {NameObject("/JavaScript"): DictionaryObject({NameObject("/Names"): names})}
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_goto() -> bytes:
    """An /OpenAction that only opens the first page: harmless."""
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    writer._root_object[NameObject("/OpenAction")] = ArrayObject(
        [page.indirect_reference, NameObject("/Fit")]
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def javascript_action() -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('hi')"),
        }
    )


def launch_action() -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/S"): NameObject("/Launch"),
            NameObject("/F"): TextStringObject("calc.exe"),
        }
    )


def encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0\0\0\0"))
        + chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    jfif = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")
    quantisation = bytes.fromhex("ffdb004300") + bytes(range(1, 65))
    return jfif + quantisation + bytes.fromhex("ffd9")


def gif() -> bytes:
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
        b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


def webp() -> bytes:
    body = b"WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
    return b"RIFF" + struct.pack("<I", len(body)) + body


def zip_of(entries: Iterable[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in entries:
            package.writestr(name, data)
    return out.getvalue()


def content_types(*overrides: tuple[str, str]) -> bytes:
    parts = "".join(
        f'<Override PartName="{name}" ContentType="{kind}"/>' for name, kind in overrides
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f"{parts}</Types>"
    ).encode()


RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Target="word/document.xml" Type="http://schemas.openxmlformats.org/'
    b'officeDocument/2006/relationships/officeDocument"/></Relationships>'
)
DOCUMENT = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b"<w:body><w:p><w:r><w:t>Our asset lock</w:t></w:r></w:p></w:body></w:document>"
)


def docx(*extra: tuple[str, bytes], types: bytes | None = None) -> bytes:
    """A Word document as Word writes it: [Content_Types].xml first."""
    declared = types or content_types(("/word/document.xml", DOCX_MAIN))
    return zip_of(
        [
            ("[Content_Types].xml", declared),
            ("_rels/.rels", RELS),
            ("word/document.xml", DOCUMENT),
            *extra,
        ]
    )


def docx_with_macros() -> bytes:
    macro_main = "application/vnd.ms-word.document.macroEnabled.main+xml"
    return docx(
        ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\0" * 100),
        types=content_types(("/word/document.xml", macro_main)),
    )


def docx_claiming_to_be_a_spreadsheet() -> bytes:
    """Named like a Word document (libmagic says so), but it declares a workbook."""
    return docx(types=content_types(("/xl/workbook.xml", XLSX_MAIN)))


def xlsx(*extra: tuple[str, bytes], types: bytes | None = None) -> bytes:
    """A workbook (its parts beside `extra`), [Content_Types].xml first."""
    return zip_of(
        [
            ("[Content_Types].xml", types or content_types(("/xl/workbook.xml", XLSX_MAIN))),
            ("_rels/.rels", RELS),
            ("xl/workbook.xml", b"<workbook/>"),
            *extra,
        ]
    )


def field(*runs: str, result: str = "1") -> str:
    """A Word complex field: begin, its code in runs of instrText, separate, `result`, end."""
    code = "".join(f"<w:r><w:instrText>{text}</w:instrText></w:r>" for text in runs)
    return (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        + code
        + f'<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>{result}</w:t></w:r>'
        + '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )


def odf(mimetype: str, content: bytes, *extra: tuple[str, bytes]) -> bytes:
    """An OpenDocument package of `mimetype`: mimetype first and stored, then content.xml."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        package.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        package.writestr("META-INF/manifest.xml", b"<manifest:manifest/>")
        for name, data in extra:
            package.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def odt(*extra: tuple[str, bytes], content: bytes = b"<office:document-content/>") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr(
            "mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED
        )
        package.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        package.writestr(
            "META-INF/manifest.xml", b"<manifest:manifest/>", compress_type=zipfile.ZIP_DEFLATED
        )
        for name, data in extra:
            package.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def write_zip_bomb(path: Path, expanded: int = 200 * 1024 * 1024) -> None:
    """A Word-looking package with one part of `expanded` zeros, written in a stream (a few
    hundred KiB on disk, never held in memory)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        package.writestr("[Content_Types].xml", content_types(("/word/document.xml", DOCX_MAIN)))
        package.writestr("_rels/.rels", RELS)
        package.writestr("word/document.xml", DOCUMENT)
        block = bytes(1024 * 1024)
        with package.open("word/media/padding.bin", "w", force_zip64=True) as part:
            for _ in range(expanded // len(block)):
                part.write(block)


# --- legacy OLE (Compound File Binary), written by hand: olefile only reads ---------------------

_SECTOR = 512
_FREE, _END, _FAT, _NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def ole(tree: dict[str, object]) -> bytes:
    """A compound file of `tree`: a name maps to bytes (a stream) or to a dict (a storage).
    Streams are padded to 4096 bytes, so they all live in regular sectors."""
    entries: list[dict[str, object]] = [{"name": "Root Entry", "type": 5, "children": tree}]

    def add(children: dict[str, object]) -> int:
        # Siblings in CFB order (length, then upper case), chained to the right.
        ids = []
        for name in sorted(children, key=lambda n: (len(n), n.upper())):
            value = children[name]
            entry: dict[str, object] = {"name": name}
            entries.append(entry)
            ids.append(len(entries) - 1)
            if isinstance(value, dict):
                entry["type"] = 1
                entry["child"] = add(value) if value else _NONE
            else:
                assert isinstance(value, bytes)
                entry["type"] = 2
                entry["data"] = value.ljust(4096, b"\0")
        for this, following in zip(ids, [*ids[1:], _NONE], strict=True):
            entries[this]["right"] = following
        return ids[0]

    entries[0]["child"] = add(tree)
    directory_sectors = -(-len(entries) // 4)
    fat: list[int] = [_FAT]
    fat += [*range(2, 1 + directory_sectors), _END]
    next_sector = 1 + directory_sectors
    data = b""
    for entry in entries:
        payload = entry.get("data")
        if isinstance(payload, bytes):
            count = len(payload) // _SECTOR
            entry["start"] = next_sector
            fat += [*range(next_sector + 1, next_sector + count), _END]
            next_sector += count
            data += payload
    assert len(fat) <= _SECTOR // 4
    fat_sector = struct.pack(f"<{_SECTOR // 4}I", *fat, *[_FREE] * (_SECTOR // 4 - len(fat)))

    directory = b""
    for entry in entries:
        name = str(entry["name"]).encode("utf-16-le") + b"\0\0"
        payload = entry.get("data")
        size = len(payload) if isinstance(payload, bytes) else 0
        directory += (
            name.ljust(64, b"\0")
            + struct.pack("<HBB", len(name), int(entry["type"]), 1)  # type: ignore[call-overload]
            + struct.pack("<III", _NONE, entry.get("right", _NONE), entry.get("child", _NONE))
            + bytes(16 + 4 + 8 + 8)
            + struct.pack("<IQ", entry.get("start", _END), size)
        )
    directory = directory.ljust(directory_sectors * _SECTOR, b"\0")
    # Unused directory slots: empty entries with no siblings.
    empty = bytes(64) + struct.pack("<HBB", 0, 0, 0) + struct.pack("<III", _NONE, _NONE, _NONE)
    empty = empty.ljust(128, b"\0")
    used = len(entries) * 128
    directory = directory[:used] + empty * ((len(directory) - used) // 128)

    header = (
        bytes.fromhex("d0cf11e0a1b11ae1")
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<I", 0)
        + struct.pack("<108I", *[_FREE] * 108)
    )
    assert len(header) == _SECTOR
    return header + fat_sector + directory + data


def word_fib(*, encrypted: bool = False) -> bytes:
    flags = 0x0100 if encrypted else 0
    return struct.pack("<HHHHHH", 0xA5EC, 0x00C1, 0, 0x0409, 0, flags)


def doc(*, macros: bool = False, encrypted: bool = False) -> bytes:
    tree: dict[str, object] = {"WordDocument": word_fib(encrypted=encrypted), "1Table": b"t"}
    if macros:
        tree["Macros"] = {"VBA": {"dir": b"attribute vb_name"}}
    return ole(tree)


def biff(record: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", record, len(data)) + data


def xls(*, macro_sheet: bool = False) -> bytes:
    sheet_type = 0x01 if macro_sheet else 0x00
    workbook = (
        biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0, 0, 0, 0))
        + biff(0x0085, struct.pack("<IBB", 0, 0, sheet_type) + b"\x06\x00Sheet1")
        + biff(0x000A)
    )
    return ole({"Workbook": workbook})


WORD = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def word(body: str) -> bytes:
    """A Word document whose one paragraph holds `body` (runs, fields, as Word writes them)."""
    document = f"<w:document {WORD}><w:body><w:p>{body}</w:p></w:body></w:document>".encode()
    return zip_of(
        [
            ("[Content_Types].xml", content_types(("/word/document.xml", DOCX_MAIN))),
            ("_rels/.rels", RELS),
            ("word/document.xml", document),
        ]
    )


def inspected(tmp_path: Path, data: bytes, name: str = "upload.docx") -> str:
    """The extension the evidence intake takes `data` as, sent as `name`."""
    path = tmp_path / name
    path.write_bytes(data)
    return inspect(path).extension


def refusal(tmp_path: Path, data: bytes, name: str = "upload.docx") -> EvidenceRefused:
    """The intake's refusal of `data` sent as `name` (a 422)."""
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(EvidenceRefused) as refused:
        inspect(path)
    assert refused.value.status == 422
    return refused.value
