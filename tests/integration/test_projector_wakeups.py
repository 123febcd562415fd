"""The projector wakes on PostgreSQL's NOTIFY, and keeps going when that connection drops."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from membership.application import MembershipApp
from membership.domain import RegistrationDetails
from projections.events import EventSource
from projections.registry import all_projections
from projections.runner import BatchProjector
from sharedkernel.events import Context
from tradehall.store.postgres import PostgresStore
from tradehall.store.wakeups import PostgresWaker

AT = datetime(2026, 2, 2, 12, 0, tzinfo=UTC)
POLL = 10.0


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


@pytest.fixture
def pg(postgres_url: str) -> Iterator[tuple[PostgresStore, MembershipApp]]:
    store = PostgresStore(postgres_url)
    app = MembershipApp(env=store.application_env("membership", pool_size=2))
    yield store, app
    app.close()


def test_a_dropped_listen_connection_is_reconnected(
    pg: tuple[PostgresStore, MembershipApp],
) -> None:
    store, app = pg
    committed: list[int] = []
    arrived = threading.Condition()

    def on_commit(projection: str, log: str, position: int) -> None:
        if projection == "directory":
            with arrived:
                committed.append(position)
                arrived.notify_all()

    projector = BatchProjector(
        store.sync_engine(),
        {"membership": EventSource("membership", app.recorder)},
        all_projections(),
        on_commit=[on_commit],
    )
    projector.ensure_positions()
    projector.catch_up()
    # A poll interval far longer than a wake-up: only a NOTIFY wakes the projector in time.
    waker = store.waker([app.recorder.channel_name])  # type: ignore[attr-defined]
    assert isinstance(waker, PostgresWaker)
    stop = threading.Event()
    thread = threading.Thread(target=projector.run_forever, args=(stop, waker, POLL))
    thread.start()
    try:

        def record_and_wait_for_projection() -> float:
            started = time.monotonic()
            saved = app.register_organisation(
                Context("system", "wake", AT), uuid.uuid4(), sole_trader(), uuid.uuid4()
            )
            with arrived:
                assert arrived.wait_for(
                    lambda: bool(committed) and committed[-1] >= (saved.position or 0),
                    timeout=POLL + 2,
                ), "the projector was not woken"
            return time.monotonic() - started

        assert record_and_wait_for_projection() < 5
        assert waker.listening.wait(10)
        with psycopg.connect(store.url.render_as_string(hide_password=False)) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN%%' AND datname = current_database()"
            ).fetchall()
        assert killed, "no LISTEN connection found"
        # The wait under way notices the drop and returns; the next one listens again and
        # the runner reads once more, so nothing recorded meanwhile waits for the poll.
        assert record_and_wait_for_projection() < 5
        assert record_and_wait_for_projection() < 5
    finally:
        stop.set()
        waker.interrupt()
        thread.join(10)
        waker.close()
        projector.engine.dispose()
