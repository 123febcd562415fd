"""`tradehall clock tick | run`: every declared context's clock."""

from __future__ import annotations

from functools import partial
from typing import Any

import click

from tradehall.cli.common import _settings, _with_services, under_leases
from tradehall.logging import configure_logging
from tradehall.store.leases import SingleInstanceJob, job_name


@click.group()
def clock() -> None:
    """Time-driven transitions: grace, lapse, renewal invoices and notices, mark expiry."""


@clock.command("tick")
def clock_tick_command() -> None:
    """Issue every transition that is due now, once (running it twice changes nothing more)."""
    settings = _settings()

    async def tick(services: Any) -> list[str]:
        return [
            await each(services) for context in services.contexts for each in context.clock_ticks
        ]

    for line in _with_services(settings, tick):
        click.echo(line)


@clock.command("run")
@click.option("--interval", default=3600, show_default=True, type=int, help="seconds")
def clock_run(interval: int) -> None:
    """Tick now and every INTERVAL seconds until stopped (the production worker)."""
    import asyncio
    import signal

    settings = _settings()
    configure_logging(settings.log_level)

    async def work(services: Any) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        # The API's names: with its clock on too, each job ticks in one process (ADR 37).
        jobs = [
            SingleInstanceJob(job_name(context.name, job), partial(job, services, interval))
            for context in services.contexts
            for job in context.clock_jobs
        ]
        async with under_leases(services, jobs):
            await stop.wait()

    _with_services(settings, work)
