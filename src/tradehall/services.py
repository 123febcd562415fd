"""The composition root's container: settings, store, clock, Applications, identity, threads."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from eventsourcing.application import Application
from sqlalchemy.ext.asyncio import AsyncEngine

from membership.application import MembershipApp
from sharedkernel.events import SYSTEM, Context
from tradehall.clock import Clock, SystemClock
from tradehall.identity.users import Passwords, UserDirectory
from tradehall.payments.stripe_gateway import StripeGateway
from tradehall.readside import ReadSide
from tradehall.settings import Settings
from tradehall.store import store_from_settings
from tradehall.store.base import Store

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    store: Store
    clock: Clock
    membership: MembershipApp
    engine: AsyncEngine
    users: UserDirectory
    passwords: Passwords
    executor: ThreadPoolExecutor = field(repr=False)
    readside: ReadSide | None = None
    # None: manual-payments mode (no Stripe keys).
    stripe: StripeGateway | None = None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run synchronous work (the eventsourcing Applications, hashing) in a worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(fn, *args, **kwargs))

    @property
    def event_logs(self) -> dict[str, Application[Any]]:
        """Each event log's Application, by log name."""
        return {"membership": self.membership}

    async def prepare_data(self) -> None:
        """Reference data the service cannot run without (the first dues schedule)."""
        context = Context(SYSTEM, "start-up", self.clock.now())
        await self.run(self.membership.ensure_dues_schedule, context)

    async def open_read_side_without_projector(self) -> ReadSide:
        self.readside = await ReadSide.open(
            self.store, self.event_logs, self.engine, self.settings.public_url
        )
        return self.readside

    async def open_read_side(self) -> ReadSide:
        self.readside = await ReadSide.open(
            self.store, self.event_logs, self.engine, self.settings.public_url
        )
        if self.settings.run_projections:
            self.readside.start_projector(self.store, self.settings.projection_poll_seconds)
        return self.readside

    async def close(self) -> None:
        if self.readside is not None:
            await self.readside.close()
        await self.engine.dispose()
        self.membership.close()
        self.executor.shutdown(wait=True)


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    store: Store | None = None,
    passwords: Passwords | None = None,
) -> Services:
    """Wire the parts. The store must already be migrated (see Store.prepare_for_serving)."""
    chosen_store = store or store_from_settings(settings.database_url, settings.data_dir)
    pool = settings.db_pool_size
    engine = chosen_store.async_engine(pool_size=pool)
    gateway = None
    if settings.stripe_secret_key:
        gateway = StripeGateway(
            settings.stripe_secret_key, settings.public_url, settings.stripe_api_base
        )
    return Services(
        stripe=gateway,
        settings=settings,
        store=chosen_store,
        clock=clock or SystemClock(),
        membership=MembershipApp(env=chosen_store.application_env("membership", pool_size=pool)),
        engine=engine,
        users=UserDirectory(engine),
        passwords=passwords or Passwords(),
        # No more threads than database connections: a thread never waits for a connection.
        executor=ThreadPoolExecutor(max_workers=pool, thread_name_prefix="tradehall-app"),
    )
