"""Quality mark certificate numbers: stable per mark, easy to read aloud, with a check symbol.

A number reads `TQM-XXXX-XXXX-C`: eight Crockford base32 symbols (a 40-bit payload derived
from the mark's id, so it never changes across renewals) and one Crockford check symbol, the
payload modulo 37 in Crockford's 37-symbol check alphabet. Because 37 is prime and larger than
32, the check catches every single mistyped symbol and every swap of two adjacent symbols.

Reading is forgiving the way Crockford intends: any case, spaces and hyphens anywhere or
nowhere, `O` for 0, `I` and `L` for 1, and the `TQM` prefix may be left off. What reads as a
number whose check symbol does not match is `Mistyped` (the API says so in its 404); anything
else is `Malformed`. Pure code: no I/O.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from uuid import UUID

__all__ = [
    "CHECK_ALPHABET",
    "MAX_INPUT_LENGTH",
    "PREFIX",
    "SYMBOLS",
    "CertificateNumber",
    "Malformed",
    "Mistyped",
    "certificate_number_for",
    "check_symbol",
    "read_certificate_number",
]

PREFIX = "TQM"
SYMBOLS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CHECK_ALPHABET = SYMBOLS + "*~$=U"  # Crockford's check symbols: values 0..36
PAYLOAD_SYMBOLS = 8
PAYLOAD_BITS = 5 * PAYLOAD_SYMBOLS  # 40
# Longer than any sensible way of typing a number (15 characters canonical): refused unread.
MAX_INPUT_LENGTH = 40

# Separators a person (or a copy from a PDF) may put in: space, tab, no-break space, hyphen and
# the Unicode hyphens and dashes.
_SEPARATORS = frozenset(" \t\u00a0-\u2010\u2011\u2012\u2013\u2014\u2212")
# After upper-casing: ASCII letters and digits, and the check alphabet's punctuation.
_ALLOWED = frozenset(string.ascii_uppercase + string.digits + "*~$=")
_ALIASES = {"O": "0", "I": "1", "L": "1"}
_VALUE = {symbol: value for value, symbol in enumerate(SYMBOLS)}
_CHECK_VALUE = {symbol: value for value, symbol in enumerate(CHECK_ALPHABET)}
# A domain-separation tag for deriving the payload, so it is not a prefix of the id itself
# (ids made by uuid1/uuid7 begin with a timestamp: numbers would collide and be guessable).
_DERIVATION_TAG = b"tradehall:quality-mark:certificate:"


@dataclass(frozen=True)
class CertificateNumber:
    """A well-formed number whose check symbol matches; `str()` is the canonical form."""

    payload: int

    def __post_init__(self) -> None:
        if not 0 <= self.payload < 1 << PAYLOAD_BITS:
            raise ValueError("a certificate number's payload is 40 bits")

    @property
    def text(self) -> str:
        symbols = _encode(self.payload)
        return f"{PREFIX}-{symbols[:4]}-{symbols[4:]}-{check_symbol(self.payload)}"

    def __str__(self) -> str:
        return self.text

    def is_for(self, mark_id: UUID) -> bool:
        return self.payload == _payload_for(mark_id)


@dataclass(frozen=True)
class Mistyped:
    """Well-formed, but the check symbol does not match: a symbol was mistyped or two swapped."""


@dataclass(frozen=True)
class Malformed:
    """Not a certificate number at all (`reason` is for logs, not for the public)."""

    reason: str


def certificate_number_for(mark_id: UUID) -> str:
    """The mark's number, canonical form (`TQM-XXXX-XXXX-C`): the same for the same id."""
    return CertificateNumber(_payload_for(mark_id)).text


def check_symbol(payload: int) -> str:
    return CHECK_ALPHABET[payload % 37]


def read_certificate_number(text: str) -> CertificateNumber | Mistyped | Malformed:
    """Read what someone typed or pasted. See the module's docstring for what is forgiven."""
    if len(text) > MAX_INPUT_LENGTH:
        return Malformed("too long")
    compact = "".join(char for char in text if char not in _SEPARATORS)
    # ASCII before upper-casing: a dotless i (U+0131) upper-cases to I, U+FB00 to FF.
    if not compact.isascii():
        return Malformed("unexpected characters")
    compact = compact.upper()
    if not _ALLOWED.issuperset(compact):
        return Malformed("unexpected characters")
    if len(compact) == len(PREFIX) + PAYLOAD_SYMBOLS + 1 and compact.startswith(PREFIX):
        compact = compact[len(PREFIX) :]
    if len(compact) != PAYLOAD_SYMBOLS + 1:
        return Malformed("wrong length")
    symbols = "".join(_ALIASES.get(char, char) for char in compact)
    payload_text, check = symbols[:PAYLOAD_SYMBOLS], symbols[PAYLOAD_SYMBOLS]
    if any(char not in _VALUE for char in payload_text):
        return Malformed("not Crockford base32")
    if check not in _CHECK_VALUE:
        return Malformed("not a check symbol")
    payload = 0
    for char in payload_text:
        payload = payload * 32 + _VALUE[char]
    if _CHECK_VALUE[check] != payload % 37:
        return Mistyped()
    return CertificateNumber(payload)


def _payload_for(mark_id: UUID) -> int:
    digest = hashlib.sha256(_DERIVATION_TAG + mark_id.bytes).digest()
    return int.from_bytes(digest[: PAYLOAD_BITS // 8], "big")


def _encode(payload: int) -> str:
    return "".join(
        SYMBOLS[(payload >> (5 * shift)) & 31] for shift in reversed(range(PAYLOAD_SYMBOLS))
    )
