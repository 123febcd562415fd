"""A lot's matches judge each candidate's good standing at the request's time from its standing
dates (migration 0038, projections.standing_query), so the index they read every candidate's
flags and name from alone (migration 0028) holds those dates too: without them, each candidate's
row (wide with its JSON codes) would be read again.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

INDEX, TABLE = "ix_match_members_organisation_id_flags", "match_members"
FLAGS = ["organisation_id", "member", "listed", "name"]


def upgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    op.create_index(INDEX, TABLE, [*FLAGS, "lapses_at", "resigns_at"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    op.create_index(INDEX, TABLE, FLAGS)
