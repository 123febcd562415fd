"""The outbox's retries wait (ADR 12): after a failed attempt a message is tried again at its
`next_attempt_at` (30 s, doubling, at most an hour), not at the sender's next pass. Messages
waiting already have none: due at once, as before.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages") as outbox:
        outbox.add_column(sa.Column("next_attempt_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages") as outbox:
        outbox.drop_column("next_attempt_at")
