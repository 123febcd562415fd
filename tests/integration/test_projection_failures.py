"""A projection that fails on an event stalls nothing else: the others of its log go on, the
failure is recorded where every process sees it (and `tradehall projections status` shows it),
it is retried with a growing delay, and it recovers once it no longer fails."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, insert

from membership.application import MembershipApp
from projections.directory import DirectoryProjection
from projections.events import EventSource, RecordedEvent
from projections.runner import BatchProjector, ProjectionFailure, ProjectionStatus, retry_delay
from tests.integration.projection_fixtures import seed
from tests.integration.test_projector import (  # noqa: F401
    PositionLedger,
    ledger_positions,
    membership,
    recorded_positions,
    store,
)
from tradehall.cli import main
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


class Clock:
    """The runner's time, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Poisoned(Exception):
    pass


class Fussy(PositionLedger):
    """A ledger that fails on the events at `poisoned`: by raising, or (`by_database`) by
    writing a row whose key is taken, so the database refuses it mid-transaction."""

    def __init__(self, name: str, *, by_database: bool) -> None:
        super().__init__(name)
        self.by_database = by_database
        self.poisoned: set[int] = set()
        self.tries = 0

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        super().apply(connection, events)
        for event in events:
            if event.position in self.poisoned:
                self.tries += 1
                if self.by_database:
                    connection.execute(
                        insert(self.table), [{"position": event.position, "topic": "again"}]
                    )
                raise Poisoned(f"cannot take event {event.position}")


@pytest.fixture(params=["raises", "database refuses"])
def trio(request: pytest.FixtureRequest, store: Store) -> Iterator[list[PositionLedger]]:  # noqa: F811
    tag = uuid.uuid4().hex[:8]
    made = [
        PositionLedger(f"a{tag}"),
        Fussy(f"f{tag}", by_database=request.param != "raises"),
        PositionLedger(f"z{tag}"),
    ]
    engine = store.sync_engine()
    for ledger in made:
        ledger.table.metadata.create_all(engine)
    yield made
    for ledger in made:
        ledger.table.metadata.drop_all(engine)
    engine.dispose()


def runner_for(
    on: Store, app: MembershipApp, projections: list[PositionLedger], clock: Clock
) -> BatchProjector:
    runner = BatchProjector(
        on.sync_engine(),
        {"membership": EventSource("membership", app.recorder)},
        projections,
        batch_size=7,
        in_commit=on.in_projection_commit,
        clock=clock,
    )
    runner.ensure_positions()
    return runner


def status_of(runner: BatchProjector, name: str) -> ProjectionStatus:
    return next(s for s in runner.status() if s.projection == name)


def test_a_failing_projection_stops_no_other_backs_off_and_recovers_when_fixed(
    store: Store,  # noqa: F811
    membership: MembershipApp,  # noqa: F811
    trio: list[PositionLedger],
) -> None:
    first, fussy, last = trio
    assert isinstance(fussy, Fussy)
    seed(membership, 30, random.Random(21))
    recorded = recorded_positions(membership)
    bad = recorded[len(recorded) // 2]
    fussy.poisoned = {bad}
    clock = Clock(T0)
    runner = runner_for(store, membership, trio, clock)

    runner.catch_up()

    engine = runner.engine
    # The others of its log applied everything; it applied every event before the bad one.
    assert ledger_positions(engine, first) == recorded
    assert ledger_positions(engine, last) == recorded
    assert ledger_positions(engine, fussy) == [p for p in recorded if p < bad]
    failing = status_of(runner, fussy.name)
    assert failing.position == max(p for p in recorded if p < bad)
    assert failing.failure is not None
    assert failing.failure.position == bad
    assert failing.failure.attempts == 1
    assert (failing.failure.failed_since, failing.failure.retry_at) == (
        T0,
        T0 + timedelta(seconds=1),
    )
    if fussy.by_database:
        assert failing.failure.error_type.endswith(("UniqueViolation", "IntegrityError"))
    else:
        assert failing.failure == ProjectionFailure(
            position=bad,
            error_type=f"{__name__}.Poisoned",
            error_message=f"cannot take event {bad}",
            attempts=1,
            failed_since=T0,
            retry_at=T0 + timedelta(seconds=1),
        )
    assert status_of(runner, first.name).failure is None

    # Every process sees the failure, and waits as this one does: nothing is tried before its
    # time, while new events still reach the others.
    elsewhere = runner_for(store, membership, trio, clock)
    assert status_of(elsewhere, fussy.name).failure == failing.failure
    tries = fussy.tries
    seed(membership, 5, random.Random(22))
    elsewhere.catch_up()
    runner.catch_up()
    assert fussy.tries == tries
    assert ledger_positions(engine, first) == recorded_positions(membership)
    assert status_of(runner, fussy.name).failure == failing.failure

    # Each due retry fails again and doubles the wait.
    for attempt, wait in ((2, 2), (3, 4), (4, 8)):
        clock.now = status_of(runner, fussy.name).failure.retry_at  # type: ignore[union-attr]
        runner.catch_up()
        again = status_of(runner, fussy.name).failure
        assert again is not None
        assert (again.position, again.attempts, again.failed_since) == (bad, attempt, T0)
        assert again.retry_at == clock.now + timedelta(seconds=wait)
        assert status_of(runner, fussy.name).position == failing.position

    # Fixed: at its next try it moves past the event, and the failure is gone.
    fussy.poisoned.clear()
    clock.now += timedelta(seconds=8)
    runner.catch_up()

    recorded = recorded_positions(membership)
    assert ledger_positions(engine, fussy) == recorded
    assert [(s.position, s.failure) for s in runner.status()] == [(recorded[-1], None)] * 3
    assert status_of(elsewhere, fussy.name).failure is None


def test_retries_wait_from_a_second_doubling_to_five_minutes() -> None:
    waits = [retry_delay(attempt).total_seconds() for attempt in range(1, 12)]
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert retry_delay(10_000) == timedelta(minutes=5)


class FussyDirectory(DirectoryProjection):
    """The real directory, failing on one event (as a bug in it would)."""

    def __init__(self, poisoned: int) -> None:
        self.poisoned = poisoned

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        if any(event.position == self.poisoned for event in events):
            raise Poisoned(f"the directory cannot take event {self.poisoned}")
        super().apply(connection, events)


def test_projections_status_shows_the_failing_projection_its_position_and_the_error(
    store: Store,  # noqa: F811
    membership: MembershipApp,  # noqa: F811
) -> None:
    seed(membership, 10, random.Random(23))
    recorded = recorded_positions(membership)
    bad = recorded[5]
    runner = runner_for(store, membership, [FussyDirectory(bad)], Clock(T0))  # type: ignore[list-item]
    runner.catch_up()
    runner.engine.dispose()
    if isinstance(store, PostgresStore):
        env = {"TRADEHALL_DATABASE_URL": store.url.render_as_string(hide_password=False)}
    else:
        env = {"TRADEHALL_DATABASE_URL": "", "TRADEHALL_DATA_DIR": str(store.data_dir)}  # type: ignore[attr-defined]

    result = CliRunner().invoke(main, ["projections", "status"], env=env | {"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert f"failing at {bad}" in result.output
    assert (
        f"directory fails on membership:{bad} since 2026-03-02 09:30:00 UTC: "
        f"{__name__}.Poisoned: the directory cannot take event {bad}"
    ) in result.output
    assert "attempts: 1, next try at 2026-03-02 09:30:01 UTC" in result.output
    line = next(line for line in result.output.splitlines() if "failing at" in line)
    assert str(recorded[4]) in line.split()  # its position: the event before the bad one
