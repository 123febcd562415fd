"""Moments a client sends (an as-at time, a schedule's start): ones a person could mean.

Pure: no clock. A date-time without an offset is read as UTC; one outside 1900-2099 is refused
as the named field's error, before any arithmetic could overflow on it (year 0001 with a
positive offset cannot be converted to UTC at all).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sharedkernel.errors import InvalidValue

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
# Exclusive.
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def plausible_moment(field: str, moment: datetime) -> datetime:
    """The moment in UTC, or InvalidValue naming `field` if no one could mean it."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if not EARLIEST <= aware < LATEST:
        raise InvalidValue(
            field,
            f"{moment.isoformat()} is outside {EARLIEST.year}-{LATEST.year - 1}",
        )
    return aware.astimezone(UTC)
