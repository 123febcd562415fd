"""Group commit on the real stores (ADR 36): saves that queue while a batch is written share one
transaction, and each keeps its own outcome - a clash or a taken e-mail fails that save alone,
a lost connection is retried, a crash mid-batch commits none of it and loses nothing
acknowledged."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError
from sqlalchemy import func, select, text

from membership.application import MembershipApp
from membership.domain import Organisation
from sharedkernel.events import Context
from tests.integration.test_stores import AT, details, user_row, users_with
from tradehall.store.base import Store
from tradehall.store.group_commit import GroupCommit, QueueState
from tradehall.store.postgres import EVENTS_SCHEMA, PostgresStore
from tradehall.store.sqlite import SQLiteStore

BOUND_SECONDS = 20.0
# An advisory lock a side write waits on, so a test can hold a batch half-written.
HOLD_KEY = 719_019


def wait_for_queue(group: GroupCommit, reached: Callable[[QueueState], bool], what: str) -> None:
    """Wait (bounded) for the other threads to bring the queue to a state: the group tells."""
    assert group.wait_for(reached, BOUND_SECONDS), f"the queue never reached: {what}"


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll the database (bounded) for what only it can show: another backend's state."""
    deadline = time.monotonic() + BOUND_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.005)


def registration(organisation_id: uuid.UUID) -> Organisation:
    return Organisation.register(
        Context("system", "r", AT), organisation_id, details(), uuid.uuid4()
    )


def wait_on_hold() -> object:
    """A side write that waits while the test holds HOLD_KEY (PostgreSQL)."""
    return select(func.pg_advisory_xact_lock(HOLD_KEY))


@pytest.fixture
def membership(store: Store) -> Iterator[MembershipApp]:
    store.migrate()
    app = MembershipApp(env=store.application_env("membership", pool_size=4))
    yield app
    app.close()


def postgres_dsn(store: Store) -> str:
    assert isinstance(store, PostgresStore)
    return store.url.render_as_string(hide_password=False)


@contextmanager
def event_log_held(store: Store) -> Iterator[Callable[[], None]]:
    """Hold the membership log's write lock from outside; yields the release."""
    if isinstance(store, PostgresStore):
        connection = psycopg.connect(postgres_dsn(store))
        connection.execute(f"LOCK TABLE {EVENTS_SCHEMA}.membership_events IN EXCLUSIVE MODE")
    else:
        assert isinstance(store, SQLiteStore)
        connection = sqlite3.connect(store.main_file, isolation_level=None)  # type: ignore[assignment]
        connection.execute("BEGIN IMMEDIATE")
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            connection.commit()
            released = True

    try:
        yield release
    finally:
        release()
        connection.close()


def events_of(store: Store, organisation_id: uuid.UUID) -> int:
    engine = store.sync_engine()
    try:
        with engine.connect() as connection:
            if isinstance(store, PostgresStore):
                sql = "SELECT count(*) FROM events.membership_events WHERE originator_id = :id"
                key: object = organisation_id
            else:
                sql = "SELECT count(*) FROM stored_events WHERE originator_id = :id"
                key = organisation_id.hex
            return int(connection.execute(text(sql), {"id": key}).scalar_one())
    finally:
        engine.dispose()


def test_saves_queued_behind_a_batch_share_one_transaction_and_keep_their_own_outcomes(
    store: Store, membership: MembershipApp
) -> None:
    group = membership.recorder.group  # type: ignore[attr-defined]
    taken = f"{uuid.uuid4().hex}@example.org"
    owner = uuid.uuid4()
    membership.save(registration(owner), side_writes=[user_row(taken, owner)])
    clashing = uuid.uuid4()
    membership.save(registration(clashing))

    leader, fine, second_fine, late, duplicate_email = (uuid.uuid4() for _ in range(5))
    with ThreadPoolExecutor(max_workers=5) as pool, event_log_held(store) as release:
        first = pool.submit(membership.save, registration(leader))
        wait_for_queue(group, lambda s: s.writing, "the leader's batch")
        outcomes: dict[str, Future[object]] = {
            "fine": pool.submit(
                membership.save,
                registration(fine),
                side_writes=[user_row(f"{fine.hex}@example.org", fine)],
            ),
            # The same organisation's first event again: a version clash.
            "clash": pool.submit(membership.save, registration(clashing)),
            # A user row whose e-mail address is taken: a duplicate side write.
            "duplicate": pool.submit(
                membership.save,
                registration(duplicate_email),
                side_writes=[user_row(taken, duplicate_email)],
            ),
            "second_fine": pool.submit(membership.save, registration(second_fine)),
        }
        wait_for_queue(group, lambda s: s.queued == 4, "four saves queued")
        release()
        first.result(BOUND_SECONDS)
        for name in ("fine", "second_fine"):
            outcomes[name].result(BOUND_SECONDS)
        for name in ("clash", "duplicate"):
            with pytest.raises(IntegrityError):
                outcomes[name].result(BOUND_SECONDS)
        # The log goes on after a batch with refusals in it.
        pool.submit(membership.save, registration(late)).result(BOUND_SECONDS)

    assert group.figures.largest == 4  # the four queued saves were one batch
    for organisation_id in (leader, fine, second_fine, late, clashing):
        assert events_of(store, organisation_id) == 1
    assert events_of(store, duplicate_email) == 0
    assert users_with(store, taken) == 1
    assert users_with(store, f"{fine.hex}@example.org") == 1
    assert membership.get_organisation(fine).version == 1


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_a_batch_without_refusals_is_one_transaction(
    store: Store, membership: MembershipApp
) -> None:
    group = membership.recorder.group  # type: ignore[attr-defined]
    leader, *queued = (uuid.uuid4() for _ in range(4))
    with ThreadPoolExecutor(max_workers=4) as pool, event_log_held(store) as release:
        first = pool.submit(membership.save, registration(leader))
        wait_for_queue(group, lambda s: s.writing, "the leader's batch")
        saves = [pool.submit(membership.save, registration(o)) for o in queued]
        wait_for_queue(group, lambda s: s.queued == 3, "three saves queued")
        release()
        for future in (first, *saves):
            future.result(BOUND_SECONDS)

    # Rows written in one transaction (no savepoint) carry its one transaction id.
    with psycopg.connect(postgres_dsn(store)) as connection:
        transactions = connection.execute(
            "SELECT count(DISTINCT xmin::text) FROM events.membership_events"
            " WHERE originator_id = ANY(%s)",
            (queued,),
        ).fetchone()
    assert transactions == (1,)


def test_concurrent_saves_get_distinct_ascending_positions_each_recorded_once(
    store: Store, membership: MembershipApp
) -> None:
    organisations = [uuid.uuid4() for _ in range(60)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        recordings = list(pool.map(lambda o: membership.save(registration(o)), organisations))

    positions = [r.notification.id for saved in recordings for r in saved]
    assert len(positions) == len(set(positions)) == 60
    logged = [
        n.id
        for n in membership.recorder.select_notifications(start=1, limit=10_000)
        if n.originator_id in set(organisations)
    ]
    assert sorted(logged) == sorted(positions)
    for organisation_id in organisations:
        assert events_of(store, organisation_id) == 1


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_a_lost_connection_mid_batch_is_retried_and_each_save_commits_once(
    store: Store, membership: MembershipApp
) -> None:
    group = membership.recorder.group  # type: ignore[attr-defined]
    held, other = uuid.uuid4(), uuid.uuid4()
    dsn = postgres_dsn(store)
    with psycopg.connect(dsn, autocommit=True) as holder, ThreadPoolExecutor(2) as pool:
        holder.execute("SELECT pg_advisory_lock(%s)", (HOLD_KEY,))
        stuck = pool.submit(
            membership.save,
            registration(held),
            side_writes=[user_row(f"{held.hex}@example.org", held), wait_on_hold()],
        )
        waiting = _backend_waiting_on_hold(holder)
        quick = pool.submit(membership.save, registration(other))
        wait_for_queue(group, lambda s: s.queued == 1, "the second save queued")
        # The batch's connection is lost half-way through its writes.
        holder.execute("SELECT pg_terminate_backend(%s)", (waiting,))
        holder.execute("SELECT pg_advisory_unlock(%s)", (HOLD_KEY,))
        stuck.result(BOUND_SECONDS)
        quick.result(BOUND_SECONDS)

    assert events_of(store, held) == 1
    assert events_of(store, other) == 1
    assert users_with(store, f"{held.hex}@example.org") == 1
    assert membership.get_organisation(held).version == 1


def _backend_waiting_on_hold(
    connection: psycopg.Connection[tuple[object, ...]], key: int = HOLD_KEY
) -> int:
    """The backend of this database waiting for the advisory lock `key`."""
    found: list[int] = []

    def waiting() -> bool:
        row = connection.execute(
            "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND NOT l.granted AND l.objid = %s"
            " AND a.datname = current_database()",
            (key,),
        ).fetchone()
        found.extend([] if row is None else [int(str(row[0]))])
        return row is not None

    wait_until(waiting, "a batch waiting on the hold")
    return found[0]


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_a_crash_mid_batch_commits_none_of_it_and_keeps_what_was_acknowledged(
    store: Store,
) -> None:
    store.migrate()
    dsn = postgres_dsn(store)
    acknowledged, doomed = uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()]
    with psycopg.connect(dsn, autocommit=True) as holder:
        holder.execute(
            "SELECT pg_advisory_lock(%s), pg_advisory_lock(%s)", (HOLD_KEY, HOLD_KEY + 1)
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.crash_group_commit", dsn, str(HOLD_KEY)]
            + [str(o) for o in (acknowledged, *doomed)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "queued"
            holder.execute("SELECT pg_advisory_unlock(%s)", (HOLD_KEY,))
            assert process.stdout.readline().strip() == f"acknowledged {acknowledged}"
            # The doomed batch has written both user rows and waits inside its transaction.
            waiting = _backend_waiting_on_hold(holder, HOLD_KEY + 1)
            process.send_signal(signal.SIGKILL)
            process.wait(BOUND_SECONDS)
            holder.execute("SELECT pg_advisory_unlock(%s)", (HOLD_KEY + 1,))
            wait_until(
                lambda: (
                    holder.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (waiting,)
                    ).fetchone()
                    == (0,)
                ),
                "the dead process's backend end",
            )
        finally:
            if process.poll() is None:
                process.kill()

    assert events_of(store, acknowledged) == 1
    for organisation_id in doomed:
        assert events_of(store, organisation_id) == 0
        assert users_with(store, f"{organisation_id.hex}@example.org") == 0


def test_a_save_waits_for_its_own_batch_before_it_is_acknowledged(
    store: Store, membership: MembershipApp
) -> None:
    group = membership.recorder.group  # type: ignore[attr-defined]
    organisation_id = uuid.uuid4()
    done = threading.Event()
    with ThreadPoolExecutor(1) as pool, event_log_held(store) as release:
        saving = pool.submit(lambda: (membership.save(registration(organisation_id)), done.set()))
        wait_for_queue(group, lambda s: s.writing, "the batch")
        assert not done.is_set()
        assert events_of(store, organisation_id) == 0
        release()
        saving.result(BOUND_SECONDS)
    assert events_of(store, organisation_id) == 1
