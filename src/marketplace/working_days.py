"""Working days and the Procurement Act standstill. Pure domain code: the calendar is given.

The standstill lasts at least 8 working days beginning with the day the award notice is
published (configuration may lengthen it, never shorten it), counted in Europe/London. A
working day is Monday to Friday and not a bank holiday in any part of the UK (England and
Wales, Scotland, Northern Ireland: the union of all three) nor a closure day staff entered.
Nothing is signed before the standstill ends: at midnight, London time, at the end of its last
working day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sharedkernel.errors import InvalidValue

LONDON = ZoneInfo("Europe/London")
MIN_STANDSTILL_WORKING_DAYS = 8
_SATURDAY = 5


def london_date(moment: datetime) -> date:
    """The calendar date in London at an aware moment; ValueError for a naive one."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a moment must be timezone-aware")
    return moment.astimezone(LONDON).date()


@dataclass(frozen=True)
class WorkingCalendar:
    """The days that are not working days besides weekends: every UK part's bank holidays and
    the association's closure days.

    `covers`, when given, is the first and last day the holiday data is known for: asking about
    a day outside it raises ValueError rather than answering from missing data (a bank holiday
    silently missing would end a standstill early). None: `non_working` is taken as complete.
    """

    non_working: frozenset[date]
    covers: tuple[date, date] | None = None

    def is_working_day(self, day: date) -> bool:
        if isinstance(day, datetime):
            raise TypeError("a working day is a date, not a datetime")
        if self.covers is not None and not self.covers[0] <= day <= self.covers[1]:
            raise ValueError(
                f"{day.isoformat()} is outside the calendar's holiday data "
                f"({self.covers[0].isoformat()} to {self.covers[1].isoformat()})"
            )
        return day.weekday() < _SATURDAY and day not in self.non_working

    def nth_working_day(self, start: date, n: int) -> date:
        """The n-th working day counted beginning with `start` (itself the first when it is a
        working day); n >= 1."""
        if n < 1:
            raise ValueError("n counts working days from 1")
        day, counted = start, 0
        while True:
            if self.is_working_day(day):
                counted += 1
                if counted == n:
                    return day
            day += timedelta(days=1)


def standstill_end(
    published_at: datetime, working_days: int, calendar: WorkingCalendar
) -> datetime:
    """The first instant after the standstill, in UTC: midnight in London at the end of the
    `working_days`-th working day beginning with the London date `published_at` falls on.
    A contract may be signed at or after this instant, never before."""
    if working_days < MIN_STANDSTILL_WORKING_DAYS:
        raise InvalidValue(
            "standstill_working_days",
            f"the standstill is at least {MIN_STANDSTILL_WORKING_DAYS} working days",
        )
    last = calendar.nth_working_day(london_date(published_at), working_days)
    # Midnight in London always exists and is never repeated: the clocks change at 01:00 UTC.
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=LONDON)
    return end.astimezone(UTC)
