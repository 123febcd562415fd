"""Refunds the card processor says failed or were cancelled (`Organisation.reverse_card_refund`):
the refund stays in the ledger and a reversal line nets it out, once; standing follows the money
kept, and a late word that it succeeded records nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from membership.domain import MembershipStatus, Organisation
from membership.history import BASE_FIELDS
from sharedkernel.errors import Conflict
from sharedkernel.events import SYSTEM
from sharedkernel.money import Money
from tests.unit.membership_builders import (
    MICRO_DUE,
    STAFF,
    assert_carries,
    collected,
    context,
    names,
    observe,
    organisation_in,
    replay,
)


def gbp(minor: int) -> Money:
    return Money("GBP", minor)


def status_of(org: Organisation) -> MembershipStatus:
    return org.membership_status


def paid_by_card(amount: int = 2_000) -> Organisation:
    org = organisation_in(MembershipStatus.NEW)
    org.record_payment(context(SYSTEM), "in_1", gbp(amount), "stripe", "INV-1")
    org.collect_events()
    return org


def lines(org: Organisation) -> list[tuple[str, str, int, str]]:
    """The ledger's refunds and reversals: kind, id, amount, reference."""
    return [
        (e.kind, e.entry_id, e.amount.minor, e.reference)
        for e in org.ledger
        if e.kind in {"refund", "refund_reversal"}
    ]


def test_a_refund_that_failed_stays_in_the_ledger_beside_its_reversal_once() -> None:
    org = paid_by_card()
    before = org.balance
    org.record_card_refund(context(SYSTEM), "re_1", "in_1", gbp(500), "Stripe refund re_1")
    org.collect_events()
    ctx = context(SYSTEM)

    org.reverse_card_refund(ctx, "re_1", gbp(500), "failed")

    [event] = collected(org)
    assert type(event) is Organisation.CardRefundReversed
    assert (event.refund_id, event.entry_id, event.amount_minor, event.status) == (
        "re_1",
        "re_1",
        500,
        "failed",
    )
    assert_carries(event, ctx)
    assert lines(org) == [
        ("refund", "re_1", 500, "Stripe refund re_1"),
        ("refund_reversal", "rev_re_1", 500, "refund re_1 failed"),
    ]
    assert org.ledger[-1].at == ctx.at
    assert org.balance == before
    # Told again (refund.updated and refund.failed, a redelivery): nothing more.
    org.reverse_card_refund(context(SYSTEM), "re_1", gbp(500), "failed")
    assert collected(org) == []
    # A late word that it succeeded (an older event delivered after): nothing.
    org.record_card_refund(context(SYSTEM), "re_1", "in_1", gbp(500), "Stripe refund re_1")
    assert collected(org) == []
    assert org.balance == before


def test_a_refund_failing_before_its_success_reached_us_is_never_recorded() -> None:
    org = paid_by_card()
    before = org.balance

    org.reverse_card_refund(context(SYSTEM), "re_1", gbp(500), "canceled")
    [event] = collected(org)
    assert event.entry_id is None
    org.record_card_refund(context(SYSTEM), "re_1", "in_1", gbp(500), "Stripe refund re_1")

    assert collected(org) == []
    assert org.balance == before
    # Nothing was booked, so nothing is reversed in the ledger either.
    assert lines(org) == []


def test_the_money_kept_pays_the_period_the_refund_had_left_unpaid() -> None:
    # Two years paid at once; half refunded; the second year's invoice finds it unpaid.
    org = organisation_in(MembershipStatus.AWAITING_FIRST_PAYMENT)
    org.record_payment(context(SYSTEM), "in_1", MICRO_DUE + MICRO_DUE, "stripe", "INV-1")
    org.record_card_refund(context(SYSTEM), "re_1", "in_1", MICRO_DUE, "Stripe refund re_1")
    first_end = org.paid_up_until
    assert first_end is not None
    observe(org, first_end + timedelta(days=1))
    assert org.membership_status is MembershipStatus.GRACE
    org.collect_events()

    org.reverse_card_refund(context(SYSTEM), "re_1", MICRO_DUE, "failed")

    assert names(collected(org)) == ["CardRefundReversed", "PaidUpUntilMoved", "StandingChanged"]
    assert org.paid_up_until is not None
    assert org.paid_up_until > first_end
    assert status_of(org) is MembershipStatus.CURRENT


def test_another_amount_or_a_refund_staff_recorded_by_hand_is_refused() -> None:
    org = paid_by_card()
    org.record_card_refund(context(SYSTEM), "re_1", "in_1", gbp(500), "a")
    org.record_refund(context(STAFF), "ref_re_2", gbp(300), "refunded in the dashboard")
    org.collect_events()

    with pytest.raises(Conflict, match="not"):
        org.reverse_card_refund(context(SYSTEM), "re_1", gbp(501), "failed")
    with pytest.raises(Conflict, match="staff"):
        org.reverse_card_refund(context(SYSTEM), "re_2", gbp(300), "failed")
    assert collected(org) == []


def test_a_replayed_organisation_knows_its_reversed_refunds() -> None:
    org = organisation_in(MembershipStatus.NEW, collect=False)
    org.record_payment(context(SYSTEM), "in_1", gbp(2_000), "stripe", "INV-1")
    org.record_card_refund(context(SYSTEM), "re_1", "in_1", gbp(2_000), "a")
    org.reverse_card_refund(context(SYSTEM), "re_1", gbp(2_000), "failed")

    again = replay(collected(org))

    assert again.reversed_card_refunds == {"re_1"}
    assert [kind for kind, *_ in lines(again)] == ["refund", "refund_reversal"]
    # The payment's whole amount may be refunded again (the failed one returned nothing).
    again.record_card_refund(context(SYSTEM), "re_2", "in_1", gbp(2_000), "b")
    assert len(collected(again)) == 1


# The fields a CardRefundReversed has been stored with since it was first recorded.
STORED_FIELDS = {"refund_id", "entry_id", "amount_minor", "currency", "status"}


def test_a_stored_reversal_replays_to_the_refund_its_reversal_and_the_same_money() -> None:
    # The event's shape is unchanged (no upcaster): one recorded when the reversal took the
    # refund out of the ledger replays to both lines, and to the balance, paid-up-until and
    # standing that taking it out gave. Two years paid at once, one refunded, the second
    # year's invoice unpaid; the refund fails.
    org = organisation_in(MembershipStatus.AWAITING_FIRST_PAYMENT, collect=False)
    org.record_payment(context(SYSTEM), "in_1", MICRO_DUE + MICRO_DUE, "stripe", "INV-1")
    org.record_card_refund(context(SYSTEM), "re_1", "in_1", MICRO_DUE, "Stripe refund re_1")
    first_end = org.paid_up_until
    assert first_end is not None
    observe(org, first_end + timedelta(days=1))
    owing = org.balance
    org.reverse_card_refund(context(SYSTEM), "re_1", MICRO_DUE, "canceled")
    events = collected(org)
    reversal = next(e for e in events if type(e) is Organisation.CardRefundReversed)
    assert set(vars(reversal)) - BASE_FIELDS == STORED_FIELDS

    again = replay(events)

    assert lines(again) == [
        ("refund", "re_1", MICRO_DUE.minor, "Stripe refund re_1"),
        ("refund_reversal", "rev_re_1", MICRO_DUE.minor, "refund re_1 canceled"),
    ]
    # As if the refund had never been: two years invoiced, two paid.
    assert owing == MICRO_DUE
    assert again.balance == Money("GBP", 0)
    assert sum(e.owed_minor for e in again.ledger) == 0
    second_end = max(e.period_end for e in again.ledger if e.period_end)
    assert again.paid_up_until == second_end > first_end
    assert status_of(again) is MembershipStatus.CURRENT


def test_the_reversed_refund_bounds_nothing_a_staff_refund_naming_it_is_recorded() -> None:
    # A reversed refund returned no money: staff may refund the whole payment again, naming
    # the failed refund's id in their reference, and it is recorded (not taken as told).
    org = paid_by_card(2_000)
    org.record_card_refund(context(SYSTEM), "re_1", "in_1", gbp(2_000), "Stripe refund re_1")
    org.reverse_card_refund(context(SYSTEM), "re_1", gbp(2_000), "failed")
    org.collect_events()

    paid = sum(e.amount.minor for e in org.ledger if e.kind == "payment")

    org.record_refund(context(STAFF), "ref_k1", gbp(paid), "by transfer after re_1 failed")

    assert names(collected(org)) == ["RefundRecorded"]
    with pytest.raises(Conflict, match="more than has been paid"):
        org.record_refund(context(STAFF), "ref_k2", gbp(1), "one more")
