"""Account e-mails: verified addresses, one-use tokens, outbox messages to one address.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("email_verified_at", UtcDateTime(), nullable=True))
    with op.batch_alter_table("outbox_messages") as outbox:
        outbox.alter_column("organisation_id", existing_type=sa.Uuid(), nullable=True)
        outbox.add_column(sa.Column("recipient", sa.String(320), nullable=True))
    op.create_table(
        "account_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("roles", sa.String(200), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_account_tokens"),
    )


def downgrade() -> None:
    op.drop_table("account_tokens")
    with op.batch_alter_table("outbox_messages") as outbox:
        outbox.drop_column("recipient")
        outbox.alter_column("organisation_id", existing_type=sa.Uuid(), nullable=False)
    with op.batch_alter_table("users") as users:
        users.drop_column("email_verified_at")
