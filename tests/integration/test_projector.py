"""The batched projector: rebuild equals incremental, exactly once under concurrent runners."""

from __future__ import annotations

import contextlib
import random
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    MetaData,
    String,
    Table,
    insert,
    update,
)
from sqlalchemy.engine import Engine

from membership.application import MembershipApp
from projections.base import Projection
from projections.events import EventSource, RecordedEvent
from projections.registry import all_projections
from projections.runner import BatchProjector
from projections.tables import projection_positions
from tests.conftest import POSTGRES_TEMPLATE
from tests.integration.projection_fixtures import seed, snapshot
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore
from tradehall.store.sqlite import SQLiteStore


@contextlib.contextmanager
def database_of_its_own() -> Iterator[PostgresStore]:
    """A fresh, migrated PostgreSQL database (a copy of the run's template), dropped afterwards.

    The projector tests seed hundreds of organisations with random CPV codes and pending
    applications; in the session's shared database those showed up in the API tests' directory
    and staff-queue pages.
    """
    with POSTGRES_TEMPLATE.copy("tradehall_test_projector") as url:
        yield PostgresStore(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        yield SQLiteStore(tmp_path / "data")
        return
    with database_of_its_own() as store:
        yield store


@pytest.fixture
def membership(store: Store) -> Iterator[MembershipApp]:
    store.migrate()
    app = MembershipApp(env=store.application_env("membership", pool_size=4))
    yield app
    app.close()


def projector(
    store: Store,
    app: MembershipApp,
    projections: list[Projection],
    batch_size: int = 1000,
    rebuild_batch_size: int = 5000,
) -> BatchProjector:
    runner = BatchProjector(
        store.sync_engine(),
        {"membership": EventSource("membership", app.recorder)},
        projections,
        batch_size=batch_size,
        rebuild_batch_size=rebuild_batch_size,
        in_commit=store.in_projection_commit,
    )
    runner.ensure_positions()
    return runner


def test_rebuild_equals_incremental(store: Store, membership: MembershipApp) -> None:
    projections = all_projections()
    # Batches that split organisations' events, in both passes, and differently.
    runner = projector(store, membership, projections, batch_size=7, rebuild_batch_size=11)
    rng = random.Random(20261122)
    for _ in range(4):
        seed(membership, 15, rng)
        runner.catch_up()  # small batches, interleaved with new writes
    incremental = snapshot(runner.engine, projections)

    runner.rebuild()

    assert snapshot(runner.engine, projections) == incremental
    assert any(incremental["directory_members"])
    statuses = {(s.projection, s.log): s for s in runner.status()}
    assert statuses[("directory", "membership")].lag == 0
    assert (
        statuses[("directory", "membership")].position == membership.recorder.max_notification_id()
    )


class PositionLedger(Projection):
    """Records each event's position once: a second application of an event is a key clash."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.logs = ("membership",)
        self.table = Table(
            f"ledger_{name}",
            MetaData(),
            Column("position", BigInteger, primary_key=True),
            Column("topic", String(200), nullable=False),
        )
        self.tables = (self.table,)

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        connection.execute(
            insert(self.table), [{"position": e.position, "topic": e.topic} for e in events]
        )


def recorded_positions(membership: MembershipApp) -> list[int]:
    head = membership.recorder.max_notification_id() or 0
    return [n.id for n in membership.recorder.select_notifications(start=1, limit=head or 1)]


def ledger_positions(engine: Engine, ledger: PositionLedger) -> list[int]:
    with engine.connect() as connection:
        return sorted(row.position for row in connection.execute(ledger.table.select()))


@pytest.fixture
def ledgers(store: Store) -> Iterator[list[PositionLedger]]:
    made = [PositionLedger(f"t{uuid.uuid4().hex[:8]}") for _ in range(2)]
    engine = store.sync_engine()
    for ledger in made:
        ledger.table.metadata.create_all(engine)
    yield made
    for ledger in made:
        ledger.table.metadata.drop_all(engine)
    engine.dispose()


def run_at_once(runners: list[BatchProjector]) -> list[BaseException]:
    failures: list[BaseException] = []
    start = threading.Barrier(len(runners))

    def run(runner: BatchProjector) -> None:
        try:
            start.wait()
            runner.catch_up()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return failures


def test_two_runners_at_once_apply_each_event_exactly_once(
    store: Store, membership: MembershipApp, ledgers: list[PositionLedger]
) -> None:
    seed(membership, 120, random.Random(7))
    runners = [projector(store, membership, ledgers[:1], batch_size=25) for _ in range(2)]

    assert run_at_once(runners) == []

    assert ledger_positions(runners[0].engine, ledgers[0]) == recorded_positions(membership)


def test_runners_following_different_projections_at_once_apply_each_event_exactly_once(
    store: Store, membership: MembershipApp, ledgers: list[PositionLedger]
) -> None:
    seed(membership, 120, random.Random(8))
    runners = [
        projector(store, membership, ledgers, batch_size=25),
        projector(store, membership, ledgers[1:], batch_size=10),
        projector(store, membership, ledgers[::-1], batch_size=40),
    ]

    assert run_at_once(runners) == []

    for ledger in ledgers:
        assert ledger_positions(runners[0].engine, ledger) == recorded_positions(membership)


class CountingSource(EventSource):
    def __init__(self, log: str, recorder: Any) -> None:
        super().__init__(log, recorder)
        self.reads = 0

    def read(self, after: int, limit: int) -> list[RecordedEvent]:
        self.reads += 1
        return super().read(after, limit)


def test_a_log_is_read_once_a_batch_for_all_its_projections(
    store: Store, membership: MembershipApp, ledgers: list[PositionLedger]
) -> None:
    seed(membership, 60, random.Random(9))
    source = CountingSource("membership", membership.recorder)
    runner = BatchProjector(store.sync_engine(), {"membership": source}, ledgers, batch_size=20)

    runner.catch_up()

    recorded = recorded_positions(membership)
    assert source.reads == len(recorded) // 20 + 1  # the last read finds less than a batch
    for ledger in ledgers:
        assert ledger_positions(runner.engine, ledger) == recorded


def test_a_projection_added_later_catches_up_while_the_others_wait_for_it(
    store: Store, membership: MembershipApp, ledgers: list[PositionLedger]
) -> None:
    first, later = ledgers
    seed(membership, 40, random.Random(10))
    projector(store, membership, [first], batch_size=15).catch_up()
    applied_before = len(recorded_positions(membership))
    seed(membership, 20, random.Random(11))
    runner = projector(store, membership, [first, later], batch_size=15)

    applied = runner.catch_up()

    recorded = recorded_positions(membership)
    assert ledger_positions(runner.engine, first) == recorded
    assert ledger_positions(runner.engine, later) == recorded
    assert applied == (len(recorded) - applied_before) + len(recorded)


def test_a_runner_notices_when_a_rebuild_elsewhere_went_back(
    store: Store, membership: MembershipApp, ledgers: list[PositionLedger]
) -> None:
    ledger = ledgers[0]
    seed(membership, 40, random.Random(12))
    runner = projector(store, membership, [ledger], batch_size=15)
    runner.catch_up()  # it remembers the head as its position
    # A rebuild in another process empties the table and resets the position, then dies.
    other = projector(store, membership, [ledger])
    with other.engine.begin() as connection:
        ledger.clear(connection)
        connection.execute(update(projection_positions).values(position=0))
    seed(membership, 10, random.Random(13))

    runner.catch_up()

    assert ledger_positions(runner.engine, ledger) == recorded_positions(membership)


def test_a_rebuild_while_another_runner_follows_the_same_log_applies_each_event_once(
    store: Store, membership: MembershipApp, ledgers: list[PositionLedger]
) -> None:
    seed(membership, 60, random.Random(14))
    follower = projector(store, membership, ledgers, batch_size=10)
    rebuilder = projector(store, membership, ledgers[:1], rebuild_batch_size=25)
    follower.catch_up()
    seed(membership, 60, random.Random(15))  # the follower has these to do, meanwhile
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def run(work: Any) -> None:
        try:
            start.wait()
            work()
        except BaseException as error:
            failures.append(error)

    threads = [
        threading.Thread(target=run, args=(follower.catch_up,)),
        threading.Thread(target=run, args=(rebuilder.rebuild,)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    follower.catch_up()

    assert failures == []
    for ledger in ledgers:
        assert ledger_positions(follower.engine, ledger) == recorded_positions(membership)
