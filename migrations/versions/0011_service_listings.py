"""The marketplace's service listings read side: the listings, their CPV codes and regions, and
their sellers' names and standing (one projection following the marketplace and membership
logs).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_listings",
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price_basis", sa.String(20), nullable=False),
        sa.Column("capacity_minor", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("listing_id", name="pk_service_listings"),
    )
    op.create_index("ix_service_listings_organisation_id", "service_listings", ["organisation_id"])
    op.create_index("ix_service_listings_state_title", "service_listings", ["state", "title"])
    op.create_table(
        "service_listing_regions",
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("region", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("listing_id", "region", name="pk_service_listing_regions"),
    )
    op.create_index("ix_service_listing_regions_region", "service_listing_regions", ["region"])
    op.create_table(
        "service_listing_cpv",
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("cpv_code", sa.String(12), nullable=False),
        sa.Column("cpv_stem", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("listing_id", "cpv_code", name="pk_service_listing_cpv"),
    )
    op.create_index("ix_service_listing_cpv_cpv_stem", "service_listing_cpv", ["cpv_stem"])
    op.create_table(
        "listing_sellers",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", name="pk_listing_sellers"),
    )


def downgrade() -> None:
    op.drop_table("listing_sellers")
    op.drop_index("ix_service_listing_cpv_cpv_stem", table_name="service_listing_cpv")
    op.drop_table("service_listing_cpv")
    op.drop_index("ix_service_listing_regions_region", table_name="service_listing_regions")
    op.drop_table("service_listing_regions")
    op.drop_index("ix_service_listings_state_title", table_name="service_listings")
    op.drop_index("ix_service_listings_organisation_id", table_name="service_listings")
    op.drop_table("service_listings")
