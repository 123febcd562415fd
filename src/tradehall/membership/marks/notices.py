"""Which quality mark events tell the holder something, and what: written to the outbox (ADR 12).

Followed on the marks log by the batched projector machinery (each event queued exactly once,
across crashes) and never rebuilt: its `clear` refuses. Each event's organisation comes from
the first events it follows (an application's Started, a mark's Awarded), kept in its own
table with the mark's certificate number; the organisation's name from the membership notice
writer's `notice_organisations` (read, never written: ADR 18). An event whose organisation it
does not know is skipped with a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec
from sqlalchemy import Connection, select

from projections.events import RecordedEvent, payload_uuid
from projections.folding import Row, insert_rows, upsert_rows
from tradehall.mail.outbox import Notice, NoticeFollower, not_queued, outbox_row
from tradehall.mail.tables import mark_notice_organisations, notice_organisations, outbox_messages

_log = logging.getLogger("tradehall.mail")

# The first events of the marks log's aggregates: where the writer learns their organisation.
_FIRST = frozenset({"MarkApplication.Started", "QualityMark.Awarded"})


def _date(value: datetime) -> str:
    return value.date().isoformat()


# What the notices read of each event, as the domain writes it (checked before use: an event
# not of this shape is left out with a log line, ADR 16, and the writer goes on).
class _InformationRequested(msgspec.Struct):
    question: str
    reply_by: datetime


class _Rejected(msgspec.Struct):
    reasons: dict[str, str] = msgspec.field(default_factory=dict)


class _Validity(msgspec.Struct):
    valid_until: datetime


class _RenewalDue(msgspec.Struct):
    days_before: int
    valid_until: datetime


class _Suspended(msgspec.Struct):
    reason: str


class _Revoked(msgspec.Struct):
    reason: str


_READER = "mark notices"


def mark_notice_for(
    event: RecordedEvent, name: str, certificate_number: str | None, public_url: str
) -> Notice | None:
    """The notice an event of the marks log gives its holder, if any; None too for an event
    not as the domain writes it (left out, logged)."""
    number = certificate_number or "(not known)"
    match event.name:
        case "MarkApplication.InformationRequested":
            if (asked := event.payload_as(_InformationRequested, _READER)) is None:
                return None
            return Notice(
                "mark_information_requested",
                "Your quality mark application: the assessor asks for more",
                f"The assessor of {name}'s quality mark application asks: {asked.question}\n"
                f"Please reply by {_date(asked.reply_by)}.",
            )
        case "MarkApplication.Rejected":
            if event.data.get("reasons") is None:  # none given: the panel's words are not known
                rejected: _Rejected | None = _Rejected()
            else:
                rejected = event.payload_as(_Rejected, _READER)
            if rejected is None:
                return None
            lines = "\n".join(f"- {code}: {why}" for code, why in sorted(rejected.reasons.items()))
            return Notice(
                "mark_rejected",
                "Your quality mark application",
                f"The panel could not award the quality mark to {name} this time. "
                f"The criteria not met, and why:\n{lines}",
            )
        case "QualityMark.Awarded" | "QualityMark.Renewed":
            if (valid := event.payload_as(_Validity, _READER)) is None:
                return None
            renewed = event.name == "QualityMark.Renewed"
            return Notice(
                "mark_renewed" if renewed else "mark_awarded",
                "Your quality mark is renewed" if renewed else "You are awarded the quality mark",
                f"{name} holds the quality mark, certificate number {number}, valid until "
                f"{_date(valid.valid_until)}. Buyers can check it at "
                f"{public_url}/api/v1/marks/{number}",
            )
        case "QualityMark.RenewalDue":
            if (due := event.payload_as(_RenewalDue, _READER)) is None:
                return None
            days = due.days_before
            return Notice(
                f"mark_renewal_due_{days}",
                f"Your quality mark expires in {days} days",
                f"{name}'s quality mark ({number}) is valid until {_date(due.valid_until)}. "
                "Apply to renew it before then.",
            )
        case "QualityMark.Expired":
            if (expired := event.payload_as(_Validity, _READER)) is None:
                return None
            return Notice(
                "mark_expired",
                "Your quality mark has expired",
                f"{name}'s quality mark ({number}) expired on {_date(expired.valid_until)}. "
                "Apply again to hold it.",
            )
        case "QualityMark.Suspended":
            if (suspended := event.payload_as(_Suspended, _READER)) is None:
                return None
            return Notice(
                "mark_suspended",
                "Your quality mark is suspended",
                f"{name}'s quality mark ({number}) is suspended: {suspended.reason}",
            )
        case "QualityMark.Revoked":
            if (revoked := event.payload_as(_Revoked, _READER)) is None:
                return None
            return Notice(
                "mark_revoked",
                "Your quality mark is revoked",
                f"{name}'s quality mark ({number}) is revoked: {revoked.reason}\n"
                "The mark and its badge may no longer be displayed.",
            )
        case "QualityMark.Withdrawn":
            return Notice(
                "mark_withdrawn",
                "Your quality mark is withdrawn",
                f"{name}'s quality mark ({number}) is withdrawn: the membership has ended. "
                "The mark and its badge may no longer be displayed.",
            )
        case "QualityMark.SuspensionLifted" if event.data.get("valid_again") is True:
            return Notice(
                "mark_reinstated",
                "Your quality mark is valid again",
                f"{name}'s quality mark ({number}) is valid again.",
            )
    return None


def _told(event: RecordedEvent) -> bool:
    """Whether the event is of a kind that tells the holder something (its payload unread)."""
    if event.name == "QualityMark.SuspensionLifted":
        return event.data.get("valid_again") is True
    return event.name in _TELLING


_TELLING = frozenset(
    {
        "MarkApplication.InformationRequested",
        "MarkApplication.Rejected",
        "QualityMark.Awarded",
        "QualityMark.Renewed",
        "QualityMark.RenewalDue",
        "QualityMark.Expired",
        "QualityMark.Suspended",
        "QualityMark.Revoked",
        "QualityMark.Withdrawn",
    }
)


def _first_row(event: RecordedEvent) -> Row | None:
    """What an aggregate's first event says of it: its organisation (a UUID) and a mark's
    certificate number; None, logged, if it names no organisation."""
    organisation_id = payload_uuid(event.data.get("organisation_id"))
    if organisation_id is None:
        _log.warning("mark notices: %r left out: it names no organisation", event)
        return None
    number = event.data.get("certificate_number")
    if number is not None and not isinstance(number, str):
        _log.warning("mark notices: %r: its certificate number is not text, not kept", event)
        number = None
    return {
        "aggregate_id": event.originator_id,
        "organisation_id": organisation_id,
        "certificate_number": number,
    }


class MarkNoticeWriter(NoticeFollower):
    """Follows the marks log and queues a message for each event that tells of something."""

    name = "mark_notices"
    logs = ("marks",)
    tables = (mark_notice_organisations, outbox_messages)

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        first: dict[UUID, Row] = {}
        for event in events:
            if event.name in _FIRST and (learnt := _first_row(event)) is not None:
                first[event.originator_id] = learnt
        upsert_rows(connection, mark_notice_organisations, "aggregate_id", first.values())
        known = dict(first)
        wanted = {e.originator_id for e in events} - known.keys()
        if wanted:
            table = mark_notice_organisations
            for row in connection.execute(select(table).where(table.c.aggregate_id.in_(wanted))):
                known[row.aggregate_id] = dict(row._mapping)
        organisations = {row["organisation_id"] for row in known.values()}
        names: dict[UUID, str] = {}
        if organisations:
            names = dict(
                connection.execute(
                    select(
                        notice_organisations.c.organisation_id, notice_organisations.c.name
                    ).where(notice_organisations.c.organisation_id.in_(organisations))
                ).all()
            )
        rows: dict[str, Row] = {}
        for event in events:
            record = known.get(event.originator_id)
            if record is None:
                if _told(event):
                    _log.warning("mark notices: %r skipped: its organisation is not known", event)
                continue
            organisation_id = record["organisation_id"]
            notice = mark_notice_for(
                event,
                names.get(organisation_id) or "Your organisation",
                record["certificate_number"],
                self.public_url,
            )
            if notice is None:
                continue
            message = outbox_row(event, notice, organisation_id)
            rows.setdefault(message["message_id"], message)
        # As the projections write: any text an event holds is made storable first.
        # Applied again (a position set back, a restore), an event queues nothing new.
        insert_rows(connection, outbox_messages, not_queued(connection, rows))
