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

The amendments come from the marketplace log's `Tender.Amended` events, read on from the last
notification seen (kept in memory: a fresh index reads the log's amendments from its start, once
a process); an amendment whose deadline has passed is never told (its bids are opened or about
to be, and the opening's notices follow) and is forgotten.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.utils import get_topic
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from marketplace.bids.application import BidsApp
from marketplace.bids.bid import BEFORE_OPENING, Bid
from marketplace.tenders import Tender
from projections.events import decode_state
from tradehall.mail.outbox import message_id_for
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.notices import amendment_notice
from tradehall.marketplace.sealing.keys import SealingKeys
from tradehall.marketplace.sealing.outbox import sealed_batch_rows

log = logging.getLogger("tradehall.bids")
TEMPLATE = "bid_tender_amended"
_PAGE = 500


class _Notifications(Protocol):
    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Sequence[Any]: ...


@dataclass(frozen=True)
class Amendment:
    """One public amendment as its event states it."""

    tender_id: UUID
    version: int  # the Amended event's: with the tender's id, names the amendment
    at: datetime
    deadline: datetime
    data: dict[str, Any]  # the event's state: terms, changed, rationale

    @property
    def message_id(self) -> str:
        return message_id_for(self.tender_id, self.version, TEMPLATE)


@dataclass
class AmendmentIndex:
    """The amendments not yet told whose deadline may be ahead, read on from the last
    notification of the marketplace log seen."""

    _after: int = 0
    _waiting: dict[str, Amendment] = field(default_factory=dict)

    def waiting(self, recorder: _Notifications, now: datetime) -> list[Amendment]:
        topics = [get_topic(Tender.Amended)]
        while True:
            batch = recorder.select_notifications(start=self._after + 1, limit=_PAGE, topics=topics)
            for notification in batch:
                amendment = _amendment(notification)
                if amendment is not None:
                    self._waiting[amendment.message_id] = amendment
            if batch:
                self._after = batch[-1].id
            if len(batch) < _PAGE:
                break
        for key, amendment in list(self._waiting.items()):
            if amendment.deadline <= now:
                del self._waiting[key]  # never told: its bids are opened at its deadline
        return sorted(self._waiting.values(), key=lambda a: (a.at, a.message_id))

    def told(self, amendment: Amendment) -> None:
        self._waiting.pop(amendment.message_id, None)


def _amendment(notification: Any) -> Amendment | None:
    raw = notification.originator_id
    tender_id = raw if isinstance(raw, UUID) else UUID(str(raw))
    try:
        data = decode_state(notification.state)
        at = data["timestamp"]
        deadline = datetime.fromisoformat(str(data["terms"]["tender_period"]["end"]))
        if not isinstance(at, datetime) or deadline.tzinfo is None:
            raise ValueError("no time")
    except (KeyError, TypeError, ValueError) as error:
        # Not as the domain writes it (ADR 16): left out, and said so (an amendment is public).
        log.warning(
            "an amendment of tender %s left out of the bidders' notices (%s)",
            tender_id,
            type(error).__name__,
        )
        return None
    return Amendment(tender_id, int(notification.originator_version), at, deadline, data)


def told_of(bids: Sequence[Bid], amendment: Amendment) -> list[tuple[UUID, UUID, str]]:
    """Whom an amendment is told to: (member, bid id, lot id) for each member of each bid not
    opened or closed that was drafted at or before it, in a fixed order."""
    return sorted(
        (member, bid.id, bid.lot_id)
        for bid in bids
        if bid.status in BEFORE_OPENING and bid.created_on <= amendment.at
        for member in bid.members
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
    lodged = bids.bids_in(box) if box is not None and not box.closed else []
    url = public_url.rstrip("/")
    terms = amendment.data.get("terms")
    title = str(terms.get("title", "")) if isinstance(terms, dict) else ""
    notice = amendment_notice(amendment.tender_id, title, amendment.data, url)
    body = (
        f"{notice.body}\n\n"
        "Your organisation's bid for this tender was drafted before this amendment: read it "
        "again, and if the amendment calls for it, change it (withdraw it and submit it again) "
        f"before the deadline.\nYour bid: {url}/api/v1/bids/"
    )
    rows = sealed_batch_rows(
        keys,
        message_id=amendment.message_id,
        template=TEMPLATE,
        subject=f"A tender you bid on was amended: {title}",
        body=body,
        recipients=[
            (member, f"{bid_id} ({lot_id})")
            for member, bid_id, lot_id in told_of(lodged, amendment)
        ],
        created_at=amendment.at,
    )
    with keys.engine.begin() as connection:
        connection.execute(_insert_unless_present(connection), rows)


def _insert_unless_present(connection: Any) -> Any:
    """INSERT ... ON CONFLICT (message_id) DO NOTHING: two clocks at once write one batch."""
    dialects: dict[str, Any] = {"sqlite": sqlite, "postgresql": postgresql}
    dialect = dialects[connection.dialect.name]
    return dialect.insert(outbox_messages).on_conflict_do_nothing(index_elements=["message_id"])
