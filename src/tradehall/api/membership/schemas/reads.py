"""Responses of the projection-backed reads."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec


class DirectoryMember(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    legal_form: str
    social_purpose: str
    regions: list[str]
    cpv_codes: list[str]
    member_since: datetime | None


class DirectoryPage(msgspec.Struct, kw_only=True):
    items: list[DirectoryMember]
    total: int
    page: int
    per_page: int
    consistent: bool


class ApplicationView(msgspec.Struct, kw_only=True):
    organisation_id: UUID
    name: str
    kind: str
    legal_form: str
    status: str
    applied_at: datetime | None
    decided_at: datetime | None
    rejection_reason: str | None
    version: int


class ApplicationsPage(msgspec.Struct, kw_only=True):
    items: list[ApplicationView]
    total: int
    page: int
    per_page: int
    consistent: bool


class ApplicationStatus(msgspec.Struct, kw_only=True):
    application: ApplicationView
    consistent: bool
