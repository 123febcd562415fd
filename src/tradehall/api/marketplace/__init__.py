"""The marketplace over HTTP: buyers, service listings (and later tenders, bids, awards)."""
