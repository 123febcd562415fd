"""Where bids are found without anyone reading them: a tender's ballot box (every bid lodged
for it, closed at opening) and an organisation's index (the bids it leads or is a partner in).
Both are found by ids derived with a secret (ports.BidIds). Pure domain code."""

from __future__ import annotations

from uuid import UUID

from sharedkernel.errors import Conflict
from sharedkernel.events import Context, TradehallAggregate


class BidBox(TradehallAggregate):
    """A tender's ballot box. Every new bid is lodged here in the bid's own transaction, and
    opening closes it in the transaction that opens the bids: a bid committed late either made
    it into the box before opening or is refused."""

    class Started(TradehallAggregate.Created):
        tender_id: UUID

    class Lodged(TradehallAggregate.Event):
        tender_id: UUID
        bid_id: UUID

        def apply(self, aggregate: BidBox) -> None:
            aggregate.bid_ids.append(self.bid_id)

    class Closed(TradehallAggregate.Event):
        tender_id: UUID
        outcome: str  # opened | discarded (the tender cancelled or withdrawn)

        def apply(self, aggregate: BidBox) -> None:
            aggregate.outcome = self.outcome

    def __init__(self, tender_id: UUID) -> None:
        self.tender_id = tender_id
        self.bid_ids: list[UUID] = []
        self.outcome: str | None = None

    @classmethod
    def start(cls, context: Context, box_id: UUID, tender_id: UUID) -> BidBox:
        return cls._create(cls.Started, id=box_id, tender_id=tender_id, **context.event_kwargs())

    @property
    def closed(self) -> bool:
        return self.outcome is not None

    def lodge(self, context: Context, bid_id: UUID) -> None:
        if self.closed:
            raise Conflict("the tender's deadline has passed: bids are no longer accepted")
        if bid_id in self.bid_ids:
            return
        self.trigger_event(
            self.Lodged, tender_id=self.tender_id, bid_id=bid_id, **context.event_kwargs()
        )

    def close(self, context: Context, outcome: str, *, over: str | None = None) -> None:
        """Closed with this outcome; a box closed already is closed again only over `over`
        (an opening its owner never recorded, the owner ended since: discarded after all)."""
        if self.closed and (over is None or self.outcome != over):
            raise Conflict(f"the box is {self.outcome} already")
        self.trigger_event(
            self.Closed, tender_id=self.tender_id, outcome=outcome, **context.event_kwargs()
        )


class BidderIndex(TradehallAggregate):
    """The bids one organisation leads or is invited into, each with its tender."""

    class Started(TradehallAggregate.Created):
        tender_id: UUID  # the first bid's tender (the sealed log encrypts under its key)
        bid_id: UUID

    class Listed(TradehallAggregate.Event):
        tender_id: UUID
        bid_id: UUID

        def apply(self, aggregate: BidderIndex) -> None:
            aggregate.bids[self.bid_id] = self.tender_id

    def __init__(self, tender_id: UUID, bid_id: UUID) -> None:
        self.bids: dict[UUID, UUID] = {bid_id: tender_id}

    @classmethod
    def start(cls, context: Context, index_id: UUID, tender_id: UUID, bid_id: UUID) -> BidderIndex:
        return cls._create(
            cls.Started, id=index_id, tender_id=tender_id, bid_id=bid_id, **context.event_kwargs()
        )

    def list(self, context: Context, tender_id: UUID, bid_id: UUID) -> None:
        if bid_id in self.bids:
            return
        self.trigger_event(
            self.Listed, tender_id=tender_id, bid_id=bid_id, **context.event_kwargs()
        )
