"""The association's closure days: staff close future weekdays (with why) and reopen future
ones; the past never changes, so no running standstill is shortened or a signed contract put
back inside its standstill. A closure day lengthens the standstills that cross it."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest

from marketplace.closures import CLOSURE_DAYS_ID, MAX_REASON, ClosureDays
from marketplace.working_days import standstill_end
from sharedkernel.errors import Conflict, InvalidValue, NotFound
from sharedkernel.events import Context
from tradehall.marketplace.working_days import working_calendar

# Tue 1 Jun 2027 09:00 UTC (10:00 BST): today in London is Tue 1 Jun.
NOW = datetime(2027, 6, 1, 9, tzinfo=UTC)
FRI_11_JUNE = date(2027, 6, 11)


def ctx(at: datetime = NOW) -> Context:
    return Context("user:staff", "r", at)


def started() -> ClosureDays:
    return ClosureDays.start(ctx())


def replay(events: Sequence[Any]) -> Any:
    return functools.reduce(lambda aggregate, event: event.mutate(aggregate), events, None)


def test_the_first_closure_starts_the_singleton_and_replays() -> None:
    closures = started()
    closures.close(ctx(), FRI_11_JUNE, "  Office move  ")
    closures.close(ctx(), date(2027, 6, 14), "Staff training")

    assert closures.id == CLOSURE_DAYS_ID
    assert closures.days == {FRI_11_JUNE, date(2027, 6, 14)}
    assert closures.reasons == {FRI_11_JUNE: "Office move", date(2027, 6, 14): "Staff training"}
    events = closures.collect_events()
    assert [type(event).__name__ for event in events] == ["Started", "Closed", "Closed"]
    assert events[1].day == "2027-06-11"
    assert events[1].actor == "user:staff"
    assert events[1].timestamp == NOW
    assert replay(events).reasons == closures.reasons


def test_reasons_is_a_copy() -> None:
    closures = started()
    closures.close(ctx(), FRI_11_JUNE, "Office move")
    closures.reasons.clear()
    assert closures.days == {FRI_11_JUNE}


def test_closing_a_day_already_closed_is_a_conflict() -> None:
    closures = started()
    closures.close(ctx(), FRI_11_JUNE, "Office move")
    with pytest.raises(Conflict, match="already closed"):
        closures.close(ctx(), FRI_11_JUNE, "Again")


@pytest.mark.parametrize("day", [date(2027, 6, 5), date(2027, 6, 6)])
def test_a_weekend_is_not_closed(day: date) -> None:
    closures = started()
    with pytest.raises(InvalidValue, match="a weekend is never a working day") as refused:
        closures.close(ctx(), day, "Pointless")
    assert refused.value.field == "day"


def test_a_past_day_is_not_closed_but_today_is() -> None:
    closures = started()
    with pytest.raises(InvalidValue, match="past") as refused:
        closures.close(ctx(), date(2027, 5, 31), "Too late")
    assert refused.value.field == "day"
    closures.close(ctx(), date(2027, 6, 1), "Burst pipe")
    assert closures.days == {date(2027, 6, 1)}


def test_today_is_londons_date() -> None:
    # 23:30 UTC Tue 1 Jun is 00:30 BST Wed 2 Jun: Tue 1 Jun is already past in London.
    late = ctx(datetime(2027, 6, 1, 23, 30, tzinfo=UTC))
    closures = ClosureDays.start(late)
    with pytest.raises(InvalidValue, match="past"):
        closures.close(late, date(2027, 6, 1), "Burst pipe")
    closures.close(late, date(2027, 6, 2), "Burst pipe")


@pytest.mark.parametrize(
    ("reason", "says"),
    [
        ("", "say why"),
        ("   ", "say why"),
        ("Office\u202emove", "bidirectional"),
        ("Office\nmove", "line break"),
        ("x" * (MAX_REASON + 1), f"longer than {MAX_REASON}"),
    ],
)
def test_a_closure_says_why_in_clean_text(reason: str, says: str) -> None:
    closures = started()
    with pytest.raises(InvalidValue, match=says) as refused:
        closures.close(ctx(), FRI_11_JUNE, reason)
    assert refused.value.field == "reason"
    assert closures.days == frozenset()


def test_a_future_day_is_reopened() -> None:
    closures = started()
    closures.close(ctx(), FRI_11_JUNE, "Office move")
    closures.reopen(ctx(), FRI_11_JUNE)

    assert closures.days == frozenset()
    events = closures.collect_events()
    assert type(events[-1]).__name__ == "Reopened"
    assert events[-1].day == "2027-06-11"
    assert replay(events).days == frozenset()
    # Reopened, it may be closed again.
    closures.close(ctx(), FRI_11_JUNE, "Office move, after all")
    assert closures.reasons == {FRI_11_JUNE: "Office move, after all"}


def test_reopening_a_day_not_closed_is_not_found() -> None:
    with pytest.raises(NotFound):
        started().reopen(ctx(), FRI_11_JUNE)


def test_today_and_past_days_are_never_reopened() -> None:
    closures = started()
    closures.close(ctx(), date(2027, 6, 1), "Burst pipe")
    closures.close(ctx(), date(2027, 6, 2), "Burst pipe")
    # Tomorrow, Wed 2 Jun is today and Tue 1 Jun past: neither reopens.
    tomorrow = ctx(datetime(2027, 6, 2, 8, tzinfo=UTC))
    for day in (date(2027, 6, 1), date(2027, 6, 2)):
        with pytest.raises(InvalidValue, match="shorten") as refused:
            closures.reopen(tomorrow, day)
        assert refused.value.field == "day"
    assert closures.days == {date(2027, 6, 1), date(2027, 6, 2)}


def test_a_datetime_is_not_a_day() -> None:
    with pytest.raises(TypeError):
        started().close(ctx(), datetime(2027, 6, 11, tzinfo=UTC), "Office move")


def test_closure_days_lengthen_the_standstill() -> None:
    # Published Tue 1 Jun 2027 09:00 UTC. Tue 1 (1), Wed 2 (2), Thu 3 (3), Fri 4 (4), Mon 7 (5),
    # Tue 8 (6), Wed 9 (7), Thu 10 (8): ends at midnight starting Fri 11 Jun, BST = 23:00 UTC
    # Thu 10 Jun. Closing Wed 9 and Thu 10: ..., Tue 8 (6), Fri 11 (7), Mon 14 (8): ends at
    # midnight starting Tue 15 Jun, BST = 23:00 UTC Mon 14 Jun.
    closures = started()
    before = standstill_end(NOW, 8, working_calendar(closures.days, around=NOW))
    assert before == datetime(2027, 6, 10, 23, tzinfo=UTC)
    closures.close(ctx(), date(2027, 6, 9), "Office move")
    closures.close(ctx(), date(2027, 6, 10), "Office move")
    after = standstill_end(NOW, 8, working_calendar(closures.days, around=NOW))
    assert after == datetime(2027, 6, 14, 23, tzinfo=UTC)


def test_a_day_is_closed_this_year_or_next_only() -> None:
    days = started()
    days.close(ctx(), date(2028, 12, 29), "Christmas week, next year")  # a Friday
    with pytest.raises(InvalidValue, match="this year or next") as refused:
        days.close(ctx(), date(2029, 1, 2), "Too far ahead")
    assert refused.value.field == "day"
    assert days.days == {date(2028, 12, 29)}
