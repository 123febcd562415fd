"""Shared fixtures: real stores (SQLite files and a PostgreSQL database per run), a manual clock."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import random
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from sqlalchemy import make_url

from tradehall.api.app import create_app, is_running, serve_again
from tradehall.clock import ManualClock
from tradehall.identity.users import Passwords
from tradehall.settings import Settings
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore
from tradehall.store.sqlite import SQLiteStore

DEFAULT_TEST_DATABASE_URL = "postgresql://root@127.0.0.1:5432/test"
JWT_SECRET = "test-secret-" + "x" * 40
# One master sealing key for the run: PostgreSQL's test database is shared by every test, and
# the service's data keys there are wrapped under the first test's master key (ADR 27).
TEST_SEALING_KEY = "dGVzdC1zZWFsaW5nLWtleS0zMi1ieXRlcy1sb25nISE="
# Real argon2id at its lowest cost: the tests check behaviour, not hashing strength.
FAST_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def admin_database_url() -> str:
    """The PostgreSQL database the tests connect to in order to create their own."""
    return os.environ.get("TRADEHALL_TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run (a copy of the migrated template), dropped
    at the end.

    PostgreSQL is part of the test set-up: if it is unreachable the tests fail, never skip.
    """
    with POSTGRES_TEMPLATE.copy("tradehall_test") as url:
        yield url


class PostgresTemplate:
    """A PostgreSQL database migrated once for this test process and never connected to after:
    the databases tests want of their own are copies of it (`CREATE DATABASE … TEMPLATE`, a
    fraction of a second where migrating afresh takes seconds)."""

    def __init__(self) -> None:
        self.name: str | None = None

    def _admin_dsn(self) -> str:
        admin = make_url(admin_database_url()).set(drivername="postgresql")
        return admin.render_as_string(hide_password=False)

    def _url(self, database: str) -> str:
        url = make_url(admin_database_url()).set(drivername="postgresql", database=database)
        return url.render_as_string(hide_password=False)

    def _made(self) -> str:
        if self.name is None:
            name = f"tradehall_template_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(self._admin_dsn(), autocommit=True) as connection:
                connection.execute(f'CREATE DATABASE "{name}"')
            PostgresStore(self._url(name)).migrate()
            self.name = name
        return self.name

    @contextmanager
    def copy(self, prefix: str) -> Iterator[str]:
        """A migrated database of the caller's own (its URL), dropped afterwards."""
        template = self._made()
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._admin_dsn(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            # A commit answers without waiting for its WAL to reach the disk: nothing the tests
            # see changes (a commit is visible and its locks released as before); only what a
            # crash of the server would lose, which no test looks at. Each command's commit
            # waited on an fsync of its own (2-3 ms on this disk).
            connection.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        try:
            yield self._url(name)
        finally:
            with psycopg.connect(self._admin_dsn(), autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop(self) -> None:
        if self.name is not None:
            with psycopg.connect(self._admin_dsn(), autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.name = None


POSTGRES_TEMPLATE = PostgresTemplate()


@pytest.fixture(scope="session", autouse=True)
def postgres_template_dropped() -> Iterator[None]:
    yield
    POSTGRES_TEMPLATE.drop()


@pytest.fixture(scope="session")
def migrated_sqlite_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SQLite files migrated once for this test process, copied for each test that wants them.

    Migrating a fresh SQLite store costs ~0.4 s of Alembic; a copy costs ~2 ms. A test marked
    `fresh_store` gets an empty directory and so still migrates from nothing.
    """
    data_dir = tmp_path_factory.mktemp("sqlite-template") / "data"
    SQLiteStore(data_dir).migrate()
    return data_dir


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        data_dir = tmp_path / "data"
        if request.node.get_closest_marker("fresh_store") is None:
            template: Path = request.getfixturevalue("migrated_sqlite_files")
            shutil.copytree(template, data_dir)
        yield SQLiteStore(data_dir)
        return
    if request.node.get_closest_marker("own_database") is not None:
        # A clock ticking a year on in the run's shared database works through every member
        # and mark the other tests left there (20 s late in a run); a copy costs ~0.3 s.
        with POSTGRES_TEMPLATE.copy("tradehall_own") as own:
            yield PostgresStore(own)
        return
    url: str = request.getfixturevalue("postgres_url")
    yield PostgresStore(url)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))


@pytest.fixture
def settings(store: Store, tmp_path: Path) -> Settings:
    return settings_for(tmp_path / "data")


def settings_for(data_dir: Path) -> Settings:
    return Settings(
        environment="embedded",
        database_url=None,
        data_dir=data_dir,
        jwt_secret=JWT_SECRET,
        sealing_key=TEST_SEALING_KEY,
        jwt_lifetime_seconds=900,
        # Small pools: two test workers (pytest -n 2) share PostgreSQL's 100 connections.
        db_pool_size=3,
        max_body_bytes=65536,
        log_level="INFO",
        # No background workers in the app: tests drive the clock and the senders themselves.
        # A worker's write through aiosqlite needs the event loop to commit; a test writing
        # through a sync SQLite connection blocks that loop, and the two wait on each other
        # until SQLite's lock timeout ("database is locked").
        clock_interval_seconds=0,
        card_commands_interval_seconds=0,
        follow_interval_seconds=0,
        mail_interval_seconds=0,
        registrations_per_address_per_hour=100_000,  # tests register many from one client
    )


class AppClient(httpx.AsyncClient):
    """An HTTP client for the app, knowing the app (to look at its event log in assertions)."""

    def __init__(self, app: Litestar) -> None:
        # httpx's ASGI transport runs requests concurrently, so races in tests really race
        # (Litestar's test client handles one request at a time).
        # Each client comes from an address of its own: sign-in throttles are kept per client
        # address in the database, and PostgreSQL's database is shared by the whole run.
        address = str(ipaddress.IPv6Address((0x20010DB8 << 96) | random.getrandbits(96)))
        super().__init__(
            transport=httpx.ASGITransport(app=app, client=(address, 123)),
            base_url="http://testserver.local",
        )
        self.app = app


@pytest.fixture(scope="session")
def built_app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    """One app's routes for this test process, served with each test's store and clock.

    Building the routes is most of an app's cost (Litestar reads every handler's signature);
    every start serves the test's own store, and a stopped app keeps nothing of its last run.
    """
    data_dir = tmp_path_factory.mktemp("unused") / "data"
    settings = settings_for(data_dir)
    return create_app(settings, store=SQLiteStore(data_dir), passwords=FAST_PASSWORDS)


def app_for(built: Litestar, settings: Settings, *, clock: ManualClock, store: Store) -> Litestar:
    """The process's built app pointed at this test's run; an app of its own when the built
    one already serves the same test (a test asking for two clients: `client` and
    `mail_client`, two apps on one store as before)."""
    if is_running(built):
        return create_app(settings, clock=clock, store=store, passwords=FAST_PASSWORDS)
    return serve_again(built, settings, clock=clock, store=store, passwords=FAST_PASSWORDS)


@pytest.fixture
async def client(
    settings: Settings, store: Store, clock: ManualClock, built_app: Litestar
) -> AsyncIterator[AppClient]:
    app = app_for(built_app, settings, clock=clock, store=store)
    async with running(app), AppClient(app) as http:
        yield http


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[None]:
    """The app's start-up and shut-down, in this event loop, in a task of their own.

    Entering and leaving the lifespan happen in one task (its cancel scopes demand it), while
    the test talks to the app from another.
    """
    started, stop = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(lifespan())
    await asyncio.wait([task, asyncio.create_task(started.wait())], return_when="FIRST_COMPLETED")
    if task.done():
        task.result()  # start-up failed: raise its error here
    try:
        yield
    finally:
        stop.set()
        await task
