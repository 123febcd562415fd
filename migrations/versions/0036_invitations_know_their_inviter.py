"""An invitation records who sent it (`account_tokens.invited_by`): its acceptance is refused
if that user is no longer an enabled admin of the organisation it is for. Links written before
this revision have no inviter recorded and are accepted as before (they expire within 14 days).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account_tokens") as batch:
        batch.add_column(sa.Column("invited_by", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account_tokens") as batch:
        batch.drop_column("invited_by")
