"""Refunds the card processor tells of (`Organisation.record_card_refund`): once per refund
id, within the payment they return money from, and never again when staff recorded them."""

from __future__ import annotations

import pytest

from membership.domain import MembershipStatus, Organisation
from membership.lifecycle import LedgerEntry
from sharedkernel.errors import Conflict
from sharedkernel.events import SYSTEM
from sharedkernel.money import Money
from tests.unit.membership_builders import (
    STAFF,
    assert_carries,
    collected,
    context,
    organisation_in,
    replay,
)


def gbp(minor: int) -> Money:
    return Money("GBP", minor)


def paid_by_card(amount: int = 2_000) -> Organisation:
    org = organisation_in(MembershipStatus.NEW)
    org.record_payment(context(SYSTEM), "in_1", gbp(amount), "stripe", "INV-1")
    org.collect_events()
    return org


def test_a_card_refund_is_recorded_against_its_payment_and_owed_again() -> None:
    org = paid_by_card()
    before = org.balance
    ctx = context(SYSTEM)

    org.record_card_refund(ctx, "re_1", "in_1", gbp(500), " Stripe refund re_1 of in_1 ")

    events = collected(org)
    [event] = events
    assert type(event) is Organisation.CardRefundRecorded
    assert (event.refund_id, event.payment_id, event.amount_minor) == ("re_1", "in_1", 500)
    assert_carries(event, ctx)
    assert org.ledger[-1] == LedgerEntry(
        "refund", "re_1", ctx.at, gbp(500), "Stripe refund re_1 of in_1"
    )
    assert org.balance == before + gbp(500)
    assert org.card_refunds == {"re_1": "in_1"}


def test_the_same_refund_told_again_records_nothing_and_another_amount_is_refused() -> None:
    org = paid_by_card()
    org.record_card_refund(context(SYSTEM), "re_1", "in_1", gbp(500), "a")
    org.collect_events()

    org.record_card_refund(context(SYSTEM), "re_1", "in_1", gbp(500), "told again")
    assert collected(org) == []
    with pytest.raises(Conflict):
        org.record_card_refund(context(SYSTEM), "re_1", "in_1", gbp(600), "a")


def test_partial_refunds_add_up_to_the_payment_and_no_more() -> None:
    org = paid_by_card(2_000)
    org.record_card_refund(context(SYSTEM), "re_1", "in_1", gbp(1_500), "a")
    org.collect_events()

    with pytest.raises(Conflict, match="in_1"):
        org.record_card_refund(context(SYSTEM), "re_2", "in_1", gbp(501), "b")
    with pytest.raises(Conflict, match="no payment in_9"):
        org.record_card_refund(context(SYSTEM), "re_3", "in_9", gbp(1), "c")
    org.record_card_refund(context(SYSTEM), "re_2", "in_1", gbp(500), "b")
    assert len(collected(org)) == 1


@pytest.mark.parametrize(
    ("staff_id", "staff_reference"),
    [("ref_re_1", "refunded in the dashboard"), ("ref_k0000001", "Stripe: re_1, by phone")],
)
def test_a_refund_staff_recorded_naming_it_is_recorded_once_whichever_comes_first(
    staff_id: str, staff_reference: str
) -> None:
    staff_first = paid_by_card()
    staff_first.record_refund(context(STAFF), staff_id, gbp(700), staff_reference)
    staff_first.collect_events()
    staff_first.record_card_refund(context(SYSTEM), "re_1", "in_1", gbp(700), "Stripe re_1")
    assert collected(staff_first) == []
    with pytest.raises(Conflict):
        staff_first.record_card_refund(context(SYSTEM), "re_1", "in_1", gbp(701), "Stripe re_1")

    stripe_first = paid_by_card()
    stripe_first.record_card_refund(context(SYSTEM), "re_1", "in_1", gbp(700), "Stripe re_1")
    stripe_first.collect_events()
    stripe_first.record_refund(context(STAFF), staff_id, gbp(700), staff_reference)
    assert collected(stripe_first) == []
    with pytest.raises(Conflict):
        stripe_first.record_refund(context(STAFF), staff_id, gbp(70), staff_reference)


def test_a_replayed_organisation_knows_its_card_refunds() -> None:
    org = organisation_in(MembershipStatus.NEW, collect=False)
    org.record_payment(context(SYSTEM), "in_1", gbp(2_000), "stripe", "INV-1")
    org.record_card_refund(context(SYSTEM), "re_1", "in_1", gbp(2_000), "a")

    again = replay(collected(org))

    assert again.card_refunds == {"re_1": "in_1"}
    with pytest.raises(Conflict):
        again.record_card_refund(context(SYSTEM), "re_2", "in_1", gbp(1), "b")
