"""Mail: the names the notice writer keeps from the registrations it follows (ADR 18).

Filled once from the directory for the organisations registered before it existed; from then
on only the notice writer writes it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_organisations",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", name="pk_notice_organisations"),
    )
    op.execute(
        "INSERT INTO notice_organisations (organisation_id, name) "
        "SELECT organisation_id, name FROM directory_members"
    )


def downgrade() -> None:
    op.drop_table("notice_organisations")
