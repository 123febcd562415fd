"""Opening a tender's bids: each submitted bid checked again, valid or invalid with why.
Pure code over the bids and what the caller learned of each member at opening."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from marketplace.bids.bid import Bid, BidStatus
from marketplace.bids.content import SupplierFacts, ineligibility
from marketplace.tenders import Tender


@dataclass(frozen=True)
class Verdict:
    bid_id: UUID
    reason: str | None  # None: valid


def verdicts(
    tender: Tender, bids: Sequence[Bid], facts: Mapping[UUID, SupplierFacts]
) -> list[Verdict]:
    """For each submitted bid: its price in its lot's currency (which an amendment may have
    changed since), eligibility of every member (standing, mark, regions), the consortium
    complete, and each member in only one bid per lot (a member in two bids for a
    lot makes both invalid: which one it meant is not ours to guess)."""
    submitted = [b for b in bids if b.status is BidStatus.SUBMITTED]
    bids_of: dict[tuple[str, UUID], int] = defaultdict(int)
    for bid in submitted:
        for member in _committed(bid):
            bids_of[(bid.lot_id, member)] += 1
    found = []
    for bid in submitted:
        found.append(Verdict(bid.id, _why_invalid(tender, bid, facts, bids_of)))
    return found


def _committed(bid: Bid) -> tuple[UUID, ...]:
    """Who is in the bid: the lead, and the partners that accepted."""
    return (bid.lead_id, *(p for p in bid.partners if p in bid.accepted))


def _why_invalid(
    tender: Tender,
    bid: Bid,
    facts: Mapping[UUID, SupplierFacts],
    bids_of: Mapping[tuple[str, UUID], int],
) -> str | None:
    otherwise = bid.priced_otherwise(tender)
    if otherwise is not None:  # the lot's currency amended since, and the bid not priced again
        return otherwise
    if not bid.consortium_complete:
        waiting = sorted(str(p) for p in bid.partners if p not in bid.accepted)
        return f"the consortium is incomplete: not accepted by {', '.join(waiting)}"
    for member in bid.members:
        supplier = facts.get(member)
        if supplier is None:
            return f"organisation {member} is not registered"
        why = ineligibility(tender.terms, tender.buyer_id, supplier)
        if why is not None:
            return why
    for member in bid.members:
        if bids_of[(bid.lot_id, member)] > 1:
            return f"organisation {member} is in more than one bid for {bid.lot_id}"
    return None


def as_opened(bid: Bid) -> dict[str, Any]:
    """An opened bid as the marketplace records it: a valid bid whole, an invalid one its
    bidder and why."""
    valid = bid.status is BidStatus.OPENED
    record: dict[str, Any] = {
        "bid_id": str(bid.id),
        "lot_id": bid.lot_id,
        "lead_id": str(bid.lead_id),
        "shares": [s.as_data() for s in bid.shares],
        "submitted_at": bid.submitted_at.isoformat() if bid.submitted_at else None,
        "digest": bid.digest,
        "valid": valid,
        "reason": bid.invalid_reason,
    }
    if valid:
        record["content"] = bid.content.as_data()
        record["documents"] = [d.as_data() for d in bid.documents]
    return record
