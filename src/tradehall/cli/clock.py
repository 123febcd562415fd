"""`tradehall clock tick | run`."""

from __future__ import annotations

from typing import Any

import click

from tradehall.cli.common import _settings, _with_services
from tradehall.logging import configure_logging


@click.group()
def clock() -> None:
    """Time-driven transitions: grace, lapse, renewal invoices and notices."""


@clock.command("tick")
def clock_tick_command() -> None:
    """Issue every transition that is due now, once (running it twice changes nothing more)."""
    from tradehall.membership.clock_jobs import ClockJobParts, clock_tick

    settings = _settings()
    report = _with_services(settings, lambda services: clock_tick(ClockJobParts.of(services)))
    click.echo(
        f"examined {report.examined} members, changed {report.changed}, "
        f"conflicts {report.conflicts}"
    )


@clock.command("run")
@click.option("--interval", default=3600, show_default=True, type=int, help="seconds")
def clock_run(interval: int) -> None:
    """Tick now and every INTERVAL seconds until stopped (the production worker)."""
    import asyncio
    import signal

    from tradehall.membership.clock_jobs import ClockJobParts, run_clock

    settings = _settings()
    configure_logging(settings.log_level)

    async def work(services: Any) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_clock(ClockJobParts.of(services), interval, stop)

    _with_services(settings, work)
