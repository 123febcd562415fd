"""The `Organisation` aggregate's membership application, and the `RegistryClaim` aggregate.

Each command is given a `Context` whose times lie years in the past, so an event stamped with
the machine's clock instead of the context's time shows up as a mismatch. The life of a member
after admission (payments, the clock, suspension, resignation) is in test_membership_lifecycle.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from membership.details import MAX_TEXT
from membership.domain import (
    MembershipStatus,
    Organisation,
    OrganisationKind,
    RegistryClaim,
)
from membership.registry import RegistryIdentifier, normalise_identifier
from membership.standing import add_months
from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.events import CLOCK
from sharedkernel.money import Money
from tests.unit.membership_builders import (
    BANDS,
    INVOICE_ID,
    MICRO_DUE,
    PATHS,
    STAFF,
    TURNOVER,
    _admit,
    _apply,
    _pay,
    _reject,
    _withdraw,
    assert_carries,
    assert_forbidden,
    collected,
    context,
    details,
    names,
    organisation_in,
    register,
    replay,
    state,
)

NOT_PENDING = [status for status in MembershipStatus if status is not MembershipStatus.PENDING]
MAY_APPLY = [MembershipStatus.NONE, MembershipStatus.REJECTED, MembershipStatus.WITHDRAWN]
MAY_NOT_APPLY = [status for status in MembershipStatus if status not in MAY_APPLY]


# Registering


def test_registering_records_one_registered_event_with_the_normalised_details() -> None:
    ctx = context()
    organisation_id, first_user_id = uuid4(), uuid4()

    org = Organisation.register(ctx, organisation_id, details(), first_user_id)

    [event] = collected(org)
    assert type(event) is Organisation.Registered
    assert event.originator_id == organisation_id
    assert event.originator_version == 1
    assert event.name == "Green Fields CIC"
    assert event.kind == "social_enterprise"
    assert event.legal_form == "cic"
    assert event.registry_scheme == "GB-COH"
    assert event.registry_id == "01234567"
    assert event.social_purpose == "Grounds maintenance that employs people leaving prison."
    assert event.regions == ["TLC", "TLD"]
    assert event.cpv_codes == ["77314000-4"]
    assert event.first_user_id == first_user_id
    assert_carries(event, ctx)


def test_a_registered_organisation_has_no_membership_yet() -> None:
    ctx = context()
    organisation_id, first_user_id = uuid4(), uuid4()

    org = Organisation.register(ctx, organisation_id, details(), first_user_id)

    assert org.id == organisation_id
    assert org.version == 1
    assert org.created_on == ctx.at
    assert org.modified_on == ctx.at
    assert org.kind is OrganisationKind.SOCIAL_ENTERPRISE
    assert org.registry_identifier == RegistryIdentifier("GB-COH", "01234567")
    assert org.first_user_id == first_user_id
    assert org.membership_status is MembershipStatus.NONE
    assert org.applied_at is None
    assert org.decided_at is None
    assert org.rejection_reason is None
    assert org.declared_turnover is None
    assert org.tier is None
    assert org.ledger == []
    assert org.paid_up_until is None


def test_a_sole_trader_registers_without_a_registry_identifier() -> None:
    sole_trader = details(
        legal_form="sole_trader_or_partnership", registry_scheme=None, registry_id=None
    )

    org = Organisation.register(context(), uuid4(), sole_trader, uuid4())

    [event] = collected(org)
    assert event.registry_scheme is None
    assert event.registry_id is None
    assert org.registry_identifier is None
    assert replay([event]).registry_identifier is None


def test_registering_with_an_effective_date_keeps_it_apart_from_the_timestamp() -> None:
    joined = datetime(2015, 1, 1, tzinfo=UTC)
    ctx = context(effective_at=joined)

    org = register(ctx=ctx)

    [event] = collected(org)
    assert event.effective_at == joined
    assert event.timestamp == ctx.at


# Allowed transitions


@pytest.mark.parametrize("status", MAY_APPLY)
def test_a_social_enterprise_applies_for_membership_declaring_its_turnover(
    status: MembershipStatus,
) -> None:
    org = organisation_in(status)
    ctx = context()

    org.apply_for_membership(ctx, TURNOVER)

    applied, declared = collected(org)
    assert type(applied) is Organisation.MembershipApplied
    assert type(declared) is Organisation.TurnoverDeclared
    assert declared.turnover_minor == 5_000_000
    assert declared.currency == "GBP"
    assert_carries(applied, ctx)
    assert_carries(declared, ctx)
    assert org.membership_status is MembershipStatus.PENDING
    assert org.declared_turnover == TURNOVER
    assert org.applied_at == ctx.at
    assert org.decided_at is None
    assert org.rejection_reason is None
    assert org.modified_on == ctx.at


def test_re_applying_after_a_rejection_clears_the_earlier_decision() -> None:
    org = organisation_in(MembershipStatus.REJECTED)
    assert org.rejection_reason is not None
    assert org.decided_at is not None

    org.apply_for_membership(context(), Money("GBP", 50_000_000))

    assert org.rejection_reason is None
    assert org.decided_at is None
    assert org.declared_turnover == Money("GBP", 50_000_000)


def test_staff_admit_a_pending_application_assigning_a_tier_and_invoicing_the_first_year() -> None:
    org = organisation_in(MembershipStatus.PENDING)
    applied_at = org.applied_at
    ctx = context(STAFF)

    org.admit(ctx, BANDS, INVOICE_ID)

    admitted, tier, invoiced = collected(org)
    assert type(admitted) is Organisation.MembershipAdmitted
    assert type(tier) is Organisation.TierAssigned
    assert (tier.code, tier.annual_due_minor, tier.currency) == ("micro", 6_000, "GBP")
    assert tier.name == BANDS[0].name
    assert tier.price_reference == "dues_micro"
    assert tier.applies_from == ctx.at
    assert type(invoiced) is Organisation.DuesInvoiced
    assert invoiced.invoice_id == INVOICE_ID
    assert (invoiced.amount_minor, invoiced.currency, invoiced.tier) == (6_000, "GBP", "micro")
    assert invoiced.period_start == ctx.at
    assert invoiced.period_end == add_months(ctx.at, 12)
    for event in (admitted, tier, invoiced):
        assert_carries(event, ctx)
    assert org.membership_status is MembershipStatus.AWAITING_FIRST_PAYMENT
    assert org.decided_at == ctx.at
    assert org.applied_at == applied_at
    assert org.standing_since == ctx.at
    assert org.tier is not None
    assert (org.tier.code, org.tier.annual_due) == ("micro", MICRO_DUE)
    assert org.balance == MICRO_DUE
    assert org.paid_up_until is None


@pytest.mark.parametrize(
    ("turnover_minor", "tier", "due_minor"),
    [
        (0, "micro", 6_000),
        (10_000_000, "micro", 6_000),  # £100,000 exactly: the micro ceiling
        (10_000_001, "small", 15_000),
        (100_000_000, "small", 15_000),
        (100_000_001, "medium", 40_000),
        (1_000_000_001, "large", 90_000),
    ],
)
def test_the_tier_at_admission_follows_the_declared_turnover(
    turnover_minor: int, tier: str, due_minor: int
) -> None:
    org = register()
    org.apply_for_membership(context(), Money("GBP", turnover_minor))

    org.admit(context(STAFF), BANDS, INVOICE_ID)

    assert org.tier is not None
    assert org.tier.code == tier
    assert org.balance == Money("GBP", due_minor)


def test_staff_reject_a_pending_application_giving_a_reason() -> None:
    org = organisation_in(MembershipStatus.PENDING)
    ctx = context(STAFF)

    org.reject(ctx, "  Trading is not yet under way.\n")

    [event] = collected(org)
    assert type(event) is Organisation.MembershipRejected
    assert event.reason == "Trading is not yet under way."
    assert_carries(event, ctx)
    assert org.membership_status is MembershipStatus.REJECTED
    assert org.rejection_reason == "Trading is not yet under way."
    assert org.decided_at == ctx.at


def test_a_rejection_reason_of_exactly_the_maximum_length_is_accepted() -> None:
    org = organisation_in(MembershipStatus.PENDING)

    org.reject(context(STAFF), "r" * MAX_TEXT)

    assert org.rejection_reason == "r" * MAX_TEXT


def test_an_applicant_withdraws_a_pending_application() -> None:
    org = organisation_in(MembershipStatus.PENDING)
    ctx = context()

    org.withdraw_application(ctx)

    [event] = collected(org)
    assert type(event) is Organisation.MembershipApplicationWithdrawn
    assert_carries(event, ctx)
    assert org.membership_status is MembershipStatus.WITHDRAWN
    assert org.decided_at == ctx.at


def test_each_event_increments_the_version_by_one() -> None:
    org = register()
    versions = [org.version]

    for step in [_apply, _reject, _apply, _withdraw, _apply, _admit, _pay]:
        step(org)
        versions.append(org.version)

    # register 1; apply +2 (applied, turnover); reject +1; withdraw +1;
    # admit +3 (admitted, tier, invoice); first payment +3 (payment, paid-up-until, standing)
    assert versions == [1, 3, 4, 6, 7, 9, 12, 15]
    assert [event.originator_version for event in org.collect_events()] == list(range(1, 16))


def test_each_event_carries_its_own_commands_context() -> None:
    register_ctx, apply_ctx, admit_ctx = context(), context(), context(STAFF)
    org = register(ctx=register_ctx)

    org.apply_for_membership(apply_ctx, TURNOVER)
    org.admit(admit_ctx, BANDS, INVOICE_ID)

    events = collected(org)
    assert names(events) == [
        "Registered",
        "MembershipApplied",
        "TurnoverDeclared",
        "MembershipAdmitted",
        "TierAssigned",
        "DuesInvoiced",
    ]
    contexts = [register_ctx, apply_ctx, apply_ctx, admit_ctx, admit_ctx, admit_ctx]
    for event, ctx in zip(events, contexts, strict=True):
        assert_carries(event, ctx)


def test_a_clock_driven_command_records_the_clock_as_actor() -> None:
    org = organisation_in(MembershipStatus.PENDING)
    ctx = context(CLOCK)

    org.withdraw_application(ctx)

    [event] = collected(org)
    assert event.actor == CLOCK


def test_a_backdated_admission_carries_its_effective_date_and_the_clocks_timestamp() -> None:
    org = organisation_in(MembershipStatus.PENDING)
    decided = datetime(2018, 12, 31, 17, 0, tzinfo=UTC)
    ctx = context(STAFF, effective_at=decided)

    org.admit(ctx, BANDS, INVOICE_ID)

    events = collected(org)
    assert names(events) == ["MembershipAdmitted", "TierAssigned", "DuesInvoiced"]
    for event in events:
        assert event.effective_at == decided
        assert event.timestamp == ctx.at


# Forbidden transitions


@pytest.mark.parametrize("status", NOT_PENDING)
def test_only_a_pending_application_can_be_admitted(status: MembershipStatus) -> None:
    org = organisation_in(status)

    assert_forbidden(org, lambda: org.admit(context(STAFF), BANDS, INVOICE_ID), Conflict)


@pytest.mark.parametrize("status", NOT_PENDING)
def test_only_a_pending_application_can_be_rejected(status: MembershipStatus) -> None:
    org = organisation_in(status)

    assert_forbidden(org, lambda: org.reject(context(STAFF), "Not eligible."), Conflict)


@pytest.mark.parametrize("status", NOT_PENDING)
def test_only_a_pending_application_can_be_withdrawn(status: MembershipStatus) -> None:
    org = organisation_in(status)

    assert_forbidden(org, lambda: org.withdraw_application(context()), Conflict)


@pytest.mark.parametrize("status", MAY_NOT_APPLY)
def test_an_applicant_or_member_cannot_apply_again(status: MembershipStatus) -> None:
    org = organisation_in(status)

    assert_forbidden(org, lambda: org.apply_for_membership(context(), TURNOVER), Conflict)


@pytest.mark.parametrize("kind", ["public_body", "business"])
def test_only_social_enterprises_apply_for_membership(kind: str) -> None:
    org = register(kind)
    org.collect_events()

    assert_forbidden(org, lambda: org.apply_for_membership(context(), TURNOVER), Conflict)


def test_an_application_declaring_a_negative_turnover_is_invalid_and_records_nothing() -> None:
    org = organisation_in(MembershipStatus.NONE)

    error = assert_forbidden(
        org, lambda: org.apply_for_membership(context(), Money("GBP", -1)), InvalidValue
    )

    assert error.field == "annual_turnover.amount_minor"


def test_an_application_declaring_turnover_in_another_currency_is_invalid() -> None:
    # Dues bands are in pounds: a turnover in euros could never be placed in a band, so the
    # application could never be admitted.
    org = organisation_in(MembershipStatus.NONE)

    error = assert_forbidden(
        org, lambda: org.apply_for_membership(context(), Money("EUR", 5_000_000)), InvalidValue
    )

    assert error.field == "annual_turnover.currency"


def test_the_conflict_message_names_the_current_status() -> None:
    org = organisation_in(MembershipStatus.AWAITING_FIRST_PAYMENT)

    with pytest.raises(Conflict) as caught:
        org.admit(context(STAFF), BANDS, INVOICE_ID)

    assert "awaiting_first_payment" in caught.value.message


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_a_rejection_without_a_reason_is_invalid(reason: str) -> None:
    org = organisation_in(MembershipStatus.PENDING)

    error = assert_forbidden(org, lambda: org.reject(context(STAFF), reason), InvalidValue)

    assert error.field == "reason"


def test_a_rejection_reason_over_the_maximum_length_is_invalid() -> None:
    org = organisation_in(MembershipStatus.PENDING)

    error = assert_forbidden(
        org, lambda: org.reject(context(STAFF), "r" * (MAX_TEXT + 1)), InvalidValue
    )

    assert error.field == "reason"
    assert org.membership_status is MembershipStatus.PENDING


# Replaying events


def test_replaying_the_registered_event_reproduces_the_registered_organisation() -> None:
    org = register()
    [registered] = collected(org)

    replayed = registered.mutate(None)

    assert isinstance(replayed, Organisation)
    assert state(replayed) == state(org)


def test_replaying_every_collected_event_reproduces_the_same_state() -> None:
    org = register()
    for step in [_apply, _reject, _apply, _withdraw, _apply, _admit, _pay]:
        step(org)
    events = collected(org)

    replayed = replay(events)

    assert state(replayed) == state(org)
    assert replayed.membership_status is MembershipStatus.NEW
    assert replayed.version == 15


@pytest.mark.parametrize("status", list(MembershipStatus))
def test_replaying_up_to_each_status_reproduces_that_state(status: MembershipStatus) -> None:
    org = organisation_in(status, collect=False)
    events = collected(org)

    replayed = replay(events)

    assert state(replayed) == state(org)
    assert replayed.membership_status is status
    assert replayed.version == len(events)


def test_every_status_is_reachable_by_the_steps_of_the_tests() -> None:
    assert set(PATHS) == set(MembershipStatus)


def test_replaying_step_by_step_with_mutate_reproduces_the_same_state() -> None:
    org = register()
    _apply(org)
    _reject(org)
    registered, applied, declared, rejected = collected(org)

    replayed: Any = registered.mutate(None)
    replayed = applied.mutate(replayed)
    replayed = declared.mutate(replayed)
    replayed = rejected.mutate(replayed)

    assert state(replayed) == state(org)
    assert replayed.rejection_reason == "No evidence of social purpose."
    assert replayed.declared_turnover == TURNOVER


# Registry claims


def identifier() -> RegistryIdentifier:
    return normalise_identifier("GB-COH", "1234567")


def test_claiming_an_identifier_records_one_claimed_event() -> None:
    ctx = context()
    organisation_id = uuid4()

    claim = RegistryClaim.claim(ctx, identifier(), organisation_id)

    [event] = collected(claim)
    assert type(event) is RegistryClaim.Claimed
    assert event.scheme == "GB-COH"
    assert event.identifier == "01234567"
    assert event.organisation_id == organisation_id
    assert_carries(event, ctx)


def test_a_claims_id_is_derived_from_the_normalised_identifier() -> None:
    first = RegistryClaim.claim(context(), normalise_identifier("GB-COH", "1234567"), uuid4())
    second = RegistryClaim.claim(context(), normalise_identifier("gb-coh", "0123 4567"), uuid4())

    assert first.id == identifier().claim_id
    assert second.id == first.id


def test_a_new_claim_is_held_by_its_organisation() -> None:
    organisation_id = uuid4()

    claim = RegistryClaim.claim(context(), identifier(), organisation_id)

    assert claim.held
    assert claim.organisation_id == organisation_id
    assert claim.scheme == "GB-COH"
    assert claim.identifier == "01234567"


def test_staff_release_a_held_claim_giving_a_reason() -> None:
    claim = RegistryClaim.claim(context(), identifier(), uuid4())
    claim.collect_events()
    ctx = context(STAFF)

    claim.release(ctx, "  Claimed by mistake.  ")

    [event] = collected(claim)
    assert type(event) is RegistryClaim.Released
    assert event.reason == "Claimed by mistake."
    assert_carries(event, ctx)
    assert not claim.held
    assert claim.organisation_id is None


@pytest.mark.parametrize("reason", ["", "  ", "\n"])
def test_a_release_without_a_reason_is_invalid(reason: str) -> None:
    claim = RegistryClaim.claim(context(), identifier(), uuid4())
    claim.collect_events()

    with pytest.raises(InvalidValue) as caught:
        claim.release(context(STAFF), reason)

    assert caught.value.field == "reason"
    assert claim.collect_events() == []
    assert claim.held


def test_releasing_a_released_claim_is_a_conflict() -> None:
    claim = RegistryClaim.claim(context(), identifier(), uuid4())
    claim.release(context(STAFF), "Wrong organisation.")
    claim.collect_events()

    with pytest.raises(Conflict):
        claim.release(context(STAFF), "Again.")

    assert claim.collect_events() == []


def test_reclaiming_a_held_claim_is_a_conflict() -> None:
    holder = uuid4()
    claim = RegistryClaim.claim(context(), identifier(), holder)
    claim.collect_events()

    with pytest.raises(Conflict) as caught:
        claim.reclaim(context(), uuid4())

    assert "GB-COH-01234567" in caught.value.message
    assert claim.collect_events() == []
    assert claim.organisation_id == holder


def test_a_released_claim_can_be_reclaimed_by_another_organisation() -> None:
    claim = RegistryClaim.claim(context(), identifier(), uuid4())
    claim.release(context(STAFF), "Wrong organisation.")
    claim.collect_events()
    rightful_owner = uuid4()
    ctx = context()

    claim.reclaim(ctx, rightful_owner)

    [event] = collected(claim)
    assert type(event) is RegistryClaim.Reclaimed
    assert event.organisation_id == rightful_owner
    assert_carries(event, ctx)
    assert claim.held
    assert claim.organisation_id == rightful_owner


def test_a_reclaimed_claim_can_be_released_again() -> None:
    claim = RegistryClaim.claim(context(), identifier(), uuid4())
    claim.release(context(STAFF), "Wrong organisation.")
    claim.reclaim(context(), uuid4())

    claim.release(context(STAFF), "Wrong again.")

    assert not claim.held


def test_replaying_a_claims_events_reproduces_the_same_state() -> None:
    claim = RegistryClaim.claim(context(), identifier(), uuid4())
    claim.release(context(STAFF), "Wrong organisation.")
    claim.reclaim(context(), uuid4())
    events = collected(claim)

    replayed = replay(events)

    assert [type(event) for event in events] == [
        RegistryClaim.Claimed,
        RegistryClaim.Released,
        RegistryClaim.Reclaimed,
    ]
    assert state(replayed) == state(claim)
    assert replayed.held


def test_releasing_the_registry_identifier_records_why_and_clears_it() -> None:
    organisation = register()
    collected(organisation)
    ctx = context(actor=CLOCK)

    organisation.release_registry_identifier(ctx, "claimed by mistake")

    events = collected(organisation)
    assert [type(e).__name__ for e in events] == ["RegistryIdentifierReleased"]
    assert_carries(events[0], ctx)
    assert organisation.registry_identifier is None
    with pytest.raises(InvalidValue):
        register().release_registry_identifier(ctx, "  ")
    with pytest.raises(Conflict):
        organisation.release_registry_identifier(ctx, "again")
