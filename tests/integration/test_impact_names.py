"""impact_query.names_of past a chunk of ids (one query for the ledger's organisations, then
chunks for the rest), on both stores: the names of exactly the ids asked for."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Engine, delete
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.impact_query import names_of
from projections.impact_tables import impact_contracts, impact_parties, impact_reports
from projections.tables import tender_buyers


async def test_names_of_many_organisations(engine: Engine, async_engine: AsyncEngine) -> None:
    contract = uuid.uuid4()
    parties = [uuid.uuid4() for _ in range(700)]
    reporter, buyer, outsider, unnamed = (uuid.uuid4() for _ in range(4))
    named = {o: f"Org {i}" for i, o in enumerate([*parties, reporter, buyer, outsider])}
    named[parties[0]] = "Ash & Birch Ltd"
    with engine.begin() as connection:
        connection.execute(
            impact_contracts.insert(),
            [
                {
                    "contract_id": contract,
                    "tender_id": uuid.uuid4(),
                    "lot_id": "lot-1",
                    "buyer_id": buyer,
                    "currency": "GBP",
                    "awarded_minor": 1,
                    "value_minor": 1,
                    "estimated_minor": None,
                    "signed_at": datetime(2026, 3, 2, tzinfo=UTC),
                    "status": "active",
                }
            ],
        )
        connection.execute(
            impact_parties.insert(),
            [{"contract_id": contract, "organisation_id": o, "share_percent": 1} for o in parties],
        )
        connection.execute(
            impact_reports.insert(),
            [
                {
                    "contract_id": contract,
                    "report_id": uuid.uuid4(),
                    "reporter_id": reporter,
                    "period_end": datetime(2026, 4, 1, tzinfo=UTC),
                    "status": "reported",
                    "delivered": "[]",
                }
            ],
        )
        connection.execute(
            tender_buyers.insert(), [{"organisation_id": o, "name": n} for o, n in named.items()]
        )
    try:
        asked = [*parties[:600], reporter, buyer, outsider, unnamed]
        async with async_engine.connect() as connection:
            found = await names_of(connection, asked)
            few = await names_of(connection, [parties[0], outsider, unnamed])
        assert found == {o: named[o] for o in asked if o in named}
        assert few == {parties[0]: "Ash & Birch Ltd", outsider: named[outsider]}
    finally:
        with engine.begin() as connection:
            for table in (impact_parties, impact_reports, impact_contracts):
                connection.execute(delete(table).where(table.c.contract_id == contract))
            connection.execute(
                delete(tender_buyers).where(tender_buyers.c.organisation_id.in_(list(named)))
            )
