"""Sealed bids: the bid, the ballot box, the bidder index, opening (pure domain)."""
