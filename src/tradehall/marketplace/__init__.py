"""The marketplace context's adapters: its declaration; tenders' notices, deadline jobs and
imports will live here, as membership's do in tradehall/membership/."""

from tradehall.context import EventLog

# The marketplace's event log. Bids will have a sealed log of their own (ADR 21).
LOG = EventLog("marketplace")
