"""The public member directory and the membership application views (read models)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, replace
from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncConnection

from membership.details import LegalForm
from projections.applications import ApplicationRow, applications_queue
from projections.directory import DirectoryEntry, directory_page
from projections.directory import DirectoryPage as PageFound
from projections.search import Cursor, SearchFilters, SearchHit, SearchPage, search_directory
from sharedkernel.text import TextRejected, clean_text
from tradehall.api.access import PUBLIC, rule, staff_only
from tradehall.api.membership.schemas.reads import (
    ApplicationsPage,
    ApplicationView,
    DirectoryMember,
    DirectoryPage,
    DirectorySearchPage,
    MarkFacet,
    MemberMark,
    SearchedMember,
    SearchFacets,
)
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
from tradehall.api.text_query import TextQueryParam, query_terms
from tradehall.clock import Clock

MarkParam = Annotated[
    Literal["valid", "suspended", "expired", "revoked", "withdrawn"] | None,
    QueryParameter(name="mark", description="holders of a quality mark in this status"),
]
StatusParam = Annotated[
    Literal["none", "pending", "admitted", "rejected", "withdrawn"],
    QueryParameter(name="status", description="which applications"),
]


LegalFormParam = Annotated[
    LegalForm | None, QueryParameter(name="legal_form", description="members of this legal form")
]
HoldsMarkParam = Annotated[
    bool | None,
    QueryParameter(
        name="mark", description="holders of a valid quality mark (true) or not (false)"
    ),
]
AfterParam = Annotated[
    str | None,
    QueryParameter(
        name="after", max_length=1000, description="the `next` of the previous page (opaque)"
    ),
]
SEARCH_DESCRIPTION = """\
Listed members (in good standing) only, as the directory. With `q`, the members whose name,
social purpose or published service listings hold every word of it, best first: `rank` says how
well (a word in the name counts most, then the social purpose, then a listing); a member's rank
depends only on its own text and the query, never on the other members, so pages stay put while
members join. Ties, and every page without `q`, go by name then id. `rank` compares within one
query on one store only (PostgreSQL's ts_rank, SQLite's field weights).

Filters, all applied together: `cpv` (a CPV code: matches up and down the tree, from the profile
and the published listings), `region` (an ITL code: up and down the tree), `legal_form`, `mark`
(true: holders of a valid quality mark; false: the others).

Pages are keyset pages: pass `next` as `after` for the following page (with the same query);
`next` is null on the last page. A cursor that is not one is a 400 naming `after`. `total` and
`facets` count the whole query (every filter applied): by legal form, by ITL1 region served (a
member counted once per ITL1 its regions fall in), by CPV division (two digits) and by mark."""


# A rank is stored and compared as a signed 64-bit integer (BIGINT on both stores).
_MIN_RANK, _MAX_RANK = -(2**63), 2**63 - 1


def _cursor_text(cursor: Cursor) -> str:
    data = {"r": cursor.rank, "n": cursor.name, "i": str(cursor.organisation_id)}
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_cursor(reason: str) -> ValidationException:
    return ValidationException(
        "after is not a cursor of this query",
        extra=[{"key": "after", "message": reason, "source": "query"}],
    )


def _cursor(after: str | None, ranked: bool) -> Cursor | None:
    """The cursor a previous page gave (with or without a text query, as this one)."""
    if after is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(after + "=" * (-len(after) % 4))
        data = json.loads(raw)
        rank, name, org = data["r"], data["n"], UUID(data["i"])
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError) as error:
        raise _bad_cursor("not a cursor this search gave") from error
    if not isinstance(name, str) or (type(rank) is not int if ranked else rank is not None):
        raise _bad_cursor("a cursor of another query")
    # The cursor is the client's text: held to what a column and a BIGINT hold, so a forged one
    # is this 400, not a store's error (a rank over 64 bits, a NUL, a lone surrogate).
    if rank is not None and not _MIN_RANK <= rank <= _MAX_RANK:
        raise _bad_cursor("not a cursor this search gave")
    try:
        clean_text(name)
    except TextRejected as error:
        raise _bad_cursor("not a cursor this search gave") from error
    return Cursor(rank=rank, name=name, organisation_id=org)


def _member_fields(entry: DirectoryEntry) -> dict[str, Any]:
    """What the directory and its search show of a member."""
    return {
        "id": entry.organisation_id,
        "name": entry.name,
        "legal_form": entry.legal_form,
        "social_purpose": entry.social_purpose,
        "regions": entry.regions,
        "cpv_codes": entry.cpv_codes,
        "member_since": entry.admitted_at,
        "quality_mark": _mark_of(entry),
    }


def _searched(hit: SearchHit) -> SearchedMember:
    return SearchedMember(**_member_fields(hit.entry), rank=hit.rank)


def application_view(row: ApplicationRow) -> ApplicationView:
    return ApplicationView(**asdict(row))


def _mark_of(entry: DirectoryEntry) -> MemberMark | None:
    if entry.certificate_number is None or entry.mark_status is None:
        return None
    return MemberMark(certificate_number=entry.certificate_number, status=entry.mark_status)


async def _directory_now(connection: AsyncConnection, /, clock: Clock, **query: Any) -> PageFound:
    """The directory's page, members' marks as they stand now (a mark past its `valid_until` is
    expired, though the marks clock has not yet recorded it): the clock is read here, once the
    read model has waited for the caller's write."""
    return await directory_page(connection, now=clock.now(), **query)


async def _search_now(
    connection: AsyncConnection,
    filters: SearchFilters,
    clock: Clock,
    *,
    after: Cursor | None,
    limit: int,
) -> SearchPage:
    """The search's page, marks as they stand now (as `_directory_now`)."""
    found: SearchPage = await search_directory(
        connection, replace(filters, now=clock.now()), after=after, limit=limit
    )
    return found


class DirectoryController(Controller):
    path = "/api/v1/directory"
    tags = ["directory"]

    @get(
        "/",
        opt=rule(PUBLIC),
        summary="Members of the association, by name",
        dependencies={"read_model": read_model("directory")},
    )
    async def directory(
        self,
        read_model: NamedDependency[ReadModel],
        clock: NamedDependency[Clock],
        region: RegionParam = None,
        cpv: CpvParam = None,
        mark: MarkParam = None,
        page: PageParam = 1,
        per_page: PerPageParam = 20,
        position: PositionParam = None,
    ) -> Response[DirectoryPage]:
        place = place_filter(cpv, region)
        paging = Paging(page, per_page)
        found, consistent = await read_model.query(
            position,
            _directory_now,
            clock,
            region=place.region,
            cpv_code=place.cpv_code,
            region_parents=place.region_parents,
            limit=paging.limit,
            offset=paging.offset,
            mark=mark,
        )
        items = [DirectoryMember(**_member_fields(entry)) for entry in found.entries]
        return paging.response(DirectoryPage, items, found.total, consistent)

    @get(
        "/search",
        opt=rule(PUBLIC),
        summary="Search the directory: words, filters, facets, keyset pages",
        description=SEARCH_DESCRIPTION,
        dependencies={"read_model": read_model("directory_search")},
    )
    async def search(
        self,
        read_model: NamedDependency[ReadModel],
        clock: NamedDependency[Clock],
        q: TextQueryParam = None,
        cpv: CpvParam = None,
        region: RegionParam = None,
        legal_form: LegalFormParam = None,
        mark: HoldsMarkParam = None,
        per_page: PerPageParam = 20,
        after: AfterParam = None,
        position: PositionParam = None,
    ) -> Response[DirectorySearchPage]:
        place = place_filter(cpv, region)
        terms = query_terms(q)
        cursor = _cursor(after, ranked=terms is not None)
        filters = SearchFilters(
            terms=terms,
            cpv_code=place.cpv_code,
            region=place.region,
            region_parents=place.region_parents,
            legal_form=None if legal_form is None else legal_form.value,
            mark=mark,
        )
        found, consistent = await read_model.query(
            position, _search_now, filters, clock, after=cursor, limit=per_page
        )
        facets = found.facets
        body = DirectorySearchPage(
            items=[_searched(hit) for hit in found.hits],
            next=None if found.next is None else _cursor_text(found.next),
            total=found.total,
            facets=SearchFacets(
                legal_form=facets.legal_form,
                region=facets.region,
                cpv_division=facets.cpv_division,
                mark=MarkFacet(held=facets.mark_held, not_held=facets.mark_not_held),
            ),
            consistent=consistent,
        )
        return with_consistency(body, consistent)


class ApplicationsController(Controller):
    path = "/api/v1"
    tags = ["organisations"]
    dependencies = {"read_model": read_model("applications")}

    @get(
        "/membership/applications",
        opt=rule(staff_only()),
        summary="The queue of membership applications, the longest-waiting first (staff)",
    )
    async def queue(
        self,
        read_model: NamedDependency[ReadModel],
        status: StatusParam = "pending",
        page: PageParam = 1,
        per_page: PerPageParam = 20,
        position: PositionParam = None,
    ) -> Response[ApplicationsPage]:
        paging = Paging(page, per_page)
        (rows, total), consistent = await read_model.query(
            position, applications_queue, status=status, limit=paging.limit, offset=paging.offset
        )
        items = [application_view(row) for row in rows]
        return paging.response(ApplicationsPage, items, total, consistent)
