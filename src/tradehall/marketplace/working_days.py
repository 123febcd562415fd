"""The UK's bank holidays, from the `holidays` library, made into the marketplace's working
calendar (marketplace.working_days) together with the association's closure days."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import cache

import holidays

from marketplace.working_days import WorkingCalendar, london_date

# The library's subdivisions of the United Kingdom ("GB"): a working day is one that is a
# working day in every part of it, so the bank holidays of all four are taken together.
UK_SUBDIVISIONS = ("ENG", "WLS", "SCT", "NIR")


@cache
def _bank_holidays_in(year: int) -> frozenset[date]:
    days: set[date] = set()
    for subdivision in UK_SUBDIVISIONS:
        # observed=True (the default): a substitute day for one falling on a weekend is kept.
        days.update(holidays.country_holidays("GB", subdiv=subdivision, years=year).keys())
    return frozenset(days)


def uk_bank_holidays(years: Iterable[int]) -> frozenset[date]:
    """Every bank holiday (and substitute day) of any part of the UK in these years."""
    return frozenset().union(*(_bank_holidays_in(year) for year in years))


def working_calendar(closures: Iterable[date], around: datetime) -> WorkingCalendar:
    """The calendar for the London year of `around` and the next one (a standstill may cross
    the new year); asking it about a day outside those two years raises ValueError."""
    year = london_date(around).year
    return WorkingCalendar(
        non_working=uk_bank_holidays((year, year + 1)) | frozenset(closures),
        covers=(date(year, 1, 1), date(year + 1, 12, 31)),
    )
