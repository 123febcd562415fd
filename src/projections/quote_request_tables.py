"""The requests-for-quote read model's tables (projections.quote_requests, issue 18), on the read
side's one metadata: created by Alembic (migrations/versions/0026_*), rebuilt by the projection."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, Uuid

from projections.tables import cpv_codes_table, metadata, regions_table
from sharedkernel.sqltypes import UtcDateTime, owned_rows_table, uuid_key

# A row a request for quote, as its Posted event states it and its later events move it:
# status open -> cancelled | quotes_opened -> accepted | closed. The counts are known only once
# the quotes are opened (NULL before: sealed until then); the accepted quote's supplier, price
# and contract once one is accepted; `reason` a cancellation's or closure's.
quote_requests = Table(
    "quote_requests",
    metadata,
    Column("request_id", Uuid, primary_key=True),
    Column("requester_id", Uuid, nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    # The budget band, if one is given (either bound may be open).
    Column("budget_currency", String(3), nullable=True),
    Column("budget_min_minor", BigInteger, nullable=True),
    Column("budget_max_minor", BigInteger, nullable=True),
    Column("deadline", UtcDateTime, nullable=False),
    # When the work is done.
    Column("period_start", UtcDateTime, nullable=False),
    Column("period_end", UtcDateTime, nullable=False),
    Column("audience", String(20), nullable=False),  # open or invited
    Column("status", String(20), nullable=False),
    Column("quotes_count", Integer, nullable=True),
    Column("declined_count", Integer, nullable=True),
    Column("accepted_quote_id", Uuid, nullable=True),
    Column("accepted_supplier_id", Uuid, nullable=True),
    Column("accepted_price_minor", BigInteger, nullable=True),
    Column("accepted_currency", String(3), nullable=True),
    Column("contract_id", Uuid, nullable=True),
    Column("reason", Text, nullable=True),
    Column("version", BigInteger, nullable=False),
    Column("posted_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The currency every quote is in (added last, by migration 0034): the one the request
    # states (its budget's where it has one; a request posted before requests stated one: its
    # budget's, or GBP). NULL only for a row kept before migration 0034 that names no budget
    # and no accepted quote, until the projection is rebuilt.
    Column("currency", String(3), nullable=True),
)
Index("ix_quote_requests_requester_id", quote_requests.c.requester_id)
Index("ix_quote_requests_status_deadline", quote_requests.c.status, quote_requests.c.deadline)


def _request_organisations(name: str) -> Table:
    """Organisations a request names, found by organisation: an organisation's requests."""
    return owned_rows_table(
        metadata, name, "request_id", uuid_key("organisation_id"), indexed="organisation_id"
    )


quote_request_cpv = cpv_codes_table("quote_request_cpv", "request_id")
# The regions the work is in (none: anywhere).
quote_request_regions = regions_table("quote_request_regions", "request_id")
# The organisations an invited-audience request invites (shown to the requester and staff only;
# an invited organisation sees the request in its list).
quote_request_invitations = _request_organisations("quote_request_invitations")
# The organisations that quoted, once the quotes are opened (QuotesOpened): never shown, only
# read so that a quoter still finds the request once it is no longer open to all.
quote_request_quoters = _request_organisations("quote_request_quoters")
