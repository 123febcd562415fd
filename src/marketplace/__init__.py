"""The marketplace context: listings, tenders, bids, awards and contracts (not built yet)."""
