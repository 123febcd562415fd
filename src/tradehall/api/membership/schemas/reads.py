"""Responses of the projection-backed reads."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from projections.applications import ApplicationRow


class MemberMark(msgspec.Struct, kw_only=True):
    """The member's quality mark: verify it at /api/v1/marks/{certificate_number}."""

    certificate_number: str
    status: str


class DirectoryMember(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    legal_form: str
    social_purpose: str
    regions: list[str]
    cpv_codes: list[str]
    member_since: datetime | None
    quality_mark: MemberMark | None = None


class DirectoryPage(msgspec.Struct, kw_only=True):
    items: list[DirectoryMember]
    total: int
    page: int
    per_page: int
    consistent: bool


class ApplicationView(ApplicationRow):
    """A membership application: the applications read model's row, as it stands."""


class ApplicationsPage(msgspec.Struct, kw_only=True):
    items: list[ApplicationView]
    total: int
    page: int
    per_page: int
    consistent: bool


class ApplicationStatus(msgspec.Struct, kw_only=True):
    application: ApplicationView
    consistent: bool
