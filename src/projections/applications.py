"""Membership applications: the staff queue (oldest first) and each applicant's own status."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row as SqlRow
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.base import RowPerAggregate
from projections.events import RecordedEvent
from projections.folding import Row
from projections.membership_status import registered_row
from projections.pages import page_rows
from projections.tables import membership_applications

_DECISIONS = {
    "Organisation.MembershipAdmitted": "admitted",
    "Organisation.MembershipRejected": "rejected",
    "Organisation.MembershipApplicationWithdrawn": "withdrawn",
}
# A profile change renames the applicant (and moves its version on).
_PROFILE_UPDATED = "Organisation.ProfileUpdated"


class ApplicationsProjection(RowPerAggregate):
    name = "applications"
    logs = ("membership",)
    table = membership_applications
    created_by = "Organisation.Registered"
    changed_by = frozenset({"Organisation.MembershipApplied", _PROFILE_UPDATED, *_DECISIONS})

    def create(self, event: RecordedEvent) -> Row:
        return registered_row(event) | {
            "status": "none",
            "applied_at": None,
            "decided_at": None,
            "decided_by": None,
            "rejection_reason": None,
            "version": event.originator_version,
        }

    def change(self, row: Row, event: RecordedEvent) -> None:
        data = event.data
        row["version"] = event.originator_version
        if event.name == _PROFILE_UPDATED:
            row["name"] = data["name"]
        elif event.name == "Organisation.MembershipApplied":
            row.update(
                status="pending",
                applied_at=data["timestamp"],
                decided_at=None,
                decided_by=None,
                rejection_reason=None,
            )
        else:
            row.update(
                status=_DECISIONS[event.name],
                decided_at=data["timestamp"],
                decided_by=data["actor"],
                rejection_reason=data.get("reason"),
            )


@dataclass(frozen=True)
class ApplicationRow:
    organisation_id: UUID
    name: str
    kind: str
    legal_form: str
    status: str
    applied_at: datetime | None
    decided_at: datetime | None
    rejection_reason: str | None
    version: int


_FIELDS = [field.name for field in fields(ApplicationRow)]


def _row(row: SqlRow[Any]) -> ApplicationRow:
    return ApplicationRow(**{name: row._mapping[name] for name in _FIELDS})


async def applications_queue(
    connection: AsyncConnection, *, status: str, limit: int, offset: int
) -> tuple[list[ApplicationRow], int]:
    """Applications in a status, the longest-waiting first."""
    table = membership_applications
    rows, total = await page_rows(
        connection,
        select(table),
        table,
        table.c.status == status,
        (table.c.applied_at, table.c.organisation_id),
        limit,
        offset,
    )
    return [_row(row) for row in rows], total


async def application_of(
    connection: AsyncConnection, organisation_id: UUID
) -> ApplicationRow | None:
    row = (
        await connection.execute(
            select(membership_applications).where(
                membership_applications.c.organisation_id == organisation_id
            )
        )
    ).first()
    return _row(row) if row is not None else None
