"""Procurement matching's inputs (projections.matching, issue 14): members with their CPV
prefixes, regions and per-division figures; listings and contracts as matching folds them;
tenders' lots with their prefixes and their tenders' regions.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_members",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("member", sa.Boolean(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("profile_cpv", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", name="pk_match_members"),
    )
    op.create_table(
        "match_listings",
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("capacity_minor", sa.BigInteger(), nullable=False),
        sa.Column("cpv_codes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("listing_id", name="pk_match_listings"),
    )
    op.create_index("ix_match_listings_organisation_id", "match_listings", ["organisation_id"])
    op.create_table(
        "match_contracts",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("divisions", sa.Text(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", name="pk_match_contracts"),
    )
    op.create_table(
        "match_contract_parties",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "contract_id", name="pk_match_contract_parties"),
    )
    op.create_index(
        "ix_match_contract_parties_contract_id", "match_contract_parties", ["contract_id"]
    )
    op.create_table(
        "match_member_prefixes",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("prefix", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "prefix", name="pk_match_member_prefixes"),
    )
    op.create_index(
        "ix_match_member_prefixes_prefix",
        "match_member_prefixes",
        ["prefix", "organisation_id"],
    )
    op.create_table(
        "match_member_regions",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("region", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "region", name="pk_match_member_regions"),
    )
    op.create_index("ix_match_member_regions_region", "match_member_regions", ["region"])
    op.create_table(
        "match_member_divisions",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("division", sa.String(2), nullable=False),
        sa.Column("listings", sa.Integer(), nullable=False),
        sa.Column("capacity_minor", sa.BigInteger(), nullable=False),
        sa.Column("won", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "division", name="pk_match_member_divisions"),
    )
    op.create_index("ix_match_member_divisions_division", "match_member_divisions", ["division"])
    op.create_table(
        "match_lots",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.String(40), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("tender_title", sa.String(200), nullable=False),
        sa.Column("lot_title", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("deadline", UtcDateTime(), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("quality_mark_required", sa.Boolean(), nullable=False),
        sa.Column("members_only", sa.Boolean(), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("cpv_codes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tender_id", "lot_id", name="pk_match_lots"),
    )
    op.create_index("ix_match_lots_status_deadline", "match_lots", ["status", "deadline"])
    op.create_table(
        "match_lot_prefixes",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.String(40), nullable=False),
        sa.Column("prefix", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("tender_id", "lot_id", "prefix", name="pk_match_lot_prefixes"),
    )
    op.create_index("ix_match_lot_prefixes_prefix", "match_lot_prefixes", ["prefix"])
    op.create_table(
        "match_tender_regions",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("region", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("tender_id", "region", name="pk_match_tender_regions"),
    )
    op.create_index("ix_match_tender_regions_region", "match_tender_regions", ["region"])


def downgrade() -> None:
    op.drop_index("ix_match_tender_regions_region", table_name="match_tender_regions")
    op.drop_table("match_tender_regions")
    op.drop_index("ix_match_lot_prefixes_prefix", table_name="match_lot_prefixes")
    op.drop_table("match_lot_prefixes")
    op.drop_index("ix_match_lots_status_deadline", table_name="match_lots")
    op.drop_table("match_lots")
    op.drop_index("ix_match_member_divisions_division", table_name="match_member_divisions")
    op.drop_table("match_member_divisions")
    op.drop_index("ix_match_member_regions_region", table_name="match_member_regions")
    op.drop_table("match_member_regions")
    op.drop_index("ix_match_member_prefixes_prefix", table_name="match_member_prefixes")
    op.drop_table("match_member_prefixes")
    op.drop_index("ix_match_contract_parties_contract_id", table_name="match_contract_parties")
    op.drop_table("match_contract_parties")
    op.drop_table("match_contracts")
    op.drop_index("ix_match_listings_organisation_id", table_name="match_listings")
    op.drop_table("match_listings")
    op.drop_table("match_members")
