"""Reading the OCDS releases (projections.ocds): a page of them by date, an ocid's record.

Only a public body's releases are served (a business's tenders never are): decided here, by
the buyer's kind. A release is its stored body with its parties and the buyer's name added, as
the organisations now stand. A record's compiled and versioned releases are made by the
standard's own merge library (ocdsmerge), with the patched release schema
(sharedkernel.reference.ocds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.ocds_tables import ocds_organisations, ocds_releases

PUBLIC_BODY = "public_body"


@dataclass(frozen=True)
class ReleaseAt:
    """Where a release stands in date order: its date, then its place in the log."""

    date: datetime
    position: int


@dataclass(frozen=True)
class ReleasePage:
    releases: list[dict[str, Any]]
    # The last release's place when there may be more (the next page starts after it).
    last: ReleaseAt | None


def _published() -> Select[Any]:
    buyer = ocds_organisations
    public_body = exists().where(
        buyer.c.organisation_id == ocds_releases.c.buyer_id, buyer.c.kind == PUBLIC_BODY
    )
    return select(
        ocds_releases.c.date,
        ocds_releases.c.position,
        ocds_releases.c.organisations,
        ocds_releases.c.body,
    ).where(public_body)


async def release_page(
    connection: AsyncConnection,
    *,
    since: datetime | None,
    until: datetime | None,
    after: ReleaseAt | None,
    limit: int,
) -> ReleasePage:
    """Public releases dated from `since` (inclusive) to `until` (exclusive), in date order,
    after `after`; at most `limit`."""
    query = _published()
    if since is not None:
        query = query.where(ocds_releases.c.date >= since)
    if until is not None:
        query = query.where(ocds_releases.c.date < until)
    if after is not None:
        query = query.where(
            or_(
                ocds_releases.c.date > after.date,
                and_(ocds_releases.c.date == after.date, ocds_releases.c.position > after.position),
            )
        )
    order = (ocds_releases.c.date, ocds_releases.c.position)
    rows = (await connection.execute(query.order_by(*order).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    releases = await _served(connection, rows)
    last = ReleaseAt(rows[-1].date, rows[-1].position) if more and rows else None
    return ReleasePage(releases, last)


async def record_releases(connection: AsyncConnection, ocid: str) -> list[dict[str, Any]]:
    """An ocid's public releases, oldest first (none: no such public process)."""
    query = _published().where(ocds_releases.c.ocid == ocid)
    order = (ocds_releases.c.date, ocds_releases.c.position)
    rows = (await connection.execute(query.order_by(*order))).all()
    return await _served(connection, rows)


async def _served(connection: AsyncConnection, rows: Any) -> list[dict[str, Any]]:
    named = [[UUID(o) for o in json.loads(row.organisations)] for row in rows]
    wanted = {o for ids in named for o in ids}
    history: dict[UUID, list[Any]] = {}
    if wanted:
        table = ocds_organisations
        query = select(table).where(table.c.organisation_id.in_(wanted)).order_by(table.c.version)
        for found in await connection.execute(query):
            history.setdefault(found.organisation_id, []).append(found)
    served = []
    for row, ids in zip(rows, named, strict=True):
        as_then = {o: _as_of(history.get(o, []), row.date) for o in ids}
        served.append(_with_parties(json.loads(row.body), ids, as_then))
    return served


def _as_of(history: list[Any], date: datetime) -> Any:
    """The organisation as it stood on a release's date: a release never changes once made."""
    stood = None
    for row in history:
        if row.since <= date or stood is None:
            stood = row
        else:
            break
    return stood


def _with_parties(
    release: dict[str, Any], ids: list[UUID], organisations: dict[UUID, Any]
) -> dict[str, Any]:
    """The release with its parties (the buyer first, then the suppliers it names) and every
    reference to them named."""
    buyer, suppliers = ids[0], ids[1:]
    parties = [_party(buyer, organisations.get(buyer), ["buyer", "procuringEntity"])]
    parties += [_party(s, organisations.get(s), ["supplier"]) for s in suppliers]
    names = {party["id"]: party["name"] for party in parties}
    release["parties"] = parties
    release["buyer"] = {"id": str(buyer), "name": names[str(buyer)]}
    for award in release.get("awards", []):
        for supplier in award.get("suppliers", []):
            supplier["name"] = names.get(supplier["id"], supplier["id"])
    return release


def _party(organisation_id: UUID, row: Any, roles: list[str]) -> dict[str, Any]:
    name = row.name if row is not None and row.name else str(organisation_id)
    party: dict[str, Any] = {"id": str(organisation_id), "name": name, "roles": roles}
    if row is not None and row.scheme and row.identifier:
        party["identifier"] = {"scheme": row.scheme, "id": row.identifier, "legalName": name}
    return party
