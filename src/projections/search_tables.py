"""Full-text search's tables (projections.search, projections.tenders), on the read side's one
metadata: created by Alembic (migrations/versions/0020_directory_search.py), rebuilt by the
projections.

Each searchable table has its text index (projections.text_search): on PostgreSQL a GIN index
on the weighted tsvector, declared here so a rebuild's copy of the table keeps it; on SQLite an
FTS5 table kept in step by triggers, both made by the migration alone (the rebuild's swap
writes the live table, so the triggers follow it).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, String, Table, Text, Uuid

from projections.standing_query import standing_date_columns
from projections.tables import metadata, organisation_names_table, regions_table
from projections.text_search import TextIndex
from sharedkernel.sqltypes import UtcDateTime, owned_rows_table

# A row an organisation (projections.search.DirectorySearchProjection): what the directory
# shows of it, whether it is listed (in good standing), and its searchable text. A rowid table
# (SQLite's FTS5 index names its rows by rowid).
directory_search = organisation_names_table(
    "directory_search",
    Column("legal_form", String(60), nullable=False),
    Column("social_purpose", Text, nullable=False),
    Column("listed", Boolean, nullable=False),
    Column("admitted_at", UtcDateTime, nullable=True),
    # Its published service listings' titles and descriptions, in the listings' id order.
    Column("listings_text", Text, nullable=False),
    *standing_date_columns(),
)
Index("ix_directory_search_listed_name", directory_search.c.listed, directory_search.c.name)
DIRECTORY_TEXT = TextIndex.ranked(
    directory_search, ("name", "social_purpose", "listings_text"), "directory_search_fts"
)
DIRECTORY_TEXT.gin_index("ix_directory_search_document")

# Its CPV codes, from its profile and from its published listings (one row for each source a
# code comes from), with the code's stem for the hierarchy (projections.codes).
directory_search_cpv = owned_rows_table(
    metadata,
    "directory_search_cpv",
    "organisation_id",
    Column("cpv_code", String(12), primary_key=True),
    # "profile" or "listing".
    Column("source", String(10), primary_key=True),
    Column("cpv_stem", String(8), nullable=False),
    indexed="cpv_stem",
)
# The search's CPV filter reads its members from this index alone, a prefix of the stem as a
# range of text (varchar_pattern_ops: PostgreSQL's database collation need not be C); its
# division facet reads each found member's stems from the next (migration 0028).
Index(
    "ix_directory_search_cpv_stem_pattern",
    directory_search_cpv.c.cpv_stem,
    directory_search_cpv.c.organisation_id,
    postgresql_ops={"cpv_stem": "varchar_pattern_ops"},
)
Index(
    "ix_directory_search_cpv_organisation_id_stem",
    directory_search_cpv.c.organisation_id,
    directory_search_cpv.c.cpv_stem,
)
# The regions its profile serves.
directory_search_regions = regions_table("directory_search_regions", "organisation_id")
# The search's region filter reads its members from this index alone (migration 0028).
Index(
    "ix_directory_search_regions_region_organisation_id",
    directory_search_regions.c.region,
    directory_search_regions.c.organisation_id,
)
# Every service listing, published or not: its seller, text and codes (JSON: a list), so an
# organisation's text and listing codes can be worked out again when one changes.
directory_search_listings = Table(
    "directory_search_listings",
    metadata,
    Column("listing_id", Uuid, primary_key=True),
    Column("organisation_id", Uuid, nullable=False),
    Column("published", Boolean, nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("cpv_codes", Text, nullable=False),
)
Index("ix_directory_search_listings_organisation_id", directory_search_listings.c.organisation_id)

# A tender's searchable text (projections.tenders): its title, description and lots' titles
# and descriptions, as its terms last said.
tender_search_text = Table(
    "tender_search_text",
    metadata,
    Column("tender_id", Uuid, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("lots_text", Text, nullable=False),
)
TENDER_TEXT = TextIndex.ranked(
    tender_search_text, ("title", "description", "lots_text"), "tender_search_fts"
)
TENDER_TEXT.gin_index("ix_tender_search_text_document")
