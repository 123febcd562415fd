"""Reads of requests for quote (projections.quote_requests): an organisation's list and one
request, each shaped for who asks.

Who sees a request: staff, every one; an organisation, its own (as requester), those inviting
it, those it quoted on (once opened), and every open-audience request while it is open. Who
sees its invited list: the requester and staff only (`invited` is None for anyone else). The
requester's name is the one the tenders projection keeps for every organisation (as the impact
reports read it); None while the membership log has not been read that far.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.codes import in_cpv, in_regions, stated_codes
from projections.pages import Page, entry_of, equal_where_given, page_rows
from projections.quote_request_tables import (
    quote_request_cpv,
    quote_request_invitations,
    quote_request_quoters,
    quote_request_regions,
    quote_requests,
)
from projections.quote_requests import OPEN
from projections.tables import tender_buyers


@dataclass(frozen=True)
class Viewer:
    """Who asks: staff, or a user of an organisation (None: neither, who sees nothing)."""

    organisation_id: UUID | None = None
    staff: bool = False


@dataclass(frozen=True)
class Budget:
    currency: str
    min_minor: int | None
    max_minor: int | None


@dataclass(frozen=True)
class AcceptedQuote:
    quote_id: UUID
    supplier_id: UUID
    price_minor: int
    currency: str
    contract_id: UUID


@dataclass(frozen=True)
class QuoteRequestEntry:
    request_id: UUID
    requester_id: UUID
    requester_name: str | None
    title: str
    description: str
    cpv_codes: list[str]
    regions: list[str]
    budget: Budget | None
    # Every quote's (None only for a row kept before migration 0034 with no budget, until a
    # rebuild: projections.quote_request_tables).
    currency: str | None
    deadline: datetime
    period_start: datetime
    period_end: datetime
    audience: str
    status: str
    # Known once the quotes are opened (sealed until then): None before.
    quotes_count: int | None
    declined_count: int | None
    accepted: AcceptedQuote | None
    reason: str | None
    version: int
    posted_at: datetime
    updated_at: datetime
    # The invited organisations: for the requester and staff; None for anyone else.
    invited: list[UUID] | None


QuoteRequestsPage = Page[QuoteRequestEntry]


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """The requests `viewer` may see (see the module's doc)."""
    if viewer.staff:
        return true()
    org = viewer.organisation_id
    if org is None:
        return false()
    key = quote_requests.c.request_id
    invitations, quoters = quote_request_invitations, quote_request_quoters
    return or_(
        quote_requests.c.requester_id == org,
        and_(quote_requests.c.audience == "open", quote_requests.c.status == OPEN),
        exists().where(invitations.c.request_id == key, invitations.c.organisation_id == org),
        exists().where(quoters.c.request_id == key, quoters.c.organisation_id == org),
    )


async def quote_requests_for(
    connection: AsyncConnection,
    viewer: Viewer,
    *,
    status: str | None = None,
    cpv_code: str | None = None,
    region: str | None = None,
    region_parents: dict[str, str | None] | None = None,
    requester_id: UUID | None = None,
    limit: int,
    offset: int,
) -> QuoteRequestsPage:
    """The requests `viewer` may see, by deadline (soonest first); a CPV or region filter
    matches up and down its hierarchy, and a request naming no region (work anywhere) is found
    from every region, as on the tender board."""
    conditions: list[Any] = [
        visible_to(viewer),
        *equal_where_given(
            (quote_requests.c.status, status), (quote_requests.c.requester_id, requester_id)
        ),
    ]
    key = quote_requests.c.request_id
    if region is not None:
        names_regions = exists().where(quote_request_regions.c.request_id == key)
        conditions.append(
            or_(
                ~names_regions,
                in_regions(quote_request_regions, key, region, region_parents or {}),
            )
        )
    if cpv_code is not None:
        conditions.append(in_cpv(quote_request_cpv, key, cpv_code))
    return await _page(connection, viewer, and_(*conditions), limit, offset)


async def _page(
    connection: AsyncConnection, viewer: Viewer, where: Any, limit: int, offset: int
) -> QuoteRequestsPage:
    joined = quote_requests.outerjoin(
        tender_buyers, tender_buyers.c.organisation_id == quote_requests.c.requester_id
    )
    query = select(quote_requests, tender_buyers.c.name).select_from(joined)
    order = (quote_requests.c.deadline, quote_requests.c.request_id)
    # Counted over the requests alone: a request has one requester's name at most.
    rows, total = await page_rows(connection, query, quote_requests, where, order, limit, offset)
    ids = [row.request_id for row in rows]
    cpv, regions = await stated_codes(
        connection, "request_id", quote_request_cpv, quote_request_regions, ids
    )
    invited = await _invited(
        connection, [row.request_id for row in rows if _requester(viewer, row)]
    )
    return QuoteRequestsPage(
        entries=[
            _entry(row, cpv[row.request_id], regions[row.request_id], invited.get(row.request_id))
            for row in rows
        ],
        total=int(total),
    )


def _requester(viewer: Viewer, row: Any) -> bool:
    """Whether `viewer` sees the request's invited list: staff, and the requester."""
    return viewer.staff or (
        viewer.organisation_id is not None and row.requester_id == viewer.organisation_id
    )


async def _invited(connection: AsyncConnection, ids: list[UUID]) -> dict[UUID, list[UUID]]:
    found: dict[UUID, list[UUID]] = {i: [] for i in ids}
    if ids:
        table = quote_request_invitations
        for request_id, organisation_id in await connection.execute(
            select(table.c.request_id, table.c.organisation_id)
            .where(table.c.request_id.in_(ids))
            .order_by(table.c.organisation_id)
        ):
            found[request_id].append(organisation_id)
    return found


def _entry(
    row: Any, cpv: list[str], regions: list[str], invited: list[UUID] | None
) -> QuoteRequestEntry:
    budget = (
        None
        if row.budget_currency is None
        else Budget(row.budget_currency, row.budget_min_minor, row.budget_max_minor)
    )
    accepted = (
        None
        if row.accepted_quote_id is None
        else AcceptedQuote(
            row.accepted_quote_id,
            row.accepted_supplier_id,
            row.accepted_price_minor,
            row.accepted_currency,
            row.contract_id,
        )
    )
    return entry_of(
        QuoteRequestEntry,
        row,
        requester_name=row.name or None,
        cpv_codes=cpv,
        regions=regions,
        budget=budget,
        accepted=accepted,
        invited=invited,
    )
