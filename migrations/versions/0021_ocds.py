"""OCDS publication (projections.ocds, issue 15): each tender's process as the releases are built
from it, the evaluations' and contracts' tenders, the releases, and organisations' names, kinds
and identifiers.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ocds_processes",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("ocid", sa.String(120), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tender_id", name="pk_ocds_processes"),
    )
    op.create_table(
        "ocds_links",
        sa.Column("aggregate_id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("aggregate_id", name="pk_ocds_links"),
    )
    op.create_table(
        "ocds_releases",
        sa.Column("release_id", sa.String(200), nullable=False),
        sa.Column("ocid", sa.String(120), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("date", UtcDateTime(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("organisations", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("release_id", name="pk_ocds_releases"),
    )
    op.create_index("ix_ocds_releases_date", "ocds_releases", ["date", "position"])
    op.create_index("ix_ocds_releases_ocid", "ocds_releases", ["ocid", "date"])
    op.create_table(
        "ocds_organisations",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("scheme", sa.String(20), nullable=True),
        sa.Column("identifier", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("organisation_id", "version", name="pk_ocds_organisations"),
    )


def downgrade() -> None:
    op.drop_table("ocds_organisations")
    op.drop_index("ix_ocds_releases_ocid", table_name="ocds_releases")
    op.drop_index("ix_ocds_releases_date", table_name="ocds_releases")
    op.drop_table("ocds_releases")
    op.drop_table("ocds_links")
    op.drop_table("ocds_processes")
