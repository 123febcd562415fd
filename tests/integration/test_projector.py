"""The batched projector: rebuild equals incremental, exactly once under concurrent runners."""

from __future__ import annotations

import contextlib
import random
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import BigInteger, Column, Connection, MetaData, String, Table, insert, make_url

from membership.application import MembershipApp
from projections.base import Projection
from projections.events import EventSource, RecordedEvent
from projections.registry import all_projections
from projections.runner import BatchProjector
from tests.conftest import admin_database_url
from tests.integration.projection_fixtures import seed, snapshot
from tradehall.store import PostgresStore, SQLiteStore, Store


@contextlib.contextmanager
def database_of_its_own() -> Iterator[PostgresStore]:
    """A fresh, migrated PostgreSQL database, dropped afterwards.

    The projector tests seed hundreds of organisations with random CPV codes and pending
    applications; in the session's shared database those showed up in the API tests' directory
    and staff-queue pages.
    """
    admin = make_url(admin_database_url()).set(drivername="postgresql")
    name = f"tradehall_test_projector_{uuid.uuid4().hex[:10]}"
    admin_dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        store = PostgresStore(admin.set(database=name).render_as_string(hide_password=False))
        store.migrate()
        yield store
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
    store: Store, app: MembershipApp, projections: list[Projection], batch_size: int = 1000
) -> BatchProjector:
    runner = BatchProjector(
        store.sync_engine(),
        {"membership": EventSource("membership", app.recorder)},
        projections,
        batch_size=batch_size,
        in_commit=store.in_projection_commit,
    )
    runner.ensure_positions()
    return runner


def test_rebuild_equals_incremental(store: Store, membership: MembershipApp) -> None:
    projections = all_projections()
    runner = projector(store, membership, projections, batch_size=7)
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


def test_two_runners_at_once_apply_each_event_exactly_once(
    store: Store, membership: MembershipApp
) -> None:
    ledger = PositionLedger(f"t{uuid.uuid4().hex[:8]}")
    engine = store.sync_engine()
    ledger.table.metadata.create_all(engine)
    seed(membership, 120, random.Random(7))
    runners = [projector(store, membership, [ledger], batch_size=25) for _ in range(2)]
    failures: list[BaseException] = []
    start = threading.Barrier(2)

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

    assert failures == []
    with engine.connect() as connection:
        positions = [row.position for row in connection.execute(ledger.table.select())]
    head = membership.recorder.max_notification_id()
    notifications = membership.recorder.select_notifications(start=1, limit=head or 1)
    assert sorted(positions) == [n.id for n in notifications]
    ledger.table.metadata.drop_all(engine)
    engine.dispose()
