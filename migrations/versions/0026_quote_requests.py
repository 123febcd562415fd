"""Requests for quote (issue 18): the read model's requests, their CPV codes, regions,
invitations and quoters (projections.quote_request_tables); matching's request codes
(projections.matching_tables.match_requests); the request-for-quote notice writer's records
(tradehall.mail.tables.quote_notice_requests). The projections fill theirs from the start of the
marketplace log.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sharedkernel.sqltypes import UtcDateTime

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def _pair(name: str, second: str) -> None:
    """A table keyed by a request and an organisation, indexed by the organisation."""
    op.create_table(
        name,
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column(second, sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", second, name=f"pk_{name}"),
    )
    op.create_index(f"ix_{name}_{second}", name, [second])


def upgrade() -> None:
    op.create_table(
        "quote_requests",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("requester_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("budget_currency", sa.String(3), nullable=True),
        sa.Column("budget_min_minor", sa.BigInteger(), nullable=True),
        sa.Column("budget_max_minor", sa.BigInteger(), nullable=True),
        sa.Column("deadline", UtcDateTime(), nullable=False),
        sa.Column("period_start", UtcDateTime(), nullable=False),
        sa.Column("period_end", UtcDateTime(), nullable=False),
        sa.Column("audience", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("quotes_count", sa.Integer(), nullable=True),
        sa.Column("declined_count", sa.Integer(), nullable=True),
        sa.Column("accepted_quote_id", sa.Uuid(), nullable=True),
        sa.Column("accepted_supplier_id", sa.Uuid(), nullable=True),
        sa.Column("accepted_price_minor", sa.BigInteger(), nullable=True),
        sa.Column("accepted_currency", sa.String(3), nullable=True),
        sa.Column("contract_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("posted_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_quote_requests"),
    )
    op.create_index("ix_quote_requests_requester_id", "quote_requests", ["requester_id"])
    op.create_index("ix_quote_requests_status_deadline", "quote_requests", ["status", "deadline"])
    op.create_table(
        "quote_request_cpv",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("cpv_code", sa.String(12), nullable=False),
        sa.Column("cpv_stem", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "cpv_code", name="pk_quote_request_cpv"),
    )
    op.create_index("ix_quote_request_cpv_cpv_stem", "quote_request_cpv", ["cpv_stem"])
    op.create_table(
        "quote_request_regions",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("region", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "region", name="pk_quote_request_regions"),
    )
    op.create_index("ix_quote_request_regions_region", "quote_request_regions", ["region"])
    _pair("quote_request_invitations", "organisation_id")
    _pair("quote_request_quoters", "organisation_id")
    op.create_table(
        "match_requests",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("cpv_codes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_match_requests"),
    )
    op.create_table(
        "quote_notice_requests",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("invited", sa.Text(), nullable=False),
        sa.Column("quoters", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_quote_notice_requests"),
    )


def downgrade() -> None:
    for table in (
        "quote_notice_requests",
        "match_requests",
        "quote_request_quoters",
        "quote_request_invitations",
        "quote_request_regions",
        "quote_request_cpv",
        "quote_requests",
    ):
        op.drop_table(table)
