"""A tender event whose status or lot id is a list (unhashable: `in` a set or dict raises) is
left out by the matching and tenders projections, never stopping them (ADR 16). Both stores."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from projections.matching import MatchingProjection
from projections.matching_tables import match_lots
from projections.tables import tenders
from projections.tenders import TendersProjection
from tests.integration.test_matching_read_side import Log, apply, terms
from tests.integration.test_tenders_read_side import TERMS, m
from tradehall.store.base import Store


@pytest.fixture
def engine(store: Store) -> Iterator[Engine]:
    store.migrate()
    made = store.sync_engine()
    with made.begin() as connection:
        MatchingProjection().clear(connection)
    yield made
    made.dispose()


@pytest.mark.parametrize(
    ("event_name", "data"),
    [
        ("Tender.Published", {"status": ["active"]}),
        ("Tender.LotDecided", {"lot_id": ["1"], "outcome": "awarded"}),
    ],
)
def test_an_unhashable_value_in_a_tender_event_does_not_stop_matching(
    engine: Engine, event_name: str, data: dict[str, object]
) -> None:
    log = Log()
    buyer = log.org("Council", ["45214000-0"], ["TLE42"], "current")
    tender = log.tender(buyer, terms([("1", ["45214000-0"], 100)], regions=[]), status="draft")
    log.market(tender, event_name, **data)
    apply(engine, [log.events])
    with engine.connect() as connection:
        found = connection.execute(
            select(match_lots.c.status, match_lots.c.outcome).where(
                match_lots.c.tender_id == tender
            )
        ).all()
    assert [tuple(row) for row in found] == [("draft", None)]


@pytest.mark.parametrize("event_name", ["Published", "Ended"])
def test_an_unhashable_status_does_not_stop_the_tenders_projection(
    engine: Engine, event_name: str
) -> None:
    buyer, tender = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as connection:
        TendersProjection().apply(
            connection,
            [
                m(1, tender, "Drafted", buyer_id=buyer, ocid="o-1", terms=TERMS),
                m(2, tender, event_name, 2, status=["active"], reason="x"),
            ],
        )
        status = connection.execute(
            select(tenders.c.status).where(tenders.c.tender_id == tender)
        ).scalar_one()
    assert status == "draft"
