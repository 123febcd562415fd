"""What every command does alike: settings, the store, services for one run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from tradehall.context import ContextDeclaration, event_logs
from tradehall.settings import Settings, SettingsError
from tradehall.store import store_from_settings
from tradehall.store.base import Store

if TYPE_CHECKING:
    from tradehall.services import Services
    from tradehall.store.leases import JobLeases, SingleInstanceJob


@dataclass(frozen=True)
class Declared:
    """The contexts a command line serves (its click context's object: see `cli_for`)."""

    contexts: Sequence[ContextDeclaration]


def import_group() -> click.Group:
    """A context's `tradehall import` group: `cli_for` merges every context's into one."""
    return click.Group("import", help="Bring data over from other systems.")


def _contexts() -> Sequence[ContextDeclaration]:
    """The contexts of the running command line; every declared one outside a command."""
    click_context = click.get_current_context(silent=True)
    declared = click_context.find_object(Declared) if click_context is not None else None
    if declared is not None:
        return declared.contexts
    from tradehall.contexts import CONTEXTS

    return CONTEXTS


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def _store(settings: Settings) -> Store:
    return store_from_settings(settings.database_url, settings.data_dir)


def _with_services(settings: Settings, work: Any, *, read_side: bool = True) -> Any:
    """Run `work` (given the container) for one command: the store ready for serving, each
    context's reference data ensured, and (`read_side`) the read side open and caught up."""
    import asyncio

    from tradehall.services import build_services

    contexts = _contexts()
    store = _store(settings)
    store.prepare_for_serving(event_logs(contexts))

    async def run() -> Any:
        services = build_services(settings, store=store, contexts=contexts)
        try:
            await services.prepare_data()
            if read_side:
                readside = await services.open_read_side_without_projector()
                await services.run(readside.projector.catch_up)
            return await work(services)
        finally:
            await services.close()

    return asyncio.run(run())


@asynccontextmanager
async def under_leases(
    services: Services, jobs: Sequence[SingleInstanceJob]
) -> AsyncIterator[JobLeases]:
    """Run single-instance jobs from a command, each while this process holds its lease (ADR
    37), until the block ends: `clock run` beside an API whose clock is on then ticks once
    between them (`async with under_leases(services, jobs): await stop.wait()`)."""
    from tradehall.store.leases import JobLeases, leases_for

    leases = JobLeases(leases_for(services.store), jobs, services.settings.lease_retry_seconds)
    try:
        await leases.start()
        yield leases
    finally:
        await leases.stop()
