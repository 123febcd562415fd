"""Procurement matching's inputs (projections.matching, issue 14), on the read side's one
metadata: created by Alembic (migrations/versions/0019_matching.py), rebuilt by the projection.

Two kinds of table. The folded facts, a row an aggregate as its events leave it (members,
listings, contracts, lots); and what the matching queries read through their indexes, derived
from those facts (a member's CPV prefixes, regions and per-division figures; a lot's prefixes;
a tender's regions). Only public directory and marketplace data: never a bid, an interest or a
due.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text, Uuid

from projections.standing_query import standing_date_columns
from projections.tables import metadata, organisation_names_table, regions_table
from sharedkernel.sqltypes import UtcDateTime, owned_rows_table, uuid_key

PREFIX_LENGTH, REGION_LENGTH, LOT_ID_LENGTH = 8, 10, 40
# An outside opportunity (issue 16) is one lot, keyed by its opportunity id and this lot id. It
# has no buyer organisation here: its `buyer_id` is the nil UUID, which no organisation has.
OUTSIDE_LOT_ID = "opportunity"
OUTSIDE_BUYER = UUID(int=0)

# A row an organisation: ever admitted (`member`), in good standing (`listed`), and the CPV
# codes its profile states (JSON list), kept to recompute its prefixes when a listing changes.
match_members = organisation_names_table(
    "match_members",
    Column("member", Boolean, nullable=False),
    Column("listed", Boolean, nullable=False),
    Column("profile_cpv", Text, nullable=False),
    *standing_date_columns(),
)
# A lot's matches read every candidate's flags, standing dates and name from this index alone,
# not from the rows beside their JSON codes (migrations 0028, 0039).
Index(
    "ix_match_members_organisation_id_flags",
    match_members.c.organisation_id,
    match_members.c.member,
    match_members.c.listed,
    match_members.c.name,
    match_members.c.lapses_at,
    match_members.c.resigns_at,
)
# A row a service listing: its seller, whether published, its capacity and codes (JSON list).
match_listings = Table(
    "match_listings",
    metadata,
    Column("listing_id", Uuid, primary_key=True),
    Column("organisation_id", Uuid, nullable=False),
    Column("published", Boolean, nullable=False),
    Column("capacity_minor", BigInteger, nullable=False),
    Column("cpv_codes", Text, nullable=False),
)
Index("ix_match_listings_organisation_id", match_listings.c.organisation_id)
# A row a signed contract: the CPV divisions of its lot (JSON list), whether completed.
match_contracts = Table(
    "match_contracts",
    metadata,
    Column("contract_id", Uuid, primary_key=True),
    Column("divisions", Text, nullable=False),
    Column("completed", Boolean, nullable=False),
)
# A row a request for quote (issue 18): the CPV codes its posting states (JSON list), which
# give a contract for it (an accepted quote's, lot "quote") its divisions. Never a lot: a
# request is not recommended as one.
match_requests = Table(
    "match_requests",
    metadata,
    Column("request_id", Uuid, primary_key=True),
    Column("cpv_codes", Text, nullable=False),
)
# A contract's supplier parties, organisation first: "the contracts it won".
match_contract_parties = owned_rows_table(
    metadata,
    "match_contract_parties",
    "organisation_id",
    uuid_key("contract_id"),
    indexed="contract_id",
)

# Every digit prefix (lengths 2, 3, 4, 5 and 8) of every code a member states in its profile or
# in one of its published listings. The index finds a lot's candidates by prefix.
match_member_prefixes = owned_rows_table(
    metadata,
    "match_member_prefixes",
    "organisation_id",
    Column("prefix", String(PREFIX_LENGTH), primary_key=True),
)
Index(
    "ix_match_member_prefixes_prefix",
    match_member_prefixes.c.prefix,
    match_member_prefixes.c.organisation_id,
)
# The ITL regions a member's profile says it serves.
match_member_regions = regions_table("match_member_regions", "organisation_id")
# Per member and CPV division: its published listings there and their largest capacity; the
# contracts it signed there (`won`) and of those the completed (`delivered`).
match_member_divisions = owned_rows_table(
    metadata,
    "match_member_divisions",
    "organisation_id",
    Column("division", String(2), primary_key=True),
    Column("listings", Integer, nullable=False),
    Column("capacity_minor", BigInteger, nullable=False),
    Column("won", Integer, nullable=False),
    Column("delivered", Integer, nullable=False),
    indexed="division",
)

# A row a tender's lot, drafts too, with what the score and the views need of its tender; and a
# row an outside opportunity that may be open (OCDS status active, a deadline), as one lot:
# buyer OUTSIDE_BUYER, lot OUTSIDE_LOT_ID, its title as both titles, no mark or membership
# required, value 0 and currency "" when it publishes no value, `restricted` when it names any
# place (with no region rows when none was read as an ITL region).
match_lots = Table(
    "match_lots",
    metadata,
    Column("tender_id", Uuid, primary_key=True),
    Column("lot_id", String(LOT_ID_LENGTH), primary_key=True),
    Column("buyer_id", Uuid, nullable=False),
    Column("tender_title", String(200), nullable=False),
    Column("lot_title", String(200), nullable=False),
    # The tender's status (draft, planned, active, cancelled, withdrawn, unsuccessful,
    # complete), as projections.tenders folds it.
    Column("status", String(20), nullable=False),
    # The lot's outcome once decided (awarded, ...), kept across amendments.
    Column("outcome", String(20), nullable=True),
    Column("deadline", UtcDateTime, nullable=False),
    Column("value_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("quality_mark_required", Boolean, nullable=False),
    Column("members_only", Boolean, nullable=False),
    # The tender names regions (rows in match_tender_regions); else it is open anywhere.
    Column("restricted", Boolean, nullable=False),
    # The lot's CPV codes (JSON list): for the explanations and a contract's divisions.
    Column("cpv_codes", Text, nullable=False),
)
# A member's recommendations: open lots (active, deadline ahead).
Index("ix_match_lots_status_deadline", match_lots.c.status, match_lots.c.deadline)
match_lot_prefixes = owned_rows_table(
    metadata,
    "match_lot_prefixes",
    "tender_id",
    Column("lot_id", String(LOT_ID_LENGTH), primary_key=True),
    Column("prefix", String(PREFIX_LENGTH), primary_key=True),
    indexed="prefix",
)
# A member's recommendations read the lots sharing its prefixes from this index alone
# (migration 0028).
Index(
    "ix_match_lot_prefixes_prefix_lot",
    match_lot_prefixes.c.prefix,
    match_lot_prefixes.c.tender_id,
    match_lot_prefixes.c.lot_id,
)
# A tender's eligible regions; none: open to suppliers anywhere.
match_tender_regions = regions_table("match_tender_regions", "tender_id")
