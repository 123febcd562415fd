"""The contracts read model, on both stores: a contract's row, its parties and its measures
(committed; delivered counting confirmed reports only) follow the Contract events; a rebuild
from zero, in one batch or a batch an event, gives the same rows as the projector's batches;
and no event stops the projection (ADR 16)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.contract_tables import contract_delivery_reports, contracts
from projections.contracts import (
    ContractsProjection,
    all_contracts,
    contract_measures_of,
    organisation_contracts,
)
from projections.events import RecordedEvent
from tests.integration.projection_fixtures import snapshot
from tests.integration.recorded import recorded

# Each test applies the projection straight to the store's tables (a rebuild clears them):
# rows in no log, which in the run's shared PostgreSQL database another test's rebuild from
# the log would drop, and which would drop that test's rows.
pytestmark = pytest.mark.own_database
T0 = datetime(2026, 4, 6, 9, 30, tzinfo=UTC)
YEAR = {"start": "2026-04-06T00:00:00+00:00", "end": "2027-04-05T00:00:00+00:00"}
APRIL = {"start": "2026-04-06T00:00:00+00:00", "end": "2026-05-01T00:00:00+00:00"}
MAY = {"start": "2026-05-01T00:00:00+00:00", "end": "2026-06-01T00:00:00+00:00"}
COMMITMENTS = [
    {"measure": "local_jobs", "quantity": 3, "unit": "jobs"},
    {"measure": "apprenticeships", "quantity": 2, "unit": "apprenticeships"},
]


class Log:
    """Contract events as the marketplace's log holds them, numbered as they are made."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.versions: dict[uuid.UUID, int] = {}

    def add(self, contract: uuid.UUID, name: str, **data: Any) -> None:
        version = self.versions[contract] = self.versions.get(contract, 0) + 1
        data.setdefault("timestamp", T0 + timedelta(days=len(self.events)))
        topic = f"marketplace.contracts:Contract.{name}"
        position = len(self.events) + 1
        self.events.append(recorded("marketplace", position, contract, version, topic, data))

    def signed(
        self, contract: uuid.UUID, buyer: uuid.UUID, parties: list[Any], currency: str = "GBP"
    ) -> None:
        self.add(
            contract,
            "Signed",
            tender_id=uuid.uuid4(),
            lot_id="lot-1",
            bid_id=uuid.uuid4(),
            buyer_id=buyer,
            value_minor=9_500_000,
            currency=currency,
            period=YEAR,
            parties=[{"organisation_id": str(o), "share_percent": s} for o, s in parties],
            commitments=COMMITMENTS,
        )

    def reported(self, contract: uuid.UUID, report: uuid.UUID, by: uuid.UUID, **data: Any) -> None:
        data.setdefault("period", APRIL)
        data.setdefault("delivered", [{"measure": "local_jobs", "quantity": 2}])
        self.add(
            contract,
            "DeliveryReported",
            report_id=report,
            reporter_id=by,
            note="Two hires",
            **data,
        )


def the_log() -> tuple[Log, dict[str, uuid.UUID]]:
    ids = {name: uuid.uuid4() for name in ("buyer", "a", "b", "c", "one", "two", "r1", "r2", "r3")}
    log = Log()
    one, two = ids["one"], ids["two"]
    log.signed(one, ids["buyer"], [(ids["a"], 60), (ids["b"], 40)])
    log.signed(two, ids["buyer"], [(ids["c"], 100)])
    log.reported(one, ids["r1"], ids["a"])
    two_measures = [
        {"measure": "local_jobs", "quantity": 1},
        {"measure": "apprenticeships", "quantity": 2},
    ]
    log.reported(one, ids["r2"], ids["b"], period=MAY, delivered=two_measures)
    log.add(one, "DeliveryConfirmed", report_id=ids["r1"])
    log.add(one, "Amended", value_minor=11_000_000, period=None, reason="More parks")
    log.reported(two, ids["r3"], ids["c"])
    log.add(two, "DeliveryRejected", report_id=ids["r3"], reason="No evidence")
    log.add(two, "Terminated", reason="Stopped work")
    log.add(one, "Completed", reason="Delivered")
    return log, ids


def apply(engine: Engine, batches: list[list[RecordedEvent]]) -> None:
    projection = ContractsProjection()
    for batch in batches:
        with engine.begin() as connection:
            projection.apply(connection, batch)


def rebuild(engine: Engine, batches: list[list[RecordedEvent]]) -> dict[str, Any]:
    projection = ContractsProjection()
    with engine.begin() as connection:
        projection.clear(connection)
    apply(engine, batches)
    return snapshot(engine, [projection])


async def test_contracts_follow_their_events_and_a_rebuild_gives_the_same_rows(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    log, ids = the_log()
    events = log.events
    # As the projector might have seen them: in two batches, split mid-contract.
    built = rebuild(engine, [events[:3], events[3:]])
    assert rebuild(engine, [events]) == built
    assert rebuild(engine, [[e] for e in events]) == built

    with engine.connect() as connection:
        rows = {r.contract_id: r for r in connection.execute(select(contracts))}
        reports = {
            r.report_id: r.status for r in connection.execute(select(contract_delivery_reports))
        }
    one, two = rows[ids["one"]], rows[ids["two"]]
    assert (one.status, one.value_minor, one.version) == ("completed", 11_000_000, 6)
    assert (two.status, two.value_minor, two.version) == ("terminated", 9_500_000, 4)
    assert reports == {ids["r1"]: "confirmed", ids["r2"]: "reported", ids["r3"]: "rejected"}
    async with async_engine.connect() as connection:
        measures = await contract_measures_of(connection, ids["one"])
        assert {(m.measure, m.committed, m.delivered) for m in measures} == {
            ("local_jobs", 3, 2),
            ("apprenticeships", 2, 0),
        }
        rejected = await contract_measures_of(connection, ids["two"])
        assert {(m.measure, m.delivered) for m in rejected} == {
            ("local_jobs", 0),
            ("apprenticeships", 0),
        }
        buyer = await organisation_contracts(connection, ids["buyer"], limit=10, offset=0)
        assert [e.contract_id for e in buyer.entries] == [ids["two"], ids["one"]]  # newest first
        partner = await organisation_contracts(connection, ids["b"], limit=10, offset=0)
        assert [e.contract_id for e in partner.entries] == [ids["one"]]
        assert [(p.organisation_id, p.share_percent) for p in partner.entries[0].parties] == [
            (ids["a"], 60),
            (ids["b"], 40),
        ]
        stranger = await organisation_contracts(connection, uuid.uuid4(), limit=10, offset=0)
        assert stranger.total == 0
        everyone = await all_contracts(connection, limit=1000, offset=0)
        assert {ids["one"], ids["two"]} <= {e.contract_id for e in everyone.entries}


async def test_no_event_stops_the_projection(engine: Engine, async_engine: AsyncEngine) -> None:
    buyer, a = uuid.uuid4(), uuid.uuid4()
    good, broken, odd = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    log = Log()
    log.signed(good, buyer, [(a, 100), (a, 100)])  # an organisation twice: kept once
    log.add(broken, "Signed", buyer_id="not a uuid", period={"start": "x"})
    log.add(broken, "Completed", reason="x")  # its signing was left out
    log.add(good, "Amended", value_minor="lots", period=None, reason="x")
    log.add(good, "Amended", value_minor=-5, period=None, reason="x")
    log.add(good, "DeliveryConfirmed", report_id=uuid.uuid4())  # no such report
    log.add(good, "DeliveryConfirmed", report_id="junk")
    log.reported(good, uuid.uuid4(), a, delivered=[{"measure": "x\x00y", "quantity": 1}])
    log.reported(good, uuid.uuid4(), a, delivered=[{"measure": "local_jobs", "quantity": True}])
    log.reported(good, uuid.uuid4(), a, period={"start": "2026-04-06", "end": "later"})
    report = uuid.uuid4()
    log.reported(good, report, a, delivered=[{"measure": "carbon_saving", "quantity": 7}])
    log.add(good, "DeliveryConfirmed", report_id=report)
    log.add(good, "DeliveryConfirmed", report_id=report)  # confirmed twice: counted once
    log.add(good, "Terminated", reason="x", timestamp="yesterday")
    log.add(
        odd,
        "Signed",
        tender_id=uuid.uuid4(),
        lot_id="lot-\x00\ud800" + "x" * 100,
        bid_id=uuid.uuid4(),
        buyer_id=buyer,
        value_minor=2**63 - 1,
        currency="XTS",  # a code of its own (one not a code is left out: below)
        period=YEAR,
        parties=[],
        commitments=[],
    )
    apply(engine, [log.events])
    with engine.connect() as connection:
        rows = {r.contract_id: r for r in connection.execute(select(contracts))}
    assert broken not in rows
    assert (rows[good].status, rows[good].value_minor) == ("terminated", 9_500_000)
    assert rows[odd].value_minor == 2**63 - 1
    async with async_engine.connect() as connection:
        measures = await contract_measures_of(connection, good)
        mine = await organisation_contracts(connection, a, limit=10, offset=0)
    assert {(m.measure, m.committed, m.delivered) for m in measures} == {
        ("local_jobs", 3, 0),
        ("apprenticeships", 2, 0),
        ("carbon_saving", 0, 7),
    }
    assert [(e.contract_id, len(e.parties)) for e in mine.entries] == [(good, 1)]


async def test_a_report_made_again_leaves_the_first_standing_and_counts_once(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    """A delivery report recorded again under its id (never the domain's doing: it refuses a
    second report of an id; another writer's, or a log replayed into it) leaves the first
    standing, as the impact ledger does: its decision is not undone, and a second confirmation
    finds no report awaiting one, so the figures count once, in one batch or a batch an event."""
    buyer, a = uuid.uuid4(), uuid.uuid4()
    contract, report = uuid.uuid4(), uuid.uuid4()
    log = Log()
    log.signed(contract, buyer, [(a, 100)])
    log.reported(contract, report, a)  # local_jobs 2
    log.add(contract, "DeliveryConfirmed", report_id=report)
    log.reported(contract, report, a, delivered=[{"measure": "local_jobs", "quantity": 5}])
    log.add(contract, "DeliveryConfirmed", report_id=report)
    for batches in ([log.events], [[e] for e in log.events], [log.events[:3], log.events[3:]]):
        rebuild(engine, batches)
        with engine.connect() as connection:
            (stored,) = connection.execute(
                select(contract_delivery_reports).where(
                    contract_delivery_reports.c.contract_id == contract
                )
            )
        assert stored.status == "confirmed"
        assert '"quantity": 2' in stored.delivered
        async with async_engine.connect() as connection:
            measures = await contract_measures_of(connection, contract)
        assert {(m.measure, m.delivered) for m in measures} == {
            ("local_jobs", 2),
            ("apprenticeships", 0),
        }


async def test_a_signing_in_no_currency_code_is_left_out_never_shown_as_another(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    """A currency column holds three letters: a signing whose currency is not an ISO 4217
    code's form (another writer's) was cut to fit ("GBPX" listed as GBP); it is left out, as
    the impact ledger leaves it, and the rest of the batch stands."""
    buyer, a = uuid.uuid4(), uuid.uuid4()
    odd = {
        currency: uuid.uuid4() for currency in ("GBPX", "GBP\u202e", "GBP\x00", "GBP\n", "gbp", "")
    }
    good = uuid.uuid4()
    log = Log()
    for currency, contract in odd.items():
        log.signed(contract, buyer, [(a, 100)], currency)
        log.add(contract, "Completed", reason="x")
    log.signed(good, buyer, [(a, 100)])
    apply(engine, [log.events])
    with engine.connect() as connection:
        rows = {r.contract_id: r for r in connection.execute(select(contracts))}
    assert set(odd.values()).isdisjoint(rows)
    assert (rows[good].currency, rows[good].status) == ("GBP", "active")
