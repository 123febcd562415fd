"""Builders shared by the membership unit tests: contexts on a fixed clock, organisations in
each membership status, and helpers to read what an aggregate recorded.

Every context's time is fixed and lies years in the past, so an event stamped with the
machine's clock instead of the context's time shows up as a mismatch. Within a test the clock
only moves forward: `context()` is one minute after the previous context, `context_at(moment)`
jumps to a later moment (the clock job's tick), so commands never go back in time. Each test
starts again from T0 (tests/unit/conftest.py), so no date depends on which tests ran before.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from membership.domain import MembershipStatus, Organisation, RegistrationDetails
from membership.dues import band_for, default_bands
from membership.standing import POLICY, grace_ends
from sharedkernel.events import CLOCK, Context, TradehallAggregate, user_actor
from sharedkernel.money import Money

T0 = datetime(2019, 5, 6, 8, 0, tzinfo=UTC)
STAFF = user_actor(UUID("00000000-0000-4000-8000-00000000beef"))
MEMBER_USER = user_actor(UUID("00000000-0000-4000-8000-0000000000a1"))

BANDS = default_bands()
MICRO, SMALL, MEDIUM, LARGE = BANDS
TURNOVER = Money("GBP", 5_000_000)  # £50,000: the micro band
MICRO_DUE = Money("GBP", 6_000)  # £60 a year
INVOICE_ID = "inv_test"


class _TestClock:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.now = T0
        self._requests = itertools.count(1)

    def context(self, actor: str, at: datetime, effective_at: datetime | None) -> Context:
        if at < self.now:
            raise AssertionError(f"the test clock does not go back from {self.now} to {at}")
        self.now = at
        return Context(
            actor=actor,
            request_id=f"req-{next(self._requests)}",
            at=at,
            effective_at=effective_at,
        )


_clock = _TestClock()
_ids = itertools.count(1)


def reset_clock() -> None:
    """Back to T0: each test starts from the same moment, whichever tests run before it."""
    _clock.reset()


def context(actor: str = MEMBER_USER, effective_at: datetime | None = None) -> Context:
    """A context one minute after the previous one, with its own request id."""
    return _clock.context(actor, _clock.now + timedelta(minutes=1), effective_at)


def context_at(
    moment: datetime, actor: str = CLOCK, effective_at: datetime | None = None
) -> Context:
    """A context at `moment` (no earlier than the previous one), by default the clock's."""
    return _clock.context(actor, moment, effective_at)


def new_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids)}"


def details(kind: str = "social_enterprise", **overrides: Any) -> RegistrationDetails:
    fields: dict[str, Any] = {
        "name": "Green Fields CIC",
        "kind": kind,
        "legal_form": "cic",
        "registry_scheme": "GB-COH",
        "registry_id": "1234567",
        "social_purpose": "Grounds maintenance that employs people leaving prison.",
        "regions": ["TLC", "tld"],
        "cpv_codes": ["77314000"],
    }
    fields.update(overrides)
    return RegistrationDetails.parse(**fields)


def register(kind: str = "social_enterprise", ctx: Context | None = None) -> Organisation:
    return Organisation.register(ctx or context(), uuid4(), details(kind), uuid4())


def renewal_band(org: Organisation) -> Any:
    """The band the clock job passes to `observe_time`: the declared turnover's, if any."""
    if org.declared_turnover is None:
        return None
    return band_for(BANDS, org.declared_turnover)


def observe(org: Organisation, moment: datetime) -> None:
    """The clock job's tick for this organisation at `moment`."""
    org.observe_time(context_at(moment), renewal_band(org), new_id("inv"))


def pay(
    org: Organisation, amount: Money = MICRO_DUE, ctx: Context | None = None, **kwargs: Any
) -> None:
    """Staff record a bank transfer."""
    org.record_payment(
        ctx or context(STAFF), new_id("pay"), amount, "bank_transfer", "BACS 1234", **kwargs
    )


# How to bring a fresh social enterprise to each membership status.
def _apply(org: Organisation) -> None:
    org.apply_for_membership(context(), TURNOVER)


def _admit(org: Organisation) -> None:
    org.admit(context(STAFF), BANDS, INVOICE_ID)


def _reject(org: Organisation) -> None:
    org.reject(context(STAFF), "No evidence of social purpose.")


def _withdraw(org: Organisation) -> None:
    org.withdraw_application(context())


def _pay(org: Organisation) -> None:
    pay(org)


def _first_months_over(org: Organisation) -> None:
    assert org.first_paid_at is not None
    observe(org, org.first_paid_at + POLICY.new_period)


def _period_ends_unpaid(org: Organisation) -> None:
    assert org.paid_up_until is not None
    observe(org, org.paid_up_until + timedelta(days=1))


def _grace_ends_unpaid(org: Organisation) -> None:
    assert org.paid_up_until is not None
    observe(org, grace_ends(org.paid_up_until) + timedelta(days=1))


def _suspend(org: Organisation) -> None:
    org.suspend(context(STAFF), "Dues dispute under review.")


def _resign(org: Organisation) -> None:
    org.resign(context(), at_period_end=False)


def _expel(org: Organisation) -> None:
    org.expel(context(STAFF), "Displayed the quality mark on a non-member's goods.")


_CURRENT: list[Callable[[Organisation], None]] = [_apply, _admit, _pay, _first_months_over]

PATHS: dict[MembershipStatus, list[Callable[[Organisation], None]]] = {
    MembershipStatus.NONE: [],
    MembershipStatus.PENDING: [_apply],
    MembershipStatus.REJECTED: [_apply, _reject],
    MembershipStatus.WITHDRAWN: [_apply, _withdraw],
    MembershipStatus.AWAITING_FIRST_PAYMENT: [_apply, _admit],
    MembershipStatus.NEW: [_apply, _admit, _pay],
    MembershipStatus.CURRENT: _CURRENT,
    MembershipStatus.GRACE: [*_CURRENT, _period_ends_unpaid],
    MembershipStatus.LAPSED: [*_CURRENT, _period_ends_unpaid, _grace_ends_unpaid],
    MembershipStatus.SUSPENDED: [*_CURRENT, _suspend],
    MembershipStatus.RESIGNED: [*_CURRENT, _resign],
    MembershipStatus.EXPELLED: [*_CURRENT, _expel],
}


def organisation_in(status: MembershipStatus, *, collect: bool = True) -> Organisation:
    """A social enterprise whose membership is `status`, its events collected unless asked."""
    org = register()
    for step in PATHS[status]:
        step(org)
    assert org.membership_status is status
    if collect:
        org.collect_events()
    return org


def state(aggregate: TradehallAggregate) -> dict[str, Any]:
    """Everything an aggregate holds, except events not yet collected."""
    return {key: value for key, value in vars(aggregate).items() if key != "_pending_events"}


def collected(aggregate: TradehallAggregate) -> list[Any]:
    """The aggregate's new events (typed loosely, so tests can read their fields)."""
    return list(aggregate.collect_events())


def names(events: Sequence[Any]) -> list[str]:
    return [type(event).__name__ for event in events]


def replay(events: Sequence[Any]) -> Any:
    return functools.reduce(lambda aggregate, event: event.mutate(aggregate), events, None)


def assert_carries(event: Any, ctx: Context) -> None:
    assert event.actor == ctx.actor
    assert event.request_id == ctx.request_id
    assert event.timestamp == ctx.at
    assert event.effective_at == (ctx.effective_at or ctx.at)


def assert_forbidden(
    aggregate: TradehallAggregate, command: Callable[[], None], error: type[Exception]
) -> Any:
    """The command raises `error`, records nothing and changes nothing. Returns the error."""
    before = state(aggregate)

    with pytest.raises(error) as caught:
        command()

    assert aggregate.collect_events() == []
    assert state(aggregate) == before
    return caught.value
