"""The pure rules of membership standing: month arithmetic, what the dates say, what time makes due.

One date drives standing: paid up until. New for the first 90 days after the first payment,
then current; grace after paid-up-until, for one month; lapsed after grace.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from membership.standing import (
    ENDED,
    GOOD_STANDING,
    MEMBER,
    POLICY,
    MembershipStatus,
    StandingPolicy,
    Transition,
    add_months,
    due_transitions,
    grace_ends,
    lapses_from,
    paid_standing,
    renewal_opens,
    status_at,
)

S = MembershipStatus
FIRST_PAID = datetime(2023, 3, 10, 14, 30, tzinfo=UTC)
PAID_UP_UNTIL = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
NEW_PERIOD_ENDS = FIRST_PAID + timedelta(days=90)  # 2023-06-08 14:30
GRACE_ENDS = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def due(
    status: MembershipStatus,
    now: datetime,
    *,
    paid_up_until: datetime | None = PAID_UP_UNTIL,
    first_paid_at: datetime | None = FIRST_PAID,
    resignation_at: datetime | None = None,
) -> list[Transition]:
    return due_transitions(status, paid_up_until, first_paid_at, resignation_at, now)


# The policy and the status groups


def test_the_default_policy() -> None:
    assert POLICY.new_period == timedelta(days=90)
    assert POLICY.grace_months == 1
    assert POLICY.period_months == 12
    assert POLICY.renewal_window == timedelta(days=30)


def test_new_current_and_grace_are_good_standing() -> None:
    assert set(GOOD_STANDING) == {S.NEW, S.CURRENT, S.GRACE}


def test_members_are_the_admitted_and_not_ended() -> None:
    assert set(MEMBER) == {
        S.AWAITING_FIRST_PAYMENT,
        S.NEW,
        S.CURRENT,
        S.GRACE,
        S.LAPSED,
        S.SUSPENDED,
    }
    assert set(ENDED) == {S.RESIGNED, S.EXPELLED}
    assert not MEMBER & ENDED


def test_grace_ends_a_month_after_paid_up_until() -> None:
    assert grace_ends(PAID_UP_UNTIL) == GRACE_ENDS
    assert grace_ends(utc(2024, 1, 31, 9, 0)) == utc(2024, 2, 29, 9, 0)
    assert grace_ends(PAID_UP_UNTIL, StandingPolicy(grace_months=2)) == utc(2024, 5, 1, 9, 0)


def test_the_renewal_window_opens_thirty_days_before_paid_up_until() -> None:
    assert renewal_opens(PAID_UP_UNTIL) == utc(2024, 1, 31, 9, 0)
    assert renewal_opens(PAID_UP_UNTIL, StandingPolicy(renewal_window=timedelta(days=7))) == utc(
        2024, 2, 23, 9, 0
    )


# add_months


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (utc(2023, 5, 6, 8, 0), 1, utc(2023, 6, 6, 8, 0)),
        (utc(2023, 5, 6, 8, 0), 0, utc(2023, 5, 6, 8, 0)),
        (utc(2023, 5, 6, 8, 0), 12, utc(2024, 5, 6, 8, 0)),
        (utc(2023, 5, 6, 8, 0), 24, utc(2025, 5, 6, 8, 0)),
        (utc(2023, 11, 15), 2, utc(2024, 1, 15)),  # across the year end
        (utc(2023, 12, 15), 1, utc(2024, 1, 15)),
        (utc(2023, 1, 31), 1, utc(2023, 2, 28)),  # no 31 February: the month's last day
        (utc(2024, 1, 31), 1, utc(2024, 2, 29)),  # a leap year
        (utc(2100, 1, 31), 1, utc(2100, 2, 28)),  # centuries are not leap years...
        (utc(2000, 1, 31), 1, utc(2000, 2, 29)),  # ...unless divisible by 400
        (utc(2024, 2, 29), 12, utc(2025, 2, 28)),
        (utc(2024, 2, 29), 48, utc(2028, 2, 29)),
        (utc(2023, 3, 31), 1, utc(2023, 4, 30)),
        (utc(2023, 8, 31), 1, utc(2023, 9, 30)),
        (utc(2023, 12, 31), 2, utc(2024, 2, 29)),
        (utc(2023, 11, 30), 3, utc(2024, 2, 29)),
        (utc(2024, 1, 30), 1, utc(2024, 2, 29)),
        (utc(2024, 1, 28), 1, utc(2024, 2, 28)),  # a day that exists is kept
        (utc(2024, 3, 31), -1, utc(2024, 2, 29)),  # backwards too
        (utc(2024, 1, 15), -1, utc(2023, 12, 15)),
        (utc(2024, 5, 6), -12, utc(2023, 5, 6)),
        (utc(2024, 1, 31), -13, utc(2022, 12, 31)),
    ],
)
def test_add_months(moment: datetime, months: int, expected: datetime) -> None:
    assert add_months(moment, months) == expected


def test_add_months_keeps_the_time_of_day_and_the_zone() -> None:
    london_summer = timezone(timedelta(hours=1))
    moment = datetime(2024, 1, 31, 23, 59, 59, 999_999, tzinfo=london_summer)

    later = add_months(moment, 1)

    assert later == datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=london_summer)
    assert later.tzinfo is london_summer


# paid_standing: what the dates alone say


@pytest.mark.parametrize(
    ("paid_up_until", "first_paid_at"),
    [(None, None), (PAID_UP_UNTIL, None), (None, FIRST_PAID)],
)
def test_without_a_first_payment_and_a_paid_up_date_a_member_awaits_the_first_payment(
    paid_up_until: datetime | None, first_paid_at: datetime | None
) -> None:
    now = utc(2030, 1, 1)

    assert paid_standing(paid_up_until, first_paid_at, now) is S.AWAITING_FIRST_PAYMENT


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (FIRST_PAID, S.NEW),
        (NEW_PERIOD_ENDS - SECOND, S.NEW),
        (NEW_PERIOD_ENDS, S.CURRENT),  # 90 days to the second
        (PAID_UP_UNTIL - SECOND, S.CURRENT),
        (PAID_UP_UNTIL, S.CURRENT),  # paid up until, inclusive
        (PAID_UP_UNTIL + SECOND, S.GRACE),
        (GRACE_ENDS, S.GRACE),  # grace until, inclusive
        (GRACE_ENDS + SECOND, S.LAPSED),
        (utc(2030, 1, 1), S.LAPSED),
    ],
)
def test_paid_standing(now: datetime, expected: MembershipStatus) -> None:
    assert paid_standing(PAID_UP_UNTIL, FIRST_PAID, now) is expected


def test_a_first_payment_after_the_period_it_paid_for_gives_grace_not_new() -> None:
    # The dates decide: unpaid time counts before the new period does.
    now = PAID_UP_UNTIL + timedelta(days=3)

    assert paid_standing(PAID_UP_UNTIL, now, now) is S.GRACE


def test_paid_standing_follows_the_policy_given() -> None:
    policy = StandingPolicy(new_period=timedelta(days=30), grace_months=2)

    assert paid_standing(PAID_UP_UNTIL, FIRST_PAID, FIRST_PAID + timedelta(days=30), policy) is (
        S.CURRENT
    )
    assert paid_standing(PAID_UP_UNTIL, FIRST_PAID, utc(2024, 4, 15), policy) is S.GRACE
    assert paid_standing(PAID_UP_UNTIL, FIRST_PAID, utc(2024, 5, 1, 9, 1), policy) is S.LAPSED


# due_transitions: one step at a time


def test_a_new_member_becomes_current_when_the_first_months_are_over() -> None:
    assert due(S.NEW, NEW_PERIOD_ENDS - SECOND) == []
    assert due(S.NEW, NEW_PERIOD_ENDS) == [
        Transition(S.CURRENT, NEW_PERIOD_ENDS, "first months over")
    ]


def test_a_current_member_goes_into_grace_once_paid_up_until_has_passed() -> None:
    assert due(S.CURRENT, PAID_UP_UNTIL) == []
    assert due(S.CURRENT, PAID_UP_UNTIL + SECOND) == [
        Transition(S.GRACE, PAID_UP_UNTIL, "dues unpaid at period end")
    ]


def test_a_member_in_grace_lapses_once_grace_has_passed() -> None:
    assert due(S.GRACE, GRACE_ENDS) == []
    assert due(S.GRACE, GRACE_ENDS + SECOND) == [
        Transition(S.LAPSED, GRACE_ENDS, "grace period over")
    ]


def test_a_lapsed_member_stays_lapsed() -> None:
    assert due(S.LAPSED, utc(2040, 1, 1)) == []


def test_the_grace_period_follows_the_policy() -> None:
    policy = StandingPolicy(grace_months=2)
    two_months = utc(2024, 5, 1, 9, 0)

    assert due_transitions(S.GRACE, PAID_UP_UNTIL, FIRST_PAID, None, two_months, policy) == []
    assert due_transitions(
        S.GRACE, PAID_UP_UNTIL, FIRST_PAID, None, two_months + SECOND, policy
    ) == [Transition(S.LAPSED, two_months, "grace period over")]


def test_a_member_awaiting_the_first_payment_has_nothing_due_however_long_it_waits() -> None:
    assert due(S.AWAITING_FIRST_PAYMENT, utc(2040, 1, 1), paid_up_until=None) == []
    assert due(S.AWAITING_FIRST_PAYMENT, utc(2040, 1, 1), first_paid_at=None) == []


@pytest.mark.parametrize("status", [S.SUSPENDED, S.RESIGNED, S.EXPELLED])
def test_suspended_and_ended_memberships_have_nothing_due(status: MembershipStatus) -> None:
    years_later = utc(2040, 1, 1)

    assert due(status, years_later) == []
    assert due(status, years_later, resignation_at=PAID_UP_UNTIL) == []


# due_transitions: several at once, in order, each at the moment it became due


def test_a_member_not_observed_for_a_year_gets_every_transition_in_order() -> None:
    a_year_later = utc(2024, 5, 1)

    assert due(S.NEW, a_year_later) == [
        Transition(S.CURRENT, NEW_PERIOD_ENDS, "first months over"),
        Transition(S.GRACE, PAID_UP_UNTIL, "dues unpaid at period end"),
        Transition(S.LAPSED, GRACE_ENDS, "grace period over"),
    ]


def test_a_current_member_long_unobserved_goes_into_grace_then_lapses() -> None:
    transitions = due(S.CURRENT, utc(2024, 6, 1))

    assert [t.status for t in transitions] == [S.GRACE, S.LAPSED]
    assert [t.effective_at for t in transitions] == [PAID_UP_UNTIL, GRACE_ENDS]


def test_transitions_stop_where_time_has_got_to() -> None:
    assert [t.status for t in due(S.NEW, PAID_UP_UNTIL + SECOND)] == [S.CURRENT, S.GRACE]


@pytest.mark.parametrize(
    ("status", "now"),
    [
        (S.NEW, NEW_PERIOD_ENDS),
        (S.NEW, utc(2024, 3, 15)),
        (S.NEW, utc(2030, 1, 1)),
        (S.CURRENT, utc(2024, 6, 1)),
        (S.GRACE, utc(2024, 6, 1)),
    ],
)
def test_asking_twice_gives_the_same_answer_and_nothing_more_once_applied(
    status: MembershipStatus, now: datetime
) -> None:
    first = due(status, now)
    second = due(status, now)

    assert first == second
    assert first != []
    assert due(first[-1].status, now) == []


def test_effective_times_never_go_backwards_within_one_answer() -> None:
    transitions = due(S.NEW, utc(2030, 1, 1))

    times = [t.effective_at for t in transitions]
    assert times == sorted(times)


# Resignation


@pytest.mark.parametrize("status", [S.AWAITING_FIRST_PAYMENT, S.NEW, S.CURRENT, S.GRACE, S.LAPSED])
def test_a_resignation_takes_effect_when_its_date_is_reached(status: MembershipStatus) -> None:
    resigns = utc(2023, 5, 1, 12, 0)

    assert due(status, resigns - SECOND, resignation_at=resigns) == []
    assert due(status, resigns, resignation_at=resigns) == [
        Transition(S.RESIGNED, resigns, "resignation")
    ]


def test_a_resignation_at_period_end_wins_over_grace_and_lapse() -> None:
    assert due(S.CURRENT, utc(2024, 6, 1), resignation_at=PAID_UP_UNTIL) == [
        Transition(S.RESIGNED, PAID_UP_UNTIL, "resignation")
    ]


def test_a_resignation_of_a_member_awaiting_the_first_payment_needs_no_paid_up_date() -> None:
    resigns = utc(2023, 5, 1)

    assert due(
        S.AWAITING_FIRST_PAYMENT,
        utc(2023, 6, 1),
        paid_up_until=None,
        first_paid_at=None,
        resignation_at=resigns,
    ) == [Transition(S.RESIGNED, resigns, "resignation")]


def test_a_resignation_asked_about_twice_is_the_same_and_then_nothing_more() -> None:
    now = utc(2024, 6, 1)

    first = due(S.CURRENT, now, resignation_at=PAID_UP_UNTIL)

    assert first == due(S.CURRENT, now, resignation_at=PAID_UP_UNTIL)
    assert due(S.RESIGNED, now, resignation_at=PAID_UP_UNTIL) == []


def test_transitions_due_before_a_resignation_are_not_skipped() -> None:
    # A new member who resigned at period end, not observed until after it: the first months
    # ended before the resignation took effect, so it was current in between ("every transition
    # time has made due, in order").
    assert due(S.NEW, utc(2024, 6, 1), resignation_at=PAID_UP_UNTIL) == [
        Transition(S.CURRENT, NEW_PERIOD_ENDS, "first months over"),
        Transition(S.RESIGNED, PAID_UP_UNTIL, "resignation"),
    ]


@pytest.mark.parametrize(
    ("recorded", "now", "resigns_at", "expected"),
    [
        (S.NEW, PAID_UP_UNTIL, None, S.CURRENT),
        (S.CURRENT, PAID_UP_UNTIL + SECOND, None, S.GRACE),
        (S.CURRENT, GRACE_ENDS, None, S.GRACE),  # the grace's last moment
        (S.NEW, GRACE_ENDS + timedelta(microseconds=1), None, S.LAPSED),
        (S.GRACE, GRACE_ENDS + timedelta(microseconds=1), None, S.LAPSED),
        (S.LAPSED, GRACE_ENDS + timedelta(days=1), None, S.LAPSED),
        (S.SUSPENDED, GRACE_ENDS + timedelta(days=1), None, S.SUSPENDED),
        (S.CURRENT, PAID_UP_UNTIL - SECOND, PAID_UP_UNTIL, S.CURRENT),
        (S.CURRENT, PAID_UP_UNTIL, PAID_UP_UNTIL, S.RESIGNED),
    ],
)
def test_the_status_at_a_moment_is_the_recorded_one_moved_on_by_what_time_made_due(
    recorded: MembershipStatus, now: datetime, resigns_at: datetime | None, expected: S
) -> None:
    """What a reader judges standing by, whether or not the clock has recorded it (lapse
    strictly after the grace's end, a resignation from its moment): the last transition
    `due_transitions` makes due, or the recorded status when none is."""
    assert status_at(recorded, PAID_UP_UNTIL, FIRST_PAID, resigns_at, now) is expected


def test_a_read_model_s_lapse_moment_is_the_first_the_domain_calls_lapsed() -> None:
    """`lapses_from` (kept by the read models: lapsed from it on) agrees with `status_at`."""
    moment = lapses_from(PAID_UP_UNTIL)
    before = moment - timedelta(microseconds=1)
    assert status_at(S.CURRENT, PAID_UP_UNTIL, FIRST_PAID, None, before) is S.GRACE
    assert status_at(S.CURRENT, PAID_UP_UNTIL, FIRST_PAID, None, moment) is S.LAPSED
