"""Read-your-writes hand-over: the projector hands each batch's positions to the board as it
commits, readers beside it wait without reading `projection_positions`, and a batch sends one
NOTIFY naming every projection it moved (issue 19)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from membership.application import MembershipApp
from membership.domain import RegistrationDetails
from projections.events import EventSource
from projections.registry import all_projections
from projections.runner import BatchProjector
from sharedkernel.events import Context
from tradehall import readside
from tradehall.readside import PositionBoard
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore
from tradehall.store.wakeups import PROJECTIONS_CHANNEL, PostgresWaker

AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BOUND = 30.0


def sole_trader() -> RegistrationDetails:
    return RegistrationDetails.parse(
        name=f"Trader {uuid.uuid4().hex[:6]}",
        kind="social_enterprise",
        legal_form="sole_trader_or_partnership",
        registry_scheme=None,
        registry_id=None,
        social_purpose="Bikes for people leaving care",
        regions=["TLK5"],
        cpv_codes=["34430000-0"],
    )


def register(app: MembershipApp) -> int:
    saved = app.register_organisation(
        Context("system", "ryw", AT), uuid.uuid4(), sole_trader(), uuid.uuid4()
    )
    assert saved.position is not None
    return saved.position


@pytest.fixture
def membership(store: Store) -> Iterator[MembershipApp]:
    store.migrate()
    app = MembershipApp(env=store.application_env("membership", pool_size=2))
    yield app
    app.close()


def make_projector(store: Store, app: MembershipApp) -> BatchProjector:
    runner = BatchProjector(
        store.sync_engine(),
        {"membership": EventSource("membership", app.recorder)},
        all_projections(),
        in_commit=store.in_projection_commit,
    )
    runner.ensure_positions()
    return runner


@pytest.fixture
async def engine(store: Store) -> AsyncIterator[AsyncEngine]:
    made = store.async_engine(pool_size=2)
    yield made
    await made.dispose()


def position_reads(engine: AsyncEngine) -> list[str]:
    """Every statement the engine runs that reads `projection_positions`, from now on."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "projection_positions" in statement:
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    return seen


class Parked:
    """A thread that lives until released: a stand-in "projector here" that hands nothing over
    (another runner applies the events), so the board must find the positions itself."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.thread = threading.Thread(target=self.release.wait, args=(BOUND,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.thread.join(BOUND)


async def test_a_reader_beside_the_projector_is_woken_by_its_commit_without_reading_positions(
    store: Store,
    membership: MembershipApp,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The fallback read of the positions stays out of the way however slow the machine is.
    monkeypatch.setattr(readside, "LOCAL_CHECK_SECONDS", BOUND)
    board = PositionBoard(engine)
    await board.refresh()
    projector = make_projector(store, membership)
    projector.on_batch.append(board.advance_batch_threadsafe)
    go = threading.Event()

    def project() -> None:
        go.wait(BOUND)
        projector.catch_up()

    thread = threading.Thread(target=project, name="projector-under-test")
    thread.start()
    board.follow_local(thread)
    try:
        position = register(membership)
        reads = position_reads(engine)
        waiting = asyncio.create_task(board.wait_for("directory", {"membership": position}, BOUND))
        # Runs after the task's first step (the loop's ready queue is FIFO): the reader is
        # waiting on the board before the projector may begin.
        asyncio.get_running_loop().call_soon(go.set)
        assert await waiting
        assert board.position("directory", "membership") >= position
        # Every projection the batch moved was handed over in the same call.
        assert board.position("applications", "membership") >= position
        assert reads == []
    finally:
        go.set()
        await asyncio.to_thread(thread.join, BOUND)
        projector.engine.dispose()


async def test_a_reader_beside_a_projector_that_hands_over_nothing_reads_positions_in_time(
    store: Store,
    membership: MembershipApp,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another runner (a rebuild, `tradehall projections run`) applied the write: the reader
    reads the positions after the check interval rather than wait out its bound."""
    monkeypatch.setattr(readside, "LOCAL_CHECK_SECONDS", 0.05)
    board = PositionBoard(engine)
    await board.refresh()
    parked = Parked()
    board.follow_local(parked.thread)
    elsewhere = make_projector(store, membership)
    try:
        position = register(membership)
        await asyncio.to_thread(elsewhere.catch_up)
        reads = position_reads(engine)
        assert await board.wait_for("directory", {"membership": position}, BOUND)
        assert reads, "the positions were never read"
    finally:
        parked.close()
        elsewhere.engine.dispose()


async def test_without_a_projector_here_a_reader_reads_positions_before_it_waits(
    store: Store, membership: MembershipApp, engine: AsyncEngine
) -> None:
    board = PositionBoard(engine)
    await board.refresh()
    elsewhere = make_projector(store, membership)
    try:
        position = register(membership)
        await asyncio.to_thread(elsewhere.catch_up)
        reads = position_reads(engine)
        assert await board.wait_for("directory", {"membership": position}, within=0.0)
        assert len(reads) == 1
    finally:
        elsewhere.engine.dispose()


async def queued_callbacks_ran() -> None:
    """Return once every callback already queued on the loop has run (`refresh_soon`'s, a new
    task's first step): the loop runs its callbacks in the order they were queued, so the one
    queued here, after them, marks that they ran. No time is waited for."""
    loop = asyncio.get_running_loop()
    marker = loop.create_future()
    loop.call_soon(marker.set_result, None)
    await marker


async def test_a_commit_notice_is_taken_as_it_stands_and_a_bare_one_is_read_only_when_waited_on(
    store: Store, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.migrate()
    monkeypatch.setattr(readside, "LOCAL_CHECK_SECONDS", BOUND)
    board = PositionBoard(engine)
    parked = Parked()
    board.follow_local(parked.thread)
    reads = position_reads(engine)
    try:
        board.refresh_soon("4f2a:directory,applications:membership:41")
        await queued_callbacks_ran()
        assert board.position("directory", "membership") == 41
        assert board.position("applications", "membership") == 41
        # Not a commit notice, and no reader waits: nothing is read.
        board.refresh_soon("not a notice")
        board.refresh_soon(None)
        await queued_callbacks_ran()
        await board.aclose()
        assert reads == []
        # A reader waits: the positions are read, once for both notices.
        wanted = {"membership": 10**9}
        waiting = asyncio.create_task(board.wait_for("directory", wanted, within=BOUND))
        await queued_callbacks_ran()
        board.refresh_soon(None)
        board.refresh_soon(None)
        await queued_callbacks_ran()
        await board.aclose()
        assert len(reads) == 1
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    finally:
        parked.close()


@pytest.fixture
def postgres_store(postgres_url: str) -> PostgresStore:
    store = PostgresStore(postgres_url)
    store.migrate()
    return store


@pytest.fixture
def pg_membership(postgres_store: PostgresStore) -> Iterator[MembershipApp]:
    app = MembershipApp(env=postgres_store.application_env("membership", pool_size=2))
    yield app
    app.close()


def test_a_batch_sends_one_notify_naming_every_projection_it_moved(
    postgres_store: PostgresStore, pg_membership: MembershipApp
) -> None:
    projector = make_projector(postgres_store, pg_membership)
    try:
        projector.catch_up()
        with psycopg.connect(postgres_store.url.render_as_string(hide_password=False)) as listen:
            listen.autocommit = True
            listen.execute(f"LISTEN {PROJECTIONS_CHANNEL}")
            first = register(pg_membership)
            last = register(pg_membership)
            assert projector.catch_up() > 0  # both registrations, one batch
            heard = [n.payload for n in listen.notifies(timeout=BOUND, stop_after=1)]
            heard += [n.payload for n in listen.notifies(timeout=0.5)]
        assert len(heard) == 1, heard
        # The store's own mark first (its listener skips its own projector's), then ours.
        names, log, position = heard[0].split(":")[-3:]
        assert log == "membership"
        assert int(position) == last > first
        assert set(names.split(",")) == {p.name for p in all_projections()}
    finally:
        projector.engine.dispose()


def test_the_waker_says_which_channels_it_heard(postgres_store: PostgresStore) -> None:
    url = postgres_store.url.render_as_string(hide_password=False)
    waker = PostgresWaker(url, ["ryw_a", "ryw_b"])
    try:
        assert waker.wait(BOUND) is None  # connected: it cannot say what it missed
        with psycopg.connect(url, autocommit=True) as other:
            other.execute("NOTIFY ryw_b")
        assert waker.wait(BOUND) == {"ryw_b"}
        with psycopg.connect(url, autocommit=True) as other, other.transaction():
            other.execute("NOTIFY ryw_a")
            other.execute("NOTIFY ryw_b")
        assert waker.wait(BOUND) == {"ryw_a", "ryw_b"}
    finally:
        waker.close()


def test_a_batch_no_projection_fails_in_takes_no_savepoint(
    store: Store, membership: MembershipApp
) -> None:
    """Savepoints (ADR 16) cost a round trip a projection a batch: a batch is first applied
    without them; tests/integration/test_projection_failures.py holds isolation."""
    projector = make_projector(store, membership)
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(projector.engine, "before_cursor_execute", before)
    try:
        projector.catch_up()
        register(membership)
        register(membership)
        assert projector.catch_up() > 0
        assert statements
        assert not [s for s in statements if "SAVEPOINT" in s.upper()]
    finally:
        projector.engine.dispose()
