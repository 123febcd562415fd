"""Organisations and their membership application; registry claims. Pure Python, no I/O.

One `Organisation` aggregate holds the registry facts and the membership state, so one version
(the ETag) covers everything a client sees of an organisation and one save decides each
transition. A `RegistryClaim`, whose id derives from the normalised registry identifier, is
saved with the organisation it guards so that a duplicate identifier is a version conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

from membership.details import (
    MAX_TEXT,
    LegalForm,
    OrganisationKind,
    Profile,
    RegistrationDetails,
    require_what_the_kind_declares,
)
from membership.dues import (
    DuesBand,
    ScheduleVersion,
    band_for,
    in_force,
    upcast_bands_v1_v2,
    validate_bands,
)
from membership.lifecycle import MembershipLifecycle, check_turnover
from membership.registry import RegistryIdentifier
from membership.standing import MembershipStatus
from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.events import Context, TradehallAggregate
from sharedkernel.moments import plausible_moment
from sharedkernel.money import Money

__all__ = [
    "DuesSchedule",
    "ExternalEventClaim",
    "LegalForm",
    "MembershipStatus",
    "Organisation",
    "OrganisationKind",
    "ProcessorPaymentClaim",
    "Profile",
    "RegistrationDetails",
    "RegistryClaim",
]


class Organisation(TradehallAggregate, MembershipLifecycle):
    """An organisation in the registry, its membership application and, once admitted, its
    membership (the lifecycle mixin: tier, dues ledger, paid-up-until, standing)."""

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

        def apply(self, aggregate: Organisation) -> None:
            # Nothing about the organisation takes effect before this (ADR 17).
            aggregate.exists_from = self.effective_at

    class ProfileUpdated(TradehallAggregate.Event):
        """The organisation's profile as it now stands, whole (a reader needs no earlier event
        to know it). Its people (contact points) are never here: ADR 4."""

        name: str
        social_purpose: str
        regions: list[str]
        cpv_codes: list[str]
        website: str | None

        def apply(self, aggregate: Organisation) -> None:
            aggregate.name = self.name
            aggregate.social_purpose = self.social_purpose
            aggregate.regions = list(self.regions)
            aggregate.cpv_codes = list(self.cpv_codes)
            aggregate.website = self.website

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
            aggregate._stand(MembershipStatus.AWAITING_FIRST_PAYMENT, self.effective_at)
            aggregate.decided_at = self.timestamp
            # When the admission took effect (an imported member's join date in its old system).
            aggregate.joined_at = self.effective_at

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
        self.website: str | None = None  # set by a profile update; registration gives none
        self.exists_from: datetime = datetime.min.replace(tzinfo=UTC)  # set as it registers
        self.membership_status = MembershipStatus.NONE
        self.applied_at: datetime | None = None
        self.decided_at: datetime | None = None
        self.joined_at: datetime | None = None
        self.rejection_reason: str | None = None
        self._init_lifecycle()

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

    @property
    def profile(self) -> Profile:
        return Profile(
            name=self.name,
            social_purpose=self.social_purpose,
            regions=tuple(self.regions),
            cpv_codes=tuple(self.cpv_codes),
            website=self.website,
        )

    def update_profile(self, context: Context, profile: Profile) -> None:
        """Keep the profile current: recorded whole, and only when something changed (the
        order codes are given in is no change). The kind's rules hold as at registration."""
        require_what_the_kind_declares(
            self.kind, profile.social_purpose, profile.regions, profile.cpv_codes
        )
        if profile.same_as(self.profile):
            return
        self.trigger_event(self.ProfileUpdated, **profile.as_event_data(), **context.event_kwargs())

    def release_registry_identifier(self, context: Context, reason: str) -> None:
        if self.registry_identifier is None:
            raise Conflict("the organisation holds no registry identifier")
        clean_reason = reason.strip()
        if not clean_reason:
            raise InvalidValue("reason", "a release gives its reason")
        self.trigger_event(
            self.RegistryIdentifierReleased, reason=clean_reason, **context.event_kwargs()
        )

    def apply_for_membership(self, context: Context, annual_turnover: Money) -> None:
        """Apply, declaring the annual turnover that sets the tier at admission."""
        if self.kind is not OrganisationKind.SOCIAL_ENTERPRISE:
            raise Conflict(f"only social enterprises apply for membership, not a {self.kind}")
        allowed = {MembershipStatus.NONE, MembershipStatus.REJECTED, MembershipStatus.WITHDRAWN}
        self._require(allowed, "apply for membership")
        check_turnover(annual_turnover)  # before any event: a refused command records nothing
        self.trigger_event(self.MembershipApplied, **context.event_kwargs())
        self._declare_turnover(context, annual_turnover)

    def admit(self, context: Context, schedule: Sequence[DuesBand], invoice_id: str) -> None:
        """Admit: the tier from the declared turnover, and the first year's dues invoiced."""
        self._require({MembershipStatus.PENDING}, "admit")
        if self.declared_turnover is None:
            raise Conflict("the application declares no turnover to set the tier from")
        band = band_for(schedule, self.declared_turnover)
        self.trigger_event(self.MembershipAdmitted, **context.event_kwargs())
        self._start_membership(context, band, invoice_id)

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


EXTERNAL_EVENT_NAMESPACE = UUID("0c5d7d0e-4b8a-4d59-9f3e-1f1b2c7a9e11")


class ExternalEventClaim(TradehallAggregate):
    """One per message from an outside system (a Stripe event id): saved with the changes the
    message causes, so a message delivered twice is a version conflict, applied once."""

    class Claimed(TradehallAggregate.Created):
        source: str
        external_id: str
        organisation_id: UUID | None

    def __init__(self, source: str, external_id: str, organisation_id: UUID | None) -> None:
        self.source = source
        self.external_id = external_id
        self.organisation_id = organisation_id

    @staticmethod
    def id_for(source: str, external_id: str) -> UUID:
        return uuid5(EXTERNAL_EVENT_NAMESPACE, f"{source}:{external_id}")

    @classmethod
    def claim(
        cls, context: Context, source: str, external_id: str, organisation_id: UUID | None
    ) -> ExternalEventClaim:
        return cls._create(
            cls.Claimed,
            id=cls.id_for(source, external_id),
            source=source,
            external_id=external_id,
            organisation_id=organisation_id,
            **context.event_kwargs(),
        )


PROCESSOR_PAYMENT_NAMESPACE = UUID("5a3e9c1d-2f6b-4c8e-b0a7-9d4e6f1c2b38")


class ProcessorPaymentClaim(TradehallAggregate):
    """One per payment a processor collected (a Stripe invoice) or returned (a refund, under
    `refund:` and its id), whichever message tells of it: saved with the change it makes, so a
    second message about the same payment, under another event id, changes nothing more, and
    no other organisation's ledger takes it (ADR 13)."""

    class Claimed(TradehallAggregate.Created):
        processor: str
        payment_id: str
        organisation_id: UUID

    def __init__(self, processor: str, payment_id: str, organisation_id: UUID) -> None:
        self.processor = processor
        self.payment_id = payment_id
        self.organisation_id = organisation_id

    @staticmethod
    def key(processor: str, payment_id: str) -> str:
        """The natural key: the processor's name, lower case, and its id as it gives it (Stripe
        ids are case-sensitive), without surrounding space."""
        return f"{processor.strip().lower()}:{payment_id.strip()}"

    @classmethod
    def id_for(cls, processor: str, payment_id: str) -> UUID:
        return uuid5(PROCESSOR_PAYMENT_NAMESPACE, cls.key(processor, payment_id))

    @classmethod
    def claim(
        cls, context: Context, processor: str, payment_id: str, organisation_id: UUID
    ) -> ProcessorPaymentClaim:
        if not payment_id.strip():
            raise InvalidValue("payment_id", "a processor's payment has an id")
        return cls._create(
            cls.Claimed,
            id=cls.id_for(processor, payment_id),
            processor=processor.strip().lower(),
            payment_id=payment_id.strip(),
            organisation_id=organisation_id,
            **context.event_kwargs(),
        )


DUES_SCHEDULE_ID = UUID("1b2f4f0e-8e0c-5d43-9a57-6a1d2f0c7e21")
# From the start of time, so any date finds a schedule in force.
SINCE_EVER = datetime(2000, 1, 1, tzinfo=UTC)


class DuesSchedule(TradehallAggregate):
    """The association's dues bands, as versions, each in force from its date."""

    class Started(TradehallAggregate.Created):
        pass

    class Published(TradehallAggregate.Event):
        # Version 2: each band names its price reference in the domain's words (see dues.py).
        class_version = 2
        upcast_v1_v2 = staticmethod(upcast_bands_v1_v2)

        effective_from: datetime
        bands: list[dict[str, Any]]

        def apply(self, aggregate: DuesSchedule) -> None:
            aggregate.versions.append(
                ScheduleVersion(
                    version=len(aggregate.versions) + 1,
                    effective_from=self.effective_from,
                    bands=tuple(DuesBand.from_event_data(band) for band in self.bands),
                )
            )

    def __init__(self) -> None:
        self.versions: list[ScheduleVersion] = []

    @classmethod
    def start(cls, context: Context) -> DuesSchedule:
        return cls._create(cls.Started, id=DUES_SCHEDULE_ID, **context.event_kwargs())

    def publish(
        self, context: Context, effective_from: datetime, bands: Sequence[DuesBand]
    ) -> None:
        checked = validate_bands(bands)
        effective_from = plausible_moment("effective_from", effective_from)
        if self.versions and effective_from <= self.versions[-1].effective_from:
            raise InvalidValue("effective_from", "a new version takes effect after the latest one")
        self.trigger_event(
            self.Published,
            effective_from=effective_from,
            bands=[band.as_event_data() for band in checked],
            **context.event_kwargs(),
        )

    def bands_at(self, moment: datetime) -> tuple[DuesBand, ...]:
        return in_force(self.versions, moment).bands
