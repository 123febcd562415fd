"""What the bids context needs from outside and cannot compute itself: ids derived with a
secret (a keyed hash), so nobody without the key can recompute whose bid an id is."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID


class BidIds(Protocol):
    def bid_id(self, tender_id: UUID, lot_id: str, lead_id: UUID) -> UUID:
        """The one bid a lead member may make for a lot (its claim on the lot)."""
        ...

    def box_id(self, tender_id: UUID) -> UUID:
        """The tender's ballot box: which bids were lodged, closed at opening."""
        ...

    def index_id(self, organisation_id: UUID) -> UUID:
        """An organisation's index of the bids it leads or is a partner in."""
        ...

    def quote_id(self, request_id: UUID, supplier_id: UUID) -> UUID:
        """The one quote a supplier may make for a request for quote (sealed as bids are)."""
        ...
