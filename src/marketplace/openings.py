"""A tender's bids as opened: the one place, after opening, that evaluation, read models, OCDS
and the ledger read bids from (the sealed bids log is read by nothing but its own Application).
Pure domain code."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from sharedkernel.events import Context, TradehallAggregate

_NAMESPACE = uuid5(NAMESPACE_URL, "https://tradehall.invalid/bid-opening")


def opening_id_for(tender_id: UUID) -> UUID:
    return uuid5(_NAMESPACE, str(tender_id))


class BidOpening(TradehallAggregate):
    """Recorded once per tender, by the clock, from the bids it opened: each valid bid's
    content; each invalid one's bidder and why (its content is not for evaluation)."""

    class Recorded(TradehallAggregate.Created):
        tender_id: UUID
        bids: list[dict[str, Any]]

    def __init__(self, tender_id: UUID, bids: list[dict[str, Any]]) -> None:
        self.tender_id = tender_id
        self.bids = bids

    @classmethod
    def record(cls, context: Context, tender_id: UUID, bids: list[dict[str, Any]]) -> BidOpening:
        return cls._create(
            cls.Recorded,
            id=opening_id_for(tender_id),
            tender_id=tender_id,
            bids=bids,
            **context.event_kwargs(),
        )

    @property
    def opened_at(self) -> datetime:
        return self.created_on
