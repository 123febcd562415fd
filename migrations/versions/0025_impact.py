"""The impact ledger (projections.impact_tables, issue 17): lots' estimates, contracts' awarded
and current values, their parties' shares, commitments and delivery reports. The projection
fills them from the start of the marketplace log.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "impact_lots",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.String(40), nullable=False),
        sa.Column("estimated_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint("tender_id", "lot_id", name="pk_impact_lots"),
    )
    op.create_table(
        "impact_contracts",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.String(40), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("awarded_minor", sa.BigInteger(), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.Column("estimated_minor", sa.BigInteger(), nullable=True),
        sa.Column("signed_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", name="pk_impact_contracts"),
    )
    op.create_index("ix_impact_contracts_signed_at", "impact_contracts", ["signed_at"])
    op.create_table(
        "impact_parties",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("share_percent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", "organisation_id", name="pk_impact_parties"),
    )
    op.create_index("ix_impact_parties_organisation_id", "impact_parties", ["organisation_id"])
    op.create_table(
        "impact_commitments",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("measure", sa.String(60), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", "measure", name="pk_impact_commitments"),
    )
    op.create_table(
        "impact_reports",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("reporter_id", sa.Uuid(), nullable=False),
        sa.Column("period_end", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("delivered", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", "report_id", name="pk_impact_reports"),
    )
    op.create_index("ix_impact_reports_period_end", "impact_reports", ["period_end"])


def downgrade() -> None:
    for table in (
        "impact_reports",
        "impact_commitments",
        "impact_parties",
        "impact_contracts",
        "impact_lots",
    ):
        op.drop_table(table)
