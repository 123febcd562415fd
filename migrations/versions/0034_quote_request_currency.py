"""A request for quote's currency in its read model's row (`quote_requests.currency`): the
list of requests says each one's, as the request's own view does (issue 18, ADR 35).

The projection writes it from each Posted event: the currency stated, or for a request posted
before requests stated one (the event's version 1) its budget's, else GBP, as the domain reads
it. The rows already kept are filled here where the row itself says it for certain: its budget's
currency (a budget is in the request's currency, in either version). Not from an accepted
quote: before requests stated a currency, quotes were taken in any, and the domain reads such a
request without a budget as GBP whatever its accepted quote's was. A row without a budget may
have stated any currency: it stays NULL, and the list says null for it, until `tradehall
projections rebuild quote_requests` writes every row again from the log.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quote_requests") as batch:
        batch.add_column(sa.Column("currency", sa.String(3), nullable=True))
    requests = sa.table(
        "quote_requests",
        sa.column("currency", sa.String()),
        sa.column("budget_currency", sa.String()),
    )
    op.execute(
        sa.update(requests)
        .where(requests.c.currency.is_(None))
        .values(currency=requests.c.budget_currency)
    )


def downgrade() -> None:
    with op.batch_alter_table("quote_requests") as batch:
        batch.drop_column("currency")
