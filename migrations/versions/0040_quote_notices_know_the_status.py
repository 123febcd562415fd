"""The request for quote notice writer's record of each request keeps its status
(`quote_notice_requests.status`): an acceptance, closure or cancellation from a status the domain
never moves it from (another writer's event: a second acceptance naming another supplier, a
closure after it) tells no quoter anything, as the requests' read model leaves such an event out
(tradehall.marketplace.quote_notices, ADR 35).

Rows kept before it have no status (NULL): the writer takes any event for them, as before, and
records the status each leaves. The record is never rebuilt (a follower's), so nothing is filled.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quote_notice_requests") as batch:
        batch.add_column(sa.Column("status", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quote_notice_requests") as batch:
        batch.drop_column("status")
