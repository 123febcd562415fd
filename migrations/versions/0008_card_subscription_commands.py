"""Payments: the commands for members' card subscriptions (cancel, reprice), from the log.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "card_subscription_commands",
        sa.Column("command_id", sa.String(120), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("command_id", name="pk_card_subscription_commands"),
    )
    op.create_index(
        "ix_card_subscription_commands_status",
        "card_subscription_commands",
        ["status", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_card_subscription_commands_status", table_name="card_subscription_commands")
    op.drop_table("card_subscription_commands")
