"""The `Organisation` aggregate's membership application, and the `RegistryClaim` aggregate.

Each command is given a `Context` whose times lie years in the past, so an event stamped with
the machine's clock instead of the context's time shows up as a mismatch.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from membership.domain import (
    MAX_TEXT,
    MembershipStatus,
    Organisation,
    OrganisationKind,
    RegistrationDetails,
    RegistryClaim,
)
from membership.registry import RegistryIdentifier, normalise_identifier
from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.events import CLOCK, Context, TradehallAggregate, user_actor

T0 = datetime(2019, 5, 6, 8, 0, tzinfo=UTC)
STAFF = user_actor(UUID("00000000-0000-4000-8000-00000000beef"))
MEMBER = user_actor(UUID("00000000-0000-4000-8000-0000000000a1"))

_steps = itertools.count(1)


def context(actor: str = MEMBER, effective_at: datetime | None = None) -> Context:
    """A context one minute after the previous one, with its own request id."""
    step = next(_steps)
    return Context(
        actor=actor,
        request_id=f"req-{step}",
        at=T0 + timedelta(minutes=step),
        effective_at=effective_at,
    )


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


# How to bring a fresh social enterprise to each membership status.
def _apply(org: Organisation) -> None:
    org.apply_for_membership(context())


def _admit(org: Organisation) -> None:
    org.admit(context(STAFF))


def _reject(org: Organisation) -> None:
    org.reject(context(STAFF), "No evidence of social purpose.")


def _withdraw(org: Organisation) -> None:
    org.withdraw_application(context())


PATHS: dict[MembershipStatus, list[Callable[[Organisation], None]]] = {
    MembershipStatus.NONE: [],
    MembershipStatus.PENDING: [_apply],
    MembershipStatus.ADMITTED: [_apply, _admit],
    MembershipStatus.REJECTED: [_apply, _reject],
    MembershipStatus.WITHDRAWN: [_apply, _withdraw],
}


def organisation_in(status: MembershipStatus) -> Organisation:
    """A social enterprise whose membership is `status`, with its events already collected."""
    org = register()
    for step in PATHS[status]:
        step(org)
    assert org.membership_status is status
    org.collect_events()
    return org


def state(aggregate: TradehallAggregate) -> dict[str, Any]:
    """Everything an aggregate holds, except events not yet collected."""
    return {key: value for key, value in vars(aggregate).items() if key != "_pending_events"}


def collected(aggregate: TradehallAggregate) -> list[Any]:
    """The aggregate's new events (typed loosely, so tests can read their fields)."""
    return list(aggregate.collect_events())


def replay(events: Sequence[Any]) -> Any:
    return functools.reduce(lambda aggregate, event: event.mutate(aggregate), events, None)


def assert_carries(event: Any, ctx: Context) -> None:
    assert event.actor == ctx.actor
    assert event.request_id == ctx.request_id
    assert event.timestamp == ctx.at
    assert event.effective_at == (ctx.effective_at or ctx.at)


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


@pytest.mark.parametrize(
    "status",
    [MembershipStatus.NONE, MembershipStatus.REJECTED, MembershipStatus.WITHDRAWN],
)
def test_a_social_enterprise_applies_for_membership(status: MembershipStatus) -> None:
    org = organisation_in(status)
    ctx = context()

    org.apply_for_membership(ctx)

    [event] = collected(org)
    assert type(event) is Organisation.MembershipApplied
    assert_carries(event, ctx)
    assert org.membership_status is MembershipStatus.PENDING
    assert org.applied_at == ctx.at
    assert org.decided_at is None
    assert org.rejection_reason is None
    assert org.modified_on == ctx.at


def test_re_applying_after_a_rejection_clears_the_earlier_decision() -> None:
    org = organisation_in(MembershipStatus.REJECTED)
    assert org.rejection_reason is not None
    assert org.decided_at is not None

    org.apply_for_membership(context())

    assert org.rejection_reason is None
    assert org.decided_at is None


def test_staff_admit_a_pending_application() -> None:
    org = organisation_in(MembershipStatus.PENDING)
    applied_at = org.applied_at
    ctx = context(STAFF)

    org.admit(ctx)

    [event] = collected(org)
    assert type(event) is Organisation.MembershipAdmitted
    assert_carries(event, ctx)
    assert org.membership_status is MembershipStatus.ADMITTED
    assert org.decided_at == ctx.at
    assert org.applied_at == applied_at


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


def test_each_transition_increments_the_version_by_one() -> None:
    org = register()
    versions = [org.version]

    for step in [_apply, _reject, _apply, _withdraw, _apply, _admit]:
        step(org)
        versions.append(org.version)

    assert versions == [1, 2, 3, 4, 5, 6, 7]
    assert [event.originator_version for event in org.collect_events()] == versions


def test_each_event_carries_its_own_commands_context() -> None:
    register_ctx, apply_ctx, admit_ctx = context(), context(), context(STAFF)
    org = register(ctx=register_ctx)

    org.apply_for_membership(apply_ctx)
    org.admit(admit_ctx)

    events = collected(org)
    assert [type(event) for event in events] == [
        Organisation.Registered,
        Organisation.MembershipApplied,
        Organisation.MembershipAdmitted,
    ]
    for event, ctx in zip(events, [register_ctx, apply_ctx, admit_ctx], strict=True):
        assert_carries(event, ctx)


def test_a_clock_driven_command_records_the_clock_as_actor() -> None:
    org = organisation_in(MembershipStatus.PENDING)
    ctx = context(CLOCK)

    org.withdraw_application(ctx)

    [event] = collected(org)
    assert event.actor == CLOCK


def test_a_backdated_command_carries_its_effective_date_and_the_clocks_timestamp() -> None:
    org = organisation_in(MembershipStatus.PENDING)
    decided = datetime(2018, 12, 31, 17, 0, tzinfo=UTC)
    ctx = context(STAFF, effective_at=decided)

    org.admit(ctx)

    [event] = collected(org)
    assert event.effective_at == decided
    assert event.timestamp == ctx.at


# Forbidden transitions


def assert_forbidden(
    org: Organisation, command: Callable[[], None], error: type[Exception]
) -> None:
    before = state(org)

    with pytest.raises(error):
        command()

    assert org.collect_events() == []
    assert state(org) == before


@pytest.mark.parametrize(
    "status",
    [
        MembershipStatus.NONE,
        MembershipStatus.ADMITTED,
        MembershipStatus.REJECTED,
        MembershipStatus.WITHDRAWN,
    ],
)
def test_only_a_pending_application_can_be_admitted(status: MembershipStatus) -> None:
    org = organisation_in(status)

    assert_forbidden(org, lambda: org.admit(context(STAFF)), Conflict)


@pytest.mark.parametrize(
    "status",
    [
        MembershipStatus.NONE,
        MembershipStatus.ADMITTED,
        MembershipStatus.REJECTED,
        MembershipStatus.WITHDRAWN,
    ],
)
def test_only_a_pending_application_can_be_rejected(status: MembershipStatus) -> None:
    org = organisation_in(status)

    assert_forbidden(org, lambda: org.reject(context(STAFF), "Not eligible."), Conflict)


@pytest.mark.parametrize(
    "status",
    [
        MembershipStatus.NONE,
        MembershipStatus.ADMITTED,
        MembershipStatus.REJECTED,
        MembershipStatus.WITHDRAWN,
    ],
)
def test_only_a_pending_application_can_be_withdrawn(status: MembershipStatus) -> None:
    org = organisation_in(status)

    assert_forbidden(org, lambda: org.withdraw_application(context()), Conflict)


@pytest.mark.parametrize("status", [MembershipStatus.PENDING, MembershipStatus.ADMITTED])
def test_a_pending_or_admitted_organisation_cannot_apply_again(status: MembershipStatus) -> None:
    org = organisation_in(status)

    assert_forbidden(org, lambda: org.apply_for_membership(context()), Conflict)


@pytest.mark.parametrize("kind", ["public_body", "business"])
def test_only_social_enterprises_apply_for_membership(kind: str) -> None:
    org = register(kind)
    org.collect_events()

    assert_forbidden(org, lambda: org.apply_for_membership(context()), Conflict)


def test_the_conflict_message_names_the_current_status() -> None:
    org = organisation_in(MembershipStatus.ADMITTED)

    with pytest.raises(Conflict) as caught:
        org.admit(context(STAFF))

    assert "admitted" in caught.value.message


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_a_rejection_without_a_reason_is_invalid(reason: str) -> None:
    org = organisation_in(MembershipStatus.PENDING)

    before = state(org)

    with pytest.raises(InvalidValue) as caught:
        org.reject(context(STAFF), reason)

    assert caught.value.field == "reason"
    assert org.collect_events() == []
    assert state(org) == before


def test_a_rejection_reason_over_the_maximum_length_is_invalid() -> None:
    org = organisation_in(MembershipStatus.PENDING)

    with pytest.raises(InvalidValue) as caught:
        org.reject(context(STAFF), "r" * (MAX_TEXT + 1))

    assert caught.value.field == "reason"
    assert org.collect_events() == []
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
    for step in [_apply, _reject, _apply, _withdraw, _apply, _admit]:
        step(org)
    events = collected(org)

    replayed = replay(events)

    assert state(replayed) == state(org)
    assert replayed.membership_status is MembershipStatus.ADMITTED
    assert replayed.version == 7


@pytest.mark.parametrize("status", list(MembershipStatus))
def test_replaying_up_to_each_status_reproduces_that_state(status: MembershipStatus) -> None:
    org = register()
    for step in PATHS[status]:
        step(org)
    events = collected(org)

    replayed = replay(events)

    assert state(replayed) == state(org)
    assert replayed.membership_status is status


def test_replaying_step_by_step_with_mutate_reproduces_the_same_state() -> None:
    org = register()
    _apply(org)
    _reject(org)
    registered, applied, rejected = collected(org)

    replayed: Any = registered.mutate(None)
    replayed = applied.mutate(replayed)
    replayed = rejected.mutate(replayed)

    assert state(replayed) == state(org)
    assert replayed.rejection_reason == "No evidence of social purpose."


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
