"""Saved searches' alerts (tradehall.marketplace.alerts.tables, issue 17): the follower's saved
searches, tenders' and outside opportunities' public facts, and the alerts (one per search per
tender or opportunity).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_searches",
        sa.Column("search_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("criteria", sa.Text(), nullable=False),
        sa.Column("delivery", sa.String(20), nullable=False),
        sa.Column("saved_at", UtcDateTime(), nullable=False),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("search_id", name="pk_alert_searches"),
    )
    op.create_index("ix_alert_searches_organisation_id", "alert_searches", ["organisation_id"])
    op.create_table(
        "alert_items",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=True),
        sa.Column("open_until", UtcDateTime(), nullable=True),
        sa.Column("imported_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("item_id", name="pk_alert_items"),
    )
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("search_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("item_kind", sa.String(20), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("delivery", sa.String(20), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=True),
        sa.Column("read_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("alert_id", name="pk_alerts"),
        sa.UniqueConstraint("search_id", "item_id", name="uq_alerts_search_id_item_id"),
    )
    op.create_index(
        "ix_alerts_organisation_id_created_at", "alerts", ["organisation_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("alerts")
    op.drop_table("alert_items")
    op.drop_index("ix_alert_searches_organisation_id", table_name="alert_searches")
    op.drop_table("alert_searches")
