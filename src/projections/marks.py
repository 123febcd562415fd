"""The quality mark's read side: the register of marks (a mark's status, validity and causes)
and the applications (the staff queue by stage and waiting time, assessors' assignments).

Both follow the marks log. A mark's status is derived from its flags by the domain's own
`mark_status`, not restated here. An event never stops either projection (ADR 16): text is
made storable by `projections.folding`; a mark that would clash with an earlier one on its
organisation or its certificate number (the register's unique columns), which the domain
never records but another writer could, is left out with a log line rather than failing the
projection forever, so the first mark by log position keeps its row, on a rebuild too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, or_, select

from membership.marks.assessment import Stage
from membership.marks.mark import SuspensionCause, mark_status
from projections.base import RowPerAggregate
from projections.events import EVENT_THEN_WHY, RecordedEvent, leave_out
from projections.folding import Row, storable
from projections.tables import mark_applications, quality_marks

AWARDED = "QualityMark.Awarded"
# The mark's later events that change its row (RenewalDue changes nothing it holds).
_MARK_CHANGES = frozenset(
    {
        "QualityMark.Renewed",
        "QualityMark.Expired",
        "QualityMark.Suspended",
        "QualityMark.SuspensionLifted",
        "QualityMark.Withdrawn",
        "QualityMark.Revoked",
    }
)
_SUSPENDED_BY = {
    SuspensionCause.STAFF.value: "staff_suspended",
    SuspensionCause.MEMBERSHIP.value: "membership_suspended",
}
_CERTIFICATE_LENGTH = 40  # quality_marks.certificate_number's


def _with_status(row: Row) -> Row:
    row["status"] = mark_status(
        revoked=row["revoked"],
        withdrawn=row["withdrawn"],
        expired=row["expired"],
        suspended=row["staff_suspended"] or row["membership_suspended"],
    ).value
    return row


def _suspension_flag(event: RecordedEvent) -> str | None:
    """The row's flag for a suspension's cause; None (logged) for a cause it does not know."""
    flag = _SUSPENDED_BY.get(str(event.data.get("cause")))
    if flag is None:
        leave_out("quality_marks", event, "has an unknown cause", text=EVENT_THEN_WHY)
    return flag


class MarkRegister(RowPerAggregate):
    """One row a quality mark: made by its award, changed by renewal, expiry, suspension and
    its lifting, withdrawal and revocation."""

    name = "quality_marks"
    logs = ("marks",)
    table = quality_marks
    created_by = AWARDED
    changed_by = _MARK_CHANGES

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        awards = [e for e in events if e.name == AWARDED]
        if awards:
            clashing = self._clashing(connection, awards)
            if clashing:
                events = [e for e in events if e.originator_id not in clashing]
        super().apply(connection, events)

    def _clashing(self, connection: Connection, awards: list[RecordedEvent]) -> set[UUID]:
        """Marks whose award names an organisation or a certificate number (as stored) that an
        earlier mark holds: left out of the register (as is an award not as the domain writes
        it, by the base)."""
        taken_orgs: set[Any] = set()
        taken_numbers: set[str] = set()
        wanted = []
        for event in awards:
            made = self.made(event)
            if made is not None:
                row = made[0]
                number = storable(connection, row["certificate_number"], _CERTIFICATE_LENGTH)
                wanted.append((event, row["organisation_id"], number))
        orgs = {org for _, org, _ in wanted}
        numbers = {number for _, _, number in wanted}
        table = self.table
        for org, number in connection.execute(
            select(table.c.organisation_id, table.c.certificate_number).where(
                or_(table.c.organisation_id.in_(orgs), table.c.certificate_number.in_(numbers))
            )
        ):
            taken_orgs.add(org)
            taken_numbers.add(number)
        clashing: set[UUID] = set()
        for event, org, number in wanted:
            if org in taken_orgs or number in taken_numbers:
                leave_out(
                    "quality_marks",
                    event,
                    f"its organisation {org} or certificate number {number!r} is an earlier mark's",
                )
                clashing.add(event.originator_id)
                continue
            taken_orgs.add(org)
            taken_numbers.add(number)
        return clashing

    def create(self, event: RecordedEvent) -> Row:
        data = event.data
        return _with_status(
            {
                "mark_id": event.originator_id,
                "organisation_id": data["organisation_id"],
                "certificate_number": data["certificate_number"],
                "valid_from": data["valid_from"],
                "valid_until": data["valid_until"],
                "staff_suspended": False,
                "membership_suspended": False,
                "expired": False,
                "withdrawn": False,
                "revoked": False,
                "suspension_reason": None,
                "updated_at": data["timestamp"],
            }
        )

    def change(self, row: Row, event: RecordedEvent) -> None:
        data = event.data
        match event.name:
            case "QualityMark.Renewed":
                row.update(valid_from=data["valid_from"], valid_until=data["valid_until"])
                row["expired"] = False
            case "QualityMark.Expired":
                row["expired"] = True
            case "QualityMark.Suspended":
                flag = _suspension_flag(event)
                if flag is not None:
                    row[flag] = True
                    row["suspension_reason"] = data.get("reason")
            case "QualityMark.SuspensionLifted":
                flag = _suspension_flag(event)
                if flag is not None:
                    row[flag] = False
                if not (row["staff_suspended"] or row["membership_suspended"]):
                    row["suspension_reason"] = None
            case "QualityMark.Withdrawn":
                row["withdrawn"] = True
            case "QualityMark.Revoked":
                row["revoked"] = True
        row["updated_at"] = data["timestamp"]
        _with_status(row)


# The application's later events that change its row (DeclarationsUpdated changes nothing it
# holds).
_APPLICATION_CHANGES = frozenset(
    {
        "MarkApplication.EvidenceAttached",
        "MarkApplication.Submitted",
        "MarkApplication.AssessorAssigned",
        "MarkApplication.InformationRequested",
        "MarkApplication.InformationProvided",
        "MarkApplication.ReferredToPanel",
        "MarkApplication.Awarded",
        "MarkApplication.Rejected",
        "MarkApplication.Withdrawn",
    }
)
# Events that move an application to a stage and start its wait there (as the aggregate does).
_WAITING_IN = {
    "MarkApplication.Submitted": Stage.SUBMITTED,
    "MarkApplication.InformationRequested": Stage.INFORMATION_REQUESTED,
    "MarkApplication.InformationProvided": Stage.UNDER_ASSESSMENT,
    "MarkApplication.ReferredToPanel": Stage.PANEL_REVIEW,
}
_DECIDED_AS = {
    "MarkApplication.Awarded": Stage.AWARDED,
    "MarkApplication.Rejected": Stage.REJECTED,
    "MarkApplication.Withdrawn": Stage.WITHDRAWN,
}


class MarkApplications(RowPerAggregate):
    """One row a quality mark application: its stage, since when it waits there, its assessor,
    its open information request's deadline, its evidence count, its decision's time."""

    name = "mark_applications"
    logs = ("marks",)
    table = mark_applications
    created_by = "MarkApplication.Started"
    changed_by = _APPLICATION_CHANGES

    def create(self, event: RecordedEvent) -> Row:
        data = event.data
        return {
            "application_id": event.originator_id,
            "organisation_id": data["organisation_id"],
            "review": data["review"],
            "stage": Stage.DRAFT.value,
            "waiting_since": None,
            "submitted_at": None,
            "assessor_id": None,
            "criteria_version": None,
            "reply_by": None,
            "evidence_count": 0,
            "decided_at": None,
        }

    def change(self, row: Row, event: RecordedEvent) -> None:
        data, name = event.data, event.name
        at = data["timestamp"]
        if name == "MarkApplication.EvidenceAttached":
            row["evidence_count"] += 1
        elif name == "MarkApplication.AssessorAssigned":
            if row["stage"] == Stage.SUBMITTED.value:
                row.update(stage=Stage.UNDER_ASSESSMENT.value, waiting_since=at)
            row["assessor_id"] = data["assessor_id"]
        elif name in _WAITING_IN:
            row.update(stage=_WAITING_IN[name].value, waiting_since=at)
            if name == "MarkApplication.Submitted":
                row.update(criteria_version=data["criteria_version"], submitted_at=at)
            row["reply_by"] = data["reply_by"] if name.endswith("Requested") else None
        elif name in _DECIDED_AS:
            row.update(stage=_DECIDED_AS[name].value, decided_at=at, reply_by=None)
