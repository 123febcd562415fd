"""What a request for quote tells the members it concerns, through the outbox (ADR 12), issue 18:
- posted to an invited audience: each invited organisation is invited to quote;
- a quote accepted: its supplier is told it was accepted, every other quoter that it was not;
- closed with no acceptance: every quoter is told, with the requester's reason;
- cancelled: each invited organisation is told, with the reason.
(An open audience is told through saved searches' alerts, tradehall.marketplace.alerts; the
quoters of a cancelled request that were not invited by the sealed side, which alone knows them
before the opening: one message each.)

`QuoteNoticeWriter` is a follower of the marketplace log, never rebuilt (its `clear` refuses).
It keeps what it needs in its own records (ADR 18), never reading a read model: each request's
title and invited organisations (Posted) and its quoters (QuotesOpened, the public step that
first names them) and its status (each later event moves it once, as the domain does: one
from another status tells nobody). A message is addressed to an organisation (its users'
addresses are looked up when sending: no personal data in events), its id stable per event,
template and organisation; one already queued is not queued again, so an event followed twice
tells once.

An event never stops the writer (ADR 16): one whose payload lacks what it needs is skipped with
a log line, and text is made storable by `projections.folding`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, select

from projections.events import RecordedEvent, payload_uuid
from projections.folding import Row, insert_rows, upsert_rows
from projections.quote_requests import (
    ACCEPTED,
    CANCELLED,
    CLOSED,
    MOVES,
    OPEN,
    POSTED,
    QUOTES_OPENED,
    StoredQuotesOpened,
    posted,
)
from tradehall.mail.outbox import Notice, NoticeFollower, not_queued, outbox_row
from tradehall.mail.tables import outbox_messages, quote_notice_requests

_log = logging.getLogger("tradehall.mail")

INVITATION_TEMPLATE = "quote_invitation"
ACCEPTED_TEMPLATE = "quote_accepted"
NOT_ACCEPTED_TEMPLATE = "quote_not_accepted"
CLOSED_TEMPLATE = "quote_request_closed"
CANCELLED_TEMPLATE = "quote_request_cancelled"
_HANDLED = frozenset({POSTED, QUOTES_OPENED, ACCEPTED, CLOSED, CANCELLED})
_TITLE_LENGTH = 300


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def _request_link(request_id: UUID, public_url: str) -> str:
    return f"The request: {public_url}/api/v1/requests-for-quote/{request_id}"


def _about_request(
    template: str, subject: str, text: str, request_id: UUID, public_url: str
) -> Notice:
    """A notice about a request for quote: its text, then the request's link."""
    return Notice(template, subject, f"{text}\n\n{_request_link(request_id, public_url)}")


def _why(reason: str) -> str:
    return f"Why: {reason or '(not stated)'}"


def invitation_notice(
    request_id: UUID, title: str, deadline: datetime, organisation_id: UUID, public_url: str
) -> Notice:
    return Notice(
        INVITATION_TEMPLATE,
        f"Invitation to quote: {title}",
        f'You are invited to quote for "{title}".\n'
        f"Quotes are sealed until the deadline, {_when(deadline)}; you may revise or withdraw "
        "yours until then.\n\n"
        f"{_request_link(request_id, public_url)}\n"
        f"Your quote: {public_url}/api/v1/organisations/{organisation_id}/quotes/{request_id}",
    )


def accepted_notice(request_id: UUID, title: str, public_url: str) -> Notice:
    text = (
        f'The requester has accepted your quote for "{title}": a contract is made with your '
        "organisation."
    )
    return _about_request(
        ACCEPTED_TEMPLATE, f"Your quote was accepted: {title}", text, request_id, public_url
    )


def not_accepted_notice(request_id: UUID, title: str, public_url: str) -> Notice:
    """The same words to every other quoter: nothing in it names the accepted one."""
    text = f'The requester has accepted another quote for "{title}". Thank you for quoting.'
    return _about_request(
        NOT_ACCEPTED_TEMPLATE, f"Your quote was not accepted: {title}", text, request_id, public_url
    )


def closed_notice(request_id: UUID, title: str, reason: str, public_url: str) -> Notice:
    text = f'The requester has closed "{title}" without accepting a quote.\n{_why(reason)}'
    return _about_request(
        CLOSED_TEMPLATE, f"Request for quote closed: {title}", text, request_id, public_url
    )


def cancelled_notice(request_id: UUID, title: str, reason: str, public_url: str) -> Notice:
    text = (
        f'The requester has cancelled "{title}", to which you were invited to quote.\n'
        f"{_why(reason)}"
    )
    return _about_request(
        CANCELLED_TEMPLATE, f"Request for quote cancelled: {title}", text, request_id, public_url
    )


def _ids(stored: str) -> list[UUID]:
    return [UUID(value) for value in json.loads(stored)]


def _dump(ids: Sequence[UUID]) -> str:
    return json.dumps([str(i) for i in dict.fromkeys(ids)])


class QuoteNoticeWriter(NoticeFollower):
    """Follows the marketplace log and queues what requests for quote tell (see the module)."""

    name = "quote_notices"
    logs = ("marketplace",)
    tables = (quote_notice_requests, outbox_messages)

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        relevant = [e for e in events if e.name in _HANDLED]
        if not relevant:
            return
        table = quote_notice_requests
        requests: dict[UUID, Row] = {
            row.request_id: dict(row._mapping)
            for row in connection.execute(
                select(table).where(table.c.request_id.in_({e.originator_id for e in relevant}))
            )
        }
        changed: dict[UUID, Row] = {}
        messages: dict[str, Row] = {}
        for event in relevant:
            at = event.data.get("timestamp")
            if not isinstance(at, datetime):
                _log.warning("quote notices: %r skipped: it has no time", event)
                continue
            try:
                told = self._told(event, requests, changed)
            except (LookupError, TypeError, ValueError, AttributeError) as error:
                _log.warning("quote notices: %r skipped: %s", event, error)
                continue
            for notice, organisation_id in told:
                row = outbox_row(event, notice, organisation_id, per_addressee=True)
                messages[row["message_id"]] = row
        upsert_rows(connection, table, "request_id", changed.values())
        insert_rows(connection, outbox_messages, not_queued(connection, messages))

    def _told(
        self, event: RecordedEvent, requests: dict[UUID, Row], changed: dict[UUID, Row]
    ) -> list[tuple[Notice, UUID]]:
        """Record what the event says of its request; the notices it sends, and to whom."""
        request_id, url = event.originator_id, self.public_url
        if event.name == POSTED:
            terms = posted(event, "quote notices")
            if terms is None:
                return []
            if request_id in requests:
                raise ValueError("the request is posted already")
            title = terms.title[:_TITLE_LENGTH]
            invited = list(dict.fromkeys(terms.invited))
            changed[request_id] = requests[request_id] = {
                "request_id": request_id,
                "title": title,
                "invited": _dump(invited),
                "quoters": "[]",
                "status": OPEN,
            }
            if terms.audience != "invited":
                return []
            return [
                (invitation_notice(request_id, title, terms.deadline, org, url), org)
                for org in invited
            ]
        record = requests.get(request_id)
        if record is None:
            raise ValueError("its posting is not known")
        # The domain moves a request once (open -> cancelled | quotes_opened -> accepted |
        # closed): an event from another status (another writer's) tells nobody, as the
        # requests' read model leaves it out. A record kept before the status: any is taken.
        needed, after = MOVES[event.name]
        status = record.get("status")
        if status is not None and status != needed:
            raise ValueError(f"the request is {status}")
        told = self._ending(event, record)
        if told is not None:
            changed[request_id] = record | {"status": after}
            requests[request_id] = changed[request_id]
        return told or []

    def _ending(self, event: RecordedEvent, record: Row) -> list[tuple[Notice, UUID]] | None:
        """What a later event tells, and to whom; None if it is left out (its record kept)."""
        request_id, title, url = event.originator_id, record["title"], self.public_url
        if event.name == QUOTES_OPENED:
            opened = event.payload_as(StoredQuotesOpened, "quote notices")
            if opened is None:
                return None
            record["quoters"] = _dump([q.supplier_id for q in opened.quotes])
            return []
        if event.name == ACCEPTED:
            winner = payload_uuid(event.data.get("supplier_id"))
            if winner is None:
                raise ValueError("it names no supplier")
            others = [q for q in _ids(record["quoters"]) if q != winner]
            return [(accepted_notice(request_id, title, url), winner)] + [
                (not_accepted_notice(request_id, title, url), q) for q in others
            ]
        reason = _reason(event.data)
        if event.name == CLOSED:
            return [
                (closed_notice(request_id, title, reason, url), q) for q in _ids(record["quoters"])
            ]
        return [
            (cancelled_notice(request_id, title, reason, url), o) for o in _ids(record["invited"])
        ]


def _reason(data: dict[str, Any]) -> str:
    reason = data.get("reason")
    if not isinstance(reason, str):
        raise TypeError("it gives no reason")
    return reason
