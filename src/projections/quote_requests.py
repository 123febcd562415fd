"""Requests for quote (issue 18): a row a request, its CPV codes, regions and invitations, and
(once its quotes are opened) who quoted; the reads are in projections.quote_request_query.

Follows the marketplace log's RequestForQuote events, read by topic and payload (never through
the domain): Posted makes the rows (every term it states, status open); Cancelled ends an open
request with its reason; QuotesOpened gives the counts (quotes and declines: sealed until then)
and the quoters; Accepted names the accepted quote's supplier, price and contract; Closed ends
an opened request with no acceptance, with its reason. Nothing is read from the sealed bids log.

An event never stops the projection (ADR 16): text is made storable by `projections.folding`;
codes that would become one once stored are kept once; an event whose payload is not what the
domain writes is left out with a log line (the request keeps what it had), as is a second
posting of a stored request (another writer's: the first stands) and an event that would move a
request from a status it is not in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal, TypeVar
from uuid import UUID

import msgspec
from sqlalchemy import Connection

from projections.base import Projection
from projections.codes import replace_codes
from projections.contracts import CurrencyCode
from projections.events import RecordedEvent, leave_out
from projections.folding import Row, delete_rows, insert_rows, load_rows, save_rows
from projections.quote_request_tables import (
    quote_request_cpv,
    quote_request_invitations,
    quote_request_quoters,
    quote_request_regions,
    quote_requests,
)

MARKETPLACE = "marketplace"
POSTED = "RequestForQuote.Posted"
CANCELLED = "RequestForQuote.Cancelled"
QUOTES_OPENED = "RequestForQuote.QuotesOpened"
ACCEPTED = "RequestForQuote.Accepted"
CLOSED = "RequestForQuote.Closed"
REQUEST_EVENTS = frozenset({POSTED, CANCELLED, QUOTES_OPENED, ACCEPTED, CLOSED})
# The statuses (marketplace.quotes.request): open -> cancelled | quotes_opened -> accepted |
# closed. Each later event, the status it needs and the one it leaves.
OPEN, CANCELLED_AS, OPENED_AS, ACCEPTED_AS, CLOSED_AS = (
    "open",
    "cancelled",
    "quotes_opened",
    "accepted",
    "closed",
)
MOVES = {
    CANCELLED: (OPEN, CANCELLED_AS),
    QUOTES_OPENED: (OPEN, OPENED_AS),
    ACCEPTED: (OPENED_AS, ACCEPTED_AS),
    CLOSED: (OPENED_AS, CLOSED_AS),
}
_MAX_BIGINT = 2**63 - 1
T = TypeVar("T")

Moment = Annotated[datetime, msgspec.Meta(tz=True)]
Whole = Annotated[int, msgspec.Meta(ge=0, le=_MAX_BIGINT)]
# The contracts' rule: three capitals and nothing after them (`$` would let 'GBP\n' through).
Currency = CurrencyCode


# The payloads as the domain writes them (marketplace.quotes.request), checked whole.
class StoredBudget(msgspec.Struct):
    currency: Currency
    min_minor: Whole | None = None
    max_minor: Whole | None = None


class StoredPeriod(msgspec.Struct):
    start: Moment
    end: Moment


class StoredPosted(msgspec.Struct):
    requester_id: UUID
    title: str
    description: str
    cpv_codes: list[str]
    regions: list[str]
    budget: StoredBudget | None
    deadline: Moment
    period: StoredPeriod
    audience: Literal["open", "invited"]
    invited: list[UUID]
    timestamp: Moment
    # Stated since the event's version 2; a version 1 stated none (`currency_of`).
    currency: Currency | None = None


# The currency of a request whose Posted (version 1) stated none and named no budget, as the
# domain reads it (marketplace.quotes.terms.DEFAULT_CURRENCY, upcast_posted_v1_v2).
VERSION_1_CURRENCY = "GBP"


def currency_of(terms: StoredPosted) -> str:
    """The currency every quote of the request is in: the one it states, else (version 1) its
    budget's, else VERSION_1_CURRENCY: what the domain's upcast reads."""
    if terms.currency is not None:
        return terms.currency
    return terms.budget.currency if terms.budget is not None else VERSION_1_CURRENCY


class StoredReason(msgspec.Struct):
    reason: str
    timestamp: Moment


class StoredOpenedQuote(msgspec.Struct):
    quote_id: UUID
    supplier_id: UUID
    price_minor: Whole
    currency: str


class StoredQuotesOpened(msgspec.Struct):
    quotes: list[StoredOpenedQuote]
    declined: list[UUID]
    timestamp: Moment


class StoredAccepted(msgspec.Struct):
    quote_id: UUID
    supplier_id: UUID
    price_minor: Whole
    currency: Currency
    contract_id: UUID
    timestamp: Moment


def posted(event: RecordedEvent, reader: str) -> StoredPosted | None:
    """A Posted event's terms; None (logged, naming `reader`) if not what the domain writes."""
    return event.payload_as(StoredPosted, reader)


def _payload(event: RecordedEvent, shape: type[T]) -> T | None:
    return event.payload_as(shape, "quote_requests")


@dataclass(frozen=True)
class _Codes:
    cpv_codes: list[str]
    regions: list[str]


class QuoteRequestsProjection(Projection):
    """Requests for quote (see the module's doc)."""

    name = "quote_requests"
    logs = (MARKETPLACE,)
    tables = (
        quote_request_cpv,
        quote_request_regions,
        quote_request_invitations,
        quote_request_quoters,
        quote_requests,
    )

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        mine = [e for e in events if e.log == MARKETPLACE and e.name in REQUEST_EVENTS]
        if not mine:
            return
        rows = load_rows(connection, quote_requests, "request_id", {e.originator_id for e in mine})
        created: set[UUID] = set()
        codes: dict[UUID, _Codes] = {}
        invitations: list[Row] = []
        quoters: dict[UUID, list[Row]] = {}
        for event in mine:
            request_id = event.originator_id
            if event.name == POSTED:
                if request_id in rows:
                    leave_out("quote_requests", event, "the request is posted")
                    continue
                terms = _payload(event, StoredPosted)
                if terms is None:
                    continue
                rows[request_id] = _posted_row(request_id, event.originator_version, terms)
                created.add(request_id)
                codes[request_id] = _Codes(terms.cpv_codes, terms.regions)
                invitations.extend(
                    {"request_id": request_id, "organisation_id": o}
                    for o in dict.fromkeys(terms.invited)
                )
                continue
            row = rows.get(request_id)
            if row is None:  # its posting was left out, or came before the log began
                continue
            needed, after = MOVES[event.name]
            if row["status"] != needed:
                leave_out("quote_requests", event, f"the request is {row['status']}")
                continue
            at = self._change(row, event, quoters)
            if at is None:
                continue
            row.update(status=after, version=event.originator_version, updated_at=at)
        save_rows(connection, quote_requests, "request_id", rows, created=created)
        replace_codes(
            connection, "request_id", quote_request_cpv, quote_request_regions, codes, created
        )
        insert_rows(connection, quote_request_invitations, invitations)
        # Opened once (the status allows no second opening); a stored opening, if any, replaced.
        delete_rows(connection, quote_request_quoters, "request_id", quoters.keys() - created)
        insert_rows(connection, quote_request_quoters, [r for q in quoters.values() for r in q])

    @staticmethod
    def _change(row: Row, event: RecordedEvent, quoters: dict[UUID, list[Row]]) -> datetime | None:
        """Change the row as the event says; its time, or None (logged) if it is left out."""
        if event.name in (CANCELLED, CLOSED):
            ended = _payload(event, StoredReason)
            if ended is None:
                return None
            row["reason"] = ended.reason
            return ended.timestamp
        if event.name == QUOTES_OPENED:
            opened = _payload(event, StoredQuotesOpened)
            if opened is None:
                return None
            suppliers = dict.fromkeys(q.supplier_id for q in opened.quotes)
            row.update(quotes_count=len(opened.quotes), declined_count=len(set(opened.declined)))
            quoters[event.originator_id] = [
                {"request_id": event.originator_id, "organisation_id": s} for s in suppliers
            ]
            return opened.timestamp
        accepted = _payload(event, StoredAccepted)
        if accepted is None:
            return None
        row.update(
            accepted_quote_id=accepted.quote_id,
            accepted_supplier_id=accepted.supplier_id,
            accepted_price_minor=accepted.price_minor,
            accepted_currency=accepted.currency,
            contract_id=accepted.contract_id,
        )
        return accepted.timestamp


def _posted_row(request_id: UUID, version: int, terms: StoredPosted) -> Row:
    budget = terms.budget
    return {
        "request_id": request_id,
        "requester_id": terms.requester_id,
        "title": terms.title,
        "description": terms.description,
        "budget_currency": budget.currency if budget else None,
        "budget_min_minor": budget.min_minor if budget else None,
        "budget_max_minor": budget.max_minor if budget else None,
        "currency": currency_of(terms),
        "deadline": terms.deadline,
        "period_start": terms.period.start,
        "period_end": terms.period.end,
        "audience": terms.audience,
        "status": OPEN,
        "quotes_count": None,
        "declined_count": None,
        "accepted_quote_id": None,
        "accepted_supplier_id": None,
        "accepted_price_minor": None,
        "accepted_currency": None,
        "contract_id": None,
        "reason": None,
        "version": version,
        "posted_at": terms.timestamp,
        "updated_at": terms.timestamp,
    }
