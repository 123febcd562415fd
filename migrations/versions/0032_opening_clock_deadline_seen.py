"""The opening clock reads only the tenders that may be due (ADR 27): each unsettled sealing key
keeps the deadline the clock last read for its tender or request for quote (`deadline_seen`),
and the clock's rows, the unsettled ones, have an index of their own.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

UNSETTLED = sa.text("settled_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("sealing_keys") as keys:
        keys.add_column(sa.Column("deadline_seen", UtcDateTime(), nullable=True))
    op.create_index(
        "ix_sealing_keys_unsettled",
        "sealing_keys",
        ["created_at", "key_id"],
        postgresql_where=UNSETTLED,
        sqlite_where=UNSETTLED,
    )


def downgrade() -> None:
    op.drop_index("ix_sealing_keys_unsettled", table_name="sealing_keys")
    with op.batch_alter_table("sealing_keys") as keys:
        keys.drop_column("deadline_seen")
