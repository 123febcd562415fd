"""The marketplace's buyers read side: buyer organisations (public bodies and businesses) and
whether staff have verified them (one projection following the membership and marketplace
logs).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "marketplace_buyers",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(40), nullable=True),
        sa.Column("registered_at", UtcDateTime(), nullable=True),
        sa.Column("verification_id", sa.Uuid(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("verified_at", UtcDateTime(), nullable=True),
        sa.Column("withdrawn_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("organisation_id", name="pk_marketplace_buyers"),
    )
    op.create_index("ix_marketplace_buyers_name", "marketplace_buyers", ["name"])
    op.create_index(
        "ix_marketplace_buyers_verification_id", "marketplace_buyers", ["verification_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_marketplace_buyers_verification_id", table_name="marketplace_buyers")
    op.drop_index("ix_marketplace_buyers_name", table_name="marketplace_buyers")
    op.drop_table("marketplace_buyers")
