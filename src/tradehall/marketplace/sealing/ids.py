"""Bid ids by a keyed hash (the bids context's `BidIds`): nobody without the tender's key (or
the index key) can recompute whose bid, box or index an id is, as anyone could a uuid5's."""

from __future__ import annotations

import hashlib
import hmac
from uuid import UUID

from tradehall.marketplace.sealing.keys import SealingKeys


def keyed_uuid(key: bytes, message: str) -> UUID:
    """A version-4-shaped UUID from the first 16 bytes of HMAC-SHA256(key, message)."""
    digest = bytearray(hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x40  # version 4
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return UUID(bytes=bytes(digest))


class KeyedBidIds:
    def __init__(self, keys: SealingKeys) -> None:
        self.keys = keys

    def bid_id(self, tender_id: UUID, lot_id: str, lead_id: UUID) -> UUID:
        return keyed_uuid(self.keys.tender_key(tender_id), f"bid:{tender_id}:{lot_id}:{lead_id}")

    def box_id(self, tender_id: UUID) -> UUID:
        return keyed_uuid(self.keys.tender_key(tender_id), f"box:{tender_id}")

    def index_id(self, organisation_id: UUID) -> UUID:
        return keyed_uuid(self.keys.index_key(), f"index:{organisation_id}")

    def quote_id(self, request_id: UUID, supplier_id: UUID) -> UUID:
        return keyed_uuid(self.keys.tender_key(request_id), f"quote:{request_id}:{supplier_id}")
