"""Refunds the card processor says failed or were cancelled (`Organisation.reverse_card_refund`):
the refund leaves the ledger once, standing follows what is left, and a late word that it
succeeded records nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from membership.domain import MembershipStatus, Organisation
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


def test_a_refund_that_failed_leaves_the_ledger_once() -> None:
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
    assert [e.entry_id for e in org.ledger if e.kind == "refund"] == []
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
    assert [e for e in again.ledger if e.kind == "refund"] == []
    # The payment's whole amount may be refunded again (the failed one returned nothing).
    again.record_card_refund(context(SYSTEM), "re_2", "in_1", gbp(2_000), "b")
    assert len(collected(again)) == 1
