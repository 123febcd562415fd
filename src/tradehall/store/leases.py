"""Single-instance jobs: which process runs each one, decided by the database (ADR 37).

Some work must run once across every process sharing a database, however many API workers
serve it: the clock jobs, the mail and card-command senders, the quality mark's follower, the
in-process projector. Each is a `SingleInstanceJob` with a stable name; a `JobLeases` keeps one
lease per name and runs a job only while it holds its lease.

- PostgreSQL: a session-level advisory lock per job (`pg_try_advisory_lock`, its key a stable
  64-bit hash of the job's name), all taken on one dedicated connection per process, which is
  held while the jobs run. The others try again every `retry_seconds`; when the holder stops,
  it ends its jobs and then unlocks, and when it dies its connection drops and the server
  releases its locks, so another process takes each job over.
- SQLite: one process serves the embedded store (`tradehall serve` refuses more than one
  worker), so every lease is held at once.

A holder that loses its connection ends its jobs at once; until they have ended, a process that
took the lease meanwhile may run the same job too, for at most one tick. Every job is written to
tolerate that (each tick is idempotent, the projector exactly-once by its position rows, the
senders at-least-once with stable message ids): the lease makes running twice rare, not unsafe.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from tradehall.store.base import Store

_log = logging.getLogger("tradehall.jobs")

# A lease's query must answer within this, or the connection counts as lost.
QUERY_TIMEOUT_SECONDS = 5.0
_KEY_PERSONALISATION = b"tradehall-lease"


def lease_key(name: str) -> int:
    """The advisory lock key of a job: a signed 64-bit hash of its name, the same in every
    process and every release (never Python's `hash`, which is salted per process)."""
    digest = hashlib.blake2b(
        name.encode("utf-8"), digest_size=8, person=_KEY_PERSONALISATION
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


class Leases(abc.ABC):
    """The leases of one process, by job name. Used from one task at a time."""

    # Who holds them, as the database sees it (PostgreSQL: the lease connection's
    # application_name): the process id and a random tag.
    owner: str
    # Set when the leases may have been lost (the connection closed): check them at once.
    lost: asyncio.Event

    @abc.abstractmethod
    async def acquire(self, names: Iterable[str]) -> set[str]:
        """Try for each lease not held yet; the names held afterwards (earlier ones too)."""

    @abc.abstractmethod
    async def still_held(self) -> bool:
        """False when every lease was lost (the connection dropped): stop their jobs."""

    @abc.abstractmethod
    async def release(self, name: str) -> None:
        """Give one lease up (its job has ended)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Give every lease up."""


def _owner() -> str:
    return f"tradehall-leases-{os.getpid()}-{secrets.token_hex(3)}"


class LocalLeases(Leases):
    """One process serves the store (the embedded SQLite files): every lease is held."""

    def __init__(self) -> None:
        self.owner = _owner()
        self.lost = asyncio.Event()
        self._held: set[str] = set()

    async def acquire(self, names: Iterable[str]) -> set[str]:
        self._held.update(names)
        return set(self._held)

    async def still_held(self) -> bool:
        self.lost.clear()
        return True

    async def release(self, name: str) -> None:
        self._held.discard(name)

    async def close(self) -> None:
        self._held.clear()


class PostgresLeases(Leases):
    """Session-level advisory locks on one dedicated connection (opened on first use, opened
    again after it drops). The locks last as long as the connection: a process that dies
    releases them with it."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self.owner = _owner()
        self.lost = asyncio.Event()
        self._connection: Any = None
        self._held: set[str] = set()

    async def _connected(self) -> Any:
        if self._connection is None or self._connection.is_closed():
            self._held.clear()  # a new session holds nothing
            self._connection = await asyncpg.connect(
                self._dsn,
                timeout=QUERY_TIMEOUT_SECONDS,
                server_settings={"application_name": self.owner},
            )
            # Closed under us (the server ended the session, the network dropped): the locks
            # are gone with it, so the jobs must stop now, not at the next check.
            self._connection.add_termination_listener(lambda _: self.lost.set())
        return self._connection

    async def acquire(self, names: Iterable[str]) -> set[str]:
        wanted = [name for name in names if name not in self._held]
        if not wanted:
            return set(self._held)
        try:
            connection = await self._connected()
            for name in wanted:
                taken = await connection.fetchval(
                    "SELECT pg_try_advisory_lock($1)",
                    lease_key(name),
                    timeout=QUERY_TIMEOUT_SECONDS,
                )
                if taken:
                    self._held.add(name)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            _log.warning("cannot take job leases; trying again", exc_info=True)
            await self._drop()
        return set(self._held)

    async def still_held(self) -> bool:
        self.lost.clear()
        if not self._held:
            return True
        try:
            connection = await self._connected()
            if not self._held:  # reconnected: the old session's locks are gone
                return False
            await connection.fetchval("SELECT 1", timeout=QUERY_TIMEOUT_SECONDS)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            _log.warning("the job leases' connection is lost", exc_info=True)
            await self._drop()
            return False
        return True

    async def release(self, name: str) -> None:
        if name not in self._held:
            return
        self._held.discard(name)
        try:
            await self._connection.fetchval(
                "SELECT pg_advisory_unlock($1)", lease_key(name), timeout=QUERY_TIMEOUT_SECONDS
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            await self._drop()  # closing the session unlocks everything it held

    async def close(self) -> None:
        await self._drop()

    async def _drop(self) -> None:
        self._held.clear()
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), QUERY_TIMEOUT_SECONDS)
            if not connection.is_closed():
                connection.terminate()


def leases_for(store: Store) -> Leases:
    """The store's kind of lease: advisory locks on PostgreSQL, held at once on SQLite."""
    if store.name == "postgresql":
        return PostgresLeases(store.sync_url().set(drivername="postgresql").render_as_string(False))
    return LocalLeases()


# What a single-instance job runs while it holds its lease: (stop) -> ends soon after `stop`.
JobRun = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class SingleInstanceJob:
    """A job run by one process at a time: its lease's name and what it runs."""

    name: str
    run: JobRun


def job_name(context: str, job: Callable[..., Any]) -> str:
    """A stable name for a context's job: the context, then where the function is defined."""
    qualname = getattr(job, "__qualname__", type(job).__qualname__)
    return f"{context}:{job.__module__}.{qualname}"


class JobLeases:
    """Runs each job while this process holds its lease; tries for the others every
    `retry_seconds`, and checks that the held ones are still held.

    A job that returns keeps its lease (it has nothing to do here, nor would it elsewhere); one
    that raises is logged and gives its lease up, so it starts again (here or elsewhere) at the
    next try.
    """

    def __init__(
        self, leases: Leases, jobs: Sequence[SingleInstanceJob], retry_seconds: float
    ) -> None:
        names = [job.name for job in jobs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"single-instance jobs share a name: {', '.join(repeated)}")
        self.leases = leases
        self._jobs = {job.name: job for job in jobs}
        self._retry_seconds = retry_seconds
        self._running: dict[str, tuple[asyncio.Event, asyncio.Task[None]]] = {}
        self._stop = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        # Set after each round of tries (tests wait on it rather than on time).
        self.changed = asyncio.Condition()

    @property
    def held(self) -> frozenset[str]:
        """The jobs this process holds the lease of (running, or ended by themselves)."""
        return frozenset(self._running)

    async def start(self) -> None:
        """Try for every lease once now (a job held starts before the app serves), then keep
        trying in the background (a database away at start-up delays the jobs, not the app)."""
        try:
            await self._round()
        except Exception:
            _log.exception("the job leases' first round failed; trying again")
        self._loop_task = asyncio.create_task(self._keep_trying(), name="tradehall-job-leases")

    async def _keep_trying(self) -> None:
        while not self._stop.is_set():
            waits = [
                asyncio.ensure_future(self._stop.wait()),
                asyncio.ensure_future(self.leases.lost.wait()),
            ]
            await asyncio.wait(waits, timeout=self._retry_seconds, return_when="FIRST_COMPLETED")
            for waiting in waits:
                waiting.cancel()
            if self._stop.is_set():
                return
            try:
                await self._round()
            except Exception:
                _log.exception("the job leases' round failed; trying again")

    async def _round(self) -> None:
        for name, (_, task) in list(self._running.items()):
            if task.done() and not task.cancelled() and task.exception() is not None:
                _log.error(
                    "single-instance job %s failed; giving its lease up",
                    name,
                    exc_info=task.exception(),
                )
                del self._running[name]
                await self.leases.release(name)
        if not await self.leases.still_held():
            _log.warning("job leases lost; stopping %s", ", ".join(sorted(self._running)))
            await self._end(list(self._running))
        missing = [name for name in self._jobs if name not in self._running]
        if missing:
            for name in sorted(await self.leases.acquire(missing)):
                if name in self._running:
                    continue
                stop = asyncio.Event()
                task = asyncio.create_task(self._jobs[name].run(stop), name=f"job {name}")
                self._running[name] = (stop, task)
                _log.info("single-instance job %s runs here (%s)", name, self.leases.owner)
        async with self.changed:
            self.changed.notify_all()

    async def _end(self, names: Sequence[str]) -> None:
        """Stop these jobs and wait for them to end; their leases are released after."""
        ended = [self._running.pop(name) for name in names]
        for stop, _ in ended:
            stop.set()
        results = await asyncio.gather(*(task for _, task in ended), return_exceptions=True)
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                _log.error("single-instance job %s failed", name, exc_info=result)

    async def stop(self) -> None:
        """End every job here, then give the leases up (another process takes them over)."""
        self._stop.set()
        if self._loop_task is not None:
            await self._loop_task
        await self._end(list(self._running))
        await self.leases.close()
