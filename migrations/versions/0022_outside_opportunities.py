"""Outside opportunities (projections.opportunities, issue 16): each imported ocid as its
releases merged so far show it, with its CPV codes and ITL regions.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outside_opportunities",
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("ocid", sa.String(200), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("buyer_name", sa.String(300), nullable=True),
        sa.Column("status", sa.String(20), nullable=True),
        sa.Column("deadline", UtcDateTime(), nullable=True),
        sa.Column("amount", sa.String(40), nullable=True),
        sa.Column("value_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("vcse", sa.Boolean(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("unresolved_regions", sa.Text(), nullable=False),
        sa.Column("releases", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("imported_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("opportunity_id", name="pk_outside_opportunities"),
    )
    op.create_index(
        "ix_outside_opportunities_status_deadline",
        "outside_opportunities",
        ["status", "deadline"],
    )
    op.create_table(
        "outside_opportunity_cpv",
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("cpv_code", sa.String(12), nullable=False),
        sa.Column("cpv_stem", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("opportunity_id", "cpv_code", name="pk_outside_opportunity_cpv"),
    )
    op.create_index("ix_outside_opportunity_cpv_cpv_stem", "outside_opportunity_cpv", ["cpv_stem"])
    op.create_table(
        "outside_opportunity_regions",
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("region", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("opportunity_id", "region", name="pk_outside_opportunity_regions"),
    )
    op.create_index(
        "ix_outside_opportunity_regions_region", "outside_opportunity_regions", ["region"]
    )


def downgrade() -> None:
    op.drop_index("ix_outside_opportunity_regions_region", table_name="outside_opportunity_regions")
    op.drop_table("outside_opportunity_regions")
    op.drop_index("ix_outside_opportunity_cpv_cpv_stem", table_name="outside_opportunity_cpv")
    op.drop_table("outside_opportunity_cpv")
    op.drop_index("ix_outside_opportunities_status_deadline", table_name="outside_opportunities")
    op.drop_table("outside_opportunities")
