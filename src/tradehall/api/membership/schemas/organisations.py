"""Requests and responses of the organisation registry and membership application."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from membership.contacts import MAX_CONTACT_POINTS, MAX_LABEL, MAX_PERSON_NAME, MAX_PHONE
from membership.domain import LegalForm, MembershipStatus, OrganisationKind
from sharedkernel.web import MAX_WEB_ADDRESS
from tradehall.api.schemas.base import Email, FreeText, NewPassword, Reason, RequestBody

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
# A registry identifier, as registration takes it and a release of its claim names it.
RegistryScheme = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
RegistryId = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


Regions = Annotated[list[Code], msgspec.Meta(max_length=200, description="ITL 2025 codes")]
CpvCodes = Annotated[
    list[Code], msgspec.Meta(max_length=500, description="CPV 2008 codes, check digit optional")
]
WebAddress = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_WEB_ADDRESS, description="an absolute http or https address; null for none"
    ),
]


class RegistryIdentifierBody(RequestBody):
    scheme: Annotated[
        RegistryScheme,
        msgspec.Meta(description="org-id.guide list code, e.g. GB-COH, GB-CHC, GB-SC, GB-MPR"),
    ]
    identifier: RegistryId


class FirstUser(RequestBody):
    email: Email
    password: NewPassword


class RegisterOrganisation(RequestBody):
    name: Name
    kind: OrganisationKind
    legal_form: LegalForm
    user: FirstUser
    registry_identifier: RegistryIdentifierBody | None = None
    social_purpose: FreeText = ""
    regions: Regions = msgspec.field(default_factory=list)
    cpv_codes: CpvCodes = msgspec.field(default_factory=list)


class UpdateProfile(RequestBody):
    """The whole profile, as it is to stand (PUT): a field left out is an error, not kept. The
    kind, legal form and registry identifier are registration's and not changed here."""

    name: Name
    social_purpose: FreeText
    regions: Regions
    cpv_codes: CpvCodes
    website: WebAddress | None


class ContactPointBody(RequestBody):
    label: Annotated[
        str,
        msgspec.Meta(min_length=1, max_length=MAX_LABEL, description="what it is for: Tenders"),
    ]
    name: Annotated[str, msgspec.Meta(max_length=MAX_PERSON_NAME)] | None = None
    email: Email | None = None
    phone: Annotated[str, msgspec.Meta(max_length=MAX_PHONE)] | None = None


class ReplaceContactPoints(RequestBody):
    """The whole list, in order, as it is to stand; each gives an e-mail address or a phone."""

    contact_points: Annotated[list[ContactPointBody], msgspec.Meta(max_length=MAX_CONTACT_POINTS)]


class ContactPointView(msgspec.Struct, kw_only=True):
    label: str
    name: str | None
    email: str | None
    phone: str | None


class ContactPoints(msgspec.Struct, kw_only=True):
    organisation_id: UUID
    contact_points: list[ContactPointView]


class RegistrationRequested(msgspec.Struct, kw_only=True):
    """The same whether or not the address was free (ADR 8)."""

    status: str
    detail: str


class Registered(msgspec.Struct, kw_only=True):
    id: UUID
    user_id: UUID
    version: int
    position: dict[str, int]


class Rejection(RequestBody):
    reason: Reason


class ReleaseClaim(RequestBody):
    scheme: RegistryScheme
    identifier: RegistryId
    reason: Reason


class RegistryIdentifierView(msgspec.Struct, kw_only=True):
    scheme: str
    identifier: str


class MembershipView(msgspec.Struct, kw_only=True):
    status: MembershipStatus
    good_standing: bool
    applied_at: datetime | None
    decided_at: datetime | None
    rejection_reason: str | None
    tier: str | None
    paid_up_until: datetime | None
    resigns_at: datetime | None
    suspension_reason: str | None


class OrganisationView(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    kind: OrganisationKind
    legal_form: LegalForm
    registry_identifier: RegistryIdentifierView | None
    social_purpose: str
    regions: list[str]
    cpv_codes: list[str]
    website: str | None
    # People's data (ADR 4), from its table: shown to the organisation's users and staff only.
    contact_points: list[ContactPointView]
    membership: MembershipView
    registered_at: datetime
    version: int
