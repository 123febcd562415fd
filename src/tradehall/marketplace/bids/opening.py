"""The opening clock: at each tender's deadline plus a margin longer than the slowest commit,
its bids are opened and the opened bids recorded in the marketplace's own log; a tender that
ended before opening (cancelled, withdrawn) is never opened, and its bidders are told. A request
for quote's quotes are settled alike (issue 18): opened at its deadline plus the margin, or
discarded, its quoters told, when it was cancelled.

Due tenders come from the sealing keys' rows, written when each tender is published (never from
a projection); a tender is settled once its opening is recorded, so a crash between the steps
repeats only what is left: the bids log's opening is idempotent, and so is its record.

A tick reads only the keys that may be due. One not yet due keeps the deadline the clock read
(`deadline_seen`), and is loaded again only once that deadline plus the margin has passed: a
published deadline is never shortened (a tender's is extended, if at all; a request's never
changes), and at that moment an extended one is seen and kept in its turn. What ends a tender or
a request before its deadline (a cancellation, a withdrawal, a closure) sets it back to null once
its event is saved (`SealingKeys.look_again`), so the next tick discards the bids. A crash
between that save and that write only delays the discarding to the deadline as last seen: an
ended tender is never opened, its bidders are told then. The clock writes a deadline after
loading; an ending saved and its `look_again` written between the two would be undone, so the
clock loads the aggregate once more after writing and, if it changed, looks again at the next
tick. The deadlines a tick read are written in one transaction at its end, then each of those
aggregates loaded again. A draft's key (a publication refused after its key was made) is loaded
at every tick, as before: a draft's deadline may still move earlier.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from marketplace.application import MarketplaceApp
from marketplace.bids.application import BidsApp
from marketplace.bids.bid import BidStatus
from marketplace.bids.opening import as_opened
from marketplace.quotes.quote import QuoteStatus
from marketplace.quotes.request import RequestForQuote, RequestStatus
from marketplace.quotes.sealed import as_opened as as_opened_quote
from marketplace.quotes.sealed import declined_by
from marketplace.tenders import Tender, TenderStatus
from membership.application import MembershipApp
from membership.marks.application import MarksApp
from sharedkernel.errors import NotFound
from sharedkernel.events import CLOCK, Context
from tradehall.clock import Clock
from tradehall.marketplace.bids.notices import cancellations
from tradehall.marketplace.bids.quote_notices import quote_cancellations
from tradehall.marketplace.bids.suppliers import facts_of
from tradehall.marketplace.sealing.keys import SealingKeys

log = logging.getLogger("tradehall.bids")
Run = Callable[..., Any]


@dataclass(frozen=True)
class OpeningParts:
    bids: BidsApp
    marketplace: MarketplaceApp
    membership: MembershipApp
    marks: MarksApp
    keys: SealingKeys
    clock: Clock
    margin: timedelta


@dataclass(frozen=True)
class _Seen:
    """A tender or request for quote a tick read, not yet due: its deadline, the version read,
    and how to load it again."""

    deadline: datetime
    version: int
    reload: Callable[[], Tender | RequestForQuote]


def open_due_bids(parts: OpeningParts) -> tuple[int, int]:
    """One tick: (tenders opened, tenders whose bids were discarded). A tender that fails (its
    data key unreadable, say) is tried again at the next tick and holds up no other tender."""
    opened = discarded = 0
    seen: dict[UUID, _Seen] = {}
    for tender_id in parts.keys.unsettled_tenders(due_by=parts.clock.now() - parts.margin):
        try:
            settled = _settle_if_due(parts, tender_id, seen)
        except Exception as error:
            # Only the kind of failure, no tender named (ADR 27).
            log.error(
                "a tender's bids could not be settled (%s); trying again at the next tick",
                type(error).__name__,
            )
            continue
        opened += settled == "opened"
        discarded += settled == "discarded"
    _keep_deadlines(parts, seen)
    return opened, discarded


def _keep_deadlines(parts: OpeningParts, seen: dict[UUID, _Seen]) -> None:
    """The deadlines read, written; then each aggregate loaded again: one changed since it was
    read (ended, its `look_again` written before this) is looked at again at the next tick."""
    try:
        parts.keys.saw_deadlines({key_id: s.deadline for key_id, s in seen.items()})
    except Exception as error:
        # Nothing kept: each is read again at the next tick, as before.
        log.error("the tenders' deadlines could not be kept (%s)", type(error).__name__)
        return
    for key_id, read in seen.items():
        try:
            if read.reload().version != read.version:
                parts.keys.look_again(key_id)
        except Exception as error:
            log.error(
                "a tender could not be read again after its deadline was kept (%s); it is "
                "looked at again at its deadline",
                type(error).__name__,
            )


def _settle_if_due(parts: OpeningParts, tender_id: UUID, seen: dict[UUID, _Seen]) -> str | None:
    """Open or discard the tender's bids if it is due: "opened", "discarded" or None."""
    try:
        tender = parts.marketplace.tender(tender_id)
    except NotFound:
        # A request for quote's key (its quotes are sealed as bids are), or a key made for an
        # id that names nothing (never drafted, never posted).
        return _settle_request_if_due(parts, tender_id, seen)
    if tender.status is TenderStatus.DRAFT:
        return None  # a key made for a draft never published (yet): its deadline may change
    now = parts.clock.now()
    context = Context(actor=CLOCK, request_id=f"opening-{now:%Y%m%dT%H%M%S}", at=now)
    if tender.ended_unopened:
        parts.bids.discard_bids(
            context,
            tender,
            f"the tender was {tender.status} before opening",
            cancellations(parts.keys, tender),
        )
        parts.keys.settle(tender_id, now)
        return "discarded"
    if tender.status is not TenderStatus.PLANNED and now >= tender.terms.deadline + parts.margin:
        _open(parts, context, tender)
        parts.keys.settle(tender_id, now)
        return "opened"
    # Active before its deadline and the margin, or planned (it opens once active).
    _saw(parts, seen, tender, tender.terms.deadline, lambda: parts.marketplace.tender(tender_id))
    return None


def _saw(
    parts: OpeningParts,
    seen: dict[UUID, _Seen],
    read: Tender | RequestForQuote,
    deadline: datetime,
    reload: Callable[[], Tender | RequestForQuote],
) -> None:
    """Note the deadline read for a key not yet due, to be kept at the tick's end; not one
    passed with the margin (a planned tender past its deadline: looked at each tick until
    amended and activated)."""
    if deadline + parts.margin > parts.clock.now():
        seen[read.id] = _Seen(deadline, read.version, reload)


def _open(parts: OpeningParts, context: Context, tender: Tender) -> None:
    bids = parts.bids.open_bids(
        context, tender, lambda members: facts_of(parts.membership, parts.marks, members)
    )
    records = [
        as_opened(bid) for bid in bids if bid.status in {BidStatus.OPENED, BidStatus.INVALID}
    ]
    parts.marketplace.record_opening(context, tender.id, records)
    log.info("bids opened", extra={"tender_id": str(tender.id), "bids": len(records)})


def _settle_request_if_due(
    parts: OpeningParts, request_id: UUID, seen: dict[UUID, _Seen]
) -> str | None:
    """Open or discard a request for quote's quotes if it is due, as a tender's bids: the
    quotes opened in the bids log, then recorded in the marketplace's, then the key settled;
    each step idempotent, so a crash between them repeats only what is left."""
    try:
        request = parts.marketplace.request_for_quote(request_id)
    except NotFound:
        return None
    now = parts.clock.now()
    context = Context(actor=CLOCK, request_id=f"opening-{now:%Y%m%dT%H%M%S}", at=now)
    if request.status is RequestStatus.CANCELLED:
        parts.bids.discard_quotes(
            context,
            request,
            "the request was cancelled before its quotes were opened",
            quote_cancellations(parts.keys, request),
        )
        parts.keys.settle(request_id, now)
        return "discarded"
    if now >= request.terms.deadline + parts.margin:
        quotes = parts.bids.open_quotes(
            context, request, lambda members: facts_of(parts.membership, parts.marks, members)
        )
        opened = [as_opened_quote(q) for q in quotes if q.status is QuoteStatus.OPENED]
        parts.marketplace.record_quotes_opened(context, request_id, opened, declined_by(quotes))
        parts.keys.settle(request_id, now)
        log.info("quotes opened", extra={"request_id": str(request_id), "quotes": len(opened)})
        return "opened"
    _saw(
        parts,
        seen,
        request,
        request.terms.deadline,
        lambda: parts.marketplace.request_for_quote(request_id),
    )
    return None


async def run_opening_clock(
    parts: OpeningParts, run: Run, interval: float, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            await run(open_due_bids, parts)
        except Exception as error:
            # Only the kind of failure: its message or traceback could name a tender whose
            # bids are still sealed (ADR 27).
            log.error(
                "the bid opening tick failed (%s); trying again at the next tick",
                type(error).__name__,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
