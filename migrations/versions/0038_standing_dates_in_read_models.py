"""The moments time alone ends a member's good standing, beside the `listed` flag of the read
models that list members in good standing: `lapses_at` (just after the grace that follows
paid-up-until: lapsed from then if nothing more is paid) and `resigns_at` (a resignation's
date), in `directory_members`, `directory_search`, `match_members` and `listing_sellers`.

Their readers (the directory, its search, matching, the public listings) judge each row at the
request's time (projections.standing_query), so a member whose grace has run out leaves them at
once, not at the membership clock's next tick, which records the lapse. The projections write
them from `Organisation.PaidUpUntilMoved` and `Organisation.ResignationGiven`. The rows already
kept start NULL (no such moment: read as recorded, as before) until the member's next payment or
resignation, or until `tradehall projections rebuild directory directory_search matching
listings` writes every row again from the log.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

TABLES = ("directory_members", "directory_search", "match_members", "listing_sellers")
COLUMNS = ("lapses_at", "resigns_at")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for column in COLUMNS:
                batch.add_column(sa.Column(column, UtcDateTime(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for column in reversed(COLUMNS):
                batch.drop_column(column)
