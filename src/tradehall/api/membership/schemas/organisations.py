"""Requests and responses of the organisation registry and membership application."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from membership.domain import LegalForm, MembershipStatus, OrganisationKind
from tradehall.api.schemas.base import Email, FreeText, NewPassword, Reason, RequestBody

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
# A registry identifier, as registration takes it and a release of its claim names it.
RegistryScheme = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
RegistryId = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


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
    regions: Annotated[list[Code], msgspec.Meta(max_length=200)] = msgspec.field(
        default_factory=list
    )
    cpv_codes: Annotated[list[Code], msgspec.Meta(max_length=500)] = msgspec.field(
        default_factory=list
    )


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
    membership: MembershipView
    registered_at: datetime
    version: int
