"""The impact ledger's last change (issue 19): one row, the log position of the last contract
event the impact projection applied (projections.impact_tables.impact_changes). The impact
routes keep their answers until it moves. Empty until the next contract event: nothing changed
the ledger since, so the answers kept meanwhile stand.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "impact_changes",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_impact_changes"),
    )


def downgrade() -> None:
    op.drop_table("impact_changes")
