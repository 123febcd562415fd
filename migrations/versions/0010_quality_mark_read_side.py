"""The quality mark's read side: the register of marks and the applications (projections), and
the organisations the mark notice writer keeps from the marks log (a record, never rebuilt).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quality_marks",
        sa.Column("mark_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("certificate_number", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("valid_from", UtcDateTime(), nullable=False),
        sa.Column("valid_until", UtcDateTime(), nullable=False),
        sa.Column("staff_suspended", sa.Boolean(), nullable=False),
        sa.Column("membership_suspended", sa.Boolean(), nullable=False),
        sa.Column("expired", sa.Boolean(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("suspension_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("mark_id", name="pk_quality_marks"),
        sa.UniqueConstraint("organisation_id", name="uq_quality_marks_organisation_id"),
        sa.UniqueConstraint("certificate_number", name="uq_quality_marks_certificate_number"),
    )
    op.create_index("ix_quality_marks_status", "quality_marks", ["status"])
    op.create_table(
        "mark_applications",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("review", sa.String(20), nullable=False),
        sa.Column("stage", sa.String(30), nullable=False),
        sa.Column("waiting_since", UtcDateTime(), nullable=True),
        sa.Column("submitted_at", UtcDateTime(), nullable=True),
        sa.Column("assessor_id", sa.Uuid(), nullable=True),
        sa.Column("criteria_version", sa.String(20), nullable=True),
        sa.Column("reply_by", UtcDateTime(), nullable=True),
        sa.Column("evidence_count", sa.Integer(), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("application_id", name="pk_mark_applications"),
    )
    op.create_index(
        "ix_mark_applications_stage_waiting_since",
        "mark_applications",
        ["stage", "waiting_since"],
    )
    op.create_index(
        "ix_mark_applications_organisation_id", "mark_applications", ["organisation_id"]
    )
    op.create_index("ix_mark_applications_assessor_id", "mark_applications", ["assessor_id"])
    op.create_table(
        "mark_notice_organisations",
        sa.Column("aggregate_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("certificate_number", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("aggregate_id", name="pk_mark_notice_organisations"),
    )


def downgrade() -> None:
    op.drop_table("mark_notice_organisations")
    op.drop_index("ix_mark_applications_assessor_id", table_name="mark_applications")
    op.drop_index("ix_mark_applications_organisation_id", table_name="mark_applications")
    op.drop_index("ix_mark_applications_stage_waiting_since", table_name="mark_applications")
    op.drop_table("mark_applications")
    op.drop_index("ix_quality_marks_status", table_name="quality_marks")
    op.drop_table("quality_marks")
