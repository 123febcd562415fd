"""Word's field codes and tracked changes: INCLUDEPICTURE, INCLUDETEXT, LINK and the other
fields that fetch from elsewhere when they are updated, DDE and DDEAUTO, also as the part's
tracked changes accepted or rejected would leave them; a field's name computed by a nested
field or written across tracked changes by two authors; a code written across markup Word
reads otherwise.
"""

from __future__ import annotations

import re

from tradehall.membership.evidence.inspection.verdicts import REFUSED, EvidenceRefused
from tradehall.membership.evidence.inspection.xml_parts import _one


def _article(word: str) -> str:
    """ "an" before a vowel (an INCLUDEPICTURE field), else "a" (a LINK field)."""
    return "an" if word[:1].upper() in "AEIOU" else "a"


# How much of a field's code is kept: its name is all that is checked (a code of a million
# runs must not be rebuilt a million times).
_CODE_KEPT = 64

_DDE_FIELDS = frozenset({"DDE", "DDEAUTO"})
_DDE_REFUSED = (
    "this document holds a DDE link (it starts a program once links are updated); "
    "send one without it"
)

# The elements holding a field's code: as the part is written, and once its tracked changes are
# rejected (a deleted code's text, w:delInstrText, is back).
_CODE = frozenset({"instrText"})
_CODE_AND_DELETED = frozenset({"instrText", "delInstrText"})
# Tracked changes (WordprocessingML's; delInstrText under any prefix, as instrText): what a
# reading with them all accepted does not see (a deletion, the source of a move, a deleted
# code's text) and what one with them all rejected does not see (an insertion, a move's
# destination).
_TRACKED = frozenset({"del", "ins", "moveFrom", "moveTo", "delInstrText"})
_HIDDEN_WHEN_ACCEPTED = frozenset({"del", "moveFrom", "delInstrText"})
_HIDDEN_WHEN_REJECTED = frozenset({"ins", "moveTo"})
# The changes a reviewer accepts or rejects one by one (a deleted code's text is its deletion's).
_DECIDED = frozenset({"del", "ins", "moveFrom", "moveTo"})
_ACCEPTED = " once its tracked changes are accepted"
_REJECTED = " once its tracked changes are rejected"
_DELETIONS_ACCEPTED = " once its tracked deletions are accepted and insertions rejected"
_WORD = frozenset(
    {
        "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
        "http://purl.oclc.org/ooxml/wordprocessingml/main",
    }
)


class _Fields:
    """Word's complex fields as one reading of a part sees them: the code of each (the text of
    its code elements, `code_elements`, between its begin and separate, over any number of
    runs) is refused if it names DDE, DDEAUTO or one of `_FETCHING_FIELDS` (in any case), or if
    a nested field computes or completes such a name. A code is text: an element inside one is
    refused, and so is a code (its text, or a field mark) inside an element of another prefix
    than its begin's, or one declaring a namespace, opened since its begin
    (mc:AlternateContent's branches, an ignorable namespace's element): Word may read the code
    otherwise. `reading` says, in a refusal, which reading found it (tracked changes accepted or
    rejected; empty: the part as it is written). `hidden`: how deep the reading is inside
    elements it does not see (`hides`: a deletion, once changes are accepted). `_DdeFinder`
    hands each element to each reading and keeps their `hidden`, `foreign` and `in_code`
    inline (that is done for every element while a field is open: no call an element)."""

    def __init__(
        self,
        part: str,
        reading: str = "",
        code_elements: frozenset[str] = _CODE,
        hides: frozenset[str] = frozenset(),
    ) -> None:
        self.part = part
        self.reading = reading
        self.code_elements = code_elements
        self.field_elements = code_elements | {"fldChar"}
        self.hides = hides  # tracked changes this reading does not see
        self.codes: list[str] = []  # the codes of the fields open at this point, innermost last
        self.in_code = False
        # Elements opened while a field is open that are of another prefix than its begin's, or
        # declare a namespace, by depth; for each open field, its begin's prefix and how many of
        # them were open at its begin (`_IN_RESULT` once its code is complete). Word reads one
        # branch of mc:AlternateContent and drops an element of a namespace the document calls
        # ignorable: a code written across them is not the code Word reads (INCLUDE, then X in
        # a branch Word skips, then PICTURE). No namespace is looked up: an element costs the
        # same at any depth.
        self.foreign: list[int] = []
        self.foreign_at_begin: list[int] = []
        self.field_prefixes: list[str] = []
        # For each open field, the authors of the tracked changes open at its begin or opened
        # while its name was unfinished (`changed_in_name`).
        self.changes: list[tuple[int, str]] = []  # shared: (depth, author) of those open
        self.name_changes: list[set[str]] = []
        self.unfinished: str | None = None  # the code last found unfinished (its very string)
        # For each open field, whether its name may still become a refused one (in its code:
        # once `_name_unfinished` says no, it stays no as the code grows).
        self.naming: list[bool] = []
        self.hidden = 0

    def read_deleted_code(self) -> None:
        """From here on, a deleted code's text (w:delInstrText) is code too."""
        self.code_elements = _CODE_AND_DELETED
        self.field_elements = _CODE_AND_DELETED | {"fldChar"}

    def fork(self, reading: str, code_elements: frozenset[str], hides: frozenset[str]) -> _Fields:
        """Another reading of the part, seeing what this one has seen so far."""
        other = _Fields(self.part, reading, code_elements, hides)
        other.codes = list(self.codes)
        other.in_code = self.in_code
        other.foreign = list(self.foreign)
        other.foreign_at_begin = list(self.foreign_at_begin)
        other.field_prefixes = list(self.field_prefixes)
        other.changes = self.changes
        other.name_changes = [set(changes) for changes in self.name_changes]
        other.naming = list(self.naming)
        return other

    def opened(self, prefix: str, local: str, attributes: list[tuple[str, str]]) -> None:
        """One of `field_elements` opens (a code, a field's mark)."""
        if local in self.code_elements:
            self.refuse_code_elsewhere()
            self.in_code = True
        else:
            self.field_char(_one(attributes, "fldCharType"), prefix)

    def text(self, content: str) -> None:
        if self.codes:
            code = self.codes[-1] + content
            self.codes[-1] = code[_FIELD_LEADING.match(code).end() :][:_CODE_KEPT]  # type: ignore[union-attr]

    def refuse_field(self, code: str) -> None:
        name = _field_name(code)
        if name in _DDE_FIELDS:
            raise EvidenceRefused(_DDE_REFUSED, REFUSED)
        if name in _FETCHING_FIELDS:
            raise EvidenceRefused(
                f"this document holds {_article(name)} {name} field in {self.part}{self.reading} "
                f"(it fetches {_FETCHING_FIELDS[name]} from elsewhere when fields are updated); "
                "send one without it, or with the field's result kept instead (unlinked)",
                REFUSED,
            )

    def refuse_code_elsewhere(self) -> None:
        """Refuses a field's code (its text, or a field mark) inside an element of another
        prefix than its begin's, or one declaring a namespace, opened since its begin."""
        if self.foreign_at_begin and len(self.foreign) > self.foreign_at_begin[-1]:
            raise EvidenceRefused(_CODE_ELSEWHERE, REFUSED)

    def field_char(self, char_type: str | None, prefix: str) -> None:
        codes = self.codes
        self.refuse_code_elsewhere()
        if char_type == "begin":
            if codes and _name_unfinished(codes[-1]):
                # a field's name made, or completed, by a nested field (QUOTE 68 68 69 ...,
                # IN{QUOTE 67}LUDEPICTURE)
                raise EvidenceRefused(_COMPUTED_FIELD, REFUSED)
            codes.append("")
            self.foreign_at_begin.append(len(self.foreign))
            self.field_prefixes.append(prefix)
            # The two innermost suffice: one author, or more? (O(1) at any depth.)
            self.name_changes.append({author for _, author in self.changes[-2:]})
            self.naming.append(True)
        elif char_type in ("separate", "end") and codes:  # the code is complete
            self.refuse_field(codes[-1])
            if char_type == "end":
                codes.pop()
                self.foreign_at_begin.pop()
                self.field_prefixes.pop()
                self.name_changes.pop()
                self.naming.pop()
            else:
                codes[-1] = codes[-1] + " "  # the result follows: no more code
                self.naming[-1] = False
                self.foreign_at_begin[-1] = _IN_RESULT

    def changed_in_name(self) -> None:
        """A tracked change opens (the last of `changes`) in the code of the innermost open
        field, whose name was not yet found finished (`naming`): if its name could yet become a
        refused one (`_name_unfinished`), the change may help make that name. The readings see
        each kind of change (insertions, deletions) all accepted or all rejected; Word also
        accepts or rejects one reviewer's changes alone: INCLUD, +X by A, +EPICTURE by B, with
        A's rejected, is INCLUDEPICTURE. So changes by two authors in a name in the making (or
        around its begin) are refused. One author's (a field inserted with changes tracked, a
        reference's bookmark edited after its name) are read both ways by the readings. Not
        seen: one author's changes decided one by one (each clicked apart)."""
        code = self.codes[-1]
        if code is not self.unfinished:  # the code grew since it was last found unfinished
            if not _name_unfinished(code):
                self.naming[-1] = False
                return
            self.unfinished = code
        touching = self.name_changes[-1]
        author = self.changes[-1][1]
        if author not in touching:
            touching.add(author)
            if len(touching) > 1:
                raise EvidenceRefused(_TRACKED_NAME, REFUSED)

    def ended(self) -> None:
        """The part ends: fields still open are read as they are."""
        for code in self.codes:
            self.refuse_field(code)


# Word fields whose update reaches outside the document (Word updates fields when asked: F9,
# printing, a prompt to update links on opening; DDEAUTO, and LINK with \a, by themselves):
# INCLUDEPICTURE (IMPORT, its Word 6 name) fetches a picture, INCLUDETEXT (INCLUDE) a file's
# text, LINK an object's source, DATABASE a query's result, RD a file to index. From a UNC path
# Windows sends the opener's NTLM hash; from a web address, someone learns who opened it and
# when. DDE and DDEAUTO start a program (`_DDE_FIELDS`). A field is known by the first word of
# its code, in any case, after any spaces, backslashes and quotes; PAGE, DATE, REF, TOC,
# HYPERLINK (followed only on a click) and the others are taken.
_FETCHING_FIELDS = {
    "INCLUDEPICTURE": "a picture",
    "IMPORT": "a picture",
    "INCLUDETEXT": "a file's text",
    "INCLUDE": "a file's text",
    "LINK": "a linked object's contents",
    "DATABASE": "a database query's result",
    "RD": "a file to index",
}
_FIELD_LEADING = re.compile(r"[\s\\\"']*")
_FIELD_NAME = re.compile(r"[\s\\\"']*([A-Za-z]*)")
_COMPUTED_FIELD = (
    "this document holds a field whose name another field computes (it could be DDE, which "
    "starts a program, or a field that fetches from elsewhere); send one without it"
)


def _field_name(code: str) -> str:
    """A Word field's name: the first word of its code, upper case."""
    return _FIELD_NAME.match(code).group(1).upper()  # type: ignore[union-attr]


_IN_RESULT = 1 << 62  # a field's mark once its code is complete: its result may hold anything
_CODE_ELSEWHERE = (
    "this document holds a field whose code is written inside markup Word may read otherwise "
    "(mc:AlternateContent, or an element of another namespace); send one without it"
)
_TRACKED_NAME = (
    "this document holds a field whose name is written across tracked changes (accepting some "
    "and rejecting others could make it DDE, or a field that fetches from elsewhere); send it "
    "with its tracked changes accepted or rejected"
)
_REFUSED_FIELDS = frozenset({*_DDE_FIELDS, *_FETCHING_FIELDS})
_LETTERS = re.compile(r"[A-Za-z]*")


def _name_unfinished(code: str) -> bool:
    """Whether a nested field beginning after `code` (the outer field's code so far, leading
    spaces, backslashes and quotes dropped) could make or complete a refused field's name:
    Word puts the nested field's result into the outer code before it reads the name, so
    DD{QUOTE 69}AUTO is DDEAUTO. Nothing yet, or only the first letters of such a name."""
    if not code.strip():
        return True
    start = code.upper()
    return _LETTERS.fullmatch(code) is not None and any(
        name.startswith(start) for name in _REFUSED_FIELDS
    )
