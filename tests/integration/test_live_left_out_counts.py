"""The live path counts the events it leaves out (ADR 16) on each projection's position row: how
many and the last (position, topic, why), written with the position that moves past them, so a
batch rolled back (a crash) or applied again (an isolated failure) counts each event once. A
rebuild that swaps sets the count to what it left out. `tradehall projections status` shows it.
On both stores.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, Engine, select, update

from membership.application import MembershipApp
from projections.applications import ApplicationsProjection
from projections.directory import DirectoryProjection
from projections.events import EventSource, RecordedEvent
from projections.runner import BatchProjector, LeftOutEvents
from projections.tables import projection_positions
from tests.integration.projection_fixtures import seed
from tests.integration.test_projector import membership, store  # noqa: F401
from tests.integration.test_readside_review_payloads import ORGANISATION, record
from tests.integration.test_rebuild_swap import record_without_a_name
from tradehall.cli import main
from tradehall.membership.notices import NoticeWriter
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore
from tradehall.store.sqlite import SQLiteStore

REGISTERED = "membership.domain:Organisation.Registered"


@pytest.fixture
def engine(store: Store) -> Iterator[Engine]:  # noqa: F811
    engine = store.sync_engine()
    yield engine
    engine.dispose()


def row_of(engine: Engine, projection: str, log: str = "membership") -> Any:
    with engine.connect() as connection:
        return connection.execute(
            select(projection_positions).where(
                projection_positions.c.projection == projection,
                projection_positions.c.log == log,
            )
        ).one()


def left_out_of(runner: BatchProjector, projection: str) -> LeftOutEvents | None:
    (status,) = [s for s in runner.status() if s.projection == projection]
    return status.left_out


def position_of(app: MembershipApp, organisation: uuid.UUID) -> int:
    """The log position of the organisation's first event."""
    head = app.recorder.max_notification_id() or 0
    found = app.recorder.select_notifications(start=1, limit=head)
    return next(n.id for n in found if n.originator_id == organisation)


def test_each_left_out_event_is_counted_once_with_the_position_and_a_crash_loses_neither(
    store: Store,  # noqa: F811
    membership: MembershipApp,  # noqa: F811
    engine: Engine,
) -> None:
    rng = random.Random(61)
    seed(membership, 4, rng)
    first = record_without_a_name(membership)
    seed(membership, 3, rng)
    second = record_without_a_name(membership)
    seed(membership, 2, rng)
    crashes = [RuntimeError("the process died before the commit")]

    def in_commit(connection: Connection, names: str, log: str, position: int) -> None:
        store.in_projection_commit(connection, names, log, position)
        if crashes:
            raise crashes.pop()

    runner = BatchProjector(
        store.sync_engine(),
        {"membership": EventSource("membership", membership.recorder)},
        [DirectoryProjection(), ApplicationsProjection()],
        batch_size=7,
        in_commit=in_commit,
    )
    try:
        # The first batch dies in its commit: neither its position nor its count is kept.
        with pytest.raises(RuntimeError, match="died"):
            runner.catch_up()
        assert (row_of(engine, "directory").position, row_of(engine, "directory").left_out) == (
            0,
            0,
        )

        runner.catch_up()
        runner.catch_up()  # nothing new: nothing counted again
        other = BatchProjector(  # another worker's runner, from where it last saw the rows
            store.sync_engine(),
            {"membership": EventSource("membership", membership.recorder)},
            [DirectoryProjection(), ApplicationsProjection()],
        )
        try:
            other.catch_up()
        finally:
            other.engine.dispose()

        head = membership.recorder.max_notification_id()
        directory = row_of(engine, "directory")
        assert directory.position == head
        assert left_out_of(runner, "directory") == LeftOutEvents(
            count=2,
            position=position_of(membership, second),
            topic=REGISTERED,
            why="not what the domain writes ('name')",
        )
        assert row_of(engine, "applications").left_out == 2
        assert runner.status()[0].failure is None

        third = record_without_a_name(membership)
        runner.catch_up()
        counted = left_out_of(runner, "directory")
        assert counted is not None
        assert (counted.count, counted.position) == (3, position_of(membership, third))
        assert first != second != third
    finally:
        runner.engine.dispose()


class FailsOn(DirectoryProjection):
    """The directory, failing (as a database error would) on one organisation's registration
    while armed."""

    def __init__(self, organisation: uuid.UUID) -> None:
        self.organisation = organisation
        self.armed = True

    def create(self, event: RecordedEvent) -> Any:
        if self.armed and event.originator_id == self.organisation:
            raise RuntimeError("the database refused the row")
        return super().create(event)


def test_an_event_left_out_before_a_failure_is_counted_once_however_often_it_is_tried(
    store: Store,  # noqa: F811
    membership: MembershipApp,  # noqa: F811
    engine: Engine,
) -> None:
    """A failure rolls the batch back and tries the projection again, isolated, then one
    event at a time, then the events before the failing one together: the odd event before
    it is left out each time, and counted once."""
    seed(membership, 2, random.Random(62))
    nameless = record_without_a_name(membership)
    target = uuid.uuid4()
    record(membership, f"{ORGANISATION}.Registered", target, 1, **_registered("Target Ltd"))
    now = [datetime(2026, 12, 1, 12, tzinfo=UTC)]
    directory = FailsOn(target)
    runner = BatchProjector(
        store.sync_engine(),
        {"membership": EventSource("membership", membership.recorder)},
        [directory],
        clock=lambda: now[0],
    )
    try:
        runner.catch_up()
        failing = row_of(engine, "directory")
        assert failing.failed_position == position_of(membership, target)
        assert failing.position == position_of(membership, nameless)
        assert (failing.left_out, failing.left_out_position) == (
            1,
            position_of(membership, nameless),
        )

        directory.armed = False  # fixed; its retry comes due
        now[0] += timedelta(minutes=10)
        runner.catch_up()

        passed = row_of(engine, "directory")
        assert (passed.failed_position, passed.position) == (
            None,
            membership.recorder.max_notification_id(),
        )
        assert passed.left_out == 1
    finally:
        runner.engine.dispose()


def _registered(name: str) -> dict[str, Any]:
    from tests.integration.test_readside_review_payloads import registered

    return registered(name=name)


class LeftOutByABug(DirectoryProjection):
    """The directory with a bug while armed: every registration is left out (a renamed key)."""

    armed = True

    def create(self, event: RecordedEvent) -> Any:
        if self.armed:
            event.data["legal_name"]
        return super().create(event)


def test_a_rebuild_that_swaps_sets_the_count_to_what_it_left_out(
    store: Store,  # noqa: F811
    membership: MembershipApp,  # noqa: F811
    engine: Engine,
) -> None:
    seed(membership, 3, random.Random(63))
    nameless = record_without_a_name(membership)
    directory = LeftOutByABug()
    runner = BatchProjector(
        store.sync_engine(),
        {"membership": EventSource("membership", membership.recorder)},
        [directory],
    )
    try:
        runner.catch_up()
        buggy = left_out_of(runner, "directory")
        assert buggy is not None
        assert buggy.count == 4  # three registrations and the nameless one
        assert "legal_name" in buggy.why

        directory.armed = False  # fixed: the rebuild leaves out the nameless one only
        runner.rebuild(leaving_out=True)

        assert left_out_of(runner, "directory") == LeftOutEvents(
            count=1,
            position=position_of(membership, nameless),
            topic=REGISTERED,
            why="not what the domain writes ('name')",
        )
        # A rebuild that leaves nothing out clears it.
        with engine.begin() as connection:
            connection.execute(
                update(projection_positions)
                .where(projection_positions.c.projection == "directory")
                .values(left_out=5)
            )
        runner.rebuild(leaving_out=True)
        assert row_of(engine, "directory").left_out == 1
    finally:
        runner.engine.dispose()


def test_a_notice_writer_counts_what_it_leaves_out_and_status_shows_it(
    store: Store,  # noqa: F811
    membership: MembershipApp,  # noqa: F811
    engine: Engine,
) -> None:
    """The notice writer keeps a position row as projections do: its left-out events count
    there too (a rejection that gives no reason tells the member nothing)."""
    org = uuid.uuid4()
    record(membership, f"{ORGANISATION}.Registered", org, 1, **_registered("Reasonless Ltd"))
    record(membership, f"{ORGANISATION}.MembershipApplied", org, 2)
    record(membership, f"{ORGANISATION}.MembershipRejected", org, 3)
    runner = BatchProjector(
        store.sync_engine(),
        {"membership": EventSource("membership", membership.recorder)},
        [NoticeWriter("https://tradehall.example"), DirectoryProjection()],
    )
    try:
        runner.catch_up()
    finally:
        runner.engine.dispose()
    rejected = membership.recorder.max_notification_id()
    notices = row_of(engine, "notices")
    assert (notices.position, notices.left_out, notices.left_out_position) == (
        rejected,
        1,
        rejected,
    )
    assert notices.left_out_topic == f"{ORGANISATION}.MembershipRejected"
    assert "reason" in notices.left_out_why
    assert row_of(engine, "directory").left_out == 0
    if isinstance(store, PostgresStore):
        env = {"TRADEHALL_DATABASE_URL": store.url.render_as_string(hide_password=False)}
    else:
        assert isinstance(store, SQLiteStore)
        env = {"TRADEHALL_DATABASE_URL": "", "TRADEHALL_DATA_DIR": str(store.data_dir)}

    result = CliRunner().invoke(main, ["projections", "status"], env=env)

    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert (
        f"notices left out 1 event of membership; the last: membership:{rejected} "
        f"{ORGANISATION}.MembershipRejected: not what the domain writes"
    ) in said
    assert "directory left out" not in said
    assert "bids" not in said  # the sealed log has no lines
