"""Membership standing: the states, and the rules that move them with time and payments.

Pure functions over dates; no I/O and no clock reads: `now` is always given.
One date drives standing: paid up until. The clock derives grace (after it) and lapse (after
grace); payments move it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class MembershipStatus(StrEnum):
    """Where an organisation stands: its application, then its membership."""

    NONE = "none"
    PENDING = "pending"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    AWAITING_FIRST_PAYMENT = "awaiting_first_payment"
    NEW = "new"
    CURRENT = "current"
    GRACE = "grace"
    LAPSED = "lapsed"
    SUSPENDED = "suspended"
    RESIGNED = "resigned"
    EXPELLED = "expelled"


GOOD_STANDING = frozenset({MembershipStatus.NEW, MembershipStatus.CURRENT, MembershipStatus.GRACE})
# Admitted and not ended: the states a member can move between.
MEMBER = frozenset(
    {
        MembershipStatus.AWAITING_FIRST_PAYMENT,
        MembershipStatus.NEW,
        MembershipStatus.CURRENT,
        MembershipStatus.GRACE,
        MembershipStatus.LAPSED,
        MembershipStatus.SUSPENDED,
    }
)
ENDED = frozenset({MembershipStatus.RESIGNED, MembershipStatus.EXPELLED})


@dataclass(frozen=True)
class StandingPolicy:
    new_period: timedelta = timedelta(days=90)
    grace_months: int = 1
    period_months: int = 12
    # Renewal notices, the next period's invoice and the turnover declaration open this long
    # before paid-up-until.
    renewal_window: timedelta = timedelta(days=30)


POLICY = StandingPolicy()


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later, or the month's last day when it has no such day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class Transition:
    status: MembershipStatus
    effective_at: datetime
    cause: str


# The last moment a datetime holds: a grace or lapse past it (a paid-up-until in year 9999, as
# an old import once took it; no command records one now, ADR 17) is taken to end there.
LAST_MOMENT = datetime.max.replace(tzinfo=UTC)


def grace_ends(paid_up_until: datetime, policy: StandingPolicy = POLICY) -> datetime:
    try:
        return add_months(paid_up_until, policy.grace_months)
    except (OverflowError, ValueError):  # past year 9999
        return LAST_MOMENT


def lapses_from(paid_up_until: datetime, policy: StandingPolicy = POLICY) -> datetime:
    """The first moment a membership paid up until `paid_up_until` is lapsed if nothing more is
    paid: just after its grace ends (`due_transitions` lapses it once `now > grace_ends`; times
    are kept to the microsecond). Read models keep it to judge good standing at a reader's time
    without waiting for the clock to record the lapse."""
    ends = grace_ends(paid_up_until, policy)
    return ends if ends == LAST_MOMENT else ends + timedelta(microseconds=1)


def paid_standing(
    paid_up_until: datetime | None,
    first_paid_at: datetime | None,
    now: datetime,
    policy: StandingPolicy = POLICY,
) -> MembershipStatus:
    """What the dates alone say (used on reinstatement and after payments)."""
    if paid_up_until is None or first_paid_at is None:
        return MembershipStatus.AWAITING_FIRST_PAYMENT
    if now > grace_ends(paid_up_until, policy):
        return MembershipStatus.LAPSED
    if now > paid_up_until:
        return MembershipStatus.GRACE
    if now < first_paid_at + policy.new_period:
        return MembershipStatus.NEW
    return MembershipStatus.CURRENT


def due_transitions(
    status: MembershipStatus,
    paid_up_until: datetime | None,
    first_paid_at: datetime | None,
    resignation_at: datetime | None,
    now: datetime,
    policy: StandingPolicy = POLICY,
) -> list[Transition]:
    """Every transition time has made due, in order, each at the moment it became due.

    Empty when nothing is due, so asking twice at the same `now` changes nothing more.
    """
    transitions: list[Transition] = []
    current = status
    while True:
        if current in ENDED or current is MembershipStatus.SUSPENDED:
            return transitions
        resignation = None
        if resignation_at is not None and current in MEMBER and now >= resignation_at:
            resignation = Transition(MembershipStatus.RESIGNED, resignation_at, "resignation")
        step = _next_paid_step(current, paid_up_until, first_paid_at, now, policy)
        if resignation is not None and (
            step is None or resignation.effective_at <= step.effective_at
        ):
            transitions.append(resignation)
            return transitions
        if step is None:
            return transitions
        transitions.append(step)
        current = step.status


def status_at(
    status: MembershipStatus,
    paid_up_until: datetime | None,
    first_paid_at: datetime | None,
    resignation_at: datetime | None,
    now: datetime,
    policy: StandingPolicy = POLICY,
) -> MembershipStatus:
    """Where a membership recorded in `status` stands at `now`: the last of the transitions
    time has made due by then (`due_transitions`), whether or not the clock has recorded them
    yet. The clock records each at its next tick (hourly by default); a reader judging standing
    asks this with its own time, so a member whose grace ran out, or whose resignation took
    effect, is out of good standing from that moment, not from the tick."""
    transitions = due_transitions(status, paid_up_until, first_paid_at, resignation_at, now, policy)
    return transitions[-1].status if transitions else status


def _next_paid_step(
    current: MembershipStatus,
    paid_up_until: datetime | None,
    first_paid_at: datetime | None,
    now: datetime,
    policy: StandingPolicy,
) -> Transition | None:
    """The next transition the paid-up dates make due, if any."""
    step: Transition | None = None
    if paid_up_until is not None and first_paid_at is not None:
        new_period_ends = first_paid_at + policy.new_period
        if current is MembershipStatus.NEW and now >= new_period_ends <= paid_up_until:
            step = Transition(MembershipStatus.CURRENT, new_period_ends, "first months over")
        elif current in {MembershipStatus.NEW, MembershipStatus.CURRENT} and now > paid_up_until:
            step = Transition(MembershipStatus.GRACE, paid_up_until, "dues unpaid at period end")
        elif current is MembershipStatus.GRACE and now > grace_ends(paid_up_until, policy):
            step = Transition(
                MembershipStatus.LAPSED, grace_ends(paid_up_until, policy), "grace period over"
            )
    return step


def renewal_opens(paid_up_until: datetime, policy: StandingPolicy = POLICY) -> datetime:
    return paid_up_until - policy.renewal_window
