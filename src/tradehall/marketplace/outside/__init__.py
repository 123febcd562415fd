"""Outside opportunities' adapters (issue 16): OCDS release packages read from a file or a
polled feed (packages.py), imported release by release through the MarketplaceApp
(importing.py), the feed's high-water mark (tables.py) and its poller (feed.py)."""
