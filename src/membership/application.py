"""The membership Application: one method per command, load -> decide -> save.

Synchronous (the eventsourcing library is); the web layer calls it from worker threads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Recording

from membership.domain import Organisation, RegistrationDetails, RegistryClaim
from membership.registry import RegistryIdentifier
from sharedkernel.errors import Conflict, NotFound, StaleVersion
from sharedkernel.events import Context


@dataclass(frozen=True)
class Saved:
    """What a command returns: the aggregate, its new version, and the event log position."""

    aggregate_id: UUID
    version: int
    position: int | None


class RegistryIdentifierClaimed(Conflict):
    def __init__(self, identifier: RegistryIdentifier) -> None:
        super().__init__(f"the registry identifier {identifier} is already registered")
        self.identifier = identifier


class MembershipApp(Application[UUID]):
    """Commands of the membership context.

    `side_writes` on registration is passed through to the recorder, which runs it in the
    transaction that records the events (the composition root uses it for the user row).
    """

    name = "membership"

    def register_organisation(
        self,
        context: Context,
        organisation_id: UUID,
        details: RegistrationDetails,
        first_user_id: UUID,
        side_writes: Sequence[Any] = (),
    ) -> Saved:
        organisation = Organisation.register(context, organisation_id, details, first_user_id)
        to_save: list[TradehallLike] = [organisation]
        identifier = details.registry_identifier
        if identifier is not None:
            to_save.append(self._claim(context, identifier, organisation_id))
        try:
            recordings = self.save(*to_save, side_writes=side_writes)
        except IntegrityError as error:
            if identifier is not None and self._claim_holder(identifier) not in {
                None,
                organisation_id,
            }:
                raise RegistryIdentifierClaimed(identifier) from error
            raise Conflict("the registration clashed with a concurrent write") from error
        return _saved(organisation, recordings)

    def get_organisation(self, organisation_id: UUID) -> Organisation:
        try:
            organisation: object = self.repository.get(organisation_id)
        except AggregateNotFoundError:
            raise NotFound(f"no organisation {organisation_id}") from None
        if not isinstance(organisation, Organisation):
            raise NotFound(f"no organisation {organisation_id}")
        return organisation

    def apply_for_membership(
        self, context: Context, organisation_id: UUID, expected_version: int | None = None
    ) -> Saved:
        return self._change(
            organisation_id, expected_version, lambda org: org.apply_for_membership(context)
        )

    def admit(
        self, context: Context, organisation_id: UUID, expected_version: int | None = None
    ) -> Saved:
        return self._change(organisation_id, expected_version, lambda org: org.admit(context))

    def reject(
        self,
        context: Context,
        organisation_id: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> Saved:
        return self._change(
            organisation_id, expected_version, lambda org: org.reject(context, reason)
        )

    def withdraw_application(
        self, context: Context, organisation_id: UUID, expected_version: int | None = None
    ) -> Saved:
        return self._change(
            organisation_id, expected_version, lambda org: org.withdraw_application(context)
        )

    def release_registry_claim(
        self, context: Context, identifier: RegistryIdentifier, reason: str
    ) -> Saved:
        claim = self._get_claim(identifier)
        if claim is None or claim.organisation_id is None:
            raise NotFound(f"the registry identifier {identifier} is not claimed")
        # The holder stops showing the identifier in the same save that frees it.
        holder = self.get_organisation(claim.organisation_id)
        claim.release(context, reason)
        to_save: list[TradehallLike] = [claim]
        if holder.registry_identifier == identifier:
            holder.release_registry_identifier(context, reason)
            to_save.append(holder)
        try:
            recordings = self.save(*to_save)
        except IntegrityError as error:
            raise Conflict("the claim changed concurrently; try again") from error
        return _saved(claim, recordings)

    def _claim(
        self, context: Context, identifier: RegistryIdentifier, organisation_id: UUID
    ) -> RegistryClaim:
        claim = self._get_claim(identifier)
        if claim is None:
            return RegistryClaim.claim(context, identifier, organisation_id)
        if claim.held:
            raise RegistryIdentifierClaimed(identifier)
        claim.reclaim(context, organisation_id)
        return claim

    def _get_claim(self, identifier: RegistryIdentifier) -> RegistryClaim | None:
        try:
            claim: object = self.repository.get(identifier.claim_id)
        except AggregateNotFoundError:
            return None
        assert isinstance(claim, RegistryClaim)
        return claim

    def _claim_holder(self, identifier: RegistryIdentifier) -> UUID | None:
        claim = self._get_claim(identifier)
        return claim.organisation_id if claim else None

    def _change(
        self,
        organisation_id: UUID,
        expected_version: int | None,
        decide: Callable[[Organisation], None],
    ) -> Saved:
        organisation = self.get_organisation(organisation_id)
        if expected_version is not None and expected_version != organisation.version:
            raise StaleVersion(expected_version, organisation.version)
        decide(organisation)
        try:
            recordings = self.save(organisation)
        except IntegrityError as error:
            raise Conflict(
                "the organisation changed concurrently; reload it and try again"
            ) from error
        return _saved(organisation, recordings)


TradehallLike = Organisation | RegistryClaim


def _saved(aggregate: Organisation | RegistryClaim, recordings: list[Recording[UUID]]) -> Saved:
    positions = [r.notification.id for r in recordings if r.notification.id is not None]
    return Saved(aggregate.id, aggregate.version, max(positions) if positions else None)
