"""Tenders' clarifications: the read side's questions and answers (no asker: staff read it from
the log), and the tender notice writer's records (titles, suppliers' interest, questions).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tender_clarifications",
        sa.Column("clarification_id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("asked_at", UtcDateTime(), nullable=False),
        sa.Column("answered_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("clarification_id", name="pk_tender_clarifications"),
    )
    op.create_index("ix_tender_clarifications_tender_id", "tender_clarifications", ["tender_id"])
    op.create_table(
        "tender_notice_tenders",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("tender_id", name="pk_tender_notice_tenders"),
    )
    op.create_table(
        "tender_notice_interest",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("tender_id", "supplier_id", name="pk_tender_notice_interest"),
    )
    op.create_table(
        "tender_notice_questions",
        sa.Column("clarification_id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("clarification_id", name="pk_tender_notice_questions"),
    )


def downgrade() -> None:
    op.drop_table("tender_notice_questions")
    op.drop_table("tender_notice_interest")
    op.drop_table("tender_notice_tenders")
    op.drop_index("ix_tender_clarifications_tender_id", table_name="tender_clarifications")
    op.drop_table("tender_clarifications")
