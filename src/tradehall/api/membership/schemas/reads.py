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


class SearchedMember(DirectoryMember, kw_only=True):
    """A member found by the directory search: the directory's entry, and with a text query how
    well it matches (higher first; comparable only within one query on one store)."""

    rank: int | None = None


class MarkFacet(msgspec.Struct, kw_only=True):
    held: int
    not_held: int


class SearchFacets(msgspec.Struct, kw_only=True):
    """Counts of the members the whole query finds (every filter applied)."""

    legal_form: dict[str, int]
    # By ITL1 region served: a member counted once per ITL1 its regions fall in.
    region: dict[str, int]
    # By CPV division (two digits), from its profile's and its published listings' codes.
    cpv_division: dict[str, int]
    mark: MarkFacet


class DirectorySearchPage(msgspec.Struct, kw_only=True):
    items: list[SearchedMember]
    # The `after` of the next page; null on the last.
    next: str | None
    total: int
    facets: SearchFacets
    consistent: bool
