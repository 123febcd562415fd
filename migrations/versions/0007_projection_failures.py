"""Projection failures: kept on each projection's position row until it moves past the event.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projection_positions") as table:
        table.add_column(sa.Column("failed_position", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("error_type", sa.String(200), nullable=True))
        table.add_column(sa.Column("error_message", sa.Text(), nullable=True))
        table.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        table.add_column(sa.Column("failed_since", UtcDateTime(), nullable=True))
        table.add_column(sa.Column("retry_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("projection_positions") as table:
        for name in (
            "retry_at",
            "failed_since",
            "attempts",
            "error_message",
            "error_type",
            "failed_position",
        ):
            table.drop_column(name)
