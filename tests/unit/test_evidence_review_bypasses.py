"""Bypasses of the evidence refusals found in review (ADR 24), each beside a look-alike that is
still taken: a Word field's name completed by a nested field, a document embedded after a few
bytes (a zip is read from its end), an ODF form whose data source is an address, and a
package naming one part twice."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tests import evidence_files as files
from tradehall.membership.evidence import inspection

_inspect, _refusal = files.inspected, files.refusal
UNC = "\\\\203.0.113.9\\share"


def _run(text: str) -> str:
    return f'<w:r><w:instrText xml:space="preserve">{text}</w:instrText></w:r>'


def _char(kind: str) -> str:
    return f'<w:r><w:fldChar w:fldCharType="{kind}"/></w:r>'


def _nested(before: str, inner: str, result: str, after: str) -> str:
    """A field whose code is `before`, a nested field (`inner`, its result `result`), then
    `after`: Word puts the nested field's result into the outer code before reading its name."""
    return (
        _char("begin")
        + _run(before)
        + _char("begin")
        + _run(inner)
        + _char("separate")
        + f"<w:r><w:t>{result}</w:t></w:r>"
        + _char("end")
        + _run(after)
        + _char("separate")
        + _char("end")
    )


# --- 1. A field's name completed by a nested field ---------------------------------------------


@pytest.mark.parametrize(
    ("before", "result", "after"),
    [
        ("IN", "C", f'LUDEPICTURE "{UNC}\\x.png"'),  # INCLUDEPICTURE
        ("DD", "E", 'AUTO "cmd" "/c calc"'),  # DDEAUTO
        (' "li', "n", f'k Excel.Sheet.12 "{UNC}\\b.xlsx" S!R1C1 \\a'),  # LINK, after a quote
    ],
    ids=["includepicture", "ddeauto", "link-cased-after-a-quote"],
)
def test_a_field_name_completed_by_a_nested_field_is_refused(
    tmp_path: Path, before: str, result: str, after: str
) -> None:
    data = files.word(_nested(before, "QUOTE 67", result, after))
    assert "another field computes" in _refusal(tmp_path, data).reason


def test_fields_holding_a_nested_field_after_their_name_are_taken(tmp_path: Path) -> None:
    body = (
        _nested("IF ", "MERGEFIELD Paid", "1", ' = "1" "Paid" "Due"')
        + _nested("PAGE", "QUOTE 32", " ", " \\* roman")  # no refused name starts PAGE
        + _nested("= ", "PAGE", "2", " * 2")
    )
    assert _inspect(tmp_path, files.word(body)) == "docx"


# --- 2. A document embedded after a few bytes ----------------------------------------------------


def _dde_document() -> bytes:
    return files.word(
        _char("begin") + _run(' DDEAUTO "cmd" "/c calc" ') + _char("separate") + _char("end")
    )


def _after(prefix: bytes, document: bytes) -> bytes:
    """`document` zipped again after `prefix`, its central directory's offsets counting it: a
    well-formed zip to a reader that starts from its end record, as readers do."""
    out = io.BytesIO(prefix)
    out.seek(0, io.SEEK_END)
    source = zipfile.ZipFile(io.BytesIO(document))
    with zipfile.ZipFile(out, "a") as package:
        for name in source.namelist():
            package.writestr(name, source.read(name))
    return out.getvalue()


@pytest.mark.parametrize("prefix", [b"\0\0\0\0", b"MZ" + bytes(510)], ids=["junk", "stub"])
def test_a_document_embedded_after_a_few_bytes_is_checked(tmp_path: Path, prefix: bytes) -> None:
    inner = _after(prefix, _dde_document())
    assert zipfile.ZipFile(io.BytesIO(inner)).namelist()  # a zip, as readers read it
    data = files.docx(("word/embeddings/Microsoft_Word_Document.docx", inner))
    reason = _refusal(tmp_path, data).reason
    assert "DDE" in reason
    assert "in the embedded word/embeddings/Microsoft_Word_Document.docx" in reason


def test_a_package_stream_after_a_few_bytes_is_checked(tmp_path: Path) -> None:
    inner = _after(b"\0\0\0\0", _dde_document())
    data = files.docx(("word/embeddings/oleObject1.bin", files.ole({"Package": inner})))
    assert "DDE" in _refusal(tmp_path, data).reason


def test_parts_that_only_hold_a_zips_end_record_are_taken(tmp_path: Path) -> None:
    # An image whose last bytes happen to hold PK\x05\x06, and an empty zip: nothing opens.
    looks = files.png() + b"PK\x05\x06" + bytes(18)
    empty = b"junk" + zipfile.ZipFile(io.BytesIO(), "w").fp.getvalue()  # type: ignore[union-attr]
    data = files.docx(("word/media/image1.png", looks), ("word/media/image2.png", empty))
    assert _inspect(tmp_path, data) == "docx"


# --- 3. An ODF form whose data source is an address ---------------------------------------------

ODT = "application/vnd.oasis.opendocument.text"
NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:form="urn:oasis:names:tc:opendocument:xmlns:form:1.0"'
)


def _form(datasource: str) -> bytes:
    content = (
        f"<office:document-content {NAMESPACES}><office:body><office:text><office:forms>"
        f'<form:form form:name="F" form:datasource="{datasource}" form:command="members" '
        'form:command-type="table"/></office:forms></office:text></office:body>'
        "</office:document-content>"
    )
    return files.odf(ODT, content.encode())


@pytest.mark.parametrize(
    "address",
    [f"file:///{UNC}\\crm.odb", "sdbc:mysql:jdbc:203.0.113.9:3306/crm", f"{UNC}\\crm.odb"],
    ids=["file", "server", "unc"],
)
def test_an_odf_form_whose_data_source_is_an_address_is_refused(
    tmp_path: Path, address: str
) -> None:
    reason = _refusal(tmp_path, _form(address), "x.odt").reason
    assert "a database a form or field connects to" in reason


def test_an_odf_form_naming_a_registered_data_source_is_taken(tmp_path: Path) -> None:
    assert _inspect(tmp_path, _form("Bibliography"), "x.odt") == "odt"


# --- 4. A package naming one part twice ---------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_package_naming_a_part_twice_is_refused(tmp_path: Path) -> None:
    # We read the last of two entries of one name; a reader keeping the first reads the DDE.
    dde = zipfile.ZipFile(io.BytesIO(_dde_document())).read("word/document.xml")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        declared = files.content_types(("/word/document.xml", files.DOCX_MAIN))
        package.writestr("[Content_Types].xml", declared)
        package.writestr("_rels/.rels", files.RELS)
        package.writestr("word/document.xml", dde)
        package.writestr("word/document.xml", files.DOCUMENT)
    assert "two parts of one name" in _refusal(tmp_path, out.getvalue()).reason


# --- 5. An embedded zip's directory, bounded before it is read ----------------------------------


def _many_entries(count: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as package:
        for index in range(count):
            package.writestr(zipfile.ZipInfo(f"{index:05d}"), b"")
    return out.getvalue()


@pytest.mark.parametrize("prefix", [b"", b"\0\0\0\0"], ids=["zip", "after-a-few-bytes"])
def test_an_embedded_zip_of_too_many_entries_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefix: bytes
) -> None:
    # Python reads a zip's whole directory before its entries are counted; a directory deflates
    # well (1.15 million entries: 99 MiB in a 7 MiB upload, 9.6 s of CPU and 700 MiB held).
    inner = prefix + _many_entries(inspection.MAX_ZIP_ENTRIES + 1)
    data = files.docx(("word/embeddings/Microsoft_Word_Document.docx", inner))
    opened: list[object] = []
    real = zipfile.ZipFile

    def counting(source: object, *args: object, **kwargs: object) -> zipfile.ZipFile:
        opened.append(source)
        return real(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(zipfile, "ZipFile", counting)
    reason = _refusal(tmp_path, data).reason
    assert f"more than {inspection.MAX_ZIP_ENTRIES} parts" in reason
    assert len(opened) == 1  # the document itself: the embedded directory was never read


# --- 6. A field's code written across markup Word reads otherwise -------------------------------

MC = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
W14 = 'xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml"'


def _alternate(choice: str, fallback: str) -> str:
    """mc:AlternateContent in a run: Word reads the Choice (it knows w14), another reader the
    Fallback; never both."""
    return (
        f'<w:r><mc:AlternateContent {MC}><mc:Choice Requires="w14">{choice}</mc:Choice>'
        f"<mc:Fallback>{fallback}</mc:Fallback></mc:AlternateContent></w:r>"
    )


def _code(text: str) -> str:
    return f'<w:instrText xml:space="preserve">{text}</w:instrText>'


@pytest.mark.parametrize(
    "body",
    [
        # INCLUDE, then X in the branch Word skips, then PICTURE: read together, INCLUDEXPICTURE
        _char("begin")
        + _alternate(_code("INCLUDE"), _code("X"))
        + _run(f'PICTURE "{UNC}\\x.png"')
        + _char("separate")
        + _char("end"),
        _char("begin")
        + _alternate(_code("DDE"), _code("X"))
        + _run('AUTO "cmd" "/c calc"')
        + _char("separate")
        + _char("end"),
        # X in an element of another namespace (one the document calls ignorable: Word drops it)
        _char("begin")
        + _run("DDE")
        + f'<w:r><x:skip xmlns:x="urn:example:x">{_code("X")}</x:skip></w:r>'
        + _run('AUTO "cmd" "/c calc"')
        + _char("separate")
        + _char("end"),
        # X under the field's prefix, bound there to another namespace: not Word's instrText
        _char("begin")
        + _run("DDE")
        + f'<w:r><w:skip xmlns:w="urn:example:x">{_code("X")}</w:skip></w:r>'
        + _run('AUTO "cmd" "/c calc"')
        + _char("separate")
        + _char("end"),
    ],
    ids=["alternate-includepicture", "alternate-ddeauto", "ignorable-ddeauto", "rebound-prefix"],
)
def test_a_field_code_written_across_markup_word_reads_otherwise_is_refused(
    tmp_path: Path, body: str
) -> None:
    assert "Word may read otherwise" in _refusal(tmp_path, files.word(body)).reason


def test_fields_beside_alternate_content_are_taken(tmp_path: Path) -> None:
    page = _char("begin") + _run(" PAGE ") + _char("separate") + _char("end")
    drawing = f"<w:p>{page}</w:p>"  # a text box's paragraph, in each branch, its field whole
    body = (
        _alternate(f"<w:txbxContent>{drawing}</w:txbxContent>", f"<w:pict>{drawing}</w:pict>")
        # a field whose code's run has a w14 property, and whose result holds a drawing
        + _char("begin")
        + f'<w:r><w:rPr><w14:ligatures {W14} w14:val="standard"/></w:rPr>{_code(" REF x ")}</w:r>'
        + _char("separate")
        + _alternate("<w:t>a</w:t>", "<w:t>b</w:t>")
        + _char("end")
    )
    assert _inspect(tmp_path, files.word(body)) == "docx"
