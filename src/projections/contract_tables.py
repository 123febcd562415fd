"""The contracts projection's tables (projections.contracts), on the read side's one metadata:
created by Alembic (migrations/versions/*_contracts.py), rebuilt by the projection."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, Uuid

from projections.tables import metadata
from sharedkernel.sqltypes import UtcDateTime, owned_rows_table, uuid_key

# A row a signed contract (Contract.Signed), its status, value and period as they stand.
contracts = Table(
    "contracts",
    metadata,
    Column("contract_id", Uuid, primary_key=True),
    Column("tender_id", Uuid, nullable=False),
    Column("lot_id", String(40), nullable=False),
    Column("bid_id", Uuid, nullable=False),
    Column("buyer_id", Uuid, nullable=False),
    # active, completed or terminated.
    Column("status", String(20), nullable=False),
    Column("value_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("period_start", UtcDateTime, nullable=False),
    Column("period_end", UtcDateTime, nullable=False),
    Column("signed_at", UtcDateTime, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_contracts_buyer_id", contracts.c.buyer_id)
Index("ix_contracts_signed_at", contracts.c.signed_at)
# The supplier parties of each contract and their shares: "the organisation's contracts".


def supplier_shares_table(name: str) -> Table:
    """Each contract's supplier parties and their whole-percentage shares (a single supplier:
    100), found by organisation: the contracts it is a party to."""
    return owned_rows_table(
        metadata,
        name,
        "contract_id",
        uuid_key("organisation_id"),
        Column("share_percent", Integer, nullable=False),
        indexed="organisation_id",
    )


contract_parties = supplier_shares_table("contract_parties")
# Per contract and social-value measure: committed by the winning bid, delivered as the buyer
# confirmed (confirmed reports only).
contract_measures = owned_rows_table(
    metadata,
    "contract_measures",
    "contract_id",
    Column("measure", String(60), primary_key=True),
    Column("unit", String(40), nullable=False),
    Column("committed", BigInteger, nullable=False),
    Column("delivered", BigInteger, nullable=False),
)
# Each delivery report's status and figures (JSON: [{"measure", "quantity"}]), kept so that a
# confirmation, which names only the report, adds the right figures to `contract_measures`.
contract_delivery_reports = owned_rows_table(
    metadata,
    "contract_delivery_reports",
    "contract_id",
    Column("report_id", Uuid, primary_key=True),
    Column("reporter_id", Uuid, nullable=False),
    Column("period_start", UtcDateTime, nullable=False),
    Column("period_end", UtcDateTime, nullable=False),
    # reported, confirmed or rejected.
    Column("status", String(20), nullable=False),
    Column("delivered", Text, nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
)
