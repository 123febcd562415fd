"""Every XML part of an OOXML package, read for what starts a program or fetches from
elsewhere when the document is opened, updated or refreshed (`_DdeFinder`): DDE; Word's
fields (`word_fields`); Excel's formulas, data connections and Power Query (`formulas`);
references to another workbook; a mail merge's data source.
"""

from __future__ import annotations

from tradehall.membership.evidence.inspection.formulas import (
    _CONNECTION_REFUSED,
    _EXTERNAL_REFERENCE,
    _FETCH_REFUSED,
    _FORMULA_ELSEWHERE,
    _FORMULA_EMPTY,
    _FORMULA_NESTED,
    _FORMULA_QUOTED,
    _FORMULA_STRING,
    _FORMULA_TEXT,
    _FORMULAS,
    _MATH,
    MAX_FORMULA_CHARACTERS,
    _external_workbook,
    _fetching_call,
)
from tradehall.membership.evidence.inspection.verdicts import REFUSED, EvidenceRefused
from tradehall.membership.evidence.inspection.word_fields import (
    _ACCEPTED,
    _CODE,
    _CODE_AND_DELETED,
    _CODE_ELSEWHERE,
    _DDE_REFUSED,
    _DECIDED,
    _DELETIONS_ACCEPTED,
    _HIDDEN_WHEN_ACCEPTED,
    _HIDDEN_WHEN_REJECTED,
    _REJECTED,
    _TRACKED,
    _WORD,
    _Fields,
)
from tradehall.membership.evidence.inspection.xml_parts import _one, _ScopedPart, _values

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
