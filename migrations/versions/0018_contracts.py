"""Contracts' read side: a row a signed contract, its parties, per social-value measure what
was committed and what the buyer confirmed as delivered, and each delivery report's figures
(projections.contracts, following the marketplace log).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.String(40), nullable=False),
        sa.Column("bid_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("period_start", UtcDateTime(), nullable=False),
        sa.Column("period_end", UtcDateTime(), nullable=False),
        sa.Column("signed_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", name="pk_contracts"),
    )
    op.create_index("ix_contracts_buyer_id", "contracts", ["buyer_id"])
    op.create_index("ix_contracts_signed_at", "contracts", ["signed_at"])
    op.create_table(
        "contract_parties",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("share_percent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", "organisation_id", name="pk_contract_parties"),
    )
    op.create_index("ix_contract_parties_organisation_id", "contract_parties", ["organisation_id"])
    op.create_table(
        "contract_measures",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("measure", sa.String(60), nullable=False),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("committed", sa.BigInteger(), nullable=False),
        sa.Column("delivered", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", "measure", name="pk_contract_measures"),
    )
    op.create_table(
        "contract_delivery_reports",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("reporter_id", sa.Uuid(), nullable=False),
        sa.Column("period_start", UtcDateTime(), nullable=False),
        sa.Column("period_end", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("delivered", sa.Text(), nullable=False),
        sa.Column("reported_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", "report_id", name="pk_contract_delivery_reports"),
    )


def downgrade() -> None:
    op.drop_table("contract_delivery_reports")
    op.drop_table("contract_measures")
    op.drop_index("ix_contract_parties_organisation_id", table_name="contract_parties")
    op.drop_table("contract_parties")
    op.drop_index("ix_contracts_signed_at", table_name="contracts")
    op.drop_index("ix_contracts_buyer_id", table_name="contracts")
    op.drop_table("contracts")
