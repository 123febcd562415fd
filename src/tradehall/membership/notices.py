"""Which membership events tell the member something, and what: written to the outbox.

Run by the batched projector machinery (exactly once per event, across crashes), but kept out
of the projections that `tradehall projections rebuild` rebuilds: its `clear` refuses. The
names it writes come from the registrations it follows, kept in its own table (ADR 18).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, select

from projections.events import RecordedEvent
from projections.folding import Row, insert_rows, upsert_rows
from sharedkernel.events import IMPORTER
from tradehall.mail.outbox import (
    MESSAGE_DOMAIN,
    MESSAGE_NAMESPACE,
    Notice,
    NoticeFollower,
    message_id,
    not_queued,
    outbox_row,
)
from tradehall.mail.tables import notice_organisations, outbox_messages

# Re-exported for the notice writers written against this module first; new code imports them
# from tradehall.mail.outbox.
__all__ = ["MESSAGE_DOMAIN", "MESSAGE_NAMESPACE", "Notice", "NoticeWriter", "message_id"]


def _pounds(minor: int) -> str:
    sign, minor = ("-", -minor) if minor < 0 else ("", minor)
    return f"{sign}£{minor // 100:,}.{minor % 100:02d}"


def _date(value: datetime) -> str:
    return value.date().isoformat()


# What the notices read of each event, as the domain writes it (checked before use: an event
# not of this shape is left out with a log line, ADR 16, and the writer goes on).
class _Named(msgspec.Struct):
    name: str


class _Reason(msgspec.Struct):
    reason: str


class _Payment(msgspec.Struct):
    amount_minor: int
    reference: str


class _Reference(msgspec.Struct):
    reference: str


class _RenewalDue(msgspec.Struct):
    period_end: datetime


class _Standing(msgspec.Struct):
    status: str


_READER = "notices"


def notice_for(event: RecordedEvent, name: str, public_url: str) -> Notice | None:
    """The notice an event gives the organisation, if any; None too for an event not as the
    domain writes it (left out, logged)."""
    match event.name:
        case "Organisation.MembershipAdmitted":
            return Notice(
                "application_admitted",
                "Welcome: your membership application is accepted",
                f"{name} is admitted. Your first year's dues invoice is ready; pay by card at "
                f"{public_url}/dues or by bank transfer.",
            )
        case "Organisation.MembershipRejected":
            if (rejected := event.payload_as(_Reason, _READER)) is None:
                return None
            return Notice(
                "application_rejected",
                "Your membership application",
                f"The association could not admit {name} this time: {rejected.reason}",
            )
        case "Organisation.PaymentRecorded":
            if (payment := event.payload_as(_Payment, _READER)) is None:
                return None
            return Notice(
                "payment_received",
                "Payment received, thank you",
                f"We received {_pounds(payment.amount_minor)} from {name} "
                f"(reference {payment.reference}).",
            )
        case "Organisation.RenewalDue":
            if (due := event.payload_as(_RenewalDue, _READER)) is None:
                return None
            return Notice(
                "renewal_due",
                "Your membership renews soon: declare your turnover",
                f"{name}'s membership is paid up until {_date(due.period_end)}. Declare "
                "this year's turnover, which sets next year's dues, at "
                f"{public_url}/membership/turnover",
            )
        case "Organisation.PaymentFailed":
            if (failed := event.payload_as(_Reference, _READER)) is None:
                return None
            return Notice(
                "payment_failed",
                "Your dues payment did not go through",
                f"A payment for {name} failed ({failed.reference}). It will be tried again; "
                f"you can update your card at {public_url}/dues.",
            )
        case "Organisation.StandingChanged":
            standing = event.payload_as(_Standing, _READER)
            if standing is None or standing.status not in {"grace", "lapsed"}:
                return None
            if standing.status == "grace":
                return Notice(
                    "grace",
                    "Your membership dues are overdue",
                    f"{name}'s dues are overdue. The membership stays in good standing for a "
                    "month of grace; please pay to keep it.",
                )
            return Notice(
                "lapsed",
                "Your membership has lapsed",
                f"{name}'s membership has lapsed for unpaid dues. Paying renews it.",
            )
        case "Organisation.Suspended":
            if (suspended := event.payload_as(_Reason, _READER)) is None:
                return None
            return Notice(
                "suspended",
                "Your membership is suspended",
                f"The association has suspended {name}'s membership: {suspended.reason}",
            )
    return None


def is_imported(event: RecordedEvent) -> bool:
    """Events recorded by `tradehall import members` tell of the past in another system:
    nobody is told of them again. (By actor, which no client can set; request ids they can.)"""
    return event.data.get("actor") == IMPORTER


# The events that name an organisation, whose names the writer keeps (ADR 18). A profile
# change tells nobody anything: it only renames.
_NAMING = frozenset({"Organisation.Registered", "Organisation.ProfileUpdated"})


class NoticeWriter(NoticeFollower):
    """Follows the membership log and queues a message for each event that tells of something."""

    name = "notices"
    logs = ("membership",)
    tables = (notice_organisations, outbox_messages)

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        # Names as stored before the batch, for the organisations it did not register; each
        # event is then told under the name as it stood (a profile change may rename).
        registered = {e.originator_id for e in events if e.name == "Organisation.Registered"}
        ids = {e.originator_id for e in events} - registered
        names: dict[Any, Any] = {}
        if ids:
            names |= dict(
                connection.execute(
                    select(
                        notice_organisations.c.organisation_id, notice_organisations.c.name
                    ).where(notice_organisations.c.organisation_id.in_(ids))
                ).all()
            )
        # Each organisation's latest name in the batch, kept for later batches (upserted: the
        # migration that made the table filled it from the directory once). A naming event
        # without a name is left out: the name stands as it was.
        latest: dict[Any, Row] = {}
        rows: dict[str, Row] = {}
        for event in events:
            if event.name in _NAMING:
                named = event.payload_as(_Named, _READER)
                if named is not None:
                    names[event.originator_id] = named.name
                    latest[event.originator_id] = {
                        "organisation_id": event.originator_id,
                        "name": named.name,
                    }
                continue
            if is_imported(event):
                continue
            given = event.data.get("name")
            name = names.get(event.originator_id) or (given if isinstance(given, str) else "")
            name = name or "Your organisation"
            notice = notice_for(event, str(name), self.public_url)
            if notice is None:
                continue
            row = outbox_row(event, notice, event.originator_id)
            rows.setdefault(row["message_id"], row)
        upsert_rows(connection, notice_organisations, "organisation_id", latest.values())
        # As the projections write: any text an event holds is made storable first.
        # Applied again (a position set back, a restore), an event queues nothing new.
        insert_rows(connection, outbox_messages, not_queued(connection, rows))
