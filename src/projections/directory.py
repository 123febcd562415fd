"""The member directory: admitted members, their regions and CPV codes; public reads."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table, and_, exists, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection

from membership.marks.mark import MarkStatus
from projections.base import RowPerAggregate
from projections.codes import cpv_rows, in_cpv, in_regions, region_rows
from projections.events import RecordedEvent
from projections.folding import Row
from projections.mark_query import mark_held_at, mark_status_at
from projections.membership_status import (
    STANDING_DATE_EVENTS,
    STATUS_EVENTS,
    UNREADABLE,
    registered_row,
    standing_dates,
    status_after,
)
from projections.pages import Page
from projections.standing_query import listed_at
from projections.tables import (
    directory_member_cpv,
    directory_member_regions,
    directory_members,
    quality_marks,
)

# Members in good standing are listed: new, current, or in their grace period.
LISTED_STATUSES = frozenset({"new", "current", "grace"})
# The organisation's profile, whole: name, social purpose, regions and CPV codes replaced.
PROFILE_UPDATED = "Organisation.ProfileUpdated"


class DirectoryProjection(RowPerAggregate):
    name = "directory"
    logs = ("membership",)
    table = directory_members
    child_tables = (directory_member_cpv, directory_member_regions)
    created_by = "Organisation.Registered"
    changed_by = STATUS_EVENTS | STANDING_DATE_EVENTS | {PROFILE_UPDATED}

    def create(self, event: RecordedEvent) -> Row:
        data = event.data
        return registered_row(event) | {
            "social_purpose": data["social_purpose"],
            "status": "none",
            "listed": False,
            "registered_at": data["timestamp"],
            "admitted_at": None,
            "lapses_at": None,
            "resigns_at": None,
        }

    def children(self, event: RecordedEvent) -> Iterable[tuple[Table, Iterable[Row]]]:
        return _codes(event)

    def replaced_children(self, event: RecordedEvent) -> Iterable[tuple[Table, Iterable[Row]]]:
        return _codes(event) if event.name == PROFILE_UPDATED else ()

    def change(self, row: Row, event: RecordedEvent) -> None:
        if event.name == PROFILE_UPDATED:
            row["name"] = event.data["name"]
            row["social_purpose"] = event.data["social_purpose"]
            return
        if event.name in STANDING_DATE_EVENTS:
            row.update(standing_dates(self.name, event))
            return
        status = status_after(event.name, event.data)
        if status == UNREADABLE:
            raise ValueError(f"{event.name} says no status")  # left out (RowPerAggregate)
        row["status"] = status
        row["listed"] = status in LISTED_STATUSES
        if event.name == "Organisation.MembershipAdmitted":
            row["admitted_at"] = event.data["effective_at"]


def _codes(event: RecordedEvent) -> Iterable[tuple[Table, Iterable[Row]]]:
    """The regions and CPV codes an event states (a registration, a profile), as child rows."""
    org_id, data = event.originator_id, event.data
    yield directory_member_regions, region_rows("organisation_id", org_id, _texts(data["regions"]))
    yield directory_member_cpv, cpv_rows("organisation_id", org_id, _texts(data["cpv_codes"]))


def _texts(value: Any) -> list[str]:
    """A list of codes as an event states it; TypeError (the event is left out) if it is no
    list. (A code that is not text fails its row's check or its stem: left out too.)"""
    if type(value) is not list:
        raise TypeError(f"not a list of codes: {value!r}")
    return value


@dataclass(frozen=True)
class DirectoryEntry:
    organisation_id: UUID
    name: str
    legal_form: str
    social_purpose: str
    regions: list[str]
    cpv_codes: list[str]
    admitted_at: datetime | None
    # The quality mark, from its register (projections.marks), if the member holds one.
    mark_status: str | None = None
    certificate_number: str | None = None


# The entry's fields that are columns of the members' table.
_ENTRY_COLUMNS = ("organisation_id", "name", "legal_form", "social_purpose", "admitted_at")


def directory_entry(row: Any) -> DirectoryEntry:
    """A member's entry from a row of the directory's or the search's read: the entry's
    columns, its codes gathered as `region` and `cpv_code`, and its mark's status and number."""
    return DirectoryEntry(
        **{name: row._mapping[name] for name in _ENTRY_COLUMNS},
        regions=codes_of(row.region),
        cpv_codes=codes_of(row.cpv_code),
        mark_status=row.mark_status,
        certificate_number=row.certificate_number,
    )


DirectoryPage = Page[DirectoryEntry]


async def directory_page(
    connection: AsyncConnection,
    *,
    region: str | None,
    cpv_code: str | None,
    region_parents: dict[str, str | None],
    limit: int,
    offset: int,
    mark: str | None = None,
    now: datetime | None = None,
) -> DirectoryPage:
    """Listed members, by name; a region or CPV filter matches up and down its hierarchy; a
    mark filter keeps the holders of a quality mark in that status. A member's good standing
    and a mark's status are as they stand at `now` (projections.standing_query: lapsed once
    its grace has run out, before the membership clock records it; projections.mark_query:
    expired from its `valid_until` on, before the marks clock records it); without `now`, as
    recorded.

    One query: the page with the count of every match beside it (a window function), each
    member's regions and CPV codes gathered in it, and its quality mark joined. Only a page past
    the last match, which has no row to carry the count, asks for the count alone.
    """
    conditions: list[Any] = [listed_at(directory_members, now)]
    status = quality_marks.c.status if now is None else mark_status_at(now)
    if mark is not None:
        in_status = (
            mark_held_at(now) if now is not None and mark == MarkStatus.VALID else status == mark
        )
        conditions.append(
            exists().where(
                and_(
                    quality_marks.c.organisation_id == directory_members.c.organisation_id,
                    in_status,
                )
            )
        )
    key = directory_members.c.organisation_id
    if region is not None:
        conditions.append(in_regions(directory_member_regions, key, region, region_parents))
    if cpv_code is not None:
        conditions.append(in_cpv(directory_member_cpv, key, cpv_code))
    where = and_(*conditions)
    page = (
        select(
            *(directory_members.c[name] for name in _ENTRY_COLUMNS),
            func.count().over().label("total"),
        )
        .where(where)
        .order_by(directory_members.c.name, directory_members.c.organisation_id)
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    dialect = connection.dialect.name
    query = (
        select(
            *(page.c[name] for name in _ENTRY_COLUMNS),
            page.c.total,
            gathered(dialect, directory_member_regions, "region", page.c.organisation_id),
            gathered(dialect, directory_member_cpv, "cpv_code", page.c.organisation_id),
            status.label("mark_status"),
            quality_marks.c.certificate_number,
        )
        .select_from(
            page.outerjoin(quality_marks, quality_marks.c.organisation_id == page.c.organisation_id)
        )
        .order_by(page.c.name, page.c.organisation_id)
    )
    rows = (await connection.execute(query)).all()
    if rows:
        total = rows[0].total
    elif offset:
        count = select(func.count()).select_from(directory_members).where(where)
        total = (await connection.execute(count)).scalar_one()
    else:
        total = 0
    return DirectoryPage(
        entries=[directory_entry(row) for row in rows],
        total=int(total),
    )


def gathered(dialect: str, table: Table, code: str, owner: Any, *only: Any) -> Any:
    """The owner's codes in `table` (its column `code`; only the rows `only` keeps), in order,
    as one value labelled `code`: an array on PostgreSQL, a JSON array on SQLite (NULL or an
    empty array for none)."""
    column = table.c[code]
    mine = and_(table.c.organisation_id == owner, *only)
    if dialect == "postgresql":
        codes = select(func.array_agg(aggregate_order_by(column, column))).where(mine)
    else:
        # Correlated by name: SQLAlchemy leaves a subquery in FROM uncorrelated otherwise.
        ordered = select(column).where(mine).order_by(column).correlate(owner.table).subquery()
        codes = select(func.json_group_array(ordered.c[code]))
    return codes.scalar_subquery().label(code)


def codes_of(value: Any) -> list[str]:
    """The codes `gathered` read: a list (PostgreSQL), JSON text (SQLite) or NULL."""
    if value is None:
        return []
    if isinstance(value, str):
        return list(json.loads(value))
    return list(value)
