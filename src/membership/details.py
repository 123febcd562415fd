"""What an organisation declares when it registers: kinds, legal forms, and their validation.

Pure Python, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from membership.registry import RegistryIdentifier, normalise_identifier
from sharedkernel.errors import InvalidValue
from sharedkernel.reference import canonical_cpv_codes, canonical_regions
from sharedkernel.web import web_address


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
        clean_name = organisation_name(name)
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
        purpose = social_purpose_text(social_purpose)
        require_what_the_kind_declares(org_kind, purpose, regions, cpv_codes)
        return cls(
            name=clean_name,
            kind=org_kind,
            legal_form=form,
            registry_identifier=identifier,
            social_purpose=purpose,
            regions=canonical_regions(regions),
            cpv_codes=canonical_cpv_codes(cpv_codes),
        )


@dataclass(frozen=True)
class Profile:
    """What an organisation keeps current about itself (its profile), validated and normalised
    by the same rules as registration. Not here: the kind, legal form and registry identifier,
    which registration settles, and contact points, which are people's data (ADR 4)."""

    name: str
    social_purpose: str
    regions: tuple[str, ...]
    cpv_codes: tuple[str, ...]
    website: str | None = None

    @classmethod
    def parse(
        cls,
        *,
        name: str,
        social_purpose: str,
        regions: list[str],
        cpv_codes: list[str],
        website: str | None = None,
    ) -> Profile:
        """The kind's own rules (what a social enterprise must declare) are checked by the
        organisation, which knows its kind (`require_what_the_kind_declares`)."""
        clean_website = website.strip() if website is not None else ""
        return cls(
            name=organisation_name(name),
            social_purpose=social_purpose_text(social_purpose),
            regions=canonical_regions(regions),
            cpv_codes=canonical_cpv_codes(cpv_codes),
            website=web_address(clean_website) if clean_website else None,
        )

    def same_as(self, other: Profile) -> bool:
        """Nothing to record: the order regions and codes are given in is no change."""
        return self._compared() == other._compared()

    def _compared(self) -> tuple[object, ...]:
        unordered = (frozenset(self.regions), frozenset(self.cpv_codes))
        return (self.name, self.social_purpose, *unordered, self.website)

    def as_event_data(self) -> dict[str, Any]:
        """The fields of `Organisation.ProfileUpdated`: the profile whole."""
        return {
            "name": self.name,
            "social_purpose": self.social_purpose,
            "regions": list(self.regions),
            "cpv_codes": list(self.cpv_codes),
            "website": self.website,
        }


def organisation_name(name: str) -> str:
    """The name with its runs of white space made one space; not empty, at most MAX_NAME."""
    clean_name = " ".join(name.split())
    if not clean_name:
        raise InvalidValue("name", "the name is empty")
    if len(clean_name) > MAX_NAME:
        raise InvalidValue("name", f"the name is longer than {MAX_NAME} characters")
    return clean_name


def social_purpose_text(social_purpose: str) -> str:
    purpose = social_purpose.strip()
    if len(purpose) > MAX_TEXT:
        raise InvalidValue("social_purpose", f"longer than {MAX_TEXT} characters")
    return purpose


def require_what_the_kind_declares(
    kind: OrganisationKind,
    social_purpose: str,
    regions: Sequence[str],
    cpv_codes: Sequence[str],
) -> None:
    """A social enterprise states its purpose and names at least one region and CPV code, at
    registration and in every profile after it."""
    if kind is OrganisationKind.SOCIAL_ENTERPRISE:
        if not social_purpose:
            raise InvalidValue("social_purpose", "a social enterprise states its purpose")
        if not regions:
            raise InvalidValue("regions", "name at least one ITL region served")
        if not cpv_codes:
            raise InvalidValue("cpv_codes", "name at least one CPV code supplied")


def _enum(enum: type[E], value: str, field: str) -> E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidValue(field, f"{value!r} is not one of: {allowed}") from None
