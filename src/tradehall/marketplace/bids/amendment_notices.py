"""Bidders told of a tender's amendments, sealed, whatever their number (ADR 27).

A member may bid without registering interest, so the interested suppliers' notice of an
amendment (tradehall.marketplace.notices) does not reach every bidder. The opening clock tells
them: for each public amendment whose deadline is still ahead, one sealed batch row in the outbox
(tradehall.marketplace.sealing.outbox), the same size and written the same way whether the tender
has no bid or many, dated by the amendment, its message id from the amendment alone (public, as
the amendment is): the row is its own marker, so a replay, a second tick or two clocks at once
write nothing more. Inside it, each member of each bid drafted at or before the amendment and
not yet opened or closed (a draft, a submitted bid, a bid withdrawn: it may be submitted again
until the deadline) is told, by the sender, in a message naming its own bid alone. Past
`BATCH_RECIPIENTS` members the batch takes a row more of the same size (the bound a reader of
the outbox could learn a tender has passed). The tick logs one line per amendment told.

A member that registered interest is told of the amendment by the interested suppliers' notice
too. That notice is public (its rows name each addressee) and is written the same whether or not
its addressee bid; the batch names, sealed, that notice (`PublicNotice`), and the sender, when it
opens the batch, passes over an addressee the notice already addresses (its row queued): one
message a member, decided inside the sealed step, the batch's row handled the same (one passed
over is as one not named; a batch passing over every addressee probes the server as an empty
one does). Should the sender open the batch before the notice writer has queued the public
notice (it follows the log, the batch waits for the clock's tick), the member is told twice,
never not at all.

A document added to a published tender before its deadline (`Tender.DocumentAdded`, public, not
an amendment) is told alike: one batch row of the same size keyed by that event, template
`bid_tender_document_added`, naming each member of each bid drafted at or before it, the
interested suppliers' notice of the same event (`tender_document_added`) passed over as an
amendment's is. A draft's documents tell nobody (the index follows `Tender.Published`).

The amendments come from the marketplace log's `Tender.Amended` events, read on from the last
notification seen (kept in memory: a fresh index reads the log's amendments from its start, once
a process). An amendment (a document) is told at any tick while its tender's deadline is ahead,
the latest deadline, as later amendments left it, not the one it saw. One whose tender's
deadline passed before a tick read it is never told, and is forgotten: from the deadline no bid
changes, so a message asking a bidder to change its bid would ask the impossible; its bids are
opened at the deadline plus the margin and the opening's notices follow.

A tender that ends (cancelled, withdrawn) before its deadline is told alike, at the tick after
its public `Tender.Ended`: one batch row of the same size, template `bid_tender_ended_early`,
telling each member of each bid that it will never be opened. Its bids are still discarded at
the deadline plus the margin (ADR 27: discarding writes an event per bid), and the notice
discarding would queue is not queued again for a bid this batch told (`ending_told`, read then,
so deciding it writes nothing before the deadline). The index keeps each tender's deadline and
title from its drafts and amendments (an ending states neither) until that deadline passes.

A request for quote cancelled before its deadline is told alike (ADR 35), at the tick after its
public `RequestForQuote.Cancelled`: one batch row of the same size, template
`quote_request_cancelled_early`, telling each supplier of a standing quote (quoted, made at or
before the cancellation) that it will never be opened, in a message naming its own quote alone;
an invited supplier is left out, told at once by the request's own notice writer. Its quotes are
still discarded at the deadline plus the margin, and the discarding queues nothing more for a
supplier this batch named (`cancellation_told`, read then from the batch). The index keeps each
request's deadline, title and invited from its `Posted` until that deadline passes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.utils import get_topic
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from marketplace.bids.application import BidsApp
from marketplace.bids.bid import BEFORE_OPENING, Bid
from marketplace.quotes.quote import Quote, QuoteStatus
from marketplace.quotes.request import RequestForQuote
from marketplace.tenders import Tender
from projections.events import decode_state
from tradehall.mail.outbox import message_id_for
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.notices import (
    AMENDED_TEMPLATE,
    DOCUMENT_TEMPLATE,
    amendment_notice,
    document_notice,
)
from tradehall.marketplace.sealing.keys import SealingKeys
from tradehall.marketplace.sealing.outbox import (
    PublicNotice,
    open_sealed_messages,
    sealed_batch_rows,
)

log = logging.getLogger("tradehall.bids")
TEMPLATE = "bid_tender_amended"
TEMPLATE_DOCUMENT = "bid_tender_document_added"
TEMPLATE_ENDED = "bid_tender_ended_early"
TEMPLATE_QUOTES = "quote_request_cancelled_early"
# What the index reads: what sets a tender's (a request's) deadline and title, and what bidders
# (quoters) are told of.
_FOLLOWED = (
    Tender.Drafted,
    Tender.DraftRevised,
    Tender.Published,
    Tender.Amended,
    Tender.DocumentAdded,
    Tender.Ended,
    RequestForQuote.Posted,
    RequestForQuote.Cancelled,
)
_POSTED = get_topic(RequestForQuote.Posted)
_CANCELLED = get_topic(RequestForQuote.Cancelled)
_PAGE = 500
# How an ending reads in "The buyer has ... the tender" (unsuccessful comes only after the
# deadline, so is never told here; worded all the same).
_ENDED_AS = {"cancelled": "cancelled", "withdrawn": "withdrawn", "unsuccessful": "closed"}


class _Notifications(Protocol):
    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Sequence[Any]: ...


@dataclass(frozen=True)
class Amendment:
    """One public change bidders are told of, as its event states it: an amendment, or the
    tender's ending (cancelled, withdrawn, closed unsuccessful) before its deadline; or a
    request for quote's cancellation (its `tender_id` the request's id), its quoters told."""

    tender_id: UUID
    version: int  # its event's: with the tender's id and the template, names the notice
    at: datetime
    deadline: datetime  # the tender's, as the change left it
    data: dict[str, Any]  # the event's state: terms, changed, rationale; or status, reason
    template: str = TEMPLATE
    title: str = ""
    invited: frozenset[UUID] = frozenset()  # a request's: told by its own notice writer

    @property
    def message_id(self) -> str:
        return message_id_for(self.tender_id, self.version, self.template)


@dataclass
class AmendmentIndex:
    """The amendments and endings not yet told whose deadline may be ahead, read on from the
    last notification of the marketplace log seen; with each tender's deadline and title as
    its drafts and amendments left them (an ending states neither)."""

    _after: int = 0
    _waiting: dict[str, Amendment] = field(default_factory=dict)
    # A tender's (a request's) deadline, title and invited (a tender's: none).
    _tenders: dict[UUID, tuple[datetime, str, frozenset[UUID]]] = field(default_factory=dict)
    # The tenders of those published (a draft's documents tell nobody).
    _published: set[UUID] = field(default_factory=set)

    def waiting(self, recorder: _Notifications, now: datetime) -> list[Amendment]:
        topics = [get_topic(event) for event in _FOLLOWED]
        while True:
            batch = recorder.select_notifications(start=self._after + 1, limit=_PAGE, topics=topics)
            for notification in batch:
                self._fold(notification)
            if batch:
                self._after = batch[-1].id
            if len(batch) < _PAGE:
                break
        for key, amendment in list(self._waiting.items()):
            # The tender's deadline as its latest amendment left it (a later one may have
            # extended the one this change saw); an ending's, as it stood at the ending.
            known = self._tenders.get(amendment.tender_id)
            deadline = amendment.deadline if known is None else max(known[0], amendment.deadline)
            if deadline <= now:
                del self._waiting[key]  # never told: its bids are settled at its deadline
        for tender_id, (deadline, _, _) in list(self._tenders.items()):
            if deadline <= now:  # an ending from now on is not told: its bids are settled
                del self._tenders[tender_id]
                self._published.discard(tender_id)
        return sorted(self._waiting.values(), key=lambda a: (a.at, a.message_id))

    def told(self, amendment: Amendment) -> None:
        self._waiting.pop(amendment.message_id, None)

    def _fold(self, notification: Any) -> None:
        raw = notification.originator_id
        tender_id = raw if isinstance(raw, UUID) else UUID(str(raw))
        topic = notification.topic
        name = topic.rpartition(".")[2]
        try:
            data = decode_state(notification.state)
            at = data["timestamp"]
            if not isinstance(at, datetime):
                raise TypeError("no time")
            if name == "Published":
                self._published.add(tender_id)
                return
            if name == "DocumentAdded":
                known = self._tenders.get(tender_id)
                if known is not None and tender_id in self._published and at < known[0]:
                    version = int(notification.originator_version)
                    change = Amendment(tender_id, version, at, known[0], data)
                    change = replace(change, template=TEMPLATE_DOCUMENT, title=known[1])
                    self._waiting[change.message_id] = change
                return
            if name == "Ended" or topic == _CANCELLED:
                known = self._tenders.pop(tender_id, None)
                if known is not None and at < known[0]:  # after it, discarding tells them
                    version = int(notification.originator_version)
                    change = Amendment(tender_id, version, at, known[0], data)
                    template = TEMPLATE_QUOTES if topic == _CANCELLED else TEMPLATE_ENDED
                    change = replace(change, template=template, title=known[1], invited=known[2])
                    self._waiting[change.message_id] = change
                return
            invited: frozenset[UUID] = frozenset()
            if topic == _POSTED:
                deadline = _moment(data["deadline"])
                title = str(data["title"])
                invited = frozenset(UUID(str(i)) for i in data.get("invited") or ())
            else:
                terms = data["terms"]
                deadline = _moment(terms["tender_period"]["end"])
                title = str(terms["title"])
        except (KeyError, TypeError, ValueError) as error:
            # Not as the domain writes it (ADR 16): left out, and said so (it is public).
            log.warning(
                "a change of tender %s left out of the bidders' notices (%s)",
                tender_id,
                type(error).__name__,
            )
            return
        self._tenders[tender_id] = (deadline, title, invited)
        if name == "Amended":
            amendment = Amendment(
                tender_id, int(notification.originator_version), at, deadline, data, title=title
            )
            self._waiting[amendment.message_id] = amendment


def _moment(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("a deadline without its zone")
    return moment


def told_of(bids: Sequence[Bid], amendment: Amendment) -> list[tuple[UUID, UUID, str]]:
    """Whom an amendment is told to: (member, bid id, lot id) for each member of each bid not
    opened or closed that was drafted at or before it, in a fixed order."""
    return sorted(
        (member, bid.id, bid.lot_id)
        for bid in bids
        if bid.status in BEFORE_OPENING and bid.created_on <= amendment.at
        for member in bid.members
    )


def quoters_told_of(quotes: Sequence[Quote], cancellation: Amendment) -> list[tuple[UUID, UUID]]:
    """Whom a request's cancellation is told to: (supplier, quote id) for each quote standing
    (quoted, not settled) that was made at or before it, its supplier not invited (the request's
    own notice writer tells those), in a fixed order. At the deadline the discarding tells the
    same quotes (`quote_notices.quote_cancellations`), so skips them once this was told."""
    return sorted(
        (quote.supplier_id, quote.id)
        for quote in quotes
        if quote.status is QuoteStatus.QUOTED
        and not quote.settled
        and quote.created_on <= cancellation.at
        and quote.supplier_id not in cancellation.invited
    )


def tell_amendments(
    bids: BidsApp,
    recorder: _Notifications,
    keys: SealingKeys,
    index: AmendmentIndex,
    now: datetime,
    public_url: str,
) -> int:
    """Each amendment not yet told whose deadline is ahead: its batch written (unless there
    already). The amendments told now; one that fails holds up no other."""
    told_now = 0
    waiting = index.waiting(recorder, now)
    there = _queued(keys.engine, [a.message_id for a in waiting])
    for amendment in waiting:
        if amendment.message_id not in there:
            try:
                _tell(bids, keys, amendment, public_url)
            except Exception as error:
                # This amendment alone, tried again at the next tick (its tender's key
                # unreadable, say); only the kind of failure, as the opening clock logs.
                log.error(
                    "bidders could not be told of an amendment (%s); trying again at the next tick",
                    type(error).__name__,
                )
                continue
            told_now += 1
            if amendment.template == TEMPLATE_QUOTES:
                log.info(
                    "quoters told of a cancellation",
                    extra={"request_id": str(amendment.tender_id), "version": amendment.version},
                )
            else:
                log.info(
                    "bidders told of an amendment",
                    extra={"tender_id": str(amendment.tender_id), "version": amendment.version},
                )
        index.told(amendment)
    return told_now


def _queued(engine: Engine, message_ids: list[str]) -> set[str]:
    if not message_ids:
        return set()
    column = outbox_messages.c.message_id
    with engine.connect() as connection:
        return set(connection.scalars(select(column).where(column.in_(message_ids))))


def _tell(bids: BidsApp, keys: SealingKeys, amendment: Amendment, public_url: str) -> None:
    box = bids.box(amendment.tender_id)
    open_box = box is not None and not box.closed
    url = public_url.rstrip("/")
    subject, body = _words(amendment, url)
    recipients: list[tuple[UUID, str]]
    if amendment.template == TEMPLATE_QUOTES:
        # The box's quotes (BidsApp lists a box's bids only; its quotes are read the same way).
        quotes = bids.quotes_in(box) if box is not None and open_box else []
        recipients = [
            (supplier, f"{supplier}/quotes/{amendment.tender_id} (quote {quote_id})")
            for supplier, quote_id in quoters_told_of(quotes, amendment)
        ]
    else:
        lodged = bids.bids_in(box) if box is not None and open_box else []
        recipients = [
            (member, f"{bid_id} ({lot_id})")
            for member, bid_id, lot_id in told_of(lodged, amendment)
        ]
    rows = sealed_batch_rows(
        keys,
        message_id=amendment.message_id,
        template=amendment.template,
        subject=subject,
        body=body,
        recipients=recipients,
        created_at=amendment.at,
        public_notice=_public_notice(amendment),
    )
    with keys.engine.begin() as connection:
        connection.execute(_insert_unless_present(connection), rows)


def _public_notice(change: Amendment) -> PublicNotice | None:
    """The interested suppliers' notice of the same event (tradehall.marketplace.notices), whose
    addressees the sender passes over in this batch: a member is told once."""
    public = {TEMPLATE: AMENDED_TEMPLATE, TEMPLATE_DOCUMENT: DOCUMENT_TEMPLATE}
    template = public.get(change.template)
    return None if template is None else PublicNotice(change.tender_id, change.version, template)


def _words(change: Amendment, url: str) -> tuple[str, str]:
    """The subject and what is said to every addressee, up to its own bid's id and lot."""
    title = change.title
    if change.template == TEMPLATE_QUOTES:
        reason = str(change.data.get("reason") or "no reason given")
        return (
            f"A request you quoted on was cancelled: {title}",
            f"The requester has cancelled the request for quote “{title}” before its deadline: "
            f"{reason}.\n\nYour organisation's quote will never be opened, and nothing more is "
            "taken.\nThe request: "
            f"{url}/api/v1/requests-for-quote/{change.tender_id}\n"
            f"Your quote: {url}/api/v1/organisations/",
        )
    if change.template == TEMPLATE_ENDED:
        status = _ENDED_AS.get(str(change.data.get("status")), "ended")
        reason = str(change.data.get("reason") or "no reason given")
        return (
            f"A tender you bid on was {status}: {title}",
            f'The buyer has {status} the tender "{title}" before its deadline: {reason}.\n'
            "Your organisation's bid for it will never be opened, and nothing more is taken. "
            f"The tender: {url}/api/v1/tenders/{change.tender_id}\nYour bid: {url}/api/v1/bids/",
        )
    if change.template == TEMPLATE_DOCUMENT:
        notice = document_notice(change.tender_id, title, change.data, url)
        subject, what = f"A document was added to a tender you bid on: {title}", "document"
    else:
        notice = amendment_notice(change.tender_id, title, change.data, url)
        subject, what = f"A tender you bid on was amended: {title}", "amendment"
    return (
        subject,
        f"{notice.body}\n\n"
        f"Your organisation's bid for this tender was drafted before this {what}: read it "
        f"again, and if the {what} calls for it, change it (withdraw it and submit it again) "
        f"before the deadline.\nYour bid: {url}/api/v1/bids/",
    )


def ending_told(keys: SealingKeys, tender: Tender, events: Iterable[Any]) -> frozenset[UUID]:
    """The organisations an ended tender's batch told of its ending (its rows opened from the
    outbox): none if it ended at or after its deadline, or the clock did not tick between its
    ending and its deadline. Read at the deadline by the discarding, which then queues nothing
    more for them: one message a bidder. Read from the batch itself, not from the bids' times,
    so a bid saved in a race with the ending and missed by the batch is told then."""
    ended = [event for event in events if isinstance(event, Tender.Ended)]
    if not ended or ended[-1].timestamp >= tender.terms.deadline:
        return frozenset()
    last = ended[-1]
    return _named_in_batch(
        keys, message_id_for(tender.id, int(last.originator_version), TEMPLATE_ENDED)
    )


def cancellation_told(
    keys: SealingKeys, request: RequestForQuote, events: Iterable[Any]
) -> frozenset[UUID]:
    """The suppliers a cancelled request's batch told (its rows opened from the outbox): none
    if the clock did not tick between the cancellation and the deadline. Read at the deadline
    by the discarding, which then queues nothing more for them: one message a quoter. Read
    from the batch itself, not from the quotes' times, so a quote saved in a race with the
    cancellation and missed by the batch is told then."""
    cancelled = [event for event in events if isinstance(event, RequestForQuote.Cancelled)]
    if not cancelled or cancelled[-1].timestamp >= request.terms.deadline:
        return frozenset()
    last = cancelled[-1]
    return _named_in_batch(
        keys, message_id_for(request.id, int(last.originator_version), TEMPLATE_QUOTES)
    )


def _named_in_batch(keys: SealingKeys, first: str) -> frozenset[UUID]:
    """The organisations a batch's rows name: its first row and its further ones (":2",
    ":3"... before the closing ">")."""
    column = outbox_messages.c.message_id
    with keys.engine.connect() as connection:
        rows = list(
            connection.execute(select(outbox_messages).where(column.startswith(first[:-1])))
        )
    return frozenset(
        organisation for row in rows for organisation, *_ in open_sealed_messages(keys, row)[1]
    )


def _insert_unless_present(connection: Any) -> Any:
    """INSERT ... ON CONFLICT (message_id) DO NOTHING: two clocks at once write one batch."""
    dialects: dict[str, Any] = {"sqlite": sqlite, "postgresql": postgresql}
    dialect = dialects[connection.dialect.name]
    return dialect.insert(outbox_messages).on_conflict_do_nothing(index_elements=["message_id"])
