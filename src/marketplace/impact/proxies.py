"""The social-value proxy-value table (issue 17): what a unit of each social-value measure is worth
in pence, so the impact ledger can give social value a £ value. Pure domain code.

A table is versioned by the date it takes effect. The shipped default table (reference data, not
an event) is effective from DEFAULT_EFFECTIVE_FROM; the association adds later versions, each
recorded by the ProxyValues aggregate (one, at the fixed id PROXY_VALUES_ID) in the marketplace
log. The £ value of a quantity on a day is quantity times the pence-per-unit of the version in
effect on that day (`table_on`): the latest effective on or before it.

A version may be dated in the past or the future: it is recorded as given, and a report applies
it by date. Two versions never share a date (the second is a Conflict), and none is dated before
the shipped table's (the first version is always the shipped one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from marketplace.bids.content import MEASURES
from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.events import Context, TradehallAggregate
from sharedkernel.text import domain_text

PROXY_VALUES_ID = uuid5(NAMESPACE_URL, "https://tradehall.invalid/proxy-values")
DEFAULT_EFFECTIVE_FROM = date(2000, 1, 1)
MAX_PENCE_PER_UNIT = Decimal(10**9)
MAX_PLACES = 4
MAX_SOURCE = 500
MAX_NOTE = 1000
# Digits and at most one point: no exponent, sign, spaces, NaN or Infinity.
_DECIMAL_CHARS = frozenset("0123456789.")
_MAX_PENCE_TEXT = 20


@dataclass(frozen=True)
class ProxyValue:
    """What one unit of a measure is worth, in pence, and the public source of the figure."""

    measure: str  # a key of MEASURES
    pence_per_unit: Decimal  # >= 0, at most 4 decimal places, at most MAX_PENCE_PER_UNIT
    source: str  # title and URL of the public source, <= MAX_SOURCE characters

    @property
    def unit(self) -> str:
        return MEASURES[self.measure]

    def as_data(self) -> dict[str, str]:
        return {
            "measure": self.measure,
            "pence_per_unit": str(self.pence_per_unit),
            "source": self.source,
        }


@dataclass(frozen=True)
class ProxyTable:
    """One version of the table: every measure's value, from `effective_from` on."""

    effective_from: date
    values: Mapping[str, ProxyValue]  # every measure of MEASURES, exactly
    note: str  # why this version (may be "")

    def value_of(self, measure: str, quantity: int) -> Decimal:
        """The value in pence of `quantity` units of `measure`: quantity times its rate."""
        return self.values[measure].pence_per_unit * quantity

    def as_data(self) -> dict[str, Any]:
        """The event's payload: ISO date, values in MEASURES' order (rates as strings), note."""
        return {
            "effective_from": self.effective_from.isoformat(),
            "values": [self.values[m].as_data() for m in MEASURES],
            "note": self.note,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ProxyTable:
        """A recorded version back from its payload; ValueError if it is not one (a projection
        reading the log leaves such an event out)."""
        try:
            day = data["effective_from"]
            if not isinstance(day, str):
                raise ValueError("effective_from is not text")
            values = data["values"]
            note = data.get("note", "")
            if not isinstance(values, list) or not isinstance(note, str):
                raise ValueError("values is not a list, or note not text")
            rows = [_row(v) for v in values]
            return parse_table(date.fromisoformat(day), rows, note)
        except (KeyError, TypeError, InvalidValue) as error:
            raise ValueError(f"not a proxy-value table: {error}") from None


def _row(value: object) -> tuple[object, object, object]:
    if not isinstance(value, Mapping):
        raise ValueError("a value is not an object")
    return value.get("measure"), value.get("pence_per_unit"), value.get("source")


def table_on(tables: Sequence[ProxyTable], day: date) -> ProxyTable:
    """The version in effect on `day`: the latest effective_from <= day; before every version, the
    earliest one (the default table is effective from 2000-01-01 so that never happens in
    practice)."""
    if not tables:
        raise ValueError("no proxy-value table")
    in_effect = [t for t in tables if t.effective_from <= day]
    if not in_effect:
        return min(tables, key=lambda t: t.effective_from)
    return max(in_effect, key=lambda t: t.effective_from)


# Parsing ---------------------------------------------------------------------------------------


def parse_pence(text: object, field: str) -> Decimal:
    """A rate in pence per unit: a decimal written in digits with at most one point (a string,
    or a whole number), from 0 to MAX_PENCE_PER_UNIT, at most MAX_PLACES places."""
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise InvalidValue(field, 'a decimal number of pence as a string, such as "1250.5"')
    written = str(text).strip()
    if (
        not written
        or len(written) > _MAX_PENCE_TEXT
        or not set(written) <= _DECIMAL_CHARS
        or written.count(".") > 1
        or written.startswith(".")
        or written.endswith(".")
    ):
        raise InvalidValue(
            field, 'a decimal number of pence, digits and at most one point, such as "1250.5"'
        )
    if "." in written and len(written.partition(".")[2]) > MAX_PLACES:
        raise InvalidValue(field, f"at most {MAX_PLACES} decimal places")
    try:
        pence = Decimal(written)
    except InvalidOperation:  # pragma: no cover - the characters are checked above
        raise InvalidValue(field, "a decimal number of pence") from None
    if pence > MAX_PENCE_PER_UNIT:
        raise InvalidValue(field, f"at most {MAX_PENCE_PER_UNIT} pence per unit")
    # One form for one rate: "12.50" and "12.5" are the same.
    return pence.quantize(Decimal(1)) if pence == pence.to_integral_value() else pence.normalize()


def parse_effective_from(text: object, field: str = "effective_from") -> date:
    """An ISO calendar date (YYYY-MM-DD); a date (not a datetime) is taken as it is."""
    if isinstance(text, date) and not isinstance(text, datetime):
        return text
    if isinstance(text, str) and len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            if text.replace("-", "").isascii() and text.replace("-", "").isdigit():
                return date.fromisoformat(text)
        except ValueError:
            pass
    raise InvalidValue(field, "a calendar date as YYYY-MM-DD")


def parse_table(
    effective_from: date,
    values: Iterable[tuple[object, object, object]],
    note: str,
) -> ProxyTable:
    """A version from (measure, pence_per_unit, source) rows: every measure of MEASURES exactly
    once, rates as `parse_pence`, sources required. Fields are named as the API's body names
    them (`values[2].pence_per_unit`)."""
    found: dict[str, ProxyValue] = {}
    for index, (measure, pence, source) in enumerate(values):
        at = f"values[{index}]"
        if not isinstance(measure, str) or measure not in MEASURES:
            raise InvalidValue(f"{at}.measure", f"one of: {', '.join(MEASURES)}")
        if measure in found:
            raise InvalidValue(f"{at}.measure", f"{measure} is given more than once")
        rate = parse_pence(pence, f"{at}.pence_per_unit")
        if not isinstance(source, str):
            raise InvalidValue(f"{at}.source", "the public source of the figure: title and URL")
        text = domain_text(
            source,
            f"{at}.source",
            MAX_SOURCE,
            required="the public source of the figure: title and URL",
            multiline=False,
        )
        found[measure] = ProxyValue(measure, rate, text)
    missing = [m for m in MEASURES if m not in found]
    if missing:
        raise InvalidValue("values", f"every measure once; missing: {', '.join(missing)}")
    if not isinstance(note, str):
        raise InvalidValue("note", "text")
    why = domain_text(note, "note", MAX_NOTE, required=None)
    ordered = {m: found[m] for m in MEASURES}
    # A plain dict (aggregates are copied by pickling): treat it as read-only.
    return ProxyTable(effective_from, ordered, why)


def default_table(rows: Iterable[tuple[str, str, str, str]]) -> ProxyTable:
    """The shipped table from the reference CSV's rows (measure, unit, pence_per_unit, source),
    effective from DEFAULT_EFFECTIVE_FROM; ValueError if a row's unit is not its measure's."""
    listed = list(rows)
    for measure, unit, _, _ in listed:
        if MEASURES.get(measure) != unit:
            raise ValueError(f"the default proxy table's {measure} is not counted in {unit}")
    table = parse_table(
        DEFAULT_EFFECTIVE_FROM,
        [(m, p, s) for m, _, p, s in listed],
        "The shipped default table: the association's own figures, each with its public source.",
    )
    return table


# The configured versions -----------------------------------------------------------------------


class ProxyValues(TradehallAggregate):
    """The versions the association has added, at the fixed id PROXY_VALUES_ID. Made by `start`
    when the first version is added (saved with it); two first versions racing both try to make
    version 1 and the second loses on the event store's version check."""

    class Started(TradehallAggregate.Created):
        pass

    class VersionAdded(TradehallAggregate.Event):
        effective_from: str  # ISO date
        values: list[dict[str, str]]  # {measure, pence_per_unit (a string), source}
        note: str

        def apply(self, aggregate: ProxyValues) -> None:
            data = {"effective_from": self.effective_from, "values": self.values}
            table = ProxyTable.from_data(data | {"note": self.note})
            aggregate._tables[table.effective_from] = table

    def __init__(self) -> None:
        self._tables: dict[date, ProxyTable] = {}

    @classmethod
    def start(cls, context: Context) -> ProxyValues:
        return cls._create(cls.Started, id=PROXY_VALUES_ID, **context.event_kwargs())

    @property
    def tables(self) -> tuple[ProxyTable, ...]:
        """The versions added, by effective date."""
        return tuple(self._tables[day] for day in sorted(self._tables))

    def add(self, context: Context, table: ProxyTable) -> None:
        day = table.effective_from
        if isinstance(day, datetime):
            raise TypeError("a version takes effect on a date, not a datetime")
        if day < DEFAULT_EFFECTIVE_FROM:
            raise InvalidValue(
                "effective_from",
                f"on or after {DEFAULT_EFFECTIVE_FROM.isoformat()}, the shipped table's date",
            )
        if day == DEFAULT_EFFECTIVE_FROM:
            raise Conflict(f"the shipped table takes effect on {day.isoformat()}")
        if day in self._tables:
            raise Conflict(f"a version already takes effect on {day.isoformat()}")
        data = table.as_data()
        self.trigger_event(
            self.VersionAdded,
            effective_from=data["effective_from"],
            values=data["values"],
            note=data["note"],
            **context.event_kwargs(),
        )
