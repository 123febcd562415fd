"""The tender board follows its lots' decisions (Tender.LotDecided), on both stores: each lot's
outcome is kept, and the tender is complete or unsuccessful once every lot is decided, as the
Tender aggregate says; the public view shows each lot's outcome; a rebuild from the log gives
the same rows; an odd decision never stops the projection (ADR 16)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.application import MarketplaceApp
from membership.application import MembershipApp
from projections.events import EventSource
from projections.runner import BatchProjector
from projections.tables import tender_lot_outcomes, tenders
from projections.tenders import TendersProjection, tender_board, tender_detail
from tests.api.helpers import services_of
from tests.conftest import AppClient
from tests.integration.test_award_notices import OPENED, at, decide
from tests.integration.test_tenders_read_side import T0, TERMS, m
from tradehall.store.base import Store


@pytest.fixture
def apps(store: Store) -> Iterator[tuple[MarketplaceApp, MembershipApp]]:
    store.migrate()
    marketplace = MarketplaceApp(env=store.application_env("marketplace", pool_size=2))
    membership = MembershipApp(env=store.application_env("membership", pool_size=2))
    yield marketplace, membership
    marketplace.close()
    membership.close()


def rows_of(engine: Engine, tender_ids: list[uuid.UUID]) -> dict[str, list[tuple[str, ...]]]:
    """Every row of the tenders' projection tables that these tenders own, in a stable order."""
    found = {}
    with engine.connect() as connection:
        for table in TendersProjection.tables:
            if "tender_id" not in table.c:
                continue
            rows = connection.execute(select(table).where(table.c.tender_id.in_(tender_ids)))
            found[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return found


async def test_the_board_follows_each_lots_decision_and_a_rebuild_agrees(
    store: Store,
    apps: tuple[MarketplaceApp, MembershipApp],
    engine: Engine,
    async_engine: AsyncEngine,
) -> None:
    marketplace, membership = apps
    scenario = decide(marketplace)
    # The award reaches the tender (and the public) with its notice.
    assert marketplace.tender(scenario.tender).lot_outcomes == {"lot-2": "unsuccessful"}
    marketplace.publish_award_notice(at(OPENED), scenario.tender, "lot-1", lambda e: True)
    runner = BatchProjector(
        engine,
        {
            "marketplace": EventSource("marketplace", marketplace.recorder),
            "membership": EventSource("membership", membership.recorder),
        },
        [TendersProjection()],
        in_commit=store.in_projection_commit,
    )
    runner.ensure_positions()
    runner.catch_up()

    async with async_engine.connect() as connection:
        awarded = await tender_detail(connection, scenario.tender)
        declined = await tender_detail(connection, scenario.declined)
        board = await tender_board(
            connection, buyer_id=scenario.buyer, status="complete", limit=10, offset=0
        )
    assert awarded is not None
    assert declined is not None
    # As the aggregate has it.
    for detail in (awarded, declined):
        tender = marketplace.tender(detail.entry.tender_id)
        assert detail.entry.status == tender.status.value
        assert {k: v.outcome for k, v in detail.lot_outcomes.items()} == tender.lot_outcomes
    assert awarded.entry.status == "complete"
    assert {k: v.outcome for k, v in awarded.lot_outcomes.items()} == {
        "lot-1": "awarded",
        "lot-2": "unsuccessful",  # no valid bid: decided at opening
    }
    assert declined.entry.status == "unsuccessful"
    assert declined.lot_outcomes["lot-1"].outcome == "not_awarded"
    assert [e.tender_id for e in board.entries] == [scenario.tender]

    mine = [scenario.tender, scenario.declined]
    before = rows_of(engine, mine)
    assert len(before["tender_lot_outcomes"]) == 3
    # Other tests' odd events are in the shared PostgreSQL log (probes record them on
    # purpose): left out as the live path leaves them (ADR 16).
    runner.rebuild(["tenders"], leaving_out=True)
    assert rows_of(engine, mine) == before


def test_odd_decisions_are_kept_as_given_or_left_out_never_an_error(engine: Engine) -> None:
    buyer, split, unknown, mixed = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    projection = TendersProjection()
    with engine.begin() as connection:
        projection.apply(
            connection,
            [
                m(1, split, "Drafted", buyer_id=buyer, ocid="o-1", terms=TERMS),
                m(2, split, "Published", 2, status="active"),
                m(3, split, "LotDecided", 3, lot_id="lot-1", outcome="not_awarded"),
                m(4, split, "LotDecided", 4, outcome="awarded"),  # no lot: left out
                m(5, split, "LotDecided", 5, lot_id=7, outcome="awarded"),
                m(6, split, "LotDecided", 6, lot_id="lot-2"),  # no outcome: left out
                m(7, split, "LotDecided", 7, lot_id="x" * 41, outcome="awarded"),
                m(8, unknown, "LotDecided", 1, lot_id="lot-1", outcome="awarded"),
                m(9, mixed, "Drafted", buyer_id=buyer, ocid="o-2", terms=TERMS),
                m(10, mixed, "Published", 2, status="active"),
                m(11, mixed, "LotDecided", 3, lot_id="lot-1", outcome="mislaid"),
            ],
        )  # fmt: skip
        assert status_of(connection, split) == "active"  # lot-2 not decided yet
    with engine.begin() as connection:  # a later batch: the stored decisions count
        projection.apply(
            connection,
            [
                m(12, split, "LotDecided", 8, lot_id="lot-2", outcome="unsuccessful"),
                m(13, mixed, "LotDecided", 4, lot_id="lot-2", outcome="awarded"),
                m(14, mixed, "LotDecided", 5, lot_id="lot-9", outcome="awarded"),
            ],
        )
        assert status_of(connection, split) == "unsuccessful"  # no lot awarded
        assert status_of(connection, mixed) == "complete"
        outcomes = connection.execute(
            select(tender_lot_outcomes.c.tender_id, tender_lot_outcomes.c.lot_id)
            .where(tender_lot_outcomes.c.tender_id.in_([split, unknown, mixed]))
            .order_by(tender_lot_outcomes.c.lot_id)
        ).all()
        assert sorted((str(t), lot) for t, lot in outcomes) == sorted(
            [
                (str(split), "lot-1"),
                (str(split), "lot-2"),
                (str(mixed), "lot-1"),
                (str(mixed), "lot-2"),
                (str(mixed), "lot-9"),  # a lot the terms do not name: kept, as the Tender does
            ]
        )
        odd = connection.execute(
            select(tender_lot_outcomes.c.outcome)
            .where(tender_lot_outcomes.c.tender_id == mixed)
            .where(tender_lot_outcomes.c.lot_id == "lot-1")
        ).scalar_one()
        assert odd == "mislaid"  # an unknown outcome, stored as given
        version, updated = connection.execute(
            select(tenders.c.version, tenders.c.updated_at).where(tenders.c.tender_id == split)
        ).one()
        assert (version, updated) == (8, T0)


def status_of(connection: Any, tender_id: uuid.UUID) -> str:
    found: str = connection.execute(
        select(tenders.c.status).where(tenders.c.tender_id == tender_id)
    ).scalar_one()
    return found


async def test_the_public_view_shows_each_lots_outcome(client: AppClient) -> None:
    services = services_of(client)
    marketplace = services.applications["marketplace"]
    scenario = await services.run(decide, marketplace)
    await services.run(services.readside.projector.catch_up)
    before_notice = (await client.get(f"/api/v1/tenders/{scenario.tender}")).json()
    assert before_notice["status"] == "active"  # awarded, but not yet published
    assert [lot["outcome"] for lot in before_notice["lots"]] == [None, "unsuccessful"]
    await services.run(
        marketplace.publish_award_notice, at(OPENED), scenario.tender, "lot-1", lambda e: True
    )
    await services.run(services.readside.projector.catch_up)

    response = await client.get(f"/api/v1/tenders/{scenario.tender}")
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["status"] == "complete"
    lots = {lot["id"]: lot for lot in view["lots"]}
    assert (lots["lot-1"]["outcome"], lots["lot-2"]["outcome"]) == ("awarded", "unsuccessful")
    assert lots["lot-1"]["decided_at"] is not None
    assert lots["lot-1"]["title"] == "North"

    declined = (await client.get(f"/api/v1/tenders/{scenario.declined}")).json()
    assert declined["status"] == "unsuccessful"
    assert [(lot["id"], lot["outcome"]) for lot in declined["lots"]] == [("lot-1", "not_awarded")]

    board = await client.get("/api/v1/tenders", params={"status": "complete"})
    assert str(scenario.tender) in {t["id"] for t in board.json()["items"]}
