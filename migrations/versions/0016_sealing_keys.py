"""Sealed bids' keys (ADR 27): the data keys, wrapped by a master key kept outside the database;
and the outbox's sealed notices (their addressee and contents sealed).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sealing_keys",
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("master_fingerprint", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("settled_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_sealing_keys"),
    )
    with op.batch_alter_table("outbox_messages") as outbox:
        outbox.add_column(sa.Column("sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages") as outbox:
        outbox.drop_column("sealed")
    op.drop_table("sealing_keys")
