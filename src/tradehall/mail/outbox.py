"""What a notice writer queues: a notice, its stable message id, its outbox row (ADR 12).

Every context's notice writer (a follower of its log, never rebuilt) turns events into
`Notice`s and queues them here the same way; the sender delivers them to the organisation's
users (tradehall.mail.sender).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

from sqlalchemy import Connection, select

from projections.base import Projection
from projections.events import RecordedEvent
from tradehall.mail.tables import outbox_messages

MESSAGE_NAMESPACE = UUID("5e1c2a7b-1d0f-4c3e-8a6b-2f7d9c0e4b31")
MESSAGE_DOMAIN = "tradehall.invalid"


@dataclass(frozen=True)
class Notice:
    template: str
    subject: str
    body: str


def message_id(event: RecordedEvent, template: str, addressee: UUID | None = None) -> str:
    """The same id each time the event is followed (a replay queues nothing new); one per
    addressee when one event tells several organisations."""
    return message_id_for(event.originator_id, event.originator_version, template, addressee)


def message_id_for(
    originator_id: UUID, originator_version: int, template: str, addressee: UUID | None = None
) -> str:
    """`message_id` from the event's coordinates: whoever knows them can find the message
    (whether an award's summaries have been sent, say)."""
    key = f"{originator_id}:{originator_version}:{template}"
    if addressee is not None:
        key += f":{addressee}"
    return f"<{uuid5(MESSAGE_NAMESPACE, key)}@{MESSAGE_DOMAIN}>"


def outbox_row(
    event: RecordedEvent, notice: Notice, organisation_id: UUID, *, per_addressee: bool = False
) -> dict[str, Any]:
    """The outbox row telling an organisation's users of `notice`, dated by the event."""
    return {
        "message_id": message_id(
            event, notice.template, organisation_id if per_addressee else None
        ),
        "template": notice.template,
        "organisation_id": organisation_id,
        "recipient": None,
        "subject": notice.subject,
        "body": notice.body,
        "created_at": dated(event),
        "sent_at": None,
        "attempts": 0,
        "last_error": None,
        "next_attempt_at": None,  # due at once
        "sealed": None,  # a sealed notice's content (tradehall.marketplace.sealing.outbox)
    }


# A message's date when its event states no time (another writer's: ADR 16): the earliest.
_UNDATED = datetime(1970, 1, 1, tzinfo=UTC)


def dated(event: RecordedEvent) -> datetime:
    """When the event happened, as its outbox row is dated (and the sender orders): its
    time, else its effective time, else the earliest (it needs one). Written through
    projections.folding, which takes a time without its zone as UTC."""
    data = event.data
    for key in ("timestamp", "effective_at"):
        moment = data.get(key)
        if isinstance(moment, datetime):
            return moment
    return _UNDATED


def not_queued(
    connection: Connection, messages: Mapping[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The outbox rows (by message id) not in the outbox already: an event followed again
    queues nothing new."""
    if not messages:
        return []
    column = outbox_messages.c.message_id
    there = set(connection.scalars(select(column).where(column.in_(list(messages)))))
    return [row for key, row in messages.items() if key not in there]


class NoticeFollower(Projection):
    """A notice writer: its rows are a record of messages, so it is never rebuilt. Its links
    start with `public_url` (no trailing slash)."""

    rebuildable = False

    def __init__(self, public_url: str) -> None:
        self.public_url = public_url.rstrip("/")

    def clear(self, connection: Connection) -> None:
        raise RuntimeError("the outbox is a record of messages, not a projection: never rebuilt")
