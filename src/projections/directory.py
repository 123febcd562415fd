"""The member directory: admitted members, their regions and CPV codes; public reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.base import Projection
from projections.events import RecordedEvent
from projections.folding import insert_rows, load_rows, save_rows
from projections.tables import directory_member_cpv, directory_member_regions, directory_members

MEMBERS_KEY = "organisation_id"
# Members in good standing are listed: new, current, or in their grace period.
LISTED_STATUSES = frozenset({"new", "current", "grace"})
# Events that put an organisation in a fixed state.
_STATUS_AFTER = {
    "Organisation.MembershipApplied": "pending",
    "Organisation.MembershipAdmitted": "awaiting_first_payment",
    "Organisation.MembershipRejected": "rejected",
    "Organisation.MembershipApplicationWithdrawn": "withdrawn",
    "Organisation.Suspended": "suspended",
    "Organisation.Expelled": "expelled",
}
# Events that carry the state they lead to.
_STATUS_CARRIED = {"Organisation.StandingChanged", "Organisation.Reinstated"}
_HANDLED = {"Organisation.Registered", *_STATUS_AFTER, *_STATUS_CARRIED}


def cpv_stem(code: str) -> str:
    """The hierarchy prefix of a CPV code: its 8 digits without trailing zeros (at least 2)."""
    digits = code.split("-")[0]
    return digits.rstrip("0").ljust(2, "0")


class DirectoryProjection(Projection):
    name = "directory"
    logs = ("membership",)
    tables = (directory_member_cpv, directory_member_regions, directory_members)

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        relevant = [e for e in events if e.name in _HANDLED]
        if not relevant:
            return
        registered = {e.originator_id for e in relevant if e.name == "Organisation.Registered"}
        earlier = {e.originator_id for e in relevant} - registered
        rows = load_rows(connection, directory_members, MEMBERS_KEY, earlier)
        regions: list[dict[str, Any]] = []
        cpv_codes: list[dict[str, Any]] = []
        for event in relevant:
            org_id, data = event.originator_id, event.data
            if event.name == "Organisation.Registered":
                rows[org_id] = {
                    "organisation_id": org_id,
                    "name": data["name"],
                    "kind": data["kind"],
                    "legal_form": data["legal_form"],
                    "social_purpose": data["social_purpose"],
                    "status": "none",
                    "listed": False,
                    "registered_at": data["timestamp"],
                    "admitted_at": None,
                }
                # An aggregate's first event, applied once: its child rows are new.
                regions.extend({"organisation_id": org_id, "region": r} for r in data["regions"])
                cpv_codes.extend(
                    {"organisation_id": org_id, "cpv_code": c, "cpv_stem": cpv_stem(c)}
                    for c in data["cpv_codes"]
                )
                continue
            row = rows.get(org_id)
            if row is None:
                continue  # an event for an organisation registered before the log began
            if event.name in _STATUS_CARRIED:
                row["status"] = data["status"]
            else:
                row["status"] = _STATUS_AFTER[event.name]
            row["listed"] = row["status"] in LISTED_STATUSES
            if event.name == "Organisation.MembershipAdmitted":
                row["admitted_at"] = data["effective_at"]
        save_rows(connection, directory_members, MEMBERS_KEY, rows, created=registered)
        insert_rows(connection, directory_member_regions, regions)
        insert_rows(connection, directory_member_cpv, cpv_codes)


@dataclass(frozen=True)
class DirectoryEntry:
    organisation_id: UUID
    name: str
    legal_form: str
    social_purpose: str
    regions: list[str]
    cpv_codes: list[str]
    admitted_at: datetime | None


@dataclass(frozen=True)
class DirectoryPage:
    entries: list[DirectoryEntry]
    total: int


def _related_regions(code: str, parents: dict[str, str | None]) -> set[str]:
    """A region, the regions containing it and the regions inside it: all serve it."""
    related = {code}
    parent = parents.get(code)
    while parent:
        related.add(parent)
        parent = parents.get(parent)
    frontier = {code}
    while frontier:
        frontier = {child for child, up in parents.items() if up in frontier}
        related |= frontier
    return related


def _stem_prefixes(stem: str) -> list[str]:
    return [stem[:length] for length in range(2, len(stem) + 1)]


async def directory_page(
    connection: AsyncConnection,
    *,
    region: str | None,
    cpv_code: str | None,
    region_parents: dict[str, str | None],
    limit: int,
    offset: int,
) -> DirectoryPage:
    """Listed members, by name; a region or CPV filter matches up and down its hierarchy."""
    conditions: list[Any] = [directory_members.c.listed.is_(True)]
    if region is not None:
        conditions.append(
            exists().where(
                and_(
                    directory_member_regions.c.organisation_id
                    == directory_members.c.organisation_id,
                    directory_member_regions.c.region.in_(_related_regions(region, region_parents)),
                )
            )
        )
    if cpv_code is not None:
        stem = cpv_stem(cpv_code)
        conditions.append(
            exists().where(
                and_(
                    directory_member_cpv.c.organisation_id == directory_members.c.organisation_id,
                    or_(
                        directory_member_cpv.c.cpv_stem.startswith(stem, autoescape=True),
                        directory_member_cpv.c.cpv_stem.in_(_stem_prefixes(stem)),
                    ),
                )
            )
        )
    where = and_(*conditions)
    total = (
        await connection.execute(select(func.count()).select_from(directory_members).where(where))
    ).scalar_one()
    members = (
        await connection.execute(
            select(directory_members)
            .where(where)
            .order_by(directory_members.c.name, directory_members.c.organisation_id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    ids = [row.organisation_id for row in members]
    regions: dict[UUID, list[str]] = {key: [] for key in ids}
    codes: dict[UUID, list[str]] = {key: [] for key in ids}
    if ids:
        for row in await connection.execute(
            select(directory_member_regions)
            .where(directory_member_regions.c.organisation_id.in_(ids))
            .order_by(directory_member_regions.c.region)
        ):
            regions[row.organisation_id].append(row.region)
        for row in await connection.execute(
            select(directory_member_cpv)
            .where(directory_member_cpv.c.organisation_id.in_(ids))
            .order_by(directory_member_cpv.c.cpv_code)
        ):
            codes[row.organisation_id].append(row.cpv_code)
    return DirectoryPage(
        entries=[
            DirectoryEntry(
                organisation_id=row.organisation_id,
                name=row.name,
                legal_form=row.legal_form,
                social_purpose=row.social_purpose,
                regions=regions[row.organisation_id],
                cpv_codes=codes[row.organisation_id],
                admitted_at=row.admitted_at,
            )
            for row in members
        ],
        total=int(total),
    )
