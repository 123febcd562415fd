"""Procurement matching over HTTP (issue 14, ADR 29): a buyer's users (or staff) read which
members fit one of its tenders' lots, drafts too, and why; a member's users (or staff) read the
open lots that fit it, and why. Both are read from the matching projection, scored and cut to
the top `limit` in SQL; an excluded member is counted, never named. A member's open lots include
outside opportunities (issue 16), each with where it came from and the notice's link.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.matching_query import (
    LotMatches,
    Part,
    Parts,
    Recommendations,
    lot_matches,
    lot_of,
    recommended_lots,
)
from projections.matching_score import FORMULA
from sharedkernel.reference import itl_regions
from tradehall.api.access import own_organisation_or_staff, rule
from tradehall.api.commands import Commands
from tradehall.api.marketplace.schemas.matching import (
    ExcludedView,
    LotMatchesView,
    MemberMatchView,
    PartsView,
    PartView,
    RecommendationsView,
    RecommendationView,
)
from tradehall.api.read_models import ReadModel, read_model
from tradehall.api.reads import PositionParam, with_consistency
from tradehall.clock import Clock

# The projection whose tables these reads use (read-your-writes waits on it).
PROJECTION = "matching"

LimitParam = Annotated[
    int, QueryParameter(name="limit", ge=1, le=100, description="how many to rank (top N)")
]


@cache
def _parents() -> dict[str, str | None]:
    return {code: region.parent for code, region in itl_regions().items()}


def _parts(parts: Parts) -> PartsView:
    def view(part: Part) -> PartView:
        return PartView(points=part.points, max=part.max, detail=part.detail)

    return PartsView(
        cpv=view(parts.cpv),
        region=view(parts.region),
        mark=view(parts.mark),
        capacity=view(parts.capacity),
        track_record=view(parts.track_record),
        listings=view(parts.listings),
    )


async def _own_lot_matches(
    connection: AsyncConnection,
    organisation_id: UUID,
    tender_id: UUID,
    lot_id: str,
    clock: Clock,
    limit: int,
) -> LotMatches:
    """The best matches for a lot of one of the organisation's tenders; any other is a 404.
    Members' marks as they stand now (a mark past its `valid_until` is not held, though the
    marks clock has not yet recorded it): the clock is read once the read model has waited."""
    lot = await lot_of(connection, tender_id, lot_id)
    if lot is None or lot.buyer_id != organisation_id:
        raise NotFoundException(f"no tender {tender_id}")
    return await lot_matches(connection, lot, _parents(), limit, clock.now())


async def _recommended_now(
    connection: AsyncConnection, organisation_id: UUID, clock: Clock, limit: int
) -> Recommendations:
    """The organisation's recommended lots as of now: the clock is read here, once the read
    model has waited for the caller's write (a deadline passing during the wait counts)."""
    return await recommended_lots(connection, organisation_id, _parents(), clock.now(), limit)


class MatchingController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}"
    tags = ["matching"]
    dependencies = {"read_model": read_model(PROJECTION)}

    @get(
        "/tenders/{tender_id:uuid}/lots/{lot_id:str}/matches",
        opt=rule(own_organisation_or_staff()),
        summary="The members that best fit one of the organisation's tenders' lots, and why",
        description=(
            "Drafts too. Candidates: organisations ever admitted as members, never the buyer. "
            f"{FORMULA} Ranked: the top `limit` matching members not excluded; the excluded are "
            "counted by reason, never named. A tender or lot that is not the organisation's is "
            "a 404."
        ),
    )
    async def matches(
        self,
        commands: NamedDependency[Commands],
        read_model: NamedDependency[ReadModel],
        organisation_id: FromPath[UUID],
        tender_id: FromPath[UUID],
        lot_id: FromPath[str],
        limit: LimitParam = 20,
        position: PositionParam = None,
    ) -> Response[LotMatchesView]:
        found, consistent = await read_model.query(
            position, _own_lot_matches, organisation_id, tender_id, lot_id, commands.clock, limit
        )
        body = LotMatchesView(
            tender_id=tender_id,
            lot_id=lot_id,
            formula=FORMULA,
            members=[
                MemberMatchView(
                    rank=m.rank,
                    organisation_id=m.organisation_id,
                    name=m.name,
                    score=m.score,
                    parts=_parts(m.parts),
                )
                for m in found.members
            ],
            excluded=ExcludedView(
                total=found.excluded.total,
                not_in_good_standing=found.excluded.not_in_good_standing,
                no_quality_mark=found.excluded.no_quality_mark,
                outside_regions=found.excluded.outside_regions,
            ),
            consistent=consistent,
        )
        return with_consistency(body, consistent)

    @get(
        "/recommended-tenders",
        opt=rule(own_organisation_or_staff()),
        summary="The open tenders' lots that best fit the organisation, and why",
        description=(
            "Open: active, deadline ahead; never its own tenders; only lots it matches and is "
            "not excluded from. Outside opportunities (national portals' notices imported as "
            "OCDS, open likewise) are ranked with them: `source` names the publisher, `url` the "
            "notice, `ocid` and `vcse` (true, false, or null when not said) are theirs, and "
            "`buyer_id` is null. A member not in good standing gets none, and `standing` says "
            f"so. {FORMULA} Ties: score, cpv, region, then the earliest deadline."
        ),
    )
    async def recommended(
        self,
        commands: NamedDependency[Commands],
        read_model: NamedDependency[ReadModel],
        organisation_id: FromPath[UUID],
        limit: LimitParam = 20,
        position: PositionParam = None,
    ) -> Response[RecommendationsView]:
        found, consistent = await read_model.query(
            position, _recommended_now, organisation_id, commands.clock, limit
        )
        body = RecommendationsView(
            standing=found.standing,
            formula=FORMULA,
            items=[
                RecommendationView(
                    source=item.source,
                    tender_id=item.tender_id,
                    lot_id=item.lot_id,
                    tender_title=item.tender_title,
                    lot_title=item.lot_title,
                    buyer_id=item.buyer_id,
                    buyer_name=item.buyer_name,
                    deadline=item.deadline,
                    score=item.score,
                    parts=_parts(item.parts),
                    url=item.url,
                    ocid=item.ocid,
                    vcse=item.vcse,
                )
                for item in found.items
            ],
            consistent=consistent,
        )
        return with_consistency(body, consistent)


CONTROLLERS = (MatchingController,)
