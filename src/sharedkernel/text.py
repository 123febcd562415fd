"""What a piece of text from outside may hold: one policy for every string a client sends.

Text is stored in events and written to SQL tables, CSV files and e-mails; a character that one
of those cannot hold (NUL in PostgreSQL), that rewrites what a reader sees (a bidi override), or
that means nothing to a person (a lone surrogate, a control character) is refused at the
boundary, with the reason, rather than discovered later by a projection or a spreadsheet.
"""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

from sharedkernel.errors import InvalidValue

# Bidirectional embeddings, overrides and isolates: they reorder what a reader sees
# (CVE-2021-42574, "Trojan Source"). The plain marks (U+200E, U+200F) reorder nothing.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Kept in long free text (descriptions, reasons): a person's line breaks and tabs.
FREE_TEXT_WHITESPACE = frozenset("\t\n\r")
# Characters that render as nothing although Unicode does not class them as spaces.
_INVISIBLE_FILLERS = frozenset("\u115f\u1160\u180e\u2800\u3164\uffa0")


class TextRejected(ValueError):
    """The text breaks the policy; `reason` says how, for the person who sent it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _codepoint(character: str) -> str:
    return f"U+{ord(character):04X}"


def _refused(character: str, multiline: bool) -> str | None:
    """Why `character` may not appear, or None if it may."""
    if character in FREE_TEXT_WHITESPACE:
        return None if multiline else f"contains a line break or tab ({_codepoint(character)})"
    if character in BIDI_CONTROLS:
        return f"contains a bidirectional control character ({_codepoint(character)})"
    category = unicodedata.category(character)
    if category == "Cc":  # C0, DEL and C1
        return f"contains a control character ({_codepoint(character)})"
    if category == "Cs":
        return f"is not valid Unicode (lone surrogate {_codepoint(character)})"
    if category == "Cn" and _is_noncharacter(character):
        return f"contains a noncharacter ({_codepoint(character)})"
    return None


def _is_noncharacter(character: str) -> bool:
    code = ord(character)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def _visible(character: str) -> bool:
    if character.isspace() or character in _INVISIBLE_FILLERS:
        return False
    return unicodedata.category(character) not in {"Cc", "Cf", "Zs", "Zl", "Zp"}


def _character_class(multiline: bool) -> re.Pattern[str]:
    """Every character `_refused` refuses, as one class, so clean text costs one regex search."""
    ranges = [
        "\x00-\x08",
        "\x0b\x0c",
        "\x0e-\x1f",
        "\x7f-\x9f",
        "\u202a-\u202e",
        "\u2066-\u2069",
        "\ud800-\udfff",
        "\ufdd0-\ufdef",
    ]
    ranges += [chr(plane * 0x10000 + 0xFFFE) + chr(plane * 0x10000 + 0xFFFF) for plane in range(17)]
    if not multiline:
        ranges.append("\t\n\r")
    return re.compile("[" + "".join(ranges) + "]")


_REFUSED_IN_LINE = _character_class(multiline=False)
_REFUSED_IN_FREE_TEXT = _character_class(multiline=True)


def clean_text(value: str, *, multiline: bool = False, max_length: int | None = None) -> str:
    """`value` in Unicode NFC, or TextRejected if it breaks the policy.

    Refused: control characters (tab and line breaks only where `multiline`), bidirectional
    controls, lone surrogates, noncharacters, text that is not empty but shows nothing
    (spaces, zero-width and filler characters only), and text over `max_length` once normalised.
    An empty string passes: whether a field may be empty is the schema's rule.
    """
    found = (_REFUSED_IN_FREE_TEXT if multiline else _REFUSED_IN_LINE).search(value)
    if found is not None:
        reason = _refused(found.group(), multiline)
        raise TextRejected(reason or f"contains {_codepoint(found.group())}")
    clean = unicodedata.normalize("NFC", value)
    if clean and not any(_visible(character) for character in clean):
        raise TextRejected("is blank (only spaces or invisible characters)")
    if max_length is not None and len(clean) > max_length:
        raise TextRejected(f"is longer than {max_length} characters")
    return clean


def domain_text(
    value: str, field: str, limit: int, *, required: str | None, multiline: bool = True
) -> str:
    """Free text a domain command keeps (a reason, a justification), trimmed and held to the
    policy: InvalidValue naming `field` if it breaks it, or is empty where `required` (the
    message) says it may not be."""
    try:
        clean = clean_text(value.strip(), multiline=multiline, max_length=limit)
    except TextRejected as rejected:
        raise InvalidValue(field, rejected.reason) from None
    if required is not None and not clean:
        raise InvalidValue(field, required)
    return clean


def check_email(value: str) -> str:
    """`value` if it is an e-mail address by its syntax (RFC 5322/6531; no DNS look-up), after
    the text policy; TextRejected otherwise. The one e-mail rule: API, CLI and imports."""
    text = clean_text(value, max_length=320)
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise TextRejected(f"is not an e-mail address: {error}") from None
    return text
