"""A member's life after admission, on the `Organisation` aggregate: payments and the dues
ledger, the clock's transitions (new, current, grace, lapsed, renewal), suspension,
resignation and expulsion. Every command is given a fixed, timezone-aware context.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from membership.domain import MembershipStatus, Organisation
from membership.dues import band_for
from membership.lifecycle import LedgerEntry
from membership.standing import ENDED, GOOD_STANDING, MEMBER, POLICY, add_months, grace_ends
from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.events import CLOCK, SYSTEM
from sharedkernel.money import Money
from tests.unit.membership_builders import (
    BANDS,
    INVOICE_ID,
    MEMBER_USER,
    MICRO_DUE,
    SMALL,
    STAFF,
    TURNOVER,
    assert_carries,
    assert_forbidden,
    collected,
    context,
    context_at,
    names,
    new_id,
    observe,
    organisation_in,
    pay,
    register,
    renewal_band,
    replay,
    state,
)

S = MembershipStatus
MEMBERS = [status for status in S if status in MEMBER]
NOT_MEMBERS = [status for status in S if status not in MEMBER]
NEVER_ADMITTED = [S.NONE, S.PENDING, S.REJECTED, S.WITHDRAWN]
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


def gbp(minor: int) -> Money:
    return Money("GBP", minor)


def standing(org: Organisation) -> MembershipStatus:
    """The membership status (read through a call, so one test can assert it several times)."""
    return org.membership_status


def paid_up_until(org: Organisation) -> datetime:
    assert org.paid_up_until is not None
    return org.paid_up_until


def first_paid_at(org: Organisation) -> datetime:
    assert org.first_paid_at is not None
    return org.first_paid_at


def tick(org: Organisation, moment: datetime) -> list[Any]:
    """The clock job's tick at `moment`: what it recorded."""
    observe(org, moment)
    return collected(org)


# Suspension


@pytest.mark.parametrize("status", [s for s in MEMBERS if s is not S.SUSPENDED])
def test_staff_suspend_a_member_giving_a_reason(status: MembershipStatus) -> None:
    org = organisation_in(status)
    ctx = context(STAFF)

    org.suspend(ctx, "  Dues dispute under review. ")

    [event] = collected(org)
    assert type(event) is Organisation.Suspended
    assert event.reason == "Dues dispute under review."
    assert_carries(event, ctx)
    assert standing(org) is S.SUSPENDED
    assert standing(org) not in GOOD_STANDING
    assert org.suspension_reason == "Dues dispute under review."
    assert org.standing_since == ctx.at


@pytest.mark.parametrize("status", [*NOT_MEMBERS, S.SUSPENDED])
def test_only_an_admitted_member_not_already_suspended_can_be_suspended(
    status: MembershipStatus,
) -> None:
    org = organisation_in(status)

    error = assert_forbidden(org, lambda: org.suspend(context(STAFF), "Reason."), Conflict)

    assert status.value in error.message


@pytest.mark.parametrize("reason", ["", "  ", "\n"])
def test_a_suspension_without_a_reason_is_invalid(reason: str) -> None:
    org = organisation_in(S.CURRENT)

    error = assert_forbidden(org, lambda: org.suspend(context(STAFF), reason), InvalidValue)

    assert error.field == "reason"


@pytest.mark.parametrize("status", [S.AWAITING_FIRST_PAYMENT, S.NEW, S.CURRENT, S.GRACE, S.LAPSED])
def test_reinstatement_returns_to_the_standing_the_dates_give(status: MembershipStatus) -> None:
    org = organisation_in(status)
    org.suspend(context(STAFF), "Complaint under investigation.")
    org.collect_events()
    ctx = context(STAFF)

    org.reinstate(ctx)

    [event] = collected(org)
    assert type(event) is Organisation.Reinstated
    assert event.status == status.value
    assert_carries(event, ctx)
    assert standing(org) is status
    assert org.suspension_reason is None
    assert org.standing_since == ctx.at


@pytest.mark.parametrize(
    ("suspended_for", "status"),
    [
        (lambda org: first_paid_at(org) + POLICY.new_period, S.CURRENT),
        (lambda org: paid_up_until(org) + DAY, S.GRACE),
        (lambda org: grace_ends(paid_up_until(org)) + DAY, S.LAPSED),
    ],
    ids=["first-months-over", "period-ended", "grace-over"],
)
def test_reinstatement_after_time_has_passed_gives_the_standing_of_that_time(
    suspended_for: Callable[[Organisation], datetime], status: MembershipStatus
) -> None:
    org = organisation_in(S.NEW)
    org.suspend(context(STAFF), "Complaint under investigation.")
    until = suspended_for(org)
    org.collect_events()

    org.reinstate(context_at(until, STAFF))

    [event] = collected(org)
    assert event.status == status.value
    assert standing(org) is status


@pytest.mark.parametrize("status", [s for s in S if s is not S.SUSPENDED])
def test_only_a_suspended_member_can_be_reinstated(status: MembershipStatus) -> None:
    org = organisation_in(status)

    assert_forbidden(org, lambda: org.reinstate(context(STAFF)), Conflict)


def test_time_makes_nothing_due_while_a_member_is_suspended() -> None:
    org = organisation_in(S.SUSPENDED)
    years_later = grace_ends(paid_up_until(org)) + timedelta(days=400)

    assert tick(org, years_later) == []
    assert standing(org) is S.SUSPENDED


# Resignation


@pytest.mark.parametrize("status", MEMBERS)
def test_a_member_resigns_at_once(status: MembershipStatus) -> None:
    org = organisation_in(status)
    ctx = context()

    org.resign(ctx, at_period_end=False)

    given, changed = collected(org)
    assert type(given) is Organisation.ResignationGiven
    assert given.resigns_at == ctx.at
    assert type(changed) is Organisation.StandingChanged
    assert (changed.status, changed.cause) == ("resigned", "resignation")
    assert_carries(given, ctx)
    assert_carries(changed, ctx)
    assert standing(org) is S.RESIGNED
    assert org.resignation_at == ctx.at
    assert org.standing_since == ctx.at


@pytest.mark.parametrize("status", [S.NEW, S.CURRENT])
def test_a_member_resigns_at_the_end_of_the_paid_period(status: MembershipStatus) -> None:
    org = organisation_in(status)
    ctx = context()

    org.resign(ctx, at_period_end=True)

    [given] = collected(org)
    assert type(given) is Organisation.ResignationGiven
    assert given.resigns_at == paid_up_until(org)
    assert_carries(given, ctx)
    assert standing(org) is status
    assert standing(org) in GOOD_STANDING
    assert org.resignation_at == paid_up_until(org)


def test_a_resignation_at_period_end_takes_effect_then_and_no_renewal_is_invoiced() -> None:
    org = organisation_in(S.CURRENT)
    end = paid_up_until(org)
    observe(org, end - POLICY.renewal_window)  # the renewal notice, before the resignation
    org.resign(context(), at_period_end=True)
    org.collect_events()

    assert tick(org, end - SECOND) == []
    [changed] = tick(org, end)

    assert type(changed) is Organisation.StandingChanged
    assert (changed.status, changed.cause) == ("resigned", "resignation")
    assert changed.effective_at == end
    assert standing(org) is S.RESIGNED
    assert [entry.entry_id for entry in org.ledger if entry.kind == "invoice"] == [INVOICE_ID]
    assert tick(org, end + timedelta(days=400)) == []


def test_a_resignation_at_period_end_not_observed_until_later_wins_over_grace_and_lapse() -> None:
    org = organisation_in(S.CURRENT)
    end = paid_up_until(org)
    observe(org, end - POLICY.renewal_window)
    org.resign(context(), at_period_end=True)
    org.collect_events()

    events = tick(org, grace_ends(end) + timedelta(days=10))

    assert names(events) == ["StandingChanged"]
    assert (events[0].status, events[0].effective_at) == ("resigned", end)


@pytest.mark.parametrize("status", [S.AWAITING_FIRST_PAYMENT, S.GRACE, S.LAPSED])
def test_at_period_end_means_at_once_when_no_paid_period_is_running(
    status: MembershipStatus,
) -> None:
    org = organisation_in(status)
    ctx = context()

    org.resign(ctx, at_period_end=True)

    assert names(collected(org)) == ["ResignationGiven", "StandingChanged"]
    assert standing(org) is S.RESIGNED
    assert org.resignation_at == ctx.at


def test_a_resignation_cannot_be_given_twice() -> None:
    org = organisation_in(S.CURRENT)
    org.resign(context(), at_period_end=True)
    org.collect_events()

    error = assert_forbidden(org, lambda: org.resign(context(), at_period_end=False), Conflict)

    assert "already" in error.message


@pytest.mark.parametrize("at_period_end", [True, False])
@pytest.mark.parametrize("status", NOT_MEMBERS)
def test_only_a_member_can_resign(status: MembershipStatus, at_period_end: bool) -> None:
    org = organisation_in(status)

    assert_forbidden(org, lambda: org.resign(context(), at_period_end=at_period_end), Conflict)


def test_a_backdated_resignation_takes_effect_at_its_effective_date() -> None:
    # Staff record a resignation letter received ten days ago: both events of the command must
    # agree on when the resignation took effect.
    org = organisation_in(S.CURRENT)
    received = first_paid_at(org) + timedelta(days=110)
    ctx = context_at(first_paid_at(org) + timedelta(days=120), STAFF, effective_at=received)

    org.resign(ctx, at_period_end=False)

    given, changed = collected(org)
    assert changed.effective_at == received
    assert given.resigns_at == received
    assert org.resignation_at == org.standing_since == received


# Expulsion


@pytest.mark.parametrize("status", MEMBERS)
def test_staff_expel_a_member_giving_a_reason(status: MembershipStatus) -> None:
    org = organisation_in(status)
    ctx = context(STAFF)

    org.expel(ctx, " Misused the quality mark. ")

    [event] = collected(org)
    assert type(event) is Organisation.Expelled
    assert event.reason == "Misused the quality mark."
    assert_carries(event, ctx)
    assert standing(org) is S.EXPELLED
    assert org.expulsion_reason == "Misused the quality mark."
    assert org.standing_since == ctx.at


@pytest.mark.parametrize("status", NOT_MEMBERS)
def test_only_a_member_can_be_expelled(status: MembershipStatus) -> None:
    org = organisation_in(status)

    assert_forbidden(org, lambda: org.expel(context(STAFF), "Reason."), Conflict)


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_expulsion_without_a_reason_is_invalid(reason: str) -> None:
    org = organisation_in(S.CURRENT)

    error = assert_forbidden(org, lambda: org.expel(context(STAFF), reason), InvalidValue)

    assert error.field == "reason"


@pytest.mark.parametrize("status", sorted(ENDED))
def test_time_makes_nothing_due_once_a_membership_has_ended(status: MembershipStatus) -> None:
    org = organisation_in(status)

    assert tick(org, grace_ends(paid_up_until(org)) + timedelta(days=800)) == []
    assert standing(org) is status


# Payments


def test_the_first_payment_makes_the_member_new_and_paid_up_to_the_invoiced_period_end() -> None:
    org = organisation_in(S.AWAITING_FIRST_PAYMENT)
    [invoice] = org.ledger
    ctx = context(STAFF)

    org.record_payment(ctx, "pay_1", MICRO_DUE, "bank_transfer", "  BACS ref GF-2019 ")

    paid, moved, changed = collected(org)
    assert type(paid) is Organisation.PaymentRecorded
    assert (paid.payment_id, paid.amount_minor, paid.currency) == ("pay_1", 6_000, "GBP")
    assert (paid.method, paid.reference, paid.covers_until) == (
        "bank_transfer",
        "BACS ref GF-2019",
        None,
    )
    assert type(moved) is Organisation.PaidUpUntilMoved
    assert moved.paid_up_until == invoice.period_end
    assert type(changed) is Organisation.StandingChanged
    assert (changed.status, changed.cause) == ("new", "dues paid")
    for event in (paid, moved, changed):
        assert_carries(event, ctx)
    assert standing(org) is S.NEW
    assert standing(org) in GOOD_STANDING
    assert org.paid_up_until == invoice.period_end
    assert org.first_paid_at == ctx.at
    assert org.standing_since == ctx.at
    assert org.balance == gbp(0)


def test_a_part_payment_does_not_move_paid_up_until_until_the_invoice_is_paid() -> None:
    org = organisation_in(S.AWAITING_FIRST_PAYMENT)

    pay(org, gbp(2_500))

    assert names(collected(org)) == ["PaymentRecorded"]
    assert org.paid_up_until is None
    assert standing(org) is S.AWAITING_FIRST_PAYMENT
    assert org.balance == gbp(3_500)

    rest = context(STAFF)
    pay(org, gbp(3_500), rest)

    assert names(collected(org)) == ["PaymentRecorded", "PaidUpUntilMoved", "StandingChanged"]
    assert standing(org) is S.NEW
    assert org.first_paid_at == rest.at
    assert org.balance == gbp(0)


def test_an_overpayment_is_held_as_credit() -> None:
    org = organisation_in(S.AWAITING_FIRST_PAYMENT)

    pay(org, gbp(10_000))

    assert org.balance == gbp(-4_000)
    assert org.paid_up_until == org.ledger[0].period_end


def test_a_backdated_payment_counts_from_its_effective_date() -> None:
    org = organisation_in(S.AWAITING_FIRST_PAYMENT)
    cheque_banked = org.ledger[0].at + timedelta(hours=2)
    ctx = context_at(cheque_banked + timedelta(days=5), STAFF, effective_at=cheque_banked)

    org.record_payment(ctx, "chq_1", MICRO_DUE, "cheque", "Cheque 000123")

    events = collected(org)
    assert all(event.effective_at == cheque_banked for event in events)
    assert all(event.timestamp == ctx.at for event in events)
    assert org.first_paid_at == cheque_banked
    assert org.standing_since == cheque_banked
    assert org.ledger[-1].at == cheque_banked


@pytest.mark.parametrize("status", [S.GRACE, S.LAPSED])
def test_paying_in_grace_or_after_lapse_makes_the_member_current_again(
    status: MembershipStatus,
) -> None:
    org = organisation_in(status)
    old_end = paid_up_until(org)
    ctx = context(STAFF)

    pay(org, MICRO_DUE, ctx)

    paid, moved, changed = collected(org)
    assert type(paid) is Organisation.PaymentRecorded
    assert moved.paid_up_until == add_months(old_end, 12)
    assert (changed.status, changed.cause) == ("current", "dues paid")
    assert_carries(changed, ctx)
    assert standing(org) is S.CURRENT
    assert org.standing_since == ctx.at
    assert org.balance == gbp(0)


def test_the_same_payment_told_twice_is_recorded_once() -> None:
    org = organisation_in(S.AWAITING_FIRST_PAYMENT)
    org.record_payment(context(), "pi_3Nx", MICRO_DUE, "stripe", "in_1")
    org.collect_events()
    before = state(org)

    org.record_payment(context(), "pi_3Nx", MICRO_DUE, "stripe", "in_1")
    # The same id with another amount is not the payment told again: refused, not dropped.
    with pytest.raises(Conflict, match="pi_3Nx is recorded already"):
        org.record_payment(context(), "pi_3Nx", gbp(9_999), "stripe", "in_1")

    assert collected(org) == []
    assert state(org) == before
    assert [entry.entry_id for entry in org.ledger if entry.kind == "payment"] == ["pi_3Nx"]


@pytest.mark.parametrize(
    ("amount", "method", "field"),
    [
        (gbp(0), "bank_transfer", "amount"),
        (gbp(-6_000), "bank_transfer", "amount"),
        (Money("EUR", 6_000), "bank_transfer", "amount.currency"),
        (MICRO_DUE, "bitcoin", "method"),
        (MICRO_DUE, "", "method"),
    ],
)
def test_an_invalid_payment_names_the_field_and_records_nothing(
    amount: Money, method: str, field: str
) -> None:
    org = organisation_in(S.AWAITING_FIRST_PAYMENT)

    error = assert_forbidden(
        org,
        lambda: org.record_payment(context(STAFF), "pay_x", amount, method, "ref"),
        InvalidValue,
    )

    assert error.field == field


@pytest.mark.parametrize("status", NEVER_ADMITTED)
def test_no_dues_are_paid_before_admission(status: MembershipStatus) -> None:
    org = organisation_in(status)

    assert_forbidden(org, lambda: pay(org), Conflict)


@pytest.mark.parametrize("status", sorted(ENDED))
def test_arrears_can_be_paid_after_a_membership_ended_without_changing_its_status(
    status: MembershipStatus,
) -> None:
    org = organisation_in(status)

    pay(org, gbp(1_000))

    assert names(collected(org)) == ["PaymentRecorded"]
    assert standing(org) is status


def test_a_suspended_members_payment_counts_and_reinstatement_finds_it() -> None:
    org = organisation_in(S.AWAITING_FIRST_PAYMENT)
    org.suspend(context(STAFF), "Complaint under investigation.")
    org.collect_events()

    pay(org)

    assert names(collected(org)) == ["PaymentRecorded", "PaidUpUntilMoved"]
    assert standing(org) is S.SUSPENDED

    org.reinstate(context(STAFF))

    assert standing(org) is S.NEW


def test_a_processor_that_says_what_a_payment_covers_moves_paid_up_until_to_that_date() -> None:
    # A Stripe invoice paid with a discount: less than the due, for the whole period.
    org = organisation_in(S.AWAITING_FIRST_PAYMENT)
    period_end = org.ledger[0].period_end

    org.record_payment(
        context(), "pi_1", gbp(3_000), "stripe", "in_1 (50% coupon)", covers_until=period_end
    )

    paid, moved, changed = collected(org)
    assert paid.covers_until == period_end
    assert moved.paid_up_until == period_end
    assert changed.status == "new"


def test_a_failed_payment_is_recorded_and_changes_nothing_else() -> None:
    org = organisation_in(S.CURRENT)
    before = {
        key: value for key, value in state(org).items() if key not in {"_version", "_modified_on"}
    }
    ctx = context(SYSTEM)

    org.record_payment_failure(ctx, "in_1Q2 attempt 1")

    [event] = collected(org)
    assert type(event) is Organisation.PaymentFailed
    assert event.reference == "in_1Q2 attempt 1"
    assert_carries(event, ctx)
    after = {
        key: value for key, value in state(org).items() if key not in {"_version", "_modified_on"}
    }
    assert after == before


# Refunds


def test_a_refund_is_recorded_and_owed_again() -> None:
    org = organisation_in(S.NEW)
    ctx = context(STAFF)

    org.record_refund(ctx, "ref_1", gbp(1_500), " Paid twice by mistake ")

    [event] = collected(org)
    assert type(event) is Organisation.RefundRecorded
    assert (event.refund_id, event.amount_minor, event.currency) == ("ref_1", 1_500, "GBP")
    assert event.reference == "Paid twice by mistake"
    assert_carries(event, ctx)
    assert org.ledger[-1] == LedgerEntry("refund", "ref_1", ctx.at, gbp(1_500), event.reference)
    assert org.balance == gbp(1_500)


def test_everything_paid_can_be_refunded_but_no_more() -> None:
    org = organisation_in(S.NEW)
    org.record_refund(context(STAFF), "ref_1", gbp(4_000), "Hardship")
    org.collect_events()

    assert_forbidden(
        org, lambda: org.record_refund(context(STAFF), "ref_2", gbp(2_001), "More"), Conflict
    )
    org.record_refund(context(STAFF), "ref_2", gbp(2_000), "The rest")

    assert org.balance == MICRO_DUE


def test_nothing_can_be_refunded_before_anything_is_paid() -> None:
    org = organisation_in(S.AWAITING_FIRST_PAYMENT)

    assert_forbidden(
        org, lambda: org.record_refund(context(STAFF), "ref_1", gbp(1), "Goodwill"), Conflict
    )


@pytest.mark.parametrize(
    ("amount", "field"),
    [(gbp(0), "amount"), (gbp(-1), "amount"), (Money("EUR", 100), "amount.currency")],
)
def test_an_invalid_refund_names_the_field_and_records_nothing(amount: Money, field: str) -> None:
    org = organisation_in(S.NEW)

    error = assert_forbidden(
        org, lambda: org.record_refund(context(STAFF), "ref_1", amount, "ref"), InvalidValue
    )

    assert error.field == field


# Credit notes


def test_a_credit_note_for_the_whole_invoice_settles_it() -> None:
    org = organisation_in(S.AWAITING_FIRST_PAYMENT)
    ctx = context(STAFF)

    org.issue_credit_note(ctx, "crn_1", MICRO_DUE, " First year waived (hardship) ")

    credited, moved, changed = collected(org)
    assert type(credited) is Organisation.CreditNoteIssued
    assert (credited.credit_id, credited.amount_minor, credited.currency) == (
        "crn_1",
        6_000,
        "GBP",
    )
    assert credited.reason == "First year waived (hardship)"
    assert moved.paid_up_until == org.ledger[0].period_end
    assert changed.status == "new"
    for event in (credited, moved, changed):
        assert_carries(event, ctx)
    assert org.balance == gbp(0)


def test_a_part_credit_and_a_part_payment_settle_an_invoice_together() -> None:
    org = organisation_in(S.AWAITING_FIRST_PAYMENT)
    org.issue_credit_note(context(STAFF), "crn_1", gbp(2_000), "Founding member discount")

    assert org.paid_up_until is None
    pay(org, gbp(4_000))

    assert standing(org) is S.NEW
    assert org.balance == gbp(0)


@pytest.mark.parametrize("status", [S.NONE, S.PENDING])
def test_there_is_nothing_to_credit_before_an_invoice(status: MembershipStatus) -> None:
    org = organisation_in(status)

    assert_forbidden(
        org, lambda: org.issue_credit_note(context(STAFF), "crn_1", gbp(100), "Why"), Conflict
    )


@pytest.mark.parametrize(
    ("amount", "reason", "field"),
    [
        (gbp(0), "Why", "amount"),
        (gbp(-100), "Why", "amount"),
        (Money("USD", 100), "Why", "amount.currency"),
        (gbp(100), "  ", "reason"),
    ],
)
def test_an_invalid_credit_note_names_the_field_and_records_nothing(
    amount: Money, reason: str, field: str
) -> None:
    org = organisation_in(S.AWAITING_FIRST_PAYMENT)

    error = assert_forbidden(
        org, lambda: org.issue_credit_note(context(STAFF), "crn_1", amount, reason), InvalidValue
    )

    assert error.field == field


# The dues ledger


def test_the_ledger_lists_every_entry_and_the_balance_follows_it() -> None:
    org = organisation_in(S.AWAITING_FIRST_PAYMENT)
    [invoice] = org.ledger
    balances = [org.balance]

    paid = context(STAFF)
    org.record_payment(paid, "pay_1", gbp(7_000), "bank_transfer", "BACS")
    balances.append(org.balance)
    refunded = context(STAFF)
    org.record_refund(refunded, "ref_1", gbp(1_000), "Overpaid")
    balances.append(org.balance)
    credited = context(STAFF)
    org.issue_credit_note(credited, "crn_1", gbp(500), "Late invoice")
    balances.append(org.balance)

    assert invoice.kind == "invoice"
    assert (invoice.entry_id, invoice.amount, invoice.reference) == (
        INVOICE_ID,
        MICRO_DUE,
        "dues micro",
    )
    assert [(e.kind, e.entry_id, e.at, e.amount) for e in org.ledger[1:]] == [
        ("payment", "pay_1", paid.at, gbp(7_000)),
        ("refund", "ref_1", refunded.at, gbp(1_000)),
        ("credit_note", "crn_1", credited.at, gbp(500)),
    ]
    assert balances == [gbp(6_000), gbp(-1_000), gbp(0), gbp(-500)]


# Declaring turnover for the next period


def test_turnover_is_declared_in_the_renewal_window() -> None:
    org = organisation_in(S.CURRENT)
    opens = paid_up_until(org) - POLICY.renewal_window
    ctx = context_at(opens, MEMBER_USER)

    org.declare_turnover(ctx, gbp(50_000_000))

    [event] = collected(org)
    assert type(event) is Organisation.TurnoverDeclared
    assert (event.turnover_minor, event.currency) == (50_000_000, "GBP")
    assert_carries(event, ctx)
    assert org.declared_turnover == gbp(50_000_000)
    assert org.tier is not None
    assert org.tier.code == "micro"  # until the next period starts


def test_turnover_cannot_be_declared_before_the_renewal_window_opens() -> None:
    org = organisation_in(S.CURRENT)
    opens = paid_up_until(org) - POLICY.renewal_window

    error = assert_forbidden(
        org,
        lambda: org.declare_turnover(context_at(opens - SECOND, MEMBER_USER), gbp(1)),
        Conflict,
    )

    assert str(opens.date()) in error.message


@pytest.mark.parametrize("status", [*NOT_MEMBERS, S.SUSPENDED])
def test_only_a_member_not_suspended_declares_turnover(status: MembershipStatus) -> None:
    org = organisation_in(status)

    assert_forbidden(org, lambda: org.declare_turnover(context(), TURNOVER), Conflict)


@pytest.mark.parametrize("turnover", [gbp(-1), Money("EUR", 5_000_000)], ids=["negative", "euros"])
def test_an_invalid_turnover_declaration_names_the_field_and_records_nothing(
    turnover: Money,
) -> None:
    # A turnover in euros could never be placed in a (pound) band at renewal.
    org = organisation_in(S.CURRENT)
    in_window = context_at(paid_up_until(org) - DAY, MEMBER_USER)

    error = assert_forbidden(org, lambda: org.declare_turnover(in_window, turnover), InvalidValue)

    wrong_part = "currency" if turnover.currency != "GBP" else "amount_minor"
    assert error.field == f"annual_turnover.{wrong_part}"


# The clock


@pytest.mark.parametrize(
    ("status", "when"),
    [
        (S.NONE, lambda org: datetime(2030, 1, 1, tzinfo=UTC)),
        (S.PENDING, lambda org: datetime(2030, 1, 1, tzinfo=UTC)),
        (S.REJECTED, lambda org: datetime(2030, 1, 1, tzinfo=UTC)),
        (S.WITHDRAWN, lambda org: datetime(2030, 1, 1, tzinfo=UTC)),
        (S.AWAITING_FIRST_PAYMENT, lambda org: datetime(2030, 1, 1, tzinfo=UTC)),
        (S.NEW, lambda org: first_paid_at(org) + POLICY.new_period - SECOND),
        (S.CURRENT, lambda org: paid_up_until(org) - POLICY.renewal_window - SECOND),
        (S.GRACE, lambda org: grace_ends(paid_up_until(org))),
        (S.LAPSED, lambda org: paid_up_until(org) + timedelta(days=300)),
    ],
    ids=[
        "none",
        "pending",
        "rejected",
        "withdrawn",
        "awaiting-first-payment-years-later",
        "new-just-before-the-first-months-end",
        "current-just-before-the-renewal-window",
        "grace-at-its-last-moment",
        "lapsed-months-later",
    ],
)
def test_time_records_nothing_when_nothing_is_due(
    status: MembershipStatus, when: Callable[[Organisation], datetime]
) -> None:
    org = organisation_in(status)
    before = state(org)

    assert tick(org, when(org)) == []
    assert state(org) == before


@pytest.mark.parametrize(
    "when",
    [
        lambda org: first_paid_at(org) + POLICY.new_period,
        lambda org: paid_up_until(org) - POLICY.renewal_window,
        lambda org: paid_up_until(org),
        lambda org: paid_up_until(org) + DAY,
        lambda org: grace_ends(paid_up_until(org)) + DAY,
        lambda org: paid_up_until(org) + timedelta(days=800),
    ],
    ids=["first-months-over", "renewal-window", "period-end", "grace", "lapse", "years-later"],
)
def test_ticking_twice_at_the_same_time_records_nothing_the_second_time(
    when: Callable[[Organisation], datetime],
) -> None:
    org = organisation_in(S.NEW)
    moment = when(org)

    assert tick(org, moment) != []
    after_first = state(org)

    assert tick(org, moment) == []
    assert state(org) == after_first


def test_a_new_member_becomes_current_when_the_first_months_are_over() -> None:
    org = organisation_in(S.NEW)
    over = first_paid_at(org) + POLICY.new_period
    ctx = context_at(over + timedelta(hours=3))

    org.observe_time(ctx, renewal_band(org), "inv_2")

    [changed] = collected(org)
    assert type(changed) is Organisation.StandingChanged
    assert (changed.status, changed.cause) == ("current", "first months over")
    assert changed.effective_at == over
    assert changed.timestamp == ctx.at
    assert (changed.actor, changed.request_id) == (CLOCK, ctx.request_id)
    assert standing(org) is S.CURRENT
    assert org.standing_since == over


def test_the_renewal_falls_due_when_the_window_opens_and_only_once() -> None:
    org = organisation_in(S.CURRENT)
    end = paid_up_until(org)
    opens = end - POLICY.renewal_window
    ctx = context_at(opens + timedelta(hours=1))

    org.observe_time(ctx, renewal_band(org), "inv_2")

    [due] = collected(org)
    assert type(due) is Organisation.RenewalDue
    assert due.period_end == end
    assert due.effective_at == opens
    assert due.timestamp == ctx.at
    assert due.actor == CLOCK
    assert org.renewal_noticed_for == end
    assert standing(org) is S.CURRENT
    assert tick(org, opens + timedelta(days=10)) == []


def test_the_next_period_is_invoiced_when_paid_up_until_is_reached() -> None:
    org = organisation_in(S.CURRENT)
    end = paid_up_until(org)
    observe(org, end - POLICY.renewal_window)
    org.collect_events()
    ctx = context_at(end)

    org.observe_time(ctx, renewal_band(org), "inv_2")

    [invoiced] = collected(org)  # the same tier: no TierAssigned
    assert type(invoiced) is Organisation.DuesInvoiced
    assert invoiced.invoice_id == "inv_2"
    assert (invoiced.amount_minor, invoiced.currency, invoiced.tier) == (6_000, "GBP", "micro")
    assert (invoiced.period_start, invoiced.period_end) == (end, add_months(end, 12))
    assert invoiced.effective_at == end
    assert invoiced.timestamp == ctx.at
    assert standing(org) is S.CURRENT  # not in grace until after paid-up-until
    assert org.balance == MICRO_DUE


def test_without_a_renewal_band_the_next_period_keeps_the_tier() -> None:
    org = organisation_in(S.CURRENT)

    org.observe_time(context_at(paid_up_until(org)), None, "inv_2")

    assert names(collected(org)) == ["RenewalDue", "DuesInvoiced"]
    assert org.tier is not None
    assert org.tier.code == "micro"


def test_a_changed_turnover_sets_the_tier_of_the_next_period() -> None:
    org = organisation_in(S.CURRENT)
    end = paid_up_until(org)
    assert names(tick(org, end - POLICY.renewal_window)) == ["RenewalDue"]
    org.declare_turnover(context(MEMBER_USER), gbp(50_000_000))  # £500,000: small
    org.collect_events()

    tier, invoiced = tick(org, end)

    assert type(tier) is Organisation.TierAssigned
    assert (tier.code, tier.annual_due_minor) == ("small", 15_000)
    assert tier.price_reference == "dues_small"
    assert tier.applies_from == end
    assert tier.effective_at == end
    assert type(invoiced) is Organisation.DuesInvoiced
    assert (invoiced.amount_minor, invoiced.tier) == (15_000, "small")
    assert invoiced.period_start == end
    assert org.tier is not None
    assert (org.tier.code, org.tier.annual_due) == ("small", SMALL.annual_due)
    assert band_for(BANDS, gbp(50_000_000)) == SMALL

    pay(org, SMALL.annual_due)

    assert org.paid_up_until == add_months(end, 12)
    assert org.balance == gbp(0)


def test_a_member_unobserved_past_its_grace_gets_every_due_event_in_order() -> None:
    org = organisation_in(S.CURRENT)
    end = paid_up_until(org)
    ctx = context_at(grace_ends(end) + timedelta(days=3))

    org.observe_time(ctx, renewal_band(org), "inv_2")

    events = collected(org)
    assert names(events) == [
        "RenewalDue",
        "DuesInvoiced",
        "StandingChanged",
        "StandingChanged",
    ]
    assert [getattr(event, "status", None) for event in events] == [
        None,
        None,
        "grace",
        "lapsed",
    ]
    assert [event.effective_at for event in events] == [
        end - POLICY.renewal_window,
        end,
        end,
        grace_ends(end),
    ]
    assert all(event.timestamp == ctx.at for event in events)
    assert all(event.request_id == ctx.request_id for event in events)
    assert [event.originator_version for event in events] == list(
        range(events[0].originator_version, events[0].originator_version + 4)
    )
    assert standing(org) is S.LAPSED
    assert org.standing_since == grace_ends(end)


def test_a_payment_made_in_the_renewal_window_pays_for_the_next_period() -> None:
    # The renewal notice goes out; the member pays before the next invoice is raised at
    # paid-up-until. The credit it holds must settle that invoice: no grace, no lapse.
    org = organisation_in(S.CURRENT)
    end = paid_up_until(org)
    observe(org, end - POLICY.renewal_window)
    pay(org, MICRO_DUE, context_at(end - timedelta(days=5), STAFF))
    assert org.balance == gbp(-6_000)

    observe(org, end + DAY)

    assert org.balance == gbp(0)
    assert org.paid_up_until == add_months(end, 12)
    assert standing(org) is S.CURRENT


# A year in the life of a member


def at(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_a_year_admitted_paid_new_current_renewal_grace_lapse_and_back_to_current() -> None:
    org = register(ctx=context_at(at(2021, 2, 15, 9, 0), MEMBER_USER))
    org.apply_for_membership(context_at(at(2021, 2, 15, 9, 5), MEMBER_USER), TURNOVER)
    admitted = context_at(at(2021, 3, 1, 9, 0), STAFF)
    org.admit(admitted, BANDS, "inv_2021")
    assert standing(org) is S.AWAITING_FIRST_PAYMENT
    assert org.ledger[0].period_end == at(2022, 3, 1, 9, 0)

    def step(moment: datetime, command: Callable[[Any], None], actor: str = CLOCK) -> list[Any]:
        org.collect_events()
        command(context_at(moment, actor))
        return [
            (type(e).__name__, getattr(e, "status", None), e.effective_at) for e in collected(org)
        ]

    def tick_at(moment: datetime) -> list[Any]:
        return step(moment, lambda ctx: org.observe_time(ctx, renewal_band(org), new_id("inv")))

    def paid(ctx: Any) -> None:
        org.record_payment(ctx, new_id("pay"), MICRO_DUE, "bank_transfer", "BACS")

    def failed(ctx: Any) -> None:
        org.record_payment_failure(ctx, "in_renewal attempt 1")

    # The first payment: new, paid up until the end of the first period.
    assert step(at(2021, 3, 3, 10, 0), paid, STAFF) == [
        ("PaymentRecorded", None, at(2021, 3, 3, 10, 0)),
        ("PaidUpUntilMoved", None, at(2021, 3, 3, 10, 0)),
        ("StandingChanged", "new", at(2021, 3, 3, 10, 0)),
    ]
    assert org.paid_up_until == at(2022, 3, 1, 9, 0)
    # 90 days after the first payment: current (at 10:00, not at the night's tick).
    assert tick_at(at(2021, 6, 1, 2, 0)) == []
    assert tick_at(at(2021, 6, 2, 2, 0)) == [
        ("StandingChanged", "current", at(2021, 6, 1, 10, 0)),
    ]
    # Thirty days before paid-up-until: the renewal is due.
    assert tick_at(at(2022, 1, 30, 2, 0)) == []
    assert tick_at(at(2022, 1, 31, 2, 0)) == [("RenewalDue", None, at(2022, 1, 30, 9, 0))]
    # A failed collection changes no standing.
    assert step(at(2022, 2, 15, 12, 0), failed, SYSTEM) == [
        ("PaymentFailed", None, at(2022, 2, 15, 12, 0)),
    ]
    assert standing(org) is S.CURRENT
    # The period ends: the next is invoiced; unpaid, grace from the period end.
    assert tick_at(at(2022, 3, 1, 9, 0)) == [("DuesInvoiced", None, at(2022, 3, 1, 9, 0))]
    assert standing(org) is S.CURRENT
    assert tick_at(at(2022, 3, 2, 2, 0)) == [("StandingChanged", "grace", at(2022, 3, 1, 9, 0))]
    assert standing(org) in GOOD_STANDING
    # A month later, lapsed.
    assert tick_at(at(2022, 4, 1, 2, 0)) == []
    assert tick_at(at(2022, 4, 2, 2, 0)) == [
        ("StandingChanged", "lapsed", at(2022, 4, 1, 9, 0)),
    ]
    assert standing(org) not in GOOD_STANDING
    # The member pays: current again, paid up to the end of the second period.
    assert step(at(2022, 4, 10, 11, 0), paid, STAFF) == [
        ("PaymentRecorded", None, at(2022, 4, 10, 11, 0)),
        ("PaidUpUntilMoved", None, at(2022, 4, 10, 11, 0)),
        ("StandingChanged", "current", at(2022, 4, 10, 11, 0)),
    ]
    assert org.paid_up_until == at(2023, 3, 1, 9, 0)
    assert org.standing_since == at(2022, 4, 10, 11, 0)
    assert org.balance == gbp(0)
    assert tick_at(at(2022, 4, 10, 11, 0)) == []
    assert tick_at(at(2022, 4, 11, 2, 0)) == []


def test_replaying_a_members_year_reproduces_its_state() -> None:
    org = organisation_in(S.LAPSED, collect=False)
    pay(org)
    org.declare_turnover(context_at(paid_up_until(org) - DAY, MEMBER_USER), gbp(50_000_000))
    observe(org, paid_up_until(org) + DAY)
    org.record_refund(context(STAFF), "ref_1", gbp(100), "Goodwill")
    org.issue_credit_note(context(STAFF), "crn_1", gbp(100), "Goodwill")
    org.suspend(context(STAFF), "Review")
    org.reinstate(context(STAFF))
    org.resign(context(), at_period_end=True)
    events = collected(org)

    replayed = replay(events)

    assert state(replayed) == state(org)
    assert replayed.membership_status is org.membership_status
    assert replayed.version == len(events)
