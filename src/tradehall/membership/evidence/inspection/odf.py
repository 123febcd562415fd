"""ODF packages (ODT, ODS, ODP): the package must declare the type libmagic saw (its
`mimetype`), and hold no macros (Basic, Scripts), no script event listeners or macro links, no
DDE, no formula that fetches from outside or refers to another file, nothing loaded from
outside the package as the document opens (a linked image, object, sheet, section, a
template elsewhere, a database a form connects to), and no encrypted part.
"""

from __future__ import annotations

import re
import zipfile
from urllib.parse import unquote

from tradehall.membership.evidence.inspection.budget import _XmlBudget
from tradehall.membership.evidence.inspection.embedded import _check_embedded_objects
from tradehall.membership.evidence.inspection.formulas import (
    _EXTERNAL_REFERENCE,
    _FETCH_REFUSED,
    _FORMULA_QUOTED,
    _FORMULA_STRING,
    _external_workbook,
    _fetching_call,
)
from tradehall.membership.evidence.inspection.relationships import _LOCAL_DRIVE
from tradehall.membership.evidence.inspection.verdicts import REFUSED, EvidenceRefused
from tradehall.membership.evidence.inspection.word_fields import _DDE_REFUSED
from tradehall.membership.evidence.inspection.xml_parts import _parse, _Part, _ScopedPart, _values
from tradehall.membership.evidence.inspection.zip_packages import _read_part

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
