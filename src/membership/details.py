"""What an organisation declares when it registers: kinds, legal forms, and their validation.

Pure Python, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from membership.registry import RegistryIdentifier, normalise_identifier
from sharedkernel.errors import InvalidValue
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
