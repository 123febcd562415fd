"""The Procurement Act standstill: 8 working days (or more, by configuration) beginning with the
day the award notice is published, in London; weekends, every UK part's bank holidays and the
association's closure days are not working days. Each expected end is worked out by hand.

The union of the UK's bank holidays the examples cross (from the `holidays` library, checked
in the first test):
  2026: Fri 25 Dec Christmas, Mon 28 Dec (substitute for Boxing Day, Sat 26 Dec)
  2027: Fri 1 Jan New Year, Mon 4 Jan (Scotland: substitute for Sat 2 Jan), Wed 17 Mar
        (Northern Ireland: St Patrick), Fri 26 Mar Good Friday (every part), Mon 29 Mar
        Easter Monday (not Scotland), Mon 31 May spring bank holiday, Mon 12 Jul (Northern
        Ireland: Battle of the Boyne)
British Summer Time in 2027: Sun 28 Mar to Sun 31 Oct (London midnight is 23:00 UTC).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import holidays
import pytest

from marketplace.working_days import (
    MIN_STANDSTILL_WORKING_DAYS,
    WorkingCalendar,
    standstill_end,
)
from sharedkernel.errors import InvalidValue
from tradehall.marketplace.working_days import uk_bank_holidays, working_calendar


def end(published_at: datetime, days: int = 8, closures: tuple[date, ...] = ()) -> datetime:
    return standstill_end(published_at, days, working_calendar(closures, around=published_at))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# The library's data ------------------------------------------------------------------------


def test_the_library_gives_every_uk_parts_bank_holidays() -> None:
    scotland = holidays.country_holidays("GB", subdiv="SCT", years=2027)
    england = holidays.country_holidays("GB", subdiv="ENG", years=2027)
    northern_ireland = holidays.country_holidays("GB", subdiv="NIR", years=2027)
    # 2 January 2027 is a Saturday: Scotland's substitute day is Monday 4 January.
    assert date(2027, 1, 2) in scotland
    assert date(2027, 1, 4) in scotland
    assert date(2027, 1, 4) not in england
    # Scotland has Good Friday but not Easter Monday.
    assert date(2027, 3, 26) in scotland
    assert date(2027, 3, 29) not in scotland
    assert date(2027, 3, 29) in england
    assert {date(2027, 3, 17), date(2027, 7, 12)} <= set(northern_ireland)
    assert date(2027, 3, 17) not in england

    union = uk_bank_holidays([2026, 2027])
    assert {
        date(2026, 12, 25),
        date(2026, 12, 28),
        date(2027, 1, 1),
        date(2027, 1, 4),
        date(2027, 3, 17),
        date(2027, 3, 26),
        date(2027, 3, 29),
        date(2027, 7, 12),
    } <= union
    assert uk_bank_holidays([2027]) <= union
    assert not any(day.year == 2028 for day in union)


# Worked examples ---------------------------------------------------------------------------


def test_a_standstill_across_easter() -> None:
    # Published Wed 24 Mar 2027 10:00 GMT. Working days: Wed 24 (1), Thu 25 (2), [Fri 26 Good
    # Friday, Sat 27, Sun 28, Mon 29 Easter Monday], Tue 30 (3), Wed 31 (4), Thu 1 Apr (5),
    # Fri 2 (6), Mon 5 (7), Tue 6 (8). Ends at midnight starting Wed 7 Apr, BST: 23:00 UTC 6 Apr.
    assert end(utc(2027, 3, 24, 10)) == utc(2027, 4, 6, 23)


def test_a_standstill_across_christmas_and_the_new_year() -> None:
    # Published Mon 21 Dec 2026 12:00 GMT. Mon 21 (1), Tue 22 (2), Wed 23 (3), Thu 24 (4),
    # [Fri 25 Christmas, weekend, Mon 28 Boxing Day's substitute], Tue 29 (5), Wed 30 (6),
    # Thu 31 (7), [Fri 1 Jan, weekend, Mon 4 Jan Scotland's substitute for Sat 2 Jan],
    # Tue 5 Jan (8). Ends at midnight starting Wed 6 Jan 2027, GMT: 00:00 UTC.
    assert end(utc(2026, 12, 21, 12)) == utc(2027, 1, 6)


def test_scotlands_second_of_january_counts_for_everyone() -> None:
    # Published Wed 30 Dec 2026 09:00 GMT. Wed 30 (1), Thu 31 (2), [Fri 1 Jan, weekend, Mon 4
    # Jan (Scotland)], Tue 5 (3), Wed 6 (4), Thu 7 (5), Fri 8 (6), Mon 11 (7), Tue 12 (8).
    # Ends at midnight starting Wed 13 Jan 2027: 00:00 UTC.
    published = utc(2026, 12, 30, 9)
    assert end(published) == utc(2027, 1, 13)
    # Counting England's holidays only, Mon 4 Jan would be day 3 and the end a day earlier.
    england = WorkingCalendar(
        frozenset(holidays.country_holidays("GB", subdiv="ENG", years=[2026, 2027]))
    )
    assert standstill_end(published, 8, england) == utc(2027, 1, 12)


def test_saint_patricks_day_counts_for_everyone() -> None:
    # Published Mon 15 Mar 2027 09:00 GMT. Mon 15 (1), Tue 16 (2), [Wed 17 St Patrick (NI)],
    # Thu 18 (3), Fri 19 (4), Mon 22 (5), Tue 23 (6), Wed 24 (7), Thu 25 (8).
    # Ends at midnight starting Fri 26 Mar 2027, GMT: 00:00 UTC.
    assert end(utc(2027, 3, 15, 9)) == utc(2027, 3, 26)


def test_the_twelfth_of_july_counts_for_everyone() -> None:
    # Published Thu 8 Jul 2027 10:00 UTC (11:00 BST). Thu 8 (1), Fri 9 (2), [weekend, Mon 12
    # Battle of the Boyne (NI)], Tue 13 (3), Wed 14 (4), Thu 15 (5), Fri 16 (6), Mon 19 (7),
    # Tue 20 (8). Ends at midnight starting Wed 21 Jul, BST: 23:00 UTC Tue 20 Jul.
    assert end(utc(2027, 7, 8, 10)) == utc(2027, 7, 20, 23)


def test_a_notice_published_at_the_weekend_counts_from_monday() -> None:
    # Published Sat 5 Jun 2027 14:00 UTC. Mon 7 (1), Tue 8 (2), Wed 9 (3), Thu 10 (4),
    # Fri 11 (5), Mon 14 (6), Tue 15 (7), Wed 16 (8). Ends at midnight starting Thu 17 Jun,
    # BST: 23:00 UTC Wed 16 Jun.
    assert end(utc(2027, 6, 5, 14)) == utc(2027, 6, 16, 23)
    # Sunday the same: the first working day is still Mon 7 Jun.
    assert end(utc(2027, 6, 6, 22)) == utc(2027, 6, 16, 23)


def test_a_notice_published_on_a_bank_holiday_counts_from_the_next_working_day() -> None:
    # Published on Good Friday, Fri 26 Mar 2027 11:00 GMT. [Fri 26, weekend, Mon 29 Easter
    # Monday], Tue 30 (1), Wed 31 (2), Thu 1 Apr (3), Fri 2 (4), Mon 5 (5), Tue 6 (6), Wed 7 (7),
    # Thu 8 (8). Ends at midnight starting Fri 9 Apr, BST: 23:00 UTC Thu 8 Apr.
    assert end(utc(2027, 3, 26, 11)) == utc(2027, 4, 8, 23)


def test_the_london_date_counts_not_the_utc_date() -> None:
    # Published Tue 8 Jun 2027 23:30 UTC: already Wed 9 Jun 00:30 in London (BST), so Wed 9 is
    # day 1. Wed 9 (1), Thu 10 (2), Fri 11 (3), Mon 14 (4), Tue 15 (5), Wed 16 (6), Thu 17 (7),
    # Fri 18 (8). Ends at midnight starting Sat 19 Jun, BST: 23:00 UTC Fri 18 Jun.
    # (Counting from the UTC date, Tue 8, would end a day early: 23:00 UTC Thu 17 Jun.)
    assert end(utc(2027, 6, 8, 23, 30)) == utc(2027, 6, 18, 23)
    # One minute before London's midnight (22:59 UTC) Tue 8 is still day 1.
    assert end(utc(2027, 6, 8, 22, 59)) == utc(2027, 6, 17, 23)
    # In winter London is on UTC: 23:30 UTC Tue 19 Jan 2027 is Tue 19 in London. Tue 19 (1),
    # Wed 20 (2), Thu 21 (3), Fri 22 (4), Mon 25 (5), Tue 26 (6), Wed 27 (7), Thu 28 (8).
    assert end(utc(2027, 1, 19, 23, 30)) == utc(2027, 1, 29)


def test_the_standstill_may_end_across_the_clocks_going_back() -> None:
    # Published Fri 22 Oct 2027 09:00 UTC. Fri 22 (1), Mon 25 (2), Tue 26 (3), Wed 27 (4),
    # Thu 28 (5), Fri 29 (6), [weekend; BST ends Sun 31 Oct], Mon 1 Nov (7), Tue 2 Nov (8).
    # Ends at midnight starting Wed 3 Nov, GMT: 00:00 UTC.
    assert end(utc(2027, 10, 22, 9)) == utc(2027, 11, 3)


def test_a_closure_day_extends_the_standstill() -> None:
    # As the weekend example (published Sat 5 Jun 2027), with Fri 11 Jun closed: Mon 7 (1),
    # Tue 8 (2), Wed 9 (3), Thu 10 (4), [Fri 11 closed, weekend], Mon 14 (5), Tue 15 (6),
    # Wed 16 (7), Thu 17 (8). Ends at midnight starting Fri 18 Jun, BST: 23:00 UTC Thu 17 Jun.
    published = utc(2027, 6, 5, 14)
    assert end(published, closures=(date(2027, 6, 11),)) == utc(2027, 6, 17, 23)
    # A closure after the last working day changes nothing: Wed 16 is still day 8.
    assert end(published, closures=(date(2027, 6, 17),)) == utc(2027, 6, 16, 23)


def test_configuration_may_lengthen_the_standstill() -> None:
    # The Easter example with 10 working days: ..., Tue 6 Apr (8), Wed 7 (9), Thu 8 (10).
    # Ends at midnight starting Fri 9 Apr 2027, BST: 23:00 UTC Thu 8 Apr.
    assert end(utc(2027, 3, 24, 10), days=10) == utc(2027, 4, 8, 23)


def test_fewer_than_eight_working_days_are_refused() -> None:
    assert MIN_STANDSTILL_WORKING_DAYS == 8
    with pytest.raises(InvalidValue) as refused:
        end(utc(2027, 3, 24, 10), days=7)
    assert refused.value.field == "standstill_working_days"


def test_a_naive_publication_time_is_refused() -> None:
    calendar = WorkingCalendar(frozenset())
    with pytest.raises(ValueError, match="timezone-aware"):
        standstill_end(datetime(2027, 3, 24, 10), 8, calendar)
    with pytest.raises(ValueError, match="timezone-aware"):
        working_calendar((), around=datetime(2027, 3, 24, 10))


def test_the_result_is_aware_utc() -> None:
    result = end(utc(2027, 7, 8, 10))
    assert result.tzinfo is UTC


# The calendar ------------------------------------------------------------------------------


def test_counting_begins_with_the_start_day_when_it_is_a_working_day() -> None:
    calendar = WorkingCalendar(frozenset({date(2027, 6, 8)}))
    assert calendar.is_working_day(date(2027, 6, 7))  # Monday
    assert not calendar.is_working_day(date(2027, 6, 8))  # closed
    assert not calendar.is_working_day(date(2027, 6, 12))  # Saturday
    assert calendar.nth_working_day(date(2027, 6, 7), 1) == date(2027, 6, 7)
    assert calendar.nth_working_day(date(2027, 6, 7), 2) == date(2027, 6, 9)
    assert calendar.nth_working_day(date(2027, 6, 12), 1) == date(2027, 6, 14)
    with pytest.raises(ValueError, match="from 1"):
        calendar.nth_working_day(date(2027, 6, 7), 0)


def test_the_calendar_refuses_days_its_holiday_data_does_not_cover() -> None:
    # Built around 2027: it knows 2027 and 2028, and nothing of 2029 or 2026.
    calendar = working_calendar((), around=utc(2027, 3, 1))
    assert calendar.covers == (date(2027, 1, 1), date(2028, 12, 31))
    assert calendar.is_working_day(date(2028, 12, 29))
    with pytest.raises(ValueError, match="outside"):
        calendar.is_working_day(date(2029, 1, 2))
    with pytest.raises(ValueError, match="outside"):
        calendar.is_working_day(date(2026, 12, 31))
    # The year is London's: 23:30 UTC on 31 Dec 2026 is still 2026 in London (GMT).
    assert working_calendar((), around=utc(2026, 12, 31, 23, 30)).covers == (
        date(2026, 1, 1),
        date(2027, 12, 31),
    )
