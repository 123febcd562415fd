"""The impact ledger's tables (projections.impact, issue 17), on the read side's one metadata:
created by Alembic (migrations/versions/*_impact.py), rebuilt by the projection."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, Uuid

from projections.contract_tables import supplier_shares_table
from projections.tables import metadata
from sharedkernel.sqltypes import UtcDateTime, owned_rows_table

# Each lot's estimated value as its tender's terms last gave it (drafts and amendments): what a
# contract for the lot is compared with.
impact_lots = owned_rows_table(
    metadata,
    "impact_lots",
    "tender_id",
    Column("lot_id", String(40), primary_key=True),
    Column("estimated_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
)
# A row a signed contract: the value it was awarded at (signed), the value it stands at
# (amended), and its lot's estimate at signing (NULL: the estimate was never seen).
impact_contracts = Table(
    "impact_contracts",
    metadata,
    Column("contract_id", Uuid, primary_key=True),
    Column("tender_id", Uuid, nullable=False),
    Column("lot_id", String(40), nullable=False),
    Column("buyer_id", Uuid, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("awarded_minor", BigInteger, nullable=False),
    Column("value_minor", BigInteger, nullable=False),
    Column("estimated_minor", BigInteger, nullable=True),
    Column("signed_at", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),
)
Index("ix_impact_contracts_signed_at", impact_contracts.c.signed_at)
impact_parties = supplier_shares_table("impact_parties")
# What the winning bid committed, per measure.
impact_commitments = owned_rows_table(
    metadata,
    "impact_commitments",
    "contract_id",
    Column("measure", String(60), primary_key=True),
    Column("quantity", BigInteger, nullable=False),
)
# Each delivery report: its reporter, the end of its period (when it counts), its status
# (reported, confirmed, rejected) and its figures (JSON [{"measure", "quantity"}]). Only
# confirmed reports count as delivered.
impact_reports = owned_rows_table(
    metadata,
    "impact_reports",
    "contract_id",
    Column("report_id", Uuid, primary_key=True),
    Column("reporter_id", Uuid, nullable=False),
    Column("period_end", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("delivered", Text, nullable=False),
)
Index("ix_impact_reports_period_end", impact_reports.c.period_end)
# One row: the log position of the last contract event the projection applied (signed, amended,
# ended, reported, decided): the reports change only when it moves (a tender's terms change
# only estimates not yet copied into a contract). The impact routes keep their answers under it
# (tradehall.api.marketplace.impact_cache); a rebuild puts back the same position.
impact_changes = Table(
    "impact_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("position", BigInteger, nullable=False),
)
