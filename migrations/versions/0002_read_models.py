"""Read models: projection positions, the member directory, membership applications.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projection_positions",
        sa.Column("projection", sa.String(100), nullable=False),
        sa.Column("log", sa.String(100), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("projection", "log", name="pk_projection_positions"),
    )
    op.create_table(
        "directory_members",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("legal_form", sa.String(60), nullable=False),
        sa.Column("social_purpose", sa.Text(), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("registered_at", UtcDateTime(), nullable=False),
        sa.Column("admitted_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("organisation_id", name="pk_directory_members"),
    )
    op.create_index("ix_directory_members_listed_name", "directory_members", ["listed", "name"])
    op.create_table(
        "directory_member_regions",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("region", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "region", name="pk_directory_member_regions"),
    )
    op.create_index("ix_directory_member_regions_region", "directory_member_regions", ["region"])
    op.create_table(
        "directory_member_cpv",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("cpv_code", sa.String(12), nullable=False),
        sa.Column("cpv_stem", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "cpv_code", name="pk_directory_member_cpv"),
    )
    op.create_index("ix_directory_member_cpv_cpv_stem", "directory_member_cpv", ["cpv_stem"])
    op.create_table(
        "membership_applications",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("legal_form", sa.String(60), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("applied_at", UtcDateTime(), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(60), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", name="pk_membership_applications"),
    )
    op.create_index(
        "ix_membership_applications_status_applied_at",
        "membership_applications",
        ["status", "applied_at"],
    )


def downgrade() -> None:
    op.drop_table("membership_applications")
    op.drop_table("directory_member_cpv")
    op.drop_table("directory_member_regions")
    op.drop_table("directory_members")
    op.drop_table("projection_positions")
