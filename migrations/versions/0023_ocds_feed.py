"""The OCDS feed's high-water mark (tradehall.marketplace.outside.tables, issue 16): per feed
address, the next page to read, a version for compare-and-set, when last read, totals and the
last error.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ocds_feeds",
        sa.Column("feed_url", sa.String(2000), nullable=False),
        sa.Column("next_url", sa.String(2000), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("read_at", UtcDateTime(), nullable=True),
        sa.Column("pages", sa.BigInteger(), nullable=False),
        sa.Column("imported", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.Column("unchanged", sa.BigInteger(), nullable=False),
        sa.Column("skipped", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("feed_url", name="pk_ocds_feeds"),
    )


def downgrade() -> None:
    op.drop_table("ocds_feeds")
