"""An accepted quote's contract (issue 18) counts like an award's, on both stores: in matching, in
its request's CPV divisions (won, then delivered), whether the request was posted in the same
batch or an earlier one, the request never becoming a lot; in the impact ledger, with no
estimate, under its requester as buyer, named as every organisation is."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.base import Projection
from projections.events import RecordedEvent
from projections.impact import ImpactProjection
from projections.impact_ledger import Grouping, ledger
from projections.impact_query import ledger_contracts, names_of
from projections.matching import MatchingProjection
from projections.matching_tables import match_contracts, match_lots, match_member_divisions
from projections.tenders import TendersProjection
from tests.integration.recorded import recorded

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PERIOD = {"start": "2027-01-04T00:00:00+00:00", "end": "2027-03-31T00:00:00+00:00"}


class Log:
    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.versions: dict[uuid.UUID, int] = {}
        self.positions = {"membership": 0, "marketplace": 0}

    def add(self, log: str, topic: str, owner: uuid.UUID, **data: Any) -> None:
        version = self.versions[owner] = self.versions.get(owner, 0) + 1
        self.positions[log] += 1
        data.setdefault("timestamp", T0 + timedelta(minutes=len(self.events)))
        self.events.append(recorded(log, self.positions[log], owner, version, topic, data))

    def organisation(self, name: str) -> uuid.UUID:
        org_id = uuid.uuid4()
        self.add(
            "membership",
            "membership.domain:Organisation.Registered",
            org_id,
            name=name,
            kind="business",
            cpv_codes=[],
            regions=[],
        )
        return org_id

    def request(self, request: uuid.UUID, requester: uuid.UUID, codes: list[str]) -> None:
        self.add(
            "marketplace",
            "marketplace.quotes.request:RequestForQuote.Posted",
            request,
            requester_id=requester,
            title="Grounds",
            description="Two sites",
            cpv_codes=codes,
            regions=[],
            budget=None,
            deadline=T0 + timedelta(days=14),
            period=PERIOD,
            audience="open",
            invited=[],
        )

    def signed(
        self, contract: uuid.UUID, request: uuid.UUID, requester: uuid.UUID, supplier: uuid.UUID
    ) -> None:
        self.add(
            "marketplace",
            "marketplace.contracts:Contract.Signed",
            contract,
            tender_id=request,
            lot_id="quote",
            bid_id=uuid.uuid4(),
            buyer_id=requester,
            value_minor=400_000,
            currency="GBP",
            period=PERIOD,
            parties=[{"organisation_id": str(supplier), "share_percent": 100}],
            commitments=[],
        )


def apply(engine: Engine, projection: Projection, batches: list[list[RecordedEvent]]) -> None:
    for batch in batches:
        with engine.begin() as connection:
            projection.apply(connection, [e for e in batch if e.log in projection.logs])


def divisions(engine: Engine, organisation: uuid.UUID) -> dict[str, tuple[int, int]]:
    table = match_member_divisions
    with engine.connect() as connection:
        return {
            row.division: (row.won, row.delivered)
            for row in connection.execute(
                select(table).where(table.c.organisation_id == organisation)
            )
        }


def the_log() -> tuple[Log, dict[str, uuid.UUID]]:
    log = Log()
    ids = {"requester": log.organisation("Parish of Elsewhere")}
    ids["supplier"] = log.organisation("Green Spaces CIC")
    ids["request"], ids["contract"] = uuid.uuid4(), uuid.uuid4()
    log.request(ids["request"], ids["requester"], ["77310000-6", "45210000-2"])
    log.signed(ids["contract"], ids["request"], ids["requester"], ids["supplier"])
    log.add(
        "marketplace", "marketplace.contracts:Contract.Completed", ids["contract"], reason="Done"
    )
    return log, ids


def test_matching_counts_it_in_its_request_s_divisions_in_any_batches(engine: Engine) -> None:
    for split in (None, 3, 4):  # in one batch; posted, then signed apart
        log, ids = the_log()
        events = log.events
        batches = [events] if split is None else [events[:split], events[split:]]
        apply(engine, MatchingProjection(), batches)
        assert divisions(engine, ids["supplier"]) == {"77": (1, 1), "45": (1, 1)}
        with engine.connect() as connection:
            lots = connection.execute(
                select(match_lots).where(match_lots.c.tender_id == ids["request"])
            ).all()
        assert lots == []  # never recommended as a tender's lot


def test_matching_gives_a_contract_for_an_unknown_request_no_division(engine: Engine) -> None:
    log = Log()
    supplier, requester = log.organisation("A"), log.organisation("B")
    contract = uuid.uuid4()
    log.signed(contract, uuid.uuid4(), requester, supplier)  # its request never seen
    apply(engine, MatchingProjection(), [log.events])
    with engine.connect() as connection:
        row = connection.execute(
            select(match_contracts).where(match_contracts.c.contract_id == contract)
        ).one()
    assert row.divisions == "[]"
    assert divisions(engine, supplier) == {}


async def test_the_impact_ledger_counts_it_under_its_named_requester(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    log, ids = the_log()
    apply(engine, ImpactProjection(), [log.events])
    apply(engine, TendersProjection(), [log.events])  # every organisation's name
    async with async_engine.connect() as connection:
        [contract] = await ledger_contracts(
            connection, lambda moment: moment.date(), party=ids["supplier"]
        )
        names = await names_of(connection, [ids["requester"]])
    assert (contract.contract_id, contract.buyer_id) == (ids["contract"], ids["requester"])
    assert (contract.value_minor, contract.estimated_minor) == (400_000, None)
    by_buyer = ledger([contract], [], lambda measure, day: Decimal(0), Grouping.BUYER)
    totals = by_buyer[str(ids["requester"])]
    assert totals.contracts == 1
    assert totals.money["GBP"].value_won_minor == 400_000
    assert totals.money["GBP"].estimated_minor == 0  # no estimate to compare with
    assert names == {ids["requester"]: "Parish of Elsewhere"}
    assert contract.signed_on == date(2026, 11, 2)
