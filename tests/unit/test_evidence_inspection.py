"""Evidence files are typed from their bytes, and active or disguised content is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests import evidence_files as files
from tradehall.membership.evidence import EvidenceRefused, Inspected, inspect
from tradehall.membership.evidence.inspection import MAX_ZIP_ENTRIES


@pytest.fixture
def write(tmp_path: Path) -> Callable[[bytes, str], Path]:
    def write(data: bytes, name: str = "upload.bin") -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


@pytest.mark.parametrize(
    ("data", "content_type", "extension"),
    [
        (files.pdf(), "application/pdf", "pdf"),
        (files.pdf_with_goto(), "application/pdf", "pdf"),
        (files.png(), "image/png", "png"),
        (files.jpeg(), "image/jpeg", "jpg"),
        (files.gif(), "image/gif", "gif"),
        (files.webp(), "image/webp", "webp"),
        (files.docx(), f"{files.OOXML}.wordprocessingml.document", "docx"),
        (files.xlsx(), f"{files.OOXML}.spreadsheetml.sheet", "xlsx"),
        (files.odt(), "application/vnd.oasis.opendocument.text", "odt"),
        (files.doc(), "application/msword", "doc"),
        (files.xls(), "application/vnd.ms-excel", "xls"),
    ],
    ids=["pdf", "pdf-goto", "png", "jpeg", "gif", "webp", "docx", "xlsx", "odt", "doc", "xls"],
)
def test_accepted_kinds_are_typed_from_their_bytes(
    write: Callable[..., Path], data: bytes, content_type: str, extension: str
) -> None:
    # The name says nothing: every file is called "upload.txt".
    assert inspect(write(data, "upload.txt")) == Inspected(content_type, extension)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
        (b"<html><body><script>alert(1)</script></body></html>", "text"),
        (b"#!/bin/sh\nrm -rf /\n", "text"),
        (b"plain words", "text"),
        (b"MZ" + bytes(58) + b"\x80\0\0\0" + bytes(64) + b"PE\0\0" + bytes(200), "executable"),
        (b"\x7fELF\x02\x01\x01" + bytes(100), "octet-stream"),
        (files.zip_of([("notes.txt", b"hello")]), "zip archive"),
        # A Word package whose [Content_Types].xml is not first: libmagic sees only a zip.
        (
            files.zip_of([("_rels/.rels", files.RELS), ("[Content_Types].xml", b"<Types/>")]),
            "zip archive",
        ),
    ],
    ids=["svg-script", "svg", "html", "script", "text", "pe", "elf", "zip", "zip-unordered"],
)
def test_other_kinds_are_refused_as_unsupported(
    write: Callable[..., Path], data: bytes, says: str
) -> None:
    with pytest.raises(EvidenceRefused) as refused:
        inspect(write(data, "evidence.pdf"))  # a name that lies
    assert refused.value.status == 415
    assert says in refused.value.reason


def refusal(path: Path) -> EvidenceRefused:
    with pytest.raises(EvidenceRefused) as refused:
        inspect(path)
    return refused.value


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (files.pdf(action=files.javascript_action()), "JavaScript"),
        (files.pdf(javascript="app.alert(1)"), "JavaScript"),
        (files.pdf(action=files.launch_action()), "launch"),
        (files.encrypted_pdf(), "encrypted"),
        (b"%PDF-1.7\n" + b"garbage " * 100, "cannot be read"),
        (b"", "empty"),
    ],
    ids=["open-action-js", "names-js", "launch", "encrypted", "unreadable", "empty"],
)
def test_active_or_unreadable_pdfs_are_refused(
    write: Callable[..., Path], data: bytes, says: str
) -> None:
    refused = refusal(write(data))
    assert refused.status == 422
    assert says in refused.reason


def test_a_pdf_with_additional_actions_or_embedded_files_is_refused(
    write: Callable[..., Path],
) -> None:
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): files.launch_action()})
    path = write(b"")
    with path.open("wb") as out:
        writer.write(out)
    assert "actions" in refusal(path).reason

    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.add_attachment("run.exe", b"MZ")
    with path.open("wb") as out:
        writer.write(out)
    assert "embedded" in refusal(path).reason


def test_a_hex_escaped_javascript_name_is_still_found(write: Callable[..., Path]) -> None:
    """/J#61vaScript is /JavaScript to a reader; pypdf decodes the name before we compare."""
    data = files.pdf(action=files.javascript_action())
    escaped = data.replace(b"/JavaScript", b"/J#61vaScript").replace(b"/JS ", b"/J#53 ")
    assert b"/JavaScript" not in escaped
    refused = refusal(write(escaped))
    assert refused.status == 422
    assert "JavaScript" in refused.reason


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (files.docx_with_macros(), "macros"),
        (files.docx(("word/activeX/activeX1.bin", b"x")), "ActiveX"),
        (files.docx_claiming_to_be_a_spreadsheet(), "not the office document"),
        (files.docx(types=b"<Types/>"), "not the office document"),
        (files.odt(("Basic/Standard/Module1.xml", b"<script/>")), "macros"),
        (
            files.odt(
                content=b'<office:document-content><script:event-listener xlink:href="'
                b'vnd.sun.star.script:LibreLogo|LibreLogo.py$run?location=share"/>'
                b"</office:document-content>"
            ),
            "macros",
        ),
        (files.doc(macros=True), "macros"),
        (files.doc(encrypted=True), "encrypted"),
        (files.xls(macro_sheet=True), "macro sheets"),
    ],
    ids=[
        "docx-vba",
        "docx-activex",
        "docx-claims-xlsx",
        "docx-no-main-part",
        "odt-basic",
        "odt-librelogo",
        "doc-vba",
        "doc-encrypted",
        "xls-macro-sheet",
    ],
)
def test_office_files_with_macros_or_not_what_they_claim_are_refused(
    write: Callable[..., Path], data: bytes, says: str
) -> None:
    refused = refusal(write(data, "evidence.docx"))
    assert refused.status == 422
    assert says in refused.reason


def test_a_zip_bomb_is_refused_from_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    files.write_zip_bomb(path)
    assert path.stat().st_size < 2 * 1024 * 1024
    refused = refusal(path)
    assert refused.status == 422
    assert "zip bomb" in refused.reason


def test_a_package_of_too_many_parts_is_refused(write: Callable[..., Path]) -> None:
    parts = [(f"word/part{n}.xml", b"") for n in range(MAX_ZIP_ENTRIES + 1)]
    refused = refusal(write(files.docx(*parts)))
    assert refused.status == 422
    assert "parts" in refused.reason
