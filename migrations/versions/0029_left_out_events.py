"""Left-out events counted: each projection's position row keeps how many events it has left
out of the log (ADR 16) and the last of them, written with the position.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projection_positions") as table:
        table.add_column(
            sa.Column("left_out", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )
        table.add_column(sa.Column("left_out_position", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("left_out_topic", sa.String(200), nullable=True))
        table.add_column(sa.Column("left_out_why", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("projection_positions") as table:
        for name in ("left_out_why", "left_out_topic", "left_out_position", "left_out"):
            table.drop_column(name)
