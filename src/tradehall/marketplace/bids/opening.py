"""The opening clock: at each tender's deadline plus a margin longer than the slowest commit,
its bids are opened and the opened bids recorded in the marketplace's own log; a tender that
ended before opening (cancelled, withdrawn, closed unsuccessful) is never opened: at that same
moment its bids are discarded and its bidders told. A request for quote's quotes are settled
alike (issue 18): opened at its deadline plus the margin, or, if it was cancelled, discarded
then, its quoters told (those a batch told at the tick after the cancellation are not told
again).

Nothing is written about an ended tender's bids before its deadline: discarding them writes one
sealed event per bid and one sealed notice per bid member, and, written at the tick after a
public ending, those rows would tell anyone counting them how many bids a live tender had (ADR
27). At its deadline plus the margin it writes what opening would have, when the count is no
longer sealed.

Due tenders come from the sealing keys' rows, written when each tender is published (never from
a projection); a tender is settled once its opening (or discarding) is recorded, so a crash
between the steps repeats only what is left: the bids log's opening and discarding are
idempotent, and so is its record.

A tick reads only the keys that may be due. One not yet due keeps the deadline the clock read
(`deadline_seen`), and is loaded again only once that deadline plus the margin has passed: a
published deadline is never shortened (a tender's is extended, if at all; a request's never
changes), and at that moment an extended one is seen and kept in its turn. An ending changes no
deadline, so it needs no word to the clock: the key keeps the deadline it has, and the bids are
discarded when it is due. The deadlines a tick read are written in one transaction at its end.
A draft's key is loaded at every tick, no deadline kept (a draft's may still move earlier);
published, it is read at the next tick and its deadline kept. A publication the domain refuses
makes no key (the route asks the domain first), so a draft has one only after a crash between
the key and the publication's save, a publication refused for what changed between the two (a
concurrent revision), or a refusal before 2026-12-02.

Each tick then tells bidders of the amendments, and of the endings, whose deadline is ahead that
were not told yet: one sealed batch row each, the same whatever the number of bids
(tradehall.marketplace.bids.amendment_notices). A bidder told of the ending so is not told again
when its bid is discarded at the deadline. A request for quote cancelled before its deadline is
told alike: one sealed batch row telling its quoters at the tick after the cancellation, none
told again when its quotes are discarded at the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from marketplace.application import MarketplaceApp
from marketplace.bids.application import BidsApp
from marketplace.bids.bid import BidStatus
from marketplace.bids.opening import as_opened
from marketplace.quotes.quote import QuoteStatus
from marketplace.quotes.request import RequestStatus
from marketplace.quotes.sealed import as_opened as as_opened_quote
from marketplace.quotes.sealed import declined_by
from marketplace.tenders import Tender, TenderStatus
from membership.application import MembershipApp
from membership.marks.application import MarksApp
from sharedkernel.errors import NotFound
from sharedkernel.events import CLOCK, Context
from tradehall.clock import Clock
from tradehall.marketplace.bids.amendment_notices import (
    AmendmentIndex,
    cancellation_told,
    ending_told,
    tell_amendments,
)
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
    public_url: str = ""  # the amendment notices' links start with it
    # The amendments not yet told, kept between the ticks of one clock (a fresh one reads them
    # from the log's start).
    amendments: AmendmentIndex = field(default_factory=AmendmentIndex)


def open_due_bids(parts: OpeningParts) -> tuple[int, int]:
    """One tick: (tenders opened, tenders whose bids were discarded). A tender that fails (its
    data key unreadable, say) is tried again at the next tick and holds up no other tender."""
    opened = discarded = 0
    seen: dict[UUID, datetime] = {}
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
    _tell_amendments(parts)
    return opened, discarded


def _tell_amendments(parts: OpeningParts) -> None:
    """Bidders told of each amendment whose deadline is ahead, one sealed batch an amendment
    whatever the number of bids (tradehall.marketplace.bids.amendment_notices). A failure is
    tried again at the next tick: what was written stays, and is not written again."""
    try:
        tell_amendments(
            parts.bids,
            parts.marketplace.recorder,
            parts.keys,
            parts.amendments,
            parts.clock.now(),
            parts.public_url,
        )
    except Exception as error:
        # Only the kind of failure, no tender named (ADR 27).
        log.error(
            "bidders could not be told of amendments (%s); trying again at the next tick",
            type(error).__name__,
        )


def _keep_deadlines(parts: OpeningParts, seen: dict[UUID, datetime]) -> None:
    """The deadlines read for keys not yet due, written in one transaction."""
    try:
        parts.keys.saw_deadlines(seen)
    except Exception as error:
        # Nothing kept: each is read again at the next tick, as before.
        log.error("the tenders' deadlines could not be kept (%s)", type(error).__name__)


def _settle_if_due(parts: OpeningParts, tender_id: UUID, seen: dict[UUID, datetime]) -> str | None:
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
    if now < tender.terms.deadline + parts.margin:
        # Before its deadline and the margin, whatever its state: one ended is discarded then,
        # not before, so nothing written tells how many bids it had (the module's docstring).
        seen[tender_id] = tender.terms.deadline  # kept at the tick's end
        return None
    context = Context(actor=CLOCK, request_id=f"opening-{now:%Y%m%dT%H%M%S}", at=now)
    if tender.ended_unopened:
        # Bidders the ending's batch told are not told again (one message a bidder); read now,
        # at the deadline, so deciding it writes nothing before.
        told = ending_told(parts.keys, tender, parts.marketplace.events.get(tender.id))
        parts.bids.discard_bids(
            context,
            tender,
            f"the tender was {tender.status} before opening",
            cancellations(parts.keys, tender, told=told),
        )
        parts.keys.settle(tender_id, now)
        return "discarded"
    if tender.status is TenderStatus.PLANNED:
        return None  # past its deadline: looked at each tick until amended and activated
    _open(parts, context, tender)
    parts.keys.settle(tender_id, now)
    return "opened"


def _open(parts: OpeningParts, context: Context, tender: Tender) -> None:
    # The bidder's standing and mark are judged as they stood when bids were due (a lapse or
    # an expiry is not recorded until its clock's tick, and one that came between the deadline
    # and the opening came after the bid was due): the same verdict whenever the opening runs.
    deadline = tender.terms.deadline
    bids = parts.bids.open_bids(
        context,
        tender,
        lambda members: facts_of(
            parts.membership, parts.marks, members, deadline, as_it_stood=True
        ),
    )
    records = [
        as_opened(bid) for bid in bids if bid.status in {BidStatus.OPENED, BidStatus.INVALID}
    ]
    parts.marketplace.record_opening(context, tender.id, records)
    log.info("bids opened", extra={"tender_id": str(tender.id), "bids": len(records)})


def _settle_request_if_due(
    parts: OpeningParts, request_id: UUID, seen: dict[UUID, datetime]
) -> str | None:
    """Open or discard a request for quote's quotes if it is due (its deadline plus the
    margin), as a tender's bids: the quotes opened in the bids log, then recorded in the
    marketplace's, then the key settled; each step idempotent, so a crash between them repeats
    only what is left."""
    try:
        request = parts.marketplace.request_for_quote(request_id)
    except NotFound:
        return None
    now = parts.clock.now()
    if now < request.terms.deadline + parts.margin:
        seen[request_id] = request.terms.deadline  # cancelled or not, as a tender's
        return None
    context = Context(actor=CLOCK, request_id=f"opening-{now:%Y%m%dT%H%M%S}", at=now)
    if request.status is RequestStatus.CANCELLED:
        # Quoters the cancellation's batch told are not told again (one message a quoter); read
        # now, at the deadline, so deciding it writes nothing before.
        events = parts.marketplace.events.get(request_id)
        told = cancellation_told(parts.keys, request, events)
        parts.bids.discard_quotes(
            context,
            request,
            "the request was cancelled before its quotes were opened",
            quote_cancellations(parts.keys, request, told=told),
        )
        parts.keys.settle(request_id, now)
        return "discarded"
    deadline = request.terms.deadline  # the mark as it stood when quotes were due, as a bid's
    quotes = parts.bids.open_quotes(
        context,
        request,
        lambda members: facts_of(
            parts.membership, parts.marks, members, deadline, as_it_stood=True
        ),
    )
    opened = [as_opened_quote(q) for q in quotes if q.status is QuoteStatus.OPENED]
    parts.marketplace.record_quotes_opened(context, request_id, opened, declined_by(quotes))
    parts.keys.settle(request_id, now)
    log.info("quotes opened", extra={"request_id": str(request_id), "quotes": len(opened)})
    return "opened"


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
