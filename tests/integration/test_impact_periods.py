"""The impact ledger by period from sums (impact_query.period_rows, impact_ledger.period_ledgers)
against the row-by-row ledger (ledger_contracts, ledger_deliveries, ledgers) on seeded, varied
ledger rows, on both stores: the same totals, Decimals and all, whatever the window.

The rows: contracts sharing signing moments (around London's midnight and its clock changes
too), with and without estimates, in two currencies, consortia, values up to 2**63 - 1 signed
together (SQLite's sum() would raise); confirmed, pending and rejected reports, of stored
contracts and of none, with figures the ledger leaves out; rates of four decimal places that
change on a day."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.working_days import london_date
from projections.impact_ledger import PERIODS, Grouping, Totals, ledgers, period_ledgers
from projections.impact_query import ledger_contracts, ledger_deliveries, period_rows
from projections.impact_tables import (
    impact_commitments,
    impact_contracts,
    impact_parties,
    impact_reports,
)

MEASURES = ("local_jobs", "apprenticeships", "volunteering_hours", "unvalued")
# Years no other test's rows reach (PostgreSQL's database is the run's): the windows below
# hold only these rows.
MOMENTS = [
    datetime(2031, 1, 6, 9, tzinfo=UTC),
    datetime(2031, 3, 29, 23, 30, tzinfo=UTC),  # the 29th in London (GMT)
    datetime(2031, 3, 30, 0, 30, tzinfo=UTC),  # the 30th, clocks go forward at 01:00
    datetime(2031, 6, 30, 23, 30, tzinfo=UTC),  # 1 July in London (BST)
    datetime(2031, 10, 26, 0, 30, tzinfo=UTC),  # the 26th, clocks go back at 01:00 UTC
    datetime(2031, 12, 31, 23, 59, tzinfo=UTC),
    datetime(2032, 1, 1, tzinfo=UTC),
    datetime(2032, 9, 30, 23, tzinfo=UTC),  # 1 October in London: the next quarter
]
FIRST_DAY, LAST_DAY = date(2031, 1, 1), date(2033, 1, 1)
HUGE = 2**63 - 1


def rate(measure: str, day: date) -> Decimal:
    if measure == "unvalued":
        return Decimal(0)
    first = {
        "local_jobs": "2380000",
        "apprenticeships": "500000.5",
        "volunteering_hours": "12.2137",
    }
    second = {
        "local_jobs": "2400000.25",
        "apprenticeships": "500000",
        "volunteering_hours": "0.0001",
    }
    return Decimal((second if day >= date(2031, 7, 1) else first)[measure])


def seeded(seed: int) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    rows: dict[str, list[dict[str, Any]]] = {"contracts": [], "parties": [], "commitments": []}
    ids = []
    for n in range(120):
        contract_id, estimated = uuid.UUID(int=rng.getrandbits(128)), rng.random() < 0.7
        value = HUGE if n < 3 else rng.randrange(0, 10**9)
        rows["contracts"].append(
            {
                "contract_id": contract_id,
                "tender_id": uuid.uuid4(),
                "lot_id": "lot-1",
                "buyer_id": uuid.UUID(int=rng.randrange(5)),
                "currency": "GBP" if n < 3 or rng.random() < 0.8 else "EUR",
                "awarded_minor": rng.randrange(0, 10**9),
                "value_minor": value,
                "estimated_minor": (HUGE if n < 2 else rng.randrange(0, 10**9))
                if estimated
                else None,
                "signed_at": MOMENTS[0] if n < 3 else rng.choice(MOMENTS),
                "status": "active",
            }
        )
        parties = rng.choice([[100], [100], [60, 40], [34, 33, 33], [30, 20]])
        rows["parties"] += [
            {"contract_id": contract_id, "organisation_id": uuid.uuid4(), "share_percent": s}
            for s in parties
        ]
        rows["commitments"] += [
            {"contract_id": contract_id, "measure": m, "quantity": rng.randrange(0, 10**6)}
            for m in rng.sample(MEASURES, rng.randrange(len(MEASURES) + 1))
        ]
        ids.append(contract_id)
    rows["reports"] = []
    for _ in range(200):
        figures: list[Any] = [
            {"measure": m, "quantity": rng.randrange(0, 10**5)}
            for m in rng.sample(MEASURES, rng.randrange(1, len(MEASURES) + 1))
        ]
        if rng.random() < 0.1:  # what the ledger leaves out of a report's figures
            figures += ["x", {"measure": "local_jobs", "quantity": "3"}, {"quantity": 2.5}]
        rows["reports"].append(
            {
                # Now and then a report of no stored contract: never counted.
                "contract_id": rng.choice(ids) if rng.random() < 0.95 else uuid.uuid4(),
                "report_id": uuid.uuid4(),
                "reporter_id": uuid.UUID(int=rng.randrange(50)),
                "period_end": rng.choice(MOMENTS) + timedelta(minutes=rng.choice([0, 30])),
                "status": rng.choice(["confirmed", "confirmed", "reported", "rejected"]),
                "delivered": json.dumps(figures),
            }
        )
    return rows


def stored(engine: Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    tables = {
        "contracts": impact_contracts,
        "parties": impact_parties,
        "commitments": impact_commitments,
        "reports": impact_reports,
    }
    with engine.begin() as connection:
        for name, table in tables.items():
            connection.execute(table.insert(), rows[name])


def removed(engine: Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    contracts = [r["contract_id"] for r in rows["contracts"]]
    reported = [r["contract_id"] for r in rows["reports"]]
    with engine.begin() as connection:
        for table in (impact_parties, impact_commitments, impact_contracts):
            connection.execute(delete(table).where(table.c.contract_id.in_(contracts)))
        connection.execute(delete(impact_reports).where(impact_reports.c.contract_id.in_(reported)))


def figures(found: dict[Grouping, dict[str, Totals]]) -> dict[Any, Any]:
    """Every figure of every group, Decimals as they compare (by value)."""
    return {
        (grouping, key): (
            t.contracts,
            {c: vars(m) for c, m in t.money.items()},
            {name: vars(m) for name, m in t.measures.items()},
            t.social_value_committed_minor,
            t.social_value_delivered_minor,
        )
        for grouping, groups in found.items()
        for key, t in groups.items()
    }


WINDOWS = [
    (FIRST_DAY, LAST_DAY),
    (date(2031, 3, 30), LAST_DAY),
    (FIRST_DAY, date(2031, 7, 1)),
    (date(2031, 7, 1), LAST_DAY),  # from a day that began at 23:00 UTC the day before
    (date(2031, 3, 30), date(2032, 1, 1)),
    (date(2032, 1, 1), date(2032, 10, 1)),
]


@pytest.mark.parametrize("seed", [19, 20, 21])
async def test_by_period_from_sums_is_the_row_by_row_ledger(
    engine: Engine, async_engine: AsyncEngine, seed: int
) -> None:
    rows = seeded(seed)
    stored(engine, rows)
    try:
        async with async_engine.connect() as connection:
            summed = await period_rows(connection, london_date)
            contracts = await ledger_contracts(connection, london_date)
            deliveries = await ledger_deliveries(connection, london_date)
        every = tuple(sorted(PERIODS))
        for since, until in WINDOWS:
            window = {"since": since, "until": until}
            expected = figures(ledgers(contracts, deliveries, rate, every, **window))
            async with async_engine.connect() as connection:
                # Only the window's rows (and a day either side), as the routes read them.
                near = await period_rows(connection, london_date, since=since, until=until)
            for read in (summed, near):
                found = period_ledgers(
                    read.signed, read.committed, read.delivered, rate, every, **window
                )
                assert found is not None
                assert all(found.values())
                assert figures(found) == expected
        # The last window's read left out the days far from it.
        assert len(near.signed) < len(summed.signed)
        assert len(near.delivered) < len(summed.delivered)
        # The sums of 2**63 - 1 three times (SQLite's sum() alone would raise).
        whole = period_ledgers(
            *summed, rate, (Grouping.ASSOCIATION,), since=FIRST_DAY, until=LAST_DAY
        )
        assert whole is not None
        assert whole[Grouping.ASSOCIATION]["all"].money["GBP"].value_won_minor > 3 * HUGE
    finally:
        removed(engine, rows)


async def test_sums_past_exact_decimals_are_left_to_the_row_by_row_ledger(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    """Quantities the projection accepts (2**63 - 1 each) valued at millions of pence pass
    10**28 ten-thousandths of a penny: no answer from the sums (the route reads row by row)."""
    rows = seeded(7)
    rows["commitments"] = [
        c | {"quantity": HUGE} if c["measure"] == "local_jobs" else c for c in rows["commitments"]
    ]
    stored(engine, rows)
    try:
        async with async_engine.connect() as connection:
            summed = await period_rows(connection, london_date)
        by_year = (Grouping.YEAR,)
        found = period_ledgers(
            summed.signed,
            summed.committed,
            summed.delivered,
            rate,
            by_year,
            since=FIRST_DAY,
            until=LAST_DAY,
        )
        assert found is None
    finally:
        removed(engine, rows)
