"""The composition root's container: settings, store, clock, Applications, identity, threads.

The app hands controllers the parts one by one (Litestar dependencies by name, `api/app.py`);
the container itself is for the composition root and the command line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar, cast

from eventsourcing.application import Application
from eventsourcing.system import ProcessApplication
from sqlalchemy.ext.asyncio import AsyncEngine

from membership.application import MembershipApp
from sharedkernel.events import SYSTEM, Context
from tradehall.clock import Clock, SystemClock
from tradehall.context import ContextDeclaration, followed_logs
from tradehall.identity.users import Passwords, UserDirectory
from tradehall.mail.sender import run_sender
from tradehall.mail.smtp import Transport
from tradehall.marketplace.sealing.keys import SealingKeys
from tradehall.marketplace.sealing.master import MasterKeys
from tradehall.payments.stripe_gateway import StripeGateway
from tradehall.readside import ReadSide
from tradehall.settings import Settings
from tradehall.store import store_from_settings
from tradehall.store.base import Store
from tradehall.store.leases import JobLeases, SingleInstanceJob, job_name

T = TypeVar("T")

# The lease of the in-process projector (ADR 37).
PROJECTOR_JOB = "projector"


@dataclass(frozen=True)
class Threads:
    """Where synchronous work (the eventsourcing Applications, hashing) runs off the loop."""

    executor: ThreadPoolExecutor = field(repr=False)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(fn, *args, **kwargs))


@dataclass
class Services:
    settings: Settings
    store: Store
    clock: Clock
    contexts: Sequence[ContextDeclaration]
    # Each context's Application, by its log's name.
    applications: dict[str, Application[Any]]
    engine: AsyncEngine
    users: UserDirectory
    passwords: Passwords
    threads: Threads
    # Sealed bids' data keys (ADR 27), over a synchronous engine of the store's own.
    sealing: SealingKeys
    readside: ReadSide | None = None
    # None: manual-payments mode (no Stripe keys).
    stripe: StripeGateway | None = None
    # The single-instance jobs' leases while the API serves (ADR 37): which run here.
    jobs: JobLeases | None = None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run synchronous work (the eventsourcing Applications, hashing) in a worker thread."""
        return await self.threads.run(fn, *args, **kwargs)

    @property
    def membership(self) -> MembershipApp:
        return cast(MembershipApp, self.applications["membership"])

    @property
    def event_logs(self) -> dict[str, Application[Any]]:
        """The Application of each log the read side follows (no sealed log), by log name."""
        followed = followed_logs(self.contexts)
        return {log: app for log, app in self.applications.items() if log in followed}

    async def prepare_data(self) -> None:
        """Reference data the contexts cannot run without (membership's first dues schedule)."""
        context = Context(SYSTEM, "start-up", self.clock.now())
        for declared in self.contexts:
            if declared.reference_data is not None:
                app = self.applications[declared.log.name]
                await self.run(declared.reference_data, app, context)

    async def open_read_side_without_projector(self) -> ReadSide:
        self.readside = await ReadSide.open(
            self.store, self.contexts, self.applications, self.engine, self.settings
        )
        return self.readside

    def single_instance_jobs(self) -> list[SingleInstanceJob]:
        """What must run once across every process sharing the store (ADR 37), as the settings
        turn each on: the projector, each context's clock jobs, the mail sender, each context's
        other workers (a worker its settings turn off is left out)."""
        settings = self.settings
        jobs: list[SingleInstanceJob] = []
        if settings.run_projections:
            jobs.append(SingleInstanceJob(PROJECTOR_JOB, self._run_projector))
        interval = settings.clock_interval_seconds
        for declared in self.contexts:
            for clock_job in declared.clock_jobs if interval else ():
                jobs.append(
                    SingleInstanceJob(
                        job_name(declared.name, clock_job), partial(clock_job, self, interval)
                    )
                )
        transport = settings.mail_transport
        if transport is not None and settings.mail_interval_seconds:
            jobs.append(
                SingleInstanceJob(
                    job_name("mail", run_sender),
                    partial(_send_mail, self, transport, settings.mail_interval_seconds),
                )
            )
        for declared in self.contexts:
            for worker in declared.workers:
                probe = worker(self, asyncio.Event())
                if probe is None:
                    continue  # off by its settings
                probe.close()  # never started: it only said the worker is on
                jobs.append(
                    SingleInstanceJob(job_name(declared.name, worker), partial(_work, worker, self))
                )
        return jobs

    async def _run_projector(self, stop: asyncio.Event) -> None:
        """The projector's thread in this process, from now until `stop`."""
        readside = self.readside
        assert readside is not None, "open the read side first"
        readside.start_projector(self.store, self.settings.projection_poll_seconds)
        try:
            await stop.wait()
        finally:
            await readside.stop_projector()

    async def close(self) -> None:
        if self.readside is not None:
            await self.readside.close()
        await self.engine.dispose()
        self.sealing.engine.dispose()
        for app in self.applications.values():
            app.close()
        self.threads.executor.shutdown(wait=True)


async def _send_mail(
    services: Services, transport: Transport, interval: int, stop: asyncio.Event
) -> None:
    await run_sender(services, transport, stop, interval)


async def _work(worker: Any, services: Services, stop: asyncio.Event) -> None:
    started = worker(services, stop)
    if started is not None:
        await started


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    store: Store | None = None,
    passwords: Passwords | None = None,
    contexts: Sequence[ContextDeclaration] | None = None,
) -> Services:
    """Wire the parts. The store must already be migrated (see Store.prepare_for_serving).

    `contexts` defaults to every declared context (`tradehall.contexts.CONTEXTS`)."""
    if contexts is None:
        from tradehall.contexts import CONTEXTS  # the declarations import the web layer

        contexts = CONTEXTS
    chosen_store = store or store_from_settings(settings.database_url, settings.data_dir)
    chosen_clock = clock or SystemClock()
    pool = settings.db_pool_size
    engine = chosen_store.async_engine(pool_size=pool)
    gateway = None
    if settings.stripe_secret_key:
        gateway = StripeGateway(
            settings.stripe_secret_key, settings.public_url, settings.stripe_api_base
        )
    applications = {
        declared.log.name: declared.application(
            chosen_store.application_env(declared.log.name, pool_size=pool), settings, chosen_store
        )
        for declared in contexts
    }
    for declared in contexts:
        for leader in declared.follows:
            follower = applications[declared.log.name]
            assert isinstance(follower, ProcessApplication), f"{declared.name} cannot follow"
            follower.follow(leader, applications[leader].notification_log)
    return Services(
        stripe=gateway,
        settings=settings,
        store=chosen_store,
        clock=chosen_clock,
        contexts=contexts,
        applications=applications,
        engine=engine,
        users=UserDirectory(engine),
        passwords=passwords or Passwords(),
        # No more threads than database connections: a thread never waits for a connection.
        threads=Threads(ThreadPoolExecutor(max_workers=pool, thread_name_prefix="tradehall-app")),
        sealing=SealingKeys(
            chosen_store.sync_engine(), MasterKeys.from_settings(settings), chosen_clock
        ),
    )
