"""Money: an integer of minor units and an ISO 4217 currency. No floats, ever."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sharedkernel.errors import InvalidValue

_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Money counts hundredths (pence, cents): currencies whose minor unit is not a hundredth
# (ISO 4217: none, thousandths, ten-thousandths) are not for it.
NOT_IN_HUNDREDTHS = frozenset(
    {
        *("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI"),
        *("VND", "VUV", "XAF", "XOF", "XPF"),
        *("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"),
        *("CLF", "UYW"),
    }
)


@dataclass(frozen=True, order=True)
class Money:
    currency: str
    minor: int

    def __post_init__(self) -> None:
        if not _CURRENCY.match(self.currency):
            raise InvalidValue("currency", f"{self.currency!r} is not an ISO 4217 code")

    @classmethod
    def of(cls, minor: int, currency: str, *, field: str = "amount") -> Money:
        if isinstance(minor, bool) or not isinstance(minor, int):
            raise InvalidValue(field, "amounts are whole numbers of minor units (pence)")
        return cls(currency.strip().upper(), minor)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.currency, self.minor + other.minor)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.currency, self.minor - other.minor)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise InvalidValue("currency", f"cannot mix {self.currency} and {other.currency}")

    def __str__(self) -> str:
        sign = "-" if self.minor < 0 else ""
        units, pence = divmod(abs(self.minor), 100)
        return f"{sign}{self.currency} {units}.{pence:02d}"
