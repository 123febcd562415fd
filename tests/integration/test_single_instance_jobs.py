"""Single-instance jobs (ADR 37): the projector, the clocks and the senders run in one process of
all that share a database, the one holding each job's lease; when it stops, or loses its
connection, another takes them over. Read-your-writes still works through a process that does
not run the projector (it hears the projector's NOTIFY)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import psycopg
import pytest
from litestar import Litestar

from tests.api.helpers import APPLICATION, register, token
from tests.conftest import FAST_PASSWORDS, JWT_SECRET, TEST_SEALING_KEY, AppClient, running
from tradehall.api.app import create_app
from tradehall.cli.common import under_leases
from tradehall.clock import ManualClock
from tradehall.context import ContextDeclaration
from tradehall.contexts import CONTEXTS
from tradehall.services import PROJECTOR_JOB, Services, build_services
from tradehall.settings import Settings
from tradehall.store.leases import JobLeases, LocalLeases, SingleInstanceJob, lease_key
from tradehall.store.postgres import PostgresStore
from tradehall.store.sqlite import SQLiteStore

# --- probes: a clock job and a worker that say which app runs them, and when ----------------

# ("start" | "end", kind, the app's services), in the order they happened.
PROBED: list[tuple[str, str, Services]] = []


async def _probe(kind: str, services: Services, stop: asyncio.Event) -> None:
    PROBED.append(("start", kind, services))
    try:
        await stop.wait()
    finally:
        PROBED.append(("end", kind, services))


def probe_clock(services: Services, interval: float, stop: asyncio.Event) -> Any:
    return _probe("clock", services, stop)


def probe_worker(services: Services, stop: asyncio.Event) -> Any:
    return _probe("worker", services, stop)


CLOCK_JOB = "membership:tests.integration.test_single_instance_jobs.probe_clock"
WORKER_JOB = "membership:tests.integration.test_single_instance_jobs.probe_worker"
PROBE_JOBS = frozenset({PROJECTOR_JOB, CLOCK_JOB, WORKER_JOB})


def probed_contexts() -> list[ContextDeclaration]:
    """Every declared context, its own clock jobs and workers replaced by the probes (the real
    ones would tick the whole shared test database)."""
    return [
        dataclasses.replace(
            declared,
            clock_jobs=(probe_clock,) if declared.name == "membership" else (),
            workers=(probe_worker,) if declared.name == "membership" else (),
        )
        for declared in CONTEXTS
    ]


def running_probes() -> dict[str, list[Services]]:
    """Which apps run each probe now."""
    now: dict[str, list[Services]] = {}
    for what, kind, services in PROBED:
        if what == "start":
            now.setdefault(kind, []).append(services)
        else:
            now[kind].remove(services)
    return now


def job_settings(tmp_path: Path) -> Settings:
    return Settings(
        environment="embedded",
        database_url=None,
        data_dir=tmp_path / "data",
        jwt_secret=JWT_SECRET,
        sealing_key=TEST_SEALING_KEY,
        db_pool_size=2,
        clock_interval_seconds=3600,
        card_commands_interval_seconds=0,
        follow_interval_seconds=0,
        mail_interval_seconds=0,
        lease_retry_seconds=0.05,
    )


@pytest.fixture(autouse=True)
def forget_probes() -> None:
    PROBED.clear()


def jobs_of(app: Litestar) -> JobLeases:
    jobs = app.state.services.jobs
    assert isinstance(jobs, JobLeases)
    return jobs


async def until(jobs: JobLeases, condition: Callable[[], bool], within: float = 20) -> None:
    """Wait, at most `within` seconds, for `condition` to hold after a round of `jobs`."""
    async with jobs.changed:
        await asyncio.wait_for(jobs.changed.wait_for(condition), within)


def advisory_holders(postgres_url: str, names: Sequence[str]) -> dict[str, list[str]]:
    """Each job's lease as the database sees it: the application names of its lock holders."""
    keys = {lease_key(name): name for name in names}
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT l.classid::bigint, l.objid::bigint, a.application_name"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchall()
    holders: dict[str, list[str]] = {name: [] for name in names}
    for high, low, holder in rows:
        key = int.from_bytes(((high << 32) | low).to_bytes(8, "big"), "big", signed=True)
        if key in keys:
            holders[keys[key]].append(holder)
    return holders


async def applied_and_read(client: AppClient) -> dict[str, Any]:
    """A new organisation applies; its read, given the write's position, waits for it."""
    org = await register(client)
    headers = await token(client, org["email"])
    applied = await client.post(
        f"/api/v1/organisations/{org['id']}/membership/application",
        json=APPLICATION,
        headers=headers,
    )
    assert applied.status_code in (200, 201), applied.text
    position = ",".join(f"{log}:{at}" for log, at in applied.json()["position"].items())
    read = await client.get(
        f"/api/v1/organisations/{org['id']}/membership/application",
        params={"position": position},
        headers=headers,
    )
    assert read.status_code == 200, read.text
    result: dict[str, Any] = read.json()
    return result


@pytest.fixture
async def two_apps(
    postgres_url: str, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[tuple[Litestar, Litestar, AsyncExitStack]]:
    """Two instances of the API on one PostgreSQL database, each with its own store (as two
    processes have); the first started first (so it holds every lease). The first's stack
    stops it."""
    contexts = probed_contexts()

    def app() -> Litestar:
        return create_app(
            job_settings(tmp_path),
            clock=clock,
            store=PostgresStore(postgres_url),
            passwords=FAST_PASSWORDS,
            contexts=contexts,
        )

    first, second = app(), app()
    async with AsyncExitStack() as outer:
        first_stack = AsyncExitStack()
        outer.push_async_callback(first_stack.aclose)
        await first_stack.enter_async_context(running(first))
        await outer.enter_async_context(running(second))
        yield first, second, first_stack


# --- the lease key ----------------------------------------------------------------------------


async def test_each_job_has_a_stable_name_and_a_distinct_stable_key(tmp_path: Path) -> None:
    """The names of every job the service runs once, with every setting on; their keys are
    64-bit, distinct, and the same in every process (not Python's salted `hash`)."""
    store = SQLiteStore(tmp_path / "data")
    store.migrate()
    settings = dataclasses.replace(
        job_settings(tmp_path),
        follow_interval_seconds=2,
        card_commands_interval_seconds=30,
        mail_interval_seconds=10,
        mail_dir=tmp_path / "mail",
    )
    services = build_services(settings, store=store, passwords=FAST_PASSWORDS)
    try:
        names = [job.name for job in services.single_instance_jobs()]
    finally:
        await services.close()

    assert names == [
        "projector",
        "membership:tradehall.membership.declaration._clock",
        "marks:tradehall.membership.marks.declaration._clock",
        "marketplace:tradehall.marketplace.outside.feed.poll_ocds_feed",
        "marketplace:tradehall.marketplace.alerts.digest.queue_alert_digests",
        "bids:tradehall.marketplace.bids.declaration._clock",
        "mail:tradehall.mail.sender.run_sender",
        "membership:tradehall.membership.declaration._card_sender",
        "marks:tradehall.membership.marks.declaration._follower",
    ]
    keys = [lease_key(name) for name in names]
    assert len(set(keys)) == len(keys)
    assert all(-(2**63) <= key < 2**63 for key in keys)
    # The same key in every process and release: a change here splits running workers.
    assert lease_key("projector") == lease_key("projector") == -909594108378387374


async def test_a_worker_its_settings_turn_off_takes_no_lease(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "data")
    store.migrate()
    settings = dataclasses.replace(job_settings(tmp_path), clock_interval_seconds=0)
    services = build_services(settings, store=store, passwords=FAST_PASSWORDS)
    try:
        names = [job.name for job in services.single_instance_jobs()]
    finally:
        await services.close()
    # Clock off, mail off, the quality mark's follower and the card sender off.
    assert names == ["projector"]


# --- one process holds each lease -------------------------------------------------------------


async def test_on_sqlite_the_one_process_runs_every_job(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "data")
    app = create_app(
        job_settings(tmp_path),
        store=store,
        passwords=FAST_PASSWORDS,
        contexts=probed_contexts(),
    )
    async with running(app):
        assert jobs_of(app).held == PROBE_JOBS
        assert {kind: len(apps) for kind, apps in running_probes().items()} == {
            "clock": 1,
            "worker": 1,
        }
    assert running_probes() == {"clock": [], "worker": []}


async def test_each_job_runs_in_one_of_two_apps_and_the_other_takes_over_when_it_stops(
    two_apps: tuple[Litestar, Litestar, AsyncExitStack], postgres_url: str
) -> None:
    first, second, first_stack = two_apps
    one, two = first.state.services, second.state.services

    # The first holds every lease, the second none, as the database says too.
    assert jobs_of(first).held == PROBE_JOBS
    assert jobs_of(second).held == frozenset()
    assert advisory_holders(postgres_url, sorted(PROBE_JOBS)) == {
        name: [jobs_of(first).leases.owner] for name in sorted(PROBE_JOBS)
    }
    assert running_probes() == {"clock": [one], "worker": [one]}
    # Only the first's projector runs: commits are seen by its on_commit, never the second's.
    commits: dict[str, list[tuple[str, str, int]]] = {"first": [], "second": []}
    for name, services in (("first", one), ("second", two)):
        services.readside.projector.on_commit.append(
            lambda projection, log, at, name=name: commits[name].append((projection, log, at))
        )
    assert one.readside.thread is not None
    assert one.readside.thread.is_alive()
    assert two.readside.thread is None

    # Read-your-writes through the app without the projector: it hears the first's NOTIFY.
    async with AppClient(second) as client:
        read = await applied_and_read(client)
    assert read["consistent"] is True
    assert read["application"]["status"] == "pending"
    assert commits["first"]
    assert not commits["second"]

    # The first stops: it ends its jobs, then gives the leases up; the second takes them all.
    await first_stack.aclose()
    await until(jobs_of(second), lambda: jobs_of(second).held == PROBE_JOBS)
    assert advisory_holders(postgres_url, sorted(PROBE_JOBS)) == {
        name: [jobs_of(second).leases.owner] for name in sorted(PROBE_JOBS)
    }
    assert running_probes() == {"clock": [two], "worker": [two]}
    # Never both at once: each probe ended in the first before it started in the second.
    for kind in ("clock", "worker"):
        order = [(what, services) for what, k, services in PROBED if k == kind]
        assert order == [("start", one), ("end", one), ("start", two)]

    # The second's projector now serves its readers.
    commits["first"].clear()
    async with AppClient(second) as client:
        read = await applied_and_read(client)
    assert read["consistent"] is True
    assert commits["second"]
    assert not commits["first"]


async def test_a_holder_that_loses_its_lease_connection_stops_its_jobs_and_one_app_takes_each(
    two_apps: tuple[Litestar, Litestar, AsyncExitStack], postgres_url: str
) -> None:
    first, second, _ = two_apps
    one = first.state.services
    assert jobs_of(first).held == PROBE_JOBS
    started = len(PROBED)

    # The server ends the first's lease session (as if its connection dropped): its locks go.
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        ended = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (jobs_of(first).leases.owner,),
        ).fetchall()
    assert ended == [(True,)]

    # The first stops what it ran (at once: the connection's close wakes it) ...
    await until(
        jobs_of(first),
        lambda: all(
            end in PROBED[started:] for end in (("end", "clock", one), ("end", "worker", one))
        ),
    )

    # ... and then each job runs in exactly one of the two, whichever took its lease.
    def settled() -> bool:
        held_first, held_second = jobs_of(first).held, jobs_of(second).held
        return held_first | held_second == PROBE_JOBS and not held_first & held_second

    await until(jobs_of(second), settled)
    await until(jobs_of(first), settled)
    holders = advisory_holders(postgres_url, sorted(PROBE_JOBS))
    owners = {jobs_of(first).leases.owner: first, jobs_of(second).leases.owner: second}
    for name in PROBE_JOBS:
        assert len(holders[name]) == 1, holders
        assert name in jobs_of(owners[holders[name][0]]).held
    assert {kind: len(apps) for kind, apps in running_probes().items()} == {
        "clock": 1,
        "worker": 1,
    }
    running_projectors = [
        app for app in (first, second) if app.state.services.readside.thread is not None
    ]
    assert len(running_projectors) == 1


async def test_a_command_takes_a_job_only_once_the_api_holding_it_stops(
    postgres_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    """`under_leases` (for `tradehall clock run`) takes the same names' leases as the API."""
    app = create_app(
        job_settings(tmp_path),
        clock=clock,
        store=PostgresStore(postgres_url),
        passwords=FAST_PASSWORDS,
        contexts=probed_contexts(),
    )
    api = AsyncExitStack()
    await api.enter_async_context(running(app))
    try:
        services = app.state.services
        job = SingleInstanceJob(CLOCK_JOB, lambda stop: _probe("command", services, stop))
        async with under_leases(services, [job]) as command:
            # The command tried once as it started: the API holds the clock's lease.
            assert command.held == frozenset()
            assert "command" not in running_probes()
            await api.aclose()
            await until(command, lambda: command.held == {CLOCK_JOB})
            assert running_probes()["command"] == [services]
            assert running_probes()["clock"] == []
        assert running_probes()["command"] == []
    finally:
        await api.aclose()


async def test_a_job_that_raises_starts_again_and_one_that_returns_keeps_its_lease() -> None:
    tries: list[str] = []

    async def failing(stop: asyncio.Event) -> None:
        tries.append("failing")
        if tries.count("failing") < 3:
            raise RuntimeError("the tick failed")
        await stop.wait()

    async def nothing_to_do(stop: asyncio.Event) -> None:
        tries.append("nothing to do")

    jobs = JobLeases(
        LocalLeases(),
        [SingleInstanceJob("failing", failing), SingleInstanceJob("idle", nothing_to_do)],
        retry_seconds=0.01,
    )
    await jobs.start()
    try:
        await until(jobs, lambda: tries.count("failing") == 3)
        assert jobs.held == {"failing", "idle"}
        assert tries.count("nothing to do") == 1
    finally:
        await jobs.stop()
    assert jobs.held == frozenset()


def test_two_jobs_of_one_name_are_refused() -> None:
    async def job(stop: asyncio.Event) -> None:
        await stop.wait()

    with pytest.raises(ValueError, match="share a name: clock"):
        JobLeases(LocalLeases(), [SingleInstanceJob("clock", job)] * 2, retry_seconds=1)
