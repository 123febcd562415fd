"""The bids' adapters (issue 12, ADR 27): the sealed log's declaration, what membership says of
a supplier, the sealed notices (receipts, invitations, cancellations) and the opening clock."""

from tradehall.context import EventLog

# Sealed: no projection, follower, status line or read-your-writes position covers it.
LOG = EventLog("bids", sealed=True)
