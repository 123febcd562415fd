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
from sharedkernel.reference import canonical_cpv, canonical_region, itl_regions
from tradehall.api.access import PUBLIC, rule, staff_only
from tradehall.api.membership.schemas.reads import (
    ApplicationsPage,
    ApplicationView,
    DirectoryMember,
    DirectoryPage,
    MemberMark,
)
from tradehall.api.reads import (
    PageParam,
    PerPageParam,
    PositionParam,
    ReadYourWrites,
    with_consistency,
)

RegionParam = Annotated[
    str | None,
    QueryParameter(
        name="region", max_length=10, description="ITL code; matches up and down the tree"
    ),
]
CpvParam = Annotated[
    str | None,
    QueryParameter(name="cpv", max_length=12, description="CPV code; matches up and down the tree"),
]
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
        region_code = canonical_region(region, field="region") if region else None
        cpv_code = canonical_cpv(cpv, field="cpv") if cpv else None
        consistent = await reads.after("directory", position)
        parents = {code: r.parent for code, r in itl_regions().items()}
        async with engine.connect() as connection:
            found = await directory_page(
                connection,
                region=region_code,
                cpv_code=cpv_code,
                region_parents=parents,
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
                quality_mark=(
                    MemberMark(
                        certificate_number=entry.certificate_number, status=entry.mark_status
                    )
                    if entry.certificate_number is not None and entry.mark_status is not None
                    else None
                ),
            )
            for entry in found.entries
        ]
        body = DirectoryPage(
            items=items, total=found.total, page=page, per_page=per_page, consistent=consistent
        )
        return with_consistency(body, consistent)


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
        body = ApplicationsPage(
            items=[application_view(row) for row in rows],
            total=total,
            page=page,
            per_page=per_page,
            consistent=consistent,
        )
        return with_consistency(body, consistent)
