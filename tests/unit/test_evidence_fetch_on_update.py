"""What an office document fetches from elsewhere when it is updated or refreshed (ADR 24):
Word fields (INCLUDEPICTURE, INCLUDETEXT, LINK and their kin), Excel data connections and Power
Query, references to another workbook (Excel's grammar, ODF named ranges), ODF presentation
sounds linked from outside, and documents embedded in documents. Each refusal has a harmless
look-alike beside it that is taken."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import evidence_files as files
from tradehall.membership.evidence.inspection import budget

_inspect, _refusal = files.inspected, files.refusal
W = files.WORD
UNC = "\\\\203.0.113.9\\share"


def _field(*runs: str) -> str:
    """A complex field whose result names a refused field (a result is never a code)."""
    return files.field(*runs, result="LINK")


def _in_part(part: str, root: str, body: str) -> bytes:
    """A Word document whose `part` (a header, notes, comments, the glossary) holds `body`."""
    xml = f"<w:{root} {W}><w:p>{body}</w:p></w:{root}>".encode()
    return files.docx((part, xml))


# --- 1. Word fields that fetch when they are updated --------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "part"),
    [
        (
            files.word(_field('INCLUDEPICTURE "http://203.0.113.9/x.png" \\d')),
            "INCLUDEPICTURE",
            "word/document.xml",
        ),
        # Split over runs, in any case, after spaces, backslashes and quotes.
        (
            files.word(_field("  incl", "udePicTure ", f'"{UNC}\\x.png" \\d')),
            "INCLUDEPICTURE",
            "word/document.xml",
        ),
        (
            files.word(_field(f'\\"INCLUDETEXT" "{UNC}\\terms.docx"')),
            "INCLUDETEXT",
            "word/document.xml",
        ),
        (
            files.word(
                f'<w:fldSimple w:instr=" LINK Excel.Sheet.12 &quot;{UNC}\\b.xlsx&quot; '
                'Sheet1!R1C1 \\a \\f 4"><w:r><w:t>1</w:t></w:r></w:fldSimple>'
            ),
            "LINK",
            "word/document.xml",
        ),
        (files.word(_field('IMPORT "http://203.0.113.9/x.png"')), "IMPORT", "word/document.xml"),
        (
            files.word(_field(f'DATABASE \\d "{UNC}\\x.mdb" \\s "SELECT 1"')),
            "DATABASE",
            "word/document.xml",
        ),
        (files.word(_field(f'RD "{UNC}\\chapter.docx"')), "RD", "word/document.xml"),
        (
            _in_part("word/header1.xml", "hdr", _field('INCLUDEPICTURE "http://a.example/p"')),
            "INCLUDEPICTURE",
            "word/header1.xml",
        ),
        (
            _in_part("word/footer2.xml", "ftr", _field(f'INCLUDETEXT "{UNC}\\x.docx"')),
            "INCLUDETEXT",
            "word/footer2.xml",
        ),
        (
            _in_part("word/footnotes.xml", "footnotes", _field('LINK Word.Document.12 "x"')),
            "LINK",
            "word/footnotes.xml",
        ),
        (
            _in_part("word/endnotes.xml", "endnotes", _field('INCLUDEPICTURE "http://a/p"')),
            "INCLUDEPICTURE",
            "word/endnotes.xml",
        ),
        (
            _in_part("word/comments.xml", "comments", _field('INCLUDEPICTURE "http://a/p"')),
            "INCLUDEPICTURE",
            "word/comments.xml",
        ),
        (
            _in_part(
                "word/glossary/document.xml", "glossaryDocument", _field('IMPORT "http://a/p"')
            ),
            "IMPORT",
            "word/glossary/document.xml",
        ),
    ],
    ids=[
        "includepicture",
        "split-and-cased",
        "quoted-and-escaped",
        "link-simple-field",
        "import",
        "database",
        "rd",
        "header",
        "footer",
        "footnotes",
        "endnotes",
        "comments",
        "glossary",
    ],
)
def test_a_word_field_that_fetches_when_updated_is_refused(
    tmp_path: Path, data: bytes, field: str, part: str
) -> None:
    reason = _refusal(tmp_path, data).reason
    article = "an" if field[0] in "AEIOU" else "a"
    assert f"holds {article} {field} field in {part}" in reason
    assert "when fields are updated" in reason


def test_word_fields_that_fetch_nothing_and_text_naming_them_are_taken(tmp_path: Path) -> None:
    body = (
        _field(" PAGE ")
        + _field("DATE \\@ &quot;d MMMM yyyy&quot;")
        + _field("REF Link_1 \\h")
        + _field('TOC \\o "1-3" \\h')
        + _field(' HYPERLINK "http://203.0.113.9/INCLUDEPICTURE"')
        + _field("MERGEFIELD Link")
        + _field("LISTNUM")
        + _field("INCLUDEPICTURES")  # not a field Word knows: nothing to fetch
        + '<w:fldSimple w:instr=" NUMPAGES "><w:r><w:t>3</w:t></w:r></w:fldSimple>'
        + "<w:r><w:t>INCLUDEPICTURE http://203.0.113.9/x.png; LINK; IMPORT</w:t></w:r>"
    )
    assert _inspect(tmp_path, files.word(body)) == "docx"


def test_a_field_name_computed_by_a_nested_field_is_still_refused(tmp_path: Path) -> None:
    body = (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        + _field("QUOTE 73 78 67 76 85 68 69 84 69 88 84")
        + f'<w:r><w:instrText> "{UNC}\\x.docx"</w:instrText></w:r>'
        + '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )
    assert "another field computes" in _refusal(tmp_path, files.word(body)).reason


# --- 2. Excel data connections and Power Query ------------------------------------------------

SPREADSHEET = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
OFFICE_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEETML = f"{files.OOXML}.spreadsheetml"
CONNECTIONS = (
    f"<connections {SPREADSHEET}>"
    '<connection id="1" name="rates" type="4" refreshOnLoad="1">'
    '<webPr url="http://203.0.113.9/rates.html" htmlTables="1"/></connection></connections>'
).encode()


def _workbook_rels(kind: str, target: str) -> tuple[str, bytes]:
    return (
        "xl/_rels/workbook.xml.rels",
        f'<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId9" '
        f'Type="{OFFICE_RELS}/{kind}" Target="{target}"/></Relationships>'.encode(),
    )


def _types(*overrides: tuple[str, str]) -> bytes:
    return files.content_types(("/xl/workbook.xml", files.XLSX_MAIN), *overrides)


@pytest.mark.parametrize(
    "data",
    [
        # As Excel writes a web query: the part, its relationship and its content type.
        files.xlsx(
            ("xl/connections.xml", CONNECTIONS),
            _workbook_rels("connections", "connections.xml"),
            types=_types(("/xl/connections.xml", f"{SHEETML}.connections+xml")),
        ),
        # Under another name: found by its relationship, by its content type, by its elements.
        files.xlsx(("xl/c.bin", b"x"), _workbook_rels("connections", "c.bin")),
        files.xlsx(
            ("xl/c.dat", CONNECTIONS), types=_types(("/xl/c.dat", f"{SHEETML}.connections+xml"))
        ),
        files.xlsx(
            (
                "xl/data.xml",
                f'<connections {SPREADSHEET}><connection id="1"><dbPr connection="DSN=x;'
                f'DBQ={UNC}\\db.mdb" command="select 1"/></connection></connections>'.encode(),
            )
        ),
        files.xlsx(
            (
                "xl/data.xml",
                f'<x:connections xmlns:x="http://purl.oclc.org/ooxml/spreadsheetml/main">'
                f'<x:connection id="1"><x:textPr sourceFile="{UNC}\\a.csv"/></x:connection>'
                "</x:connections>".encode(),
            )
        ),
        files.xlsx(
            ("xl/queryTables/queryTable1.xml", b"<queryTable/>"),
            types=_types(("/xl/queryTables/queryTable1.xml", f"{SHEETML}.queryTable+xml")),
        ),
        files.xlsx(("xl/worksheets/x.bin", b"x"), _workbook_rels("queryTable", "x.bin")),
        # Power Query's queries, in a custom XML part (UTF-16, as Excel writes it).
        files.xlsx(
            (
                "customXml/item1.xml",
                '<?xml version="1.0" encoding="utf-16"?><DataMashup '
                'xmlns="http://schemas.microsoft.com/DataMashup">AAAAAA==</DataMashup>'.encode(
                    "utf-16"
                ),
            )
        ),
    ],
    ids=[
        "web-query",
        "relationship",
        "content-type",
        "odbc-elements",
        "text-import-strict",
        "query-table",
        "query-table-relationship",
        "power-query",
    ],
)
def test_a_workbook_with_a_data_connection_is_refused(tmp_path: Path, data: bytes) -> None:
    reason = _refusal(tmp_path, data, "upload.xlsx").reason
    assert "data connection" in reason


def test_workbooks_without_a_connection_that_mention_one_are_taken(tmp_path: Path) -> None:
    sheet = (
        f"<worksheet {SPREADSHEET}><sheetData><row r='1'><c r='A1' t='inlineStr'><is><t>"
        "xl/connections.xml webPr dbPr DataMashup</t></is></c></row></sheetData></worksheet>"
    ).encode()
    data = files.xlsx(
        ("xl/worksheets/sheet1.xml", sheet),
        # A pivot table over the workbook's own cells: no connection.
        (
            "xl/pivotCache/pivotCacheDefinition1.xml",
            f'<pivotCacheDefinition {SPREADSHEET}><cacheSource type="worksheet">'
            '<worksheetSource ref="A1:C9" sheet="Sheet1"/></cacheSource>'
            "</pivotCacheDefinition>".encode(),
        ),
        # A custom XML part of a business's own, whose words happen to be the same.
        (
            "customXml/item1.xml",
            b'<record xmlns="urn:example:crm"><connection id="1"><dbPr/><webPr/>'
            b"<DataMashup>not Power Query</DataMashup></connection></record>",
        ),
        types=_types(
            ("/xl/pivotCache/pivotCacheDefinition1.xml", f"{SHEETML}.pivotCacheDefinition+xml")
        ),
    )
    assert _inspect(tmp_path, data, "upload.xlsx") == "xlsx"


ODT = "application/vnd.oasis.opendocument.text"
FORM = 'xmlns:form="urn:oasis:names:tc:opendocument:xmlns:form:1.0"'


def _form(inner: str) -> bytes:
    content = (
        f"<office:document-content {ODF_NAMESPACES} {FORM}><office:body><office:text>"
        f'<office:forms><form:form form:name="F" form:command="members">{inner}</form:form>'
        "</office:forms></office:text></office:body></office:document-content>"
    )
    return files.odf(ODT, content.encode())


@pytest.mark.parametrize(
    "href",
    ["sdbc:mysql:jdbc:203.0.113.9:3306/crm", "file:///C:/data/crm.odb", f"{UNC}\\crm.odb"],
    ids=["server", "local-file", "unc"],
)
def test_an_odf_form_connected_to_a_database_is_refused(tmp_path: Path, href: str) -> None:
    data = _form(f'<form:connection-resource xlink:href="{href}"/>')
    assert "a database a form or field connects to" in _refusal(tmp_path, data, "x.odt").reason


def test_an_odf_form_without_a_database_is_taken(tmp_path: Path) -> None:
    data = _form('<form:button form:name="b" form:image-data="Pictures/b.png"/>')
    assert _inspect(tmp_path, data, "x.odt") == "odt"


# --- 3. References to another workbook --------------------------------------------------------


def _cells(*formulas: str) -> bytes:
    cells = "".join(f'<c r="A{n}"><f>{f}</f></c>' for n, f in enumerate(formulas, 1))
    sheet = f'<worksheet {SPREADSHEET}><sheetData><row r="1">{cells}</row></sheetData></worksheet>'
    return files.xlsx(("xl/worksheets/sheet1.xml", sheet.encode()))


def _chart_in_word(reference: str) -> bytes:
    chart = (
        '<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart">'
        f"<c:chart><c:ser><c:val><c:numRef><c:f>{reference}</c:f></c:numRef></c:val></c:ser>"
        "</c:chart></c:chartSpace>"
    ).encode()
    return files.docx(("word/charts/chart1.xml", chart))


ODF_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:anim="urn:oasis:names:tc:opendocument:xmlns:animation:1.0" '
    'xmlns:smil="urn:oasis:names:tc:opendocument:xmlns:smil-compatible:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink"'
)
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"


def _ods(inner: str) -> bytes:
    content = (
        f"<office:document-content {ODF_NAMESPACES}><office:body><office:spreadsheet>{inner}"
        '<table:table table:name="Sheet1"><table:table-row><table:table-cell/></table:table-row>'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    return files.odf(ODS, content.encode())


def _msoxl(formula: str) -> bytes:
    return _ods(
        '<table:table table:name="S"><table:table-row><table:table-cell '
        f'table:formula="msoxl:={formula}"/></table:table-row></table:table>'
    )


def _named(element: str) -> bytes:
    return _ods(f"<table:named-expressions>{element}</table:named-expressions>")


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (_cells("[1]Sheet1!A1"), "upload.xlsx"),
        (_cells("SUM([Budget 2025.xlsx]Données!B2:B9)"), "upload.xlsx"),
        (_cells(f"'{UNC}\\[b.xlsx]Sheet1'!A1*2"), "upload.xlsx"),
        (_cells("'C:\\Users\\jo\\b.xlsx'!Total"), "upload.xlsx"),
        (_chart_in_word("'http://203.0.113.9/[b.xlsx]Sheet1'!$A$1:$A$4"), "upload.docx"),
        (_msoxl("[b.xlsx]Sheet1!A1"), "upload.ods"),
        (_msoxl("SUM('file:///C:/x/[b.xlsx]Sheet1'!A1:B2)"), "upload.ods"),
        (_msoxl(f"'{UNC}\\[b.xlsx]S'!A1"), "upload.ods"),
        (
            _named(
                '<table:named-range table:name="Rates" table:base-cell-address="$Sheet1.$A$1" '
                "table:cell-range-address=\"'file:///C:/x.ods'#$Sheet1.$A$1:.$B$2\"/>"
            ),
            "upload.ods",
        ),
        (
            _named(
                '<table:named-range table:name="Rates" table:cell-range-address="$Sheet1.$A$1" '
                "table:base-cell-address=\"'file://///203.0.113.9/s/x.ods'#$Sheet1.$A$1\"/>"
            ),
            "upload.ods",
        ),
        (
            _named(
                '<table:named-expression table:name="Rate" '
                "table:expression=\"'http://203.0.113.9/x.ods'#$Sheet1.A1\"/>"
            ),
            "upload.ods",
        ),
    ],
    ids=[
        "ooxml-external-link-number",
        "ooxml-book-in-brackets",
        "ooxml-unc-path",
        "ooxml-path-to-a-name",
        "word-chart-web",
        "msoxl-book",
        "msoxl-file-url",
        "msoxl-unc",
        "odf-named-range",
        "odf-named-range-base",
        "odf-named-expression",
    ],
)
def test_a_reference_to_another_workbook_is_refused(tmp_path: Path, data: bytes, name: str) -> None:
    assert "refers to another file" in _refusal(tmp_path, data, name).reason


def test_references_within_the_workbook_are_taken(tmp_path: Path) -> None:
    workbook = _cells(
        "Table1[[#This Row],[Price]]*2",
        "[@Price]*[@Qty]+SUM(Table1[Qty])",
        "SUM('Jan 2024:Dec 2024'!B2)+'Sheet 2'!A1+Sheet3!A1",
        "[0]!Total",
        '"[b.xlsx]Sheet1!A1 or \\\\host\\x"&amp;A1',
    )
    assert _inspect(tmp_path, workbook, "upload.xlsx") == "xlsx"
    assert _inspect(tmp_path, _chart_in_word("Sheet1!$A$1:$A$4"), "upload.docx") == "docx"
    assert _inspect(tmp_path, _msoxl("SUM('Sheet 2'!A1:B2)+Table1[Qty]"), "x.ods") == "ods"
    named = _named(
        '<table:named-range table:name="Rates" table:base-cell-address="$Sheet1.$A$1" '
        "table:cell-range-address=\"$'Sheet 1'.$A$1:.$B$2\"/>"
        '<table:named-expression table:name="Total" table:expression="of:=SUM([.A1:.A3])"/>'
    )
    assert _inspect(tmp_path, named, "upload.ods") == "ods"


# --- 4. Presentation sounds linked from outside -----------------------------------------------


def _odp(styles: str = "", page: str = "", styles_xml: bytes | None = None) -> bytes:
    content = (
        f"<office:document-content {ODF_NAMESPACES}><office:automatic-styles>{styles}"
        "</office:automatic-styles><office:body><office:presentation>"
        f'<draw:page draw:name="Slide 1">{page}</draw:page>'
        "</office:presentation></office:body></office:document-content>"
    ).encode()
    extra = [("styles.xml", styles_xml)] if styles_xml is not None else []
    return files.odf(ODP, content, *extra)


def _transition_sound(href: str) -> str:
    return (
        '<style:style style:name="dp1" style:family="drawing-page"><style:drawing-page-properties '
        f'presentation:transition-type="automatic"><presentation:sound xlink:href="{href}" '
        'xlink:type="simple"/></style:drawing-page-properties></style:style>'
    )


def _audio(href: str) -> str:
    return (
        '<anim:par presentation:node-type="timing-root"><anim:par smil:begin="dp1.begin">'
        f'<anim:transitionFilter smil:type="fade"/><anim:audio xlink:href="{href}"/>'
        "</anim:par></anim:par>"
    )


@pytest.mark.parametrize(
    "data",
    [
        _odp(styles=_transition_sound(f"{UNC}\\chime.wav")),
        _odp(styles=_transition_sound("file:///usr/share/sounds/chime.wav")),
        _odp(page=_audio("http://203.0.113.9/chime.wav")),
        _odp(page=_audio("../sounds/chime.wav")),
        _odp(
            styles_xml=(
                f"<office:document-styles {ODF_NAMESPACES}><office:styles>"
                f"{_transition_sound('https://203.0.113.9/a.wav')}"
                "</office:styles></office:document-styles>"
            ).encode()
        ),
    ],
    ids=["transition-unc", "transition-file-url", "audio-web", "audio-beside", "in-styles"],
)
def test_a_presentation_sound_linked_from_outside_is_refused(tmp_path: Path, data: bytes) -> None:
    reason = _refusal(tmp_path, data, "upload.odp").reason
    assert "a sound played in the show" in reason


def test_presentation_sounds_in_the_package_are_taken(tmp_path: Path) -> None:
    data = _odp(
        styles=_transition_sound("Media/chime.wav"),
        page=_audio("Media/applause.wav"),
    )
    assert _inspect(tmp_path, data, "upload.odp") == "odp"


# --- 5. Documents embedded in documents --------------------------------------------------------

EMBEDDED = "word/embeddings/Microsoft_Excel_Worksheet.xlsx"


def _embedding(data: bytes, name: str = EMBEDDED) -> bytes:
    return files.docx((name, data))


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (_embedding(_cells("WEBSERVICE(&quot;http://203.0.113.9/&quot;)")), "fetches from"),
        (_embedding(files.xlsx(("xl/connections.xml", CONNECTIONS))), "data connection"),
        (_embedding(files.docx_with_macros(), "word/embeddings/Document.docx"), "macros"),
        (
            _embedding(files.word(_field('INCLUDEPICTURE "http://a/p"')), "ppt/embeddings/d.docx"),
            "INCLUDEPICTURE",
        ),
        (
            _embedding(_odp(page=_audio("http://203.0.113.9/a.wav")), "word/embeddings/s.odp"),
            "sound",
        ),
        (_embedding(files.zip_of([("run.exe", b"MZ")]), "word/media/image1.png"), "archive"),
    ],
    ids=["fetching-formula", "connection", "macros", "field", "odf-sound", "plain-zip"],
)
def test_what_an_embedded_document_holds_is_refused_and_says_where(
    tmp_path: Path, data: bytes, says: str
) -> None:
    reason = _refusal(tmp_path, data).reason
    assert says in reason
    assert "embedded" in reason


def test_documents_embedded_two_deep_are_taken_and_three_deep_refused(tmp_path: Path) -> None:
    two_deep = _embedding(_embedding(files.xlsx(), "word/embeddings/inner.xlsx"), "w/e/a.docx")
    assert _inspect(tmp_path, two_deep) == "docx"
    three_deep = _embedding(
        _embedding(_embedding(files.xlsx(), "word/embeddings/c.xlsx"), "word/embeddings/b.docx"),
        "word/embeddings/a.docx",
    )
    reason = _refusal(tmp_path, three_deep).reason
    assert "embedded more than 2 deep (word/embeddings/c.xlsx)" in reason


def test_embedded_documents_share_the_documents_bounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts and elements are counted over the document and those embedded in it: each of two
    halves is within the bounds, the whole is not."""
    workbook = files.xlsx(*[(f"xl/p{n}.bin", b"") for n in range(2_600)])
    assert _inspect(tmp_path, workbook, "x.xlsx") == "xlsx"
    document = [(f"word/p{n}.bin", b"") for n in range(2_600)]
    assert _inspect(tmp_path, files.docx(*document)) == "docx"
    together = files.docx(*document, (EMBEDDED, workbook))
    assert "more than 5000 parts" in _refusal(tmp_path, together).reason

    monkeypatch.setattr(budget, "MAX_XML_ELEMENTS", 30)
    header = f"<w:hdr {W}>{'<w:p/>' * 12}</w:hdr>".encode()
    alone = files.docx(("word/header1.xml", header))
    assert _inspect(tmp_path, alone) == "docx"
    nested = files.docx(("word/header1.xml", header), ("word/embeddings/d.docx", alone))
    assert "elements" in _refusal(tmp_path, nested).reason


def _in_ole_object(document: bytes) -> bytes:
    """A Word document with an OLE object holding `document` in a Package stream, as Office
    embeds an OOXML document in an OLE container."""
    return _embedding(files.ole({"Package": document}), "word/embeddings/oleObject1.bin")


def _in_object_pool(document: bytes) -> bytes:
    """A legacy Word document whose ObjectPool holds `document` in a Package stream."""
    tree: dict[str, object] = {
        "WordDocument": files.word_fib(),
        "1Table": b"t",
        "ObjectPool": {"_1234567890": {"Package": document}},
    }
    return files.ole(tree)


def test_a_document_in_an_ole_objects_package_stream_is_checked_as_a_document(
    tmp_path: Path,
) -> None:
    fetching = _cells("WEBSERVICE(&quot;http://203.0.113.9/&quot;)")
    reason = _refusal(tmp_path, _in_ole_object(fetching)).reason
    assert "fetches from outside" in reason
    assert "(in the embedded word/embeddings/oleObject1.bin:Package)" in reason
    connected = files.xlsx(("xl/connections.xml", CONNECTIONS))
    reason = _refusal(tmp_path, _in_object_pool(connected), "x.doc").reason
    assert "data connection" in reason
    assert "(in the embedded ObjectPool/_1234567890/Package)" in reason

    assert _inspect(tmp_path, _in_ole_object(files.xlsx())) == "docx"
    assert _inspect(tmp_path, _in_object_pool(files.xlsx()), "x.doc") == "doc"
    # A Package stream that is no zip is not a document: left alone.
    assert _inspect(tmp_path, _in_object_pool(b"\x01\x02 not a zip"), "x.doc") == "doc"
