"""Parked Stripe events can be erased (ADRs 4 and 13): each row says which organisation its
event named when parked and which one staff applied or dismissed it to, so erasing an
organisation's personal data reaches its payloads; resolved rows are purged after their
retention, by `resolved_at`. Rows parked before have neither: erasure also finds them by the
organisation's id in the payload.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("parked_webhooks") as parked:
        parked.add_column(sa.Column("organisation_id", sa.Uuid(), nullable=True))
        parked.add_column(sa.Column("resolved_to", sa.Uuid(), nullable=True))
    op.create_index("ix_parked_webhooks_resolved_at", "parked_webhooks", ["resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_parked_webhooks_resolved_at", table_name="parked_webhooks")
    with op.batch_alter_table("parked_webhooks") as parked:
        parked.drop_column("resolved_to")
        parked.drop_column("organisation_id")
