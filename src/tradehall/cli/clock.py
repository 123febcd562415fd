"""`tradehall clock tick | run`: every declared context's clock."""

from __future__ import annotations

from typing import Any

import click

from tradehall.cli.common import _settings, _with_services
from tradehall.logging import configure_logging


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
        jobs = [
            job(services, interval, stop)
            for context in services.contexts
            for job in context.clock_jobs
        ]
        await asyncio.gather(*jobs)

    _with_services(settings, work)
