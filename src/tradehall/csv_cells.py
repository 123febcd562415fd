"""The one place exports write CSV cells: each cell shows as the text it is, in one row.

Every export a person opens in a spreadsheet (members.csv, ledger.csv, `tradehall export
members`) writes its rows through `CellWriter`, which makes each cell safe:

- Line breaks and tabs (CR, LF, tab, NEL, U+2028, U+2029) become a space: every record is one
  physical line, so line-based tools and spreadsheets' import dialogs never split a row, and
  free text (a credit note's reason) still reads as words.
- Every other C0 and C1 control character, DEL, and the bidi embedding, override and isolate
  characters (U+202A-U+202E, U+2066-U+2069) become U+FFFD: nothing can reorder what a reader
  sees or reach a terminal, and the reader sees that something was there.
- A cell that would start a formula (= + - @) gets a leading apostrophe (OWASP's CSV injection
  advice), except a plain number such as -150.00.

Values in the event logs may hold anything (imports, older versions): so the export, not only the
API, decides what reaches the file.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import TextIO

from sharedkernel.text import BIDI_CONTROLS

_BREAKS = "\t\n\r\x85\u2028\u2029"
_HIDDEN = (
    [chr(c) for c in range(0x00, 0x20) if chr(c) not in _BREAKS]
    + [chr(0x7F)]
    + [chr(c) for c in range(0x80, 0xA0) if chr(c) not in _BREAKS]
    + sorted(BIDI_CONTROLS)  # the text policy's own list (sharedkernel.text)
)
_CLEAN = str.maketrans({ch: " " for ch in _BREAKS} | {ch: "\ufffd" for ch in _HIDDEN})
_FORMULA_STARTS = ("=", "+", "-", "@")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def safe_cell(value: object) -> str:
    """A cell's text, safe to open in a spreadsheet (see the module's rules)."""
    text = ("" if value is None else str(value)).translate(_CLEAN)
    if text.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class CellWriter:
    """A CSV writer whose every cell goes through `safe_cell`."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, cells: Iterable[object]) -> None:
        self._writer.writerow([safe_cell(cell) for cell in cells])
