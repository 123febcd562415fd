"""Organisations and their membership application; registry claims. Pure Python, no I/O.

One `Organisation` aggregate holds the registry facts and the membership state, so one version
(the ETag) covers everything a client sees of an organisation and one save decides each
transition. A `RegistryClaim`, whose id derives from the normalised registry identifier, is
saved with the organisation it guards so that a duplicate identifier is a version conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar
from uuid import UUID

from membership.registry import RegistryIdentifier, normalise_identifier
from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.events import Context, TradehallAggregate
from sharedkernel.reference import canonical_cpv, canonical_region


class OrganisationKind(StrEnum):
    SOCIAL_ENTERPRISE = "social_enterprise"
    PUBLIC_BODY = "public_body"
    BUSINESS = "business"


class LegalForm(StrEnum):
    CIC = "cic"
    CO_OPERATIVE_SOCIETY = "co_operative_society"
    COMMUNITY_BENEFIT_SOCIETY = "community_benefit_society"
    CHARITABLE_INCORPORATED_ORGANISATION = "charitable_incorporated_organisation"
    COMPANY_LIMITED_BY_GUARANTEE = "company_limited_by_guarantee"
    COMPANY_LIMITED_BY_SHARES = "company_limited_by_shares"
    SOLE_TRADER_OR_PARTNERSHIP = "sole_trader_or_partnership"
    OTHER = "other"


class MembershipStatus(StrEnum):
    """Where an organisation's membership application stands."""

    NONE = "none"
    PENDING = "pending"
    ADMITTED = "admitted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


E = TypeVar("E", bound=StrEnum)

# Forms without a public register: an identifier is optional for them.
_UNREGISTERED_FORMS = {LegalForm.SOLE_TRADER_OR_PARTNERSHIP}
MAX_NAME = 200
MAX_TEXT = 4000


@dataclass(frozen=True)
class RegistrationDetails:
    """What an organisation declares when it registers, validated and normalised."""

    name: str
    kind: OrganisationKind
    legal_form: LegalForm
    registry_identifier: RegistryIdentifier | None
    social_purpose: str
    regions: tuple[str, ...]
    cpv_codes: tuple[str, ...]

    @classmethod
    def parse(
        cls,
        *,
        name: str,
        kind: str,
        legal_form: str,
        registry_scheme: str | None,
        registry_id: str | None,
        social_purpose: str,
        regions: list[str],
        cpv_codes: list[str],
    ) -> RegistrationDetails:
        clean_name = " ".join(name.split())
        if not clean_name:
            raise InvalidValue("name", "the name is empty")
        if len(clean_name) > MAX_NAME:
            raise InvalidValue("name", f"the name is longer than {MAX_NAME} characters")
        org_kind = _enum(OrganisationKind, kind, "kind")
        form = _enum(LegalForm, legal_form, "legal_form")
        identifier = None
        if registry_scheme is not None or registry_id is not None:
            if not registry_scheme:
                raise InvalidValue("registry_identifier.scheme", "the scheme is missing")
            if not registry_id:
                raise InvalidValue("registry_identifier.identifier", "the identifier is missing")
            identifier = normalise_identifier(registry_scheme, registry_id)
        elif form not in _UNREGISTERED_FORMS:
            raise InvalidValue(
                "registry_identifier",
                f"a registry identifier is required for the legal form {form.value}",
            )
        purpose = social_purpose.strip()
        if len(purpose) > MAX_TEXT:
            raise InvalidValue("social_purpose", f"longer than {MAX_TEXT} characters")
        if org_kind is OrganisationKind.SOCIAL_ENTERPRISE:
            if not purpose:
                raise InvalidValue("social_purpose", "a social enterprise states its purpose")
            if not regions:
                raise InvalidValue("regions", "name at least one ITL region served")
            if not cpv_codes:
                raise InvalidValue("cpv_codes", "name at least one CPV code supplied")
        canonical_regions = _unique(
            canonical_region(code, field=f"regions[{i}]") for i, code in enumerate(regions)
        )
        canonical_cpvs = _unique(
            canonical_cpv(code, field=f"cpv_codes[{i}]") for i, code in enumerate(cpv_codes)
        )
        return cls(
            name=clean_name,
            kind=org_kind,
            legal_form=form,
            registry_identifier=identifier,
            social_purpose=purpose,
            regions=canonical_regions,
            cpv_codes=canonical_cpvs,
        )


def _enum(enum: type[E], value: str, field: str) -> E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidValue(field, f"{value!r} is not one of: {allowed}") from None


def _unique(values: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


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
