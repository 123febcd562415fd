"""The tender board's read side: tenders (drafts flagged by their status, for their buyers
only), their CPV codes and regions, amendments and documents, and buyers' names (one projection
following the marketplace and membership logs).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenders",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("ocid", sa.String(200), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("deadline", UtcDateTime(), nullable=False),
        sa.Column("members_only", sa.Boolean(), nullable=False),
        sa.Column("quality_mark_required", sa.Boolean(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("drafted_at", UtcDateTime(), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tender_id", name="pk_tenders"),
    )
    op.create_index("ix_tenders_buyer_id", "tenders", ["buyer_id"])
    op.create_index("ix_tenders_status_deadline", "tenders", ["status", "deadline"])
    op.create_table(
        "tender_cpv",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("cpv_code", sa.String(12), nullable=False),
        sa.Column("cpv_stem", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("tender_id", "cpv_code", name="pk_tender_cpv"),
    )
    op.create_index("ix_tender_cpv_cpv_stem", "tender_cpv", ["cpv_stem"])
    op.create_table(
        "tender_regions",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("region", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("tender_id", "region", name="pk_tender_regions"),
    )
    op.create_index("ix_tender_regions_region", "tender_regions", ["region"])
    op.create_table(
        "tender_amendments",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("amended_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tender_id", "version", name="pk_tender_amendments"),
    )
    op.create_table(
        "tender_documents",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("added_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tender_id", "sha256", name="pk_tender_documents"),
    )
    op.create_table(
        "tender_buyers",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", name="pk_tender_buyers"),
    )


def downgrade() -> None:
    op.drop_table("tender_buyers")
    op.drop_table("tender_documents")
    op.drop_table("tender_amendments")
    op.drop_index("ix_tender_regions_region", table_name="tender_regions")
    op.drop_table("tender_regions")
    op.drop_index("ix_tender_cpv_cpv_stem", table_name="tender_cpv")
    op.drop_table("tender_cpv")
    op.drop_index("ix_tenders_status_deadline", table_name="tenders")
    op.drop_index("ix_tenders_buyer_id", table_name="tenders")
    op.drop_table("tenders")
