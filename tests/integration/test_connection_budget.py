"""PostgreSQL connections: an API at pool size 16 keeps few open at rest, opens more under load
up to the pool size, and names each by its part (ADR 38).

A database of its own, so what other tests left open is not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import make_url

from membership.application import MembershipApp
from tests.api.helpers import APPLICATION, register, token
from tests.conftest import (
    FAST_PASSWORDS,
    JWT_SECRET,
    TEST_SEALING_KEY,
    AppClient,
    admin_database_url,
    running,
)
from tradehall.api.app import create_app
from tradehall.clock import ManualClock
from tradehall.context import event_logs
from tradehall.contexts import CONTEXTS
from tradehall.settings import Settings
from tradehall.store import postgres
from tradehall.store.postgres import PostgresStore, application_name

POOL = 16
# Commands at once, and connections held at once: fewer than the pool, as PostgreSQL's 100
# connections are shared by the test workers (pytest -n 2); enough to need more than one.
AT_ONCE = 6
LOGS = event_logs(CONTEXTS)


@pytest.fixture(scope="module")
def own_database() -> Iterator[str]:
    admin = make_url(admin_database_url()).set(drivername="postgresql")
    name = f"tradehall_budget_{uuid.uuid4().hex[:12]}"
    admin_dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        PostgresStore(url).migrate()
        yield url
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def connections(url: str) -> dict[str, int]:
    """The database's connections by name, this query's own left out."""
    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "GROUP BY application_name"
        ).fetchall()
    return {name: count for name, count in rows}


@pytest.fixture
async def served(own_database: str, tmp_path: Path, clock: ManualClock) -> AsyncIterator[AppClient]:
    settings = Settings(
        environment="embedded",
        database_url=None,
        data_dir=tmp_path / "data",
        jwt_secret=JWT_SECRET,
        sealing_key=TEST_SEALING_KEY,
        db_pool_size=POOL,
        clock_interval_seconds=0,
        card_commands_interval_seconds=0,
        follow_interval_seconds=0,
        mail_interval_seconds=0,
    )
    app = create_app(
        settings, clock=clock, store=PostgresStore(own_database), passwords=FAST_PASSWORDS
    )
    async with running(app), AppClient(app) as http:
        yield http


async def test_a_served_app_at_pool_16_keeps_one_connection_a_log_at_rest(
    served: AppClient, own_database: str
) -> None:
    member = await register(served)
    headers = await token(served, member["email"])
    applied = await served.post(
        f"/api/v1/organisations/{member['id']}/membership/application",
        json=APPLICATION,
        headers=headers,
    )
    assert applied.status_code == 200, applied.text

    held = connections(own_database)

    for log in LOGS:
        # One kept; a second only if the projector read while a command saved.
        assert 1 <= held.get(application_name(f"events-{log}"), 0) <= 2, held
    # Far below one pool a log, as it was (4 x 16, before the reads and the projector's).
    assert sum(held.values()) <= POOL, held
    assert all(name.startswith("tradehall-") for name in held), held


async def test_commands_run_concurrently_and_an_applications_pool_grows_under_load(
    served: AppClient, own_database: str
) -> None:
    members = [await register(served) for _ in range(AT_ONCE)]
    signed_in = [await token(served, m["email"]) for m in members]

    answers = await asyncio.gather(
        *(
            served.post(
                f"/api/v1/organisations/{m['id']}/membership/application",
                json=APPLICATION,
                headers=h,
            )
            for m, h in zip(members, signed_in, strict=True)
        )
    )
    assert [a.status_code for a in answers] == [200] * AT_ONCE, [a.text for a in answers]

    # The membership Application holds as many connections at once as its threads ask for,
    # up to the pool size.
    datastore: Any = served.app.state.services.membership.recorder.datastore

    def hold_all() -> dict[str, int]:
        with contextlib.ExitStack() as stack:
            for _ in range(AT_ONCE):
                stack.enter_context(datastore.get_connection())
            return connections(own_database)

    held = await asyncio.to_thread(hold_all)

    assert held[application_name("events-membership")] >= AT_ONCE, held
    assert datastore.pool.get_stats()["pool_min"] == 1
    assert datastore.pool.get_stats()["pool_max"] == POOL


async def test_a_read_connection_the_server_closed_is_replaced_not_failed(
    served: AppClient, own_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = await register(served)
    headers = await token(served, member["email"])
    # Every connection idle long enough to be pinged as it leaves the pool.
    monkeypatch.setattr(postgres, "PING_AFTER_IDLE_SECONDS", 0.0)
    organisation = f"/api/v1/organisations/{member['id']}"
    assert (await served.get(organisation, headers=headers)).status_code == 200

    with psycopg.connect(own_database, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            (application_name("reads"),),
        ).fetchall()
    assert killed

    # The caller's token is checked by a read: it gets a live connection, not a 500.
    again = await served.get(organisation, headers=headers)
    assert again.status_code == 200, again.text


async def test_the_listener_skips_its_own_projectors_commits_and_folds_a_burst_into_one(
    own_database: str,
) -> None:
    store, elsewhere = PostgresStore(own_database), PostgresStore(own_database)
    heard = asyncio.Event()
    calls: list[int] = []

    def on_commit() -> None:
        calls.append(1)
        heard.set()

    stop = await store.listen_for_projection_commits(on_commit)
    engine = store.sync_engine()
    other_engine = elsewhere.sync_engine()
    try:
        with engine.begin() as connection:  # this process's projector: the board was told
            store.in_projection_commit(connection, "directory", "membership", 1)
        with other_engine.begin() as connection:  # another process's: one batch, two rows
            elsewhere.in_projection_commit(connection, "directory", "membership", 2)
            elsewhere.in_projection_commit(connection, "applications", "membership", 2)
        await asyncio.wait_for(heard.wait(), 10)
    finally:
        await stop()
        engine.dispose()
        other_engine.dispose()

    assert calls == [1]


def test_event_store_connections_probe_a_server_that_went_silent(own_database: str) -> None:
    """A group commit's leader on a half-open connection must not hold its followers for the
    kernel's two hours: the event stores' connections send TCP keepalives."""
    store = PostgresStore(own_database)
    app = MembershipApp(env=store.application_env("membership", pool_size=2))
    try:
        with app.recorder.datastore.pool.connection() as connection:  # type: ignore[attr-defined]
            parameters = connection.info.get_parameters()
    finally:
        app.close()
    assert {key: parameters.get(key) for key in postgres.KEEPALIVES} == postgres.KEEPALIVES
