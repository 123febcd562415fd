"""The outside opportunities' tables (projections.opportunities, issue 16), on the read side's
one metadata: created by Alembic (migrations/versions/*_outside_opportunities.py), rebuilt by
the projection."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, String, Table, Text, Uuid

from projections.tables import cpv_codes_table, metadata, regions_table
from sharedkernel.sqltypes import UtcDateTime

# A row an outside opportunity, as its releases merged so far show it.
outside_opportunities = Table(
    "outside_opportunities",
    metadata,
    Column("opportunity_id", Uuid, primary_key=True),
    Column("ocid", String(200), nullable=False),
    Column("source", String(200), nullable=False),
    Column("title", String(300), nullable=False),
    Column("description", Text, nullable=False),
    Column("buyer_name", String(300), nullable=True),
    # OCDS tender.status, when the releases give one.
    Column("status", String(20), nullable=True),
    Column("deadline", UtcDateTime, nullable=True),
    # The value as published (decimal text, major units), and in minor units for filters.
    Column("amount", String(40), nullable=True),
    Column("value_minor", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    # tender.suitability.vcse: NULL when the publisher did not say.
    Column("vcse", Boolean, nullable=True),
    Column("url", Text, nullable=True),
    # Places given that could not be read as ITL regions (JSON list, as given).
    Column("unresolved_regions", Text, nullable=False),
    Column("releases", BigInteger, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index(
    "ix_outside_opportunities_status_deadline",
    outside_opportunities.c.status,
    outside_opportunities.c.deadline,
)
outside_opportunity_cpv = cpv_codes_table("outside_opportunity_cpv", "opportunity_id")
outside_opportunity_regions = regions_table("outside_opportunity_regions", "opportunity_id")
