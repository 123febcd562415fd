"""Outside opportunities over HTTP (issue 16): the national portals' tenders imported as OCDS
(`tradehall import ocds`, or the feed), on a public board with the tender board's filters and
the VCSE flag; each links to where it came from."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter

from projections.opportunities import OpportunityEntry, opportunity, opportunity_board
from tradehall.api.access import PUBLIC, rule
from tradehall.api.marketplace.schemas.opportunities import OpportunitiesPage, OpportunityView
from tradehall.api.read_models import Paging, ReadModel, read_model
from tradehall.api.reads import (
    CpvParam,
    PageParam,
    PerPageParam,
    PositionParam,
    RegionParam,
    place_filter,
    with_consistency,
)
from tradehall.clock import Clock

# The projection whose tables these reads use (read-your-writes waits on it).
PROJECTION = "opportunities"

OpenParam = Annotated[
    bool | None,
    QueryParameter(
        name="open",
        description="true: active with the deadline ahead; false: the others; absent: all",
    ),
]
VcseParam = Annotated[
    Literal["yes", "no", "unknown"] | None,
    QueryParameter(
        name="vcse",
        description="flagged suitable for VCSEs (yes), flagged not (no), or not said (unknown)",
    ),
]
SourceParam = Annotated[
    str | None,
    QueryParameter(name="source", max_length=200, description="the publisher, as `source`"),
]


def _view(entry: OpportunityEntry, now: datetime) -> OpportunityView:
    return OpportunityView(
        id=entry.opportunity_id,
        ocid=entry.ocid,
        source=entry.source,
        url=entry.url,
        title=entry.title,
        description=entry.description,
        buyer_name=entry.buyer_name,
        status=entry.status,
        open=entry.is_open(now),
        deadline=entry.deadline,
        amount=entry.amount,
        currency=entry.currency,
        vcse=entry.vcse,
        cpv_codes=entry.cpv_codes,
        regions=entry.regions,
        unresolved_regions=entry.unresolved_regions,
        releases=entry.releases,
        version=entry.version,
        updated_at=entry.updated_at,
    )


class OpportunitiesController(Controller):
    path = "/api/v1/opportunities"
    tags = ["outside opportunities"]
    dependencies = {"read_model": read_model(PROJECTION)}

    @get(
        "",
        opt=rule(PUBLIC),
        summary="Outside opportunities: national portals' tenders, soonest deadline first",
        description=(
            "Imported as OCDS releases. `cpv` and `region` match up and down their hierarchies "
            "(one naming no region is found from every region); `open`, `vcse` and `source` "
            "filter. Each links to its notice (`url`) and says where it came from (`source`)."
        ),
    )
    async def board(
        self,
        clock: NamedDependency[Clock],
        read_model: NamedDependency[ReadModel],
        cpv: CpvParam = None,
        region: RegionParam = None,
        open: OpenParam = None,
        vcse: VcseParam = None,
        source: SourceParam = None,
        page: PageParam = 1,
        per_page: PerPageParam = 20,
        position: PositionParam = None,
    ) -> Response[OpportunitiesPage]:
        paging = Paging(page, per_page)
        place = place_filter(cpv, region)
        now = clock.now()
        found, consistent = await read_model.query(
            position,
            opportunity_board,
            now=now,
            open_only=open,
            vcse=vcse,
            cpv_code=place.cpv_code,
            region=place.region,
            region_parents=place.region_parents,
            source=source,
            limit=paging.limit,
            offset=paging.offset,
        )
        items = [_view(entry, now) for entry in found.entries]
        return paging.response(OpportunitiesPage, items, found.total, consistent)

    @get(
        "/{opportunity_id:uuid}",
        opt=rule(PUBLIC),
        summary="One outside opportunity",
    )
    async def one(
        self,
        clock: NamedDependency[Clock],
        read_model: NamedDependency[ReadModel],
        opportunity_id: FromPath[UUID],
        position: PositionParam = None,
    ) -> Response[OpportunityView]:
        found, consistent = await read_model.query(position, opportunity, opportunity_id)
        if found is None:
            raise NotFoundException(f"no opportunity {opportunity_id}")
        return with_consistency(_view(found, clock.now()), consistent)


CONTROLLERS = (OpportunitiesController,)
