"""Dues: bands of annual turnover with an annual due, published as versions of a schedule.

Pure Python, no I/O. A schedule version applies from its `effective_from`; the band for a
member is chosen from the version in force when its period starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sharedkernel.errors import InvalidValue
from sharedkernel.money import Money

DUES_CURRENCY = "GBP"


@dataclass(frozen=True)
class DuesBand:
    """A tier: organisations with turnover up to `up_to` (None: no ceiling) pay `annual_due`."""

    code: str
    name: str
    up_to: Money | None
    annual_due: Money
    # The name of this band's annual price in the association's price list: the payments
    # adapter finds the processor's price for a subscription by it.
    price_reference: str

    def as_event_data(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "up_to_minor": self.up_to.minor if self.up_to else None,
            "annual_due_minor": self.annual_due.minor,
            "currency": self.annual_due.currency,
            "price_reference": self.price_reference,
        }

    @classmethod
    def from_event_data(cls, data: Mapping[str, Any]) -> DuesBand:
        currency = str(data["currency"])
        up_to = data["up_to_minor"]
        return cls(
            code=str(data["code"]),
            name=str(data["name"]),
            up_to=Money(currency, int(up_to)) if up_to is not None else None,
            annual_due=Money(currency, int(data["annual_due_minor"])),
            price_reference=str(data["price_reference"]),
        )


# Version 1 of the events that carry a band (a schedule's `Published`, an organisation's
# `TierAssigned`) stored the price reference under the processor's word for it; the upcasters
# below read them as version 2. What is stored is never rewritten.
_V1_PRICE_REFERENCE = "lookup_key"


def upcast_band_v1_v2(state: dict[str, Any]) -> None:
    """A band's fields as version 1 stored them, as version 2's (in place: an event class's
    `upcast_v1_v2`)."""
    if _V1_PRICE_REFERENCE in state:
        state["price_reference"] = state.pop(_V1_PRICE_REFERENCE)


def upcast_bands_v1_v2(state: dict[str, Any]) -> None:
    """A published schedule's bands as version 1 stored them, as version 2's (in place)."""
    for band in state["bands"]:
        upcast_band_v1_v2(band)


def validate_bands(bands: Sequence[DuesBand]) -> tuple[DuesBand, ...]:
    """Bands in ascending order of ceiling, one currency, the last one open-ended."""
    if not bands:
        raise InvalidValue("bands", "a schedule has at least one band")
    codes = [band.code for band in bands]
    if len(set(codes)) != len(codes):
        raise InvalidValue("bands", "band codes must be unique")
    currencies = {band.annual_due.currency for band in bands} | {
        band.up_to.currency for band in bands if band.up_to
    }
    if currencies != {DUES_CURRENCY}:
        raise InvalidValue("bands", f"dues are in {DUES_CURRENCY}")
    for index, band in enumerate(bands):
        if band.annual_due.minor < 0:
            raise InvalidValue(f"bands[{index}].annual_due", "a due cannot be negative")
        is_last = index == len(bands) - 1
        if (band.up_to is None) != is_last:
            raise InvalidValue(f"bands[{index}].up_to", "only the last band is open-ended")
        if index and band.up_to is not None:
            previous = bands[index - 1].up_to
            assert previous is not None
            if band.up_to.minor <= previous.minor:
                raise InvalidValue(f"bands[{index}].up_to", "ceilings must rise band by band")
    return tuple(bands)


def band_for(bands: Sequence[DuesBand], turnover: Money) -> DuesBand:
    if turnover.minor < 0:
        raise InvalidValue("annual_turnover", "turnover cannot be negative")
    if turnover.currency != DUES_CURRENCY:
        raise InvalidValue("annual_turnover", f"declare turnover in {DUES_CURRENCY}")
    for band in bands:
        if band.up_to is None or turnover.minor <= band.up_to.minor:
            return band
    raise AssertionError("validated schedules end with an open band")


@dataclass(frozen=True)
class ScheduleVersion:
    version: int
    effective_from: datetime
    bands: tuple[DuesBand, ...]


def in_force(versions: Sequence[ScheduleVersion], at: datetime) -> ScheduleVersion:
    applicable = [v for v in versions if v.effective_from <= at]
    if not applicable:
        raise InvalidValue("dues_schedule", f"no dues schedule is in force on {at.date()}")
    return max(applicable, key=lambda v: (v.effective_from, v.version))


def default_bands() -> tuple[DuesBand, ...]:
    """The association's starting schedule (published by `tradehall migrate`'s data step)."""

    def gbp(pounds: int) -> Money:
        return Money(DUES_CURRENCY, pounds * 100)

    return validate_bands(
        [
            DuesBand("micro", "Micro (turnover up to £100k)", gbp(100_000), gbp(60), "dues_micro"),
            DuesBand("small", "Small (up to £1m)", gbp(1_000_000), gbp(150), "dues_small"),
            DuesBand("medium", "Medium (up to £10m)", gbp(10_000_000), gbp(400), "dues_medium"),
            DuesBand("large", "Large (over £10m)", None, gbp(900), "dues_large"),
        ]
    )
