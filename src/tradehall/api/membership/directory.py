"""The public member directory and the membership application views (read models)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.applications import ApplicationRow, applications_queue
from projections.directory import DirectoryEntry, directory_page
from tradehall.api.access import PUBLIC, rule, staff_only
from tradehall.api.membership.schemas.reads import (
    ApplicationsPage,
    ApplicationView,
    DirectoryMember,
    DirectoryPage,
    MemberMark,
)
from tradehall.api.reads import (
    CpvParam,
    PageParam,
    PerPageParam,
    PositionParam,
    ReadYourWrites,
    RegionParam,
    page_response,
    place_filter,
)

MarkParam = Annotated[
    Literal["valid", "suspended", "expired", "revoked", "withdrawn"] | None,
    QueryParameter(name="mark", description="holders of a quality mark in this status"),
]
StatusParam = Annotated[
    Literal["none", "pending", "admitted", "rejected", "withdrawn"],
    QueryParameter(name="status", description="which applications"),
]


def application_view(row: ApplicationRow) -> ApplicationView:
    return ApplicationView(**asdict(row))


def _mark_of(entry: DirectoryEntry) -> MemberMark | None:
    if entry.certificate_number is None or entry.mark_status is None:
        return None
    return MemberMark(certificate_number=entry.certificate_number, status=entry.mark_status)


class DirectoryController(Controller):
    path = "/api/v1/directory"
    tags = ["directory"]

    @get("/", opt=rule(PUBLIC), summary="Members of the association, by name")
    async def directory(
        self,
        engine: NamedDependency[AsyncEngine],
        reads: NamedDependency[ReadYourWrites],
        region: RegionParam = None,
        cpv: CpvParam = None,
        mark: MarkParam = None,
        page: PageParam = 1,
        per_page: PerPageParam = 20,
        position: PositionParam = None,
    ) -> Response[DirectoryPage]:
        place = place_filter(cpv, region)
        consistent = await reads.after("directory", position)
        async with engine.connect() as connection:
            found = await directory_page(
                connection,
                region=place.region,
                cpv_code=place.cpv_code,
                region_parents=place.region_parents,
                limit=per_page,
                offset=(page - 1) * per_page,
                mark=mark,
            )
        items = [
            DirectoryMember(
                id=entry.organisation_id,
                name=entry.name,
                legal_form=entry.legal_form,
                social_purpose=entry.social_purpose,
                regions=entry.regions,
                cpv_codes=entry.cpv_codes,
                member_since=entry.admitted_at,
                quality_mark=_mark_of(entry),
            )
            for entry in found.entries
        ]
        return page_response(DirectoryPage, items, found.total, page, per_page, consistent)


class ApplicationsController(Controller):
    path = "/api/v1"
    tags = ["organisations"]

    @get(
        "/membership/applications",
        opt=rule(staff_only()),
        summary="The queue of membership applications, the longest-waiting first (staff)",
    )
    async def queue(
        self,
        engine: NamedDependency[AsyncEngine],
        reads: NamedDependency[ReadYourWrites],
        status: StatusParam = "pending",
        page: PageParam = 1,
        per_page: PerPageParam = 20,
        position: PositionParam = None,
    ) -> Response[ApplicationsPage]:
        consistent = await reads.after("applications", position)
        async with engine.connect() as connection:
            rows, total = await applications_queue(
                connection, status=status, limit=per_page, offset=(page - 1) * per_page
            )
        items = [application_view(row) for row in rows]
        return page_response(ApplicationsPage, items, total, page, per_page, consistent)
