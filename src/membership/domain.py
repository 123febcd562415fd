"""Organisations and their membership application; registry claims. Pure Python, no I/O.

One `Organisation` aggregate holds the registry facts and the membership state, so one version
(the ETag) covers everything a client sees of an organisation and one save decides each
transition. A `RegistryClaim`, whose id derives from the normalised registry identifier, is
saved with the organisation it guards so that a duplicate identifier is a version conflict.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from membership.details import (
    MAX_TEXT,
    LegalForm,
    MembershipStatus,
    OrganisationKind,
    RegistrationDetails,
)
from membership.registry import RegistryIdentifier
from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.events import Context, TradehallAggregate

__all__ = [
    "LegalForm",
    "MembershipStatus",
    "Organisation",
    "OrganisationKind",
    "RegistrationDetails",
    "RegistryClaim",
]


class Organisation(TradehallAggregate):
    """An organisation in the registry, and its membership application."""

    class Registered(TradehallAggregate.Created):
        name: str
        kind: str
        legal_form: str
        registry_scheme: str | None
        registry_id: str | None
        social_purpose: str
        regions: list[str]
        cpv_codes: list[str]
        first_user_id: UUID

    class RegistryIdentifierReleased(TradehallAggregate.Event):
        """Staff found the identifier was wrongly claimed: the organisation no longer holds it."""

        reason: str

        def apply(self, aggregate: Organisation) -> None:
            aggregate.registry_identifier = None

    class MembershipApplied(TradehallAggregate.Event):
        def apply(self, aggregate: Organisation) -> None:
            aggregate.membership_status = MembershipStatus.PENDING
            aggregate.applied_at = self.timestamp
            aggregate.decided_at = None
            aggregate.rejection_reason = None

    class MembershipAdmitted(TradehallAggregate.Event):
        def apply(self, aggregate: Organisation) -> None:
            aggregate.membership_status = MembershipStatus.ADMITTED
            aggregate.decided_at = self.timestamp

    class MembershipRejected(TradehallAggregate.Event):
        reason: str

        def apply(self, aggregate: Organisation) -> None:
            aggregate.membership_status = MembershipStatus.REJECTED
            aggregate.decided_at = self.timestamp
            aggregate.rejection_reason = self.reason

    class MembershipApplicationWithdrawn(TradehallAggregate.Event):
        def apply(self, aggregate: Organisation) -> None:
            aggregate.membership_status = MembershipStatus.WITHDRAWN
            aggregate.decided_at = self.timestamp

    def __init__(
        self,
        name: str,
        kind: str,
        legal_form: str,
        registry_scheme: str | None,
        registry_id: str | None,
        social_purpose: str,
        regions: list[str],
        cpv_codes: list[str],
        first_user_id: UUID,
    ) -> None:
        self.name = name
        self.kind = OrganisationKind(kind)
        self.legal_form = LegalForm(legal_form)
        self.registry_identifier = (
            RegistryIdentifier(registry_scheme, registry_id)
            if registry_scheme is not None and registry_id is not None
            else None
        )
        self.social_purpose = social_purpose
        self.regions = list(regions)
        self.cpv_codes = list(cpv_codes)
        self.first_user_id = first_user_id
        self.membership_status = MembershipStatus.NONE
        self.applied_at: datetime | None = None
        self.decided_at: datetime | None = None
        self.rejection_reason: str | None = None

    @classmethod
    def register(
        cls,
        context: Context,
        organisation_id: UUID,
        details: RegistrationDetails,
        first_user_id: UUID,
    ) -> Organisation:
        identifier = details.registry_identifier
        return cls._create(
            cls.Registered,
            id=organisation_id,
            name=details.name,
            kind=details.kind.value,
            legal_form=details.legal_form.value,
            registry_scheme=identifier.scheme if identifier else None,
            registry_id=identifier.identifier if identifier else None,
            social_purpose=details.social_purpose,
            regions=list(details.regions),
            cpv_codes=list(details.cpv_codes),
            first_user_id=first_user_id,
            **context.event_kwargs(),
        )

    def release_registry_identifier(self, context: Context, reason: str) -> None:
        if self.registry_identifier is None:
            raise Conflict("the organisation holds no registry identifier")
        clean_reason = reason.strip()
        if not clean_reason:
            raise InvalidValue("reason", "a release gives its reason")
        self.trigger_event(
            self.RegistryIdentifierReleased, reason=clean_reason, **context.event_kwargs()
        )

    def apply_for_membership(self, context: Context) -> None:
        if self.kind is not OrganisationKind.SOCIAL_ENTERPRISE:
            raise Conflict(f"only social enterprises apply for membership, not a {self.kind}")
        allowed = {MembershipStatus.NONE, MembershipStatus.REJECTED, MembershipStatus.WITHDRAWN}
        self._require(allowed, "apply for membership")
        self.trigger_event(self.MembershipApplied, **context.event_kwargs())

    def admit(self, context: Context) -> None:
        self._require({MembershipStatus.PENDING}, "admit")
        self.trigger_event(self.MembershipAdmitted, **context.event_kwargs())

    def reject(self, context: Context, reason: str) -> None:
        self._require({MembershipStatus.PENDING}, "reject")
        clean_reason = reason.strip()
        if not clean_reason:
            raise InvalidValue("reason", "a rejection gives its reason")
        if len(clean_reason) > MAX_TEXT:
            raise InvalidValue("reason", f"longer than {MAX_TEXT} characters")
        self.trigger_event(self.MembershipRejected, reason=clean_reason, **context.event_kwargs())

    def withdraw_application(self, context: Context) -> None:
        self._require({MembershipStatus.PENDING}, "withdraw the application")
        self.trigger_event(self.MembershipApplicationWithdrawn, **context.event_kwargs())

    def _require(self, allowed: set[MembershipStatus], action: str) -> None:
        if self.membership_status not in allowed:
            raise Conflict(f"cannot {action}: the membership is {self.membership_status.value}")


class RegistryClaim(TradehallAggregate):
    """Holds a normalised registry identifier for one organisation; staff can release it."""

    class Claimed(TradehallAggregate.Created):
        scheme: str
        identifier: str
        organisation_id: UUID

    class Released(TradehallAggregate.Event):
        reason: str

        def apply(self, aggregate: RegistryClaim) -> None:
            aggregate.organisation_id = None

    class Reclaimed(TradehallAggregate.Event):
        organisation_id: UUID

        def apply(self, aggregate: RegistryClaim) -> None:
            aggregate.organisation_id = self.organisation_id

    def __init__(self, scheme: str, identifier: str, organisation_id: UUID) -> None:
        self.scheme = scheme
        self.identifier = identifier
        self.organisation_id: UUID | None = organisation_id

    @property
    def held(self) -> bool:
        return self.organisation_id is not None

    @classmethod
    def claim(
        cls, context: Context, identifier: RegistryIdentifier, organisation_id: UUID
    ) -> RegistryClaim:
        return cls._create(
            cls.Claimed,
            id=identifier.claim_id,
            scheme=identifier.scheme,
            identifier=identifier.identifier,
            organisation_id=organisation_id,
            **context.event_kwargs(),
        )

    def reclaim(self, context: Context, organisation_id: UUID) -> None:
        if self.held:
            raise Conflict(f"the registry identifier {self.scheme}-{self.identifier} is claimed")
        self.trigger_event(
            self.Reclaimed, organisation_id=organisation_id, **context.event_kwargs()
        )

    def release(self, context: Context, reason: str) -> None:
        if not self.held:
            raise Conflict(f"the registry identifier {self.scheme}-{self.identifier} is not held")
        clean_reason = reason.strip()
        if not clean_reason:
            raise InvalidValue("reason", "a release gives its reason")
        self.trigger_event(self.Released, reason=clean_reason, **context.event_kwargs())
