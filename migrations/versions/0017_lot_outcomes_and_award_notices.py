"""Issue 13: each decided lot's outcome on the tender board's read side; and the award notice
writer's own records (ADR 18): tenders' and lots' titles, and each opened bid's lead.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tender_lot_outcomes",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tender_id", "lot_id", name="pk_tender_lot_outcomes"),
    )
    op.create_table(
        "award_notice_tenders",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("lots", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tender_id", name="pk_award_notice_tenders"),
    )
    op.create_table(
        "award_notice_bids",
        sa.Column("bid_id", sa.Uuid(), nullable=False),
        sa.Column("evaluation_id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.String(40), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("abnormally_low_percent", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("bid_id", name="pk_award_notice_bids"),
    )


def downgrade() -> None:
    op.drop_table("award_notice_bids")
    op.drop_table("award_notice_tenders")
    op.drop_table("tender_lot_outcomes")
