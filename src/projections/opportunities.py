"""Outside opportunities (issue 16): each imported ocid as its merged releases show it, with its
CPV codes and ITL regions, for the opportunities board (marketplace log).

An event never stops the projection (ADR 16): a summary that is not what the domain writes is
left out with a log line (the opportunity keeps what it showed); text is made storable by
`projections.folding`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import ColumnElement, Connection, and_, exists, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.base import Projection
from projections.codes import in_cpv, in_regions, replace_codes, stated_codes
from projections.events import RecordedEvent, leave_out
from projections.folding import Row, load_touched, save_rows
from projections.opportunity_tables import (
    outside_opportunities,
    outside_opportunity_cpv,
    outside_opportunity_regions,
)
from projections.pages import Page, entry_of, page_rows

IMPORTED = "Opportunity.Imported"
MERGED = "Opportunity.ReleaseMerged"
_MAX_BIGINT = 2**63 - 1
# The read model's column sizes: longer text is cut, as the domain cuts it.
_TITLE, _NAME, _SOURCE, _OCID = 300, 300, 200, 200


class StoredSummary(msgspec.Struct):
    """An opportunity's summary as the domain writes it (Summary.as_data)."""

    title: str
    description: str
    buyer_name: str | None
    status: str | None
    deadline: datetime | None
    amount: str | None
    currency: str | None
    cpv_codes: list[str]
    regions: list[str]
    unresolved_regions: list[str]
    vcse: bool | None
    url: str | None


@dataclass(frozen=True)
class _Codes:
    cpv_codes: list[str]
    regions: list[str]


def amount_minor(amount: str | None) -> int | None:
    """A published amount (decimal text, major units) in minor units, rounded half up; None if
    there is none or it is not a non-negative amount Decimal can hold."""
    if amount is None:
        return None
    try:
        minor = (Decimal(amount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    # ArithmeticError: InvalidOperation, and Overflow (1E+999999999 written by another writer).
    except (ArithmeticError, ValueError):
        return None
    return int(minor) if minor.is_finite() and minor >= 0 else None


def _minor(amount: str | None) -> int | None:
    minor = amount_minor(amount)
    return minor if minor is not None and minor <= _MAX_BIGINT else None


def _columns(summary: StoredSummary) -> Row:
    status = summary.status if summary.status and len(summary.status) <= 20 else None
    deadline = summary.deadline
    if deadline is not None and deadline.tzinfo is None:
        deadline = None
    return {
        "title": summary.title[:_TITLE],
        "description": summary.description,
        "buyer_name": summary.buyer_name[:_NAME] if summary.buyer_name else None,
        "status": status,
        "deadline": deadline,
        "amount": summary.amount[:40] if summary.amount else None,
        "value_minor": _minor(summary.amount),
        "currency": summary.currency if summary.currency and len(summary.currency) == 3 else None,
        "vcse": summary.vcse,
        "url": summary.url,
        "unresolved_regions": json.dumps(summary.unresolved_regions, ensure_ascii=False),
    }


class OpportunitiesProjection(Projection):
    """Outside opportunities (see the module's doc)."""

    name = "opportunities"
    logs = ("marketplace",)
    tables = (outside_opportunity_cpv, outside_opportunity_regions, outside_opportunities)

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        relevant = [e for e in events if e.name in (IMPORTED, MERGED)]
        if not relevant:
            return
        table = outside_opportunities
        rows, created = load_touched(connection, table, "opportunity_id", relevant, IMPORTED)
        codes: dict[UUID, _Codes] = {}
        for event in relevant:
            opportunity_id, data = event.originator_id, event.data
            at = data.get("timestamp")
            try:
                summary = msgspec.convert(data["summary"], StoredSummary)
                if not isinstance(at, datetime):
                    raise ValueError("it has no time")
            except (KeyError, TypeError, ValueError, msgspec.ValidationError) as error:
                leave_out(
                    "opportunities", event, error, text="%(reader)s: %(event)r left out (%(why)s)"
                )
                if event.name == IMPORTED:
                    created.discard(opportunity_id)
                continue
            if event.name == IMPORTED:
                rows[opportunity_id] = {
                    "opportunity_id": opportunity_id,
                    "ocid": str(data.get("ocid") or opportunity_id)[:_OCID],
                    "source": str(data.get("source") or "unknown")[:_SOURCE],
                    "releases": 1,
                    "imported_at": at,
                }
            row = rows.get(opportunity_id)
            if row is None:  # imported before the log began, or its import was left out
                continue
            if event.name == MERGED:
                row["releases"] += 1
            row.update(_columns(summary))
            row["version"] = event.originator_version
            row["updated_at"] = at
            codes[opportunity_id] = _Codes(summary.cpv_codes, summary.regions)
        created &= set(rows)
        save_rows(connection, outside_opportunities, "opportunity_id", rows, created=created)
        replace_codes(
            connection,
            "opportunity_id",
            outside_opportunity_cpv,
            outside_opportunity_regions,
            {k: v for k, v in codes.items() if k in rows},
            created,
        )


# Reads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpportunityEntry:
    opportunity_id: UUID
    ocid: str
    source: str
    title: str
    description: str
    buyer_name: str | None
    status: str | None
    deadline: datetime | None
    amount: str | None
    currency: str | None
    vcse: bool | None
    url: str | None
    cpv_codes: list[str]
    regions: list[str]
    unresolved_regions: list[str]
    releases: int
    version: int
    updated_at: datetime

    def is_open(self, now: datetime) -> bool:
        return self.status == "active" and self.deadline is not None and self.deadline > now


OpportunitiesPage = Page[OpportunityEntry]


def _open(now: datetime) -> ColumnElement[bool]:
    table = outside_opportunities
    return and_(table.c.status == "active", table.c.deadline > now)


async def opportunity_board(
    connection: AsyncConnection,
    *,
    now: datetime,
    open_only: bool | None,
    vcse: str | None,
    cpv_code: str | None,
    region: str | None,
    region_parents: dict[str, str | None],
    source: str | None,
    limit: int,
    offset: int,
) -> OpportunitiesPage:
    """Outside opportunities, soonest deadline first (none last). `open_only` True: active with
    the deadline ahead; False: the others. `vcse`: "yes", "no" or "unknown". CPV and region
    filters match up and down their hierarchies; an opportunity naming no place is found from
    every region, one naming only places not read as ITL from none."""
    table = outside_opportunities
    conditions: list[Any] = []
    if open_only is True:
        conditions.append(_open(now))
    elif open_only is False:
        # Not open: another status, or no deadline (NULL would make `NOT open` unknown).
        conditions.append(
            or_(
                table.c.status.is_(None),
                table.c.status != "active",
                table.c.deadline.is_(None),
                table.c.deadline <= now,
            )
        )
    if vcse == "yes":
        conditions.append(table.c.vcse.is_(True))
    elif vcse == "no":
        conditions.append(table.c.vcse.is_(False))
    elif vcse == "unknown":
        conditions.append(table.c.vcse.is_(None))
    if source is not None:
        conditions.append(table.c.source == source)
    if cpv_code is not None:
        conditions.append(in_cpv(outside_opportunity_cpv, table.c.opportunity_id, cpv_code))
    if region is not None:
        regions = outside_opportunity_regions
        # One naming no place is open anywhere; one naming only places not read as ITL is
        # somewhere unknown, found by no region (as matching scores it).
        names_regions = exists().where(regions.c.opportunity_id == table.c.opportunity_id)
        anywhere = and_(~names_regions, table.c.unresolved_regions == "[]")
        conditions.append(
            or_(anywhere, in_regions(regions, table.c.opportunity_id, region, region_parents))
        )
    where = and_(true(), *conditions)
    order = (table.c.deadline.is_(None), table.c.deadline, table.c.opportunity_id)
    rows, total = await page_rows(connection, select(table), table, where, order, limit, offset)
    return OpportunitiesPage(await _entries(connection, rows), total)


async def opportunity(connection: AsyncConnection, opportunity_id: UUID) -> OpportunityEntry | None:
    table = outside_opportunities
    rows = (
        await connection.execute(select(table).where(table.c.opportunity_id == opportunity_id))
    ).all()
    found = await _entries(connection, rows)
    return found[0] if found else None


async def _entries(connection: AsyncConnection, rows: Sequence[Any]) -> list[OpportunityEntry]:
    ids = [row.opportunity_id for row in rows]
    cpv, regions = await stated_codes(
        connection, "opportunity_id", outside_opportunity_cpv, outside_opportunity_regions, ids
    )
    return [
        entry_of(
            OpportunityEntry,
            row,
            cpv_codes=cpv.get(row.opportunity_id, []),
            regions=regions.get(row.opportunity_id, []),
            unresolved_regions=json.loads(row.unresolved_regions),
        )
        for row in rows
    ]
