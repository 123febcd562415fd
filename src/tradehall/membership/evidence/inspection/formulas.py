"""Spreadsheet formulas and data connections: functions that fetch from outside or start a
program as a sheet is computed (Excel's and OpenFormula's), references to another workbook,
and the messages for Excel's data connections and Power Query, which are refused wherever
they are found.
"""

from __future__ import annotations

import re

from tradehall.membership.evidence.inspection.verdicts import REFUSED, EvidenceRefused

# Excel's data connections and the query tables filled from them (ECMA-376 18.13): a web query,
# an ODBC or OLE DB query (a database, another workbook, Power Query's mashup), a text file or
# an OLAP cube, fetched when the workbook is refreshed (on opening, if the connection says so,
# or on a timer). A UNC path sends the opener's NTLM hash; a web query tells someone who opened
# it, and when. Every connection is refused, whatever it fetches: evidence has no reason to
# carry one, and a workbook's values are what it shows. Found by the workbook's relationship,
# the part's declared content type, its usual name, and its elements (`_DdeFinder`).
_CONNECTION_TYPES = ("spreadsheetml.connections+xml", "spreadsheetml.querytable+xml")
_CONNECTION_PART = "xl/connections.xml"
_CONNECTION_REFUSED = (
    "this workbook holds a data connection ({}: it fetches from a database, a web page or a "
    "file when the workbook is refreshed); send one with its values instead"
)

# Excel's elements whose text is a formula.
# Office Math (an equation in any document): its <m:f> is a fraction, not a formula; `A|B` in
# one is a conditional probability.
_MATH = frozenset(
    {
        "http://schemas.openxmlformats.org/officeDocument/2006/math",
        "http://purl.oclc.org/ooxml/officeDocument/math",
    }
)
_FORMULAS = frozenset(
    {
        "f",
        "formula",
        "formula1",
        "formula2",
        "definedName",
        "calculatedColumnFormula",
        "totalsRowFormula",
    }
)

_FORMULA_STRING = re.compile(r'"(?:[^"]|"")*"')

# Spreadsheet functions that fetch from outside as the sheet is computed (a web address, a UNC
# path: Windows sends the opener's NTLM hash) or start a program: Excel's WEBSERVICE (FILTERXML
# only reads a string it is given: taken), IMAGE, RTD (a COM server, on this or another
# machine), CALL and REGISTER.ID (a DLL); Google Sheets' IMPORT* and IMAGE; LibreOffice's DDE.
# Matched by name after any prefix (`_xlfn.`, `COM.MICROSOFT.`), as a call (followed by `(`),
# outside strings, quoted sheet names and bracketed references.
_FETCHING = frozenset(
    {
        "WEBSERVICE",
        "IMAGE",
        "RTD",
        "CALL",
        "REGISTER.ID",
        "IMPORTXML",
        "IMPORTHTML",
        "IMPORTDATA",
        "IMPORTFEED",
        "IMPORTRANGE",
        "DDE",
    }
)
_FORMULA_QUOTED = re.compile(r'"(?:[^"]|"")*"|\'(?:[^\']|\'\')*\'')
_FORMULA_BRACKETED = re.compile(r"\[[^\[\]]*\]")
MAX_FORMULA_CHARACTERS = 65_536
_MAX_FORMULA_NESTING = 8  # brackets in brackets: a table's structured reference nests two
# A name starts where no name character precedes it, and is matched whole (possessive): a
# formula of 64 KiB of letters is scanned once, not once from each letter.
_FORMULA_CALL = re.compile(r"(?<![A-Za-z0-9_.])([A-Za-z_][A-Za-z0-9_.]*+)\s*+\(")
# Google Sheets writes a formula Excel lacks as __xludf.DUMMYFUNCTION("IMPORTXML(""..."")"),
# and restores it when the file is opened in Sheets again.
_DUMMY_FUNCTION = re.compile(r'DUMMYFUNCTION\s*\(\s*"((?:[^"]|"")*)"', re.IGNORECASE)
_FETCH_REFUSED = (
    "this document holds a formula that fetches from outside or starts a program as it is "
    "computed ({}); send one with its values instead"
)


def _fetching_call(formula: str, depth: int = 0, bare: str | None = None) -> str | None:
    """The first function in the formula that fetches from outside (`_FETCHING`), if any.
    `bare`: the formula with its strings and quoted names blanked, if the caller has it."""
    if len(formula) > MAX_FORMULA_CHARACTERS:
        raise EvidenceRefused(
            f"this document holds a formula of more than {MAX_FORMULA_CHARACTERS:,} characters "
            "(Excel writes at most 8,192); send it with its values instead",
            REFUSED,
        )
    if bare is None:
        bare = _FORMULA_QUOTED.sub(" ", formula)
    for _ in range(_MAX_FORMULA_NESTING):  # [[#This Row],[Column]]: innermost first
        unbracketed = _FORMULA_BRACKETED.sub(" ", bare)
        if unbracketed == bare:
            break
        bare = unbracketed
    for match in _FORMULA_CALL.finditer(bare):
        segments = match.group(1).upper().rsplit(".", 2)  # REGISTER.ID, after any prefix
        for name in (segments[-1], ".".join(segments[-2:])):
            if name in _FETCHING:
                return name
    if depth < 2:
        for wrapped in _DUMMY_FUNCTION.finditer(formula):
            found = _fetching_call(wrapped.group(1).replace('""', '"'), depth + 1)
            if found is not None:
                return found
    return None


# How much of a formula has been seen: nothing, its own text, or the one <f> it holds.
_FORMULA_EMPTY, _FORMULA_TEXT, _FORMULA_NESTED = 0, 1, 2
_FORMULA_ELSEWHERE = (
    "this document holds a formula written across markup Office may read otherwise "
    "(mc:AlternateContent, or an element inside the formula); send one without it"
)

# A reference to another workbook in Excel's grammar: [1]Sheet1!A1 (an external link's number,
# as OOXML stores it; [0] is the workbook itself), [Book.xlsx]Sheet1!A1, or a quoted name
# holding a path: '\\host\share\[Book.xlsx]Sheet1'!A1, 'http://host/[b.xlsx]S'!A1,
# 'C:\x\b.xlsx'!Total. A sheet's name holds none of [ ] \ /, so a quoted name holding one
# of them before `!` names a file. Excel fetches it when links are updated.
_EXCEL_BOOK = re.compile(r"\[(?!\s*0\s*\])[^\[\]]*\][^\[\]!'\"\s(),;+\-*/&=<>^%:]*!")
# Strings and quoted names, in order (as `_FORMULA_QUOTED`): the one group is a quoted name
# holding a character no sheet's name holds, followed by `!`; empty for every other. One pass
# in the regular expression engine, not a Python step a name.
_QUOTED_BOOK = re.compile(
    r""""(?:[^"]|"")*"|'(?:[^'\[\]\\/]|'')*'|('(?:[^']|'')*')(?=\s*!)|'(?:[^']|'')*'"""
)


def _external_workbook(formula: str, bare: str | None = None) -> bool:
    """Whether an Excel formula refers to another workbook (outside its strings). `bare`: the
    formula with its strings and quoted names blanked, if the caller has it."""
    if "!" not in formula:
        return False
    if any(_QUOTED_BOOK.findall(formula)):
        return True
    if bare is None:
        bare = _FORMULA_QUOTED.sub(" ", formula)
    return _EXCEL_BOOK.search(bare) is not None


_EXTERNAL_REFERENCE = (
    "this document holds a formula that refers to another file (fetched when links are "
    "updated); send one with its values instead"
)
