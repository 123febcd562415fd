"""`tradehall projections run | rebuild | status`."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from projections.runner import BatchProjector, EventsLeftOut, describe_left_out
from tradehall.cli.common import _contexts, _settings, _store
from tradehall.context import ContextDeclaration, event_logs
from tradehall.logging import configure_logging
from tradehall.readside import build_projector, channels_of, rebuildable
from tradehall.settings import Settings
from tradehall.store.base import Store


@contextmanager
def opened_projector(
    settings: Settings, store: Store, contexts: Sequence[ContextDeclaration] | None = None
) -> Iterator[tuple[BatchProjector, list[str]]]:
    """The projector over every declared context's log but the sealed ones."""
    declared = _contexts() if contexts is None else contexts
    store.prepare_for_serving(event_logs(declared))
    applications = {
        context.log.name: context.application(
            store.application_env(context.log.name, pool_size=2), settings, store
        )
        for context in declared
        if not context.sealed
    }
    try:
        projector = build_projector(store, declared, applications, settings)
        try:
            projector.ensure_positions()
            yield projector, channels_of(projector.sources, applications)
        finally:
            projector.engine.dispose()
    finally:
        for app in applications.values():
            app.close()


def run_projections(
    settings: Settings,
    store: Store,
    *,
    until_caught_up: bool,
    contexts: Sequence[ContextDeclaration] | None = None,
) -> None:
    with opened_projector(settings, store, contexts) as (projector, channels):
        if until_caught_up:
            applied = projector.catch_up()
            click.echo(f"caught up: {applied} events applied")
            return
        stop = threading.Event()
        waker = store.waker(channels)

        def request_stop(signum: int, frame: object) -> None:
            stop.set()
            waker.interrupt()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        click.echo("projections running; SIGTERM or Ctrl-C stops them")
        try:
            # Each wake-up names its channels: only those logs are read.
            by_channel = dict(zip(channels, projector.sources, strict=True))
            projector.run_forever(stop, waker, settings.projection_poll_seconds, by_channel)
        finally:
            waker.close()


def rebuild_projections(
    settings: Settings,
    store: Store,
    names: tuple[str, ...],
    contexts: Sequence[ContextDeclaration] | None = None,
    *,
    leaving_out: bool = False,
) -> None:
    with opened_projector(settings, store, contexts) as (projector, _):
        known = rebuildable(projector)
        chosen = list(names) or known
        unknown = [name for name in chosen if name not in known]
        if unknown:
            raise click.BadParameter(f"no projection named {', '.join(unknown)}", param_hint="NAME")
        heads = {log: source.head() for log, source in projector.sources.items()}
        columns = (
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns) as progress:
            tasks = {
                (p.name, log): progress.add_task(f"{p.name} <- {log}", total=heads[log])
                for p in projector.projections
                if p.name in chosen
                for log in p.logs
            }

            def advance(name: str, log: str, count: int) -> None:
                progress.advance(tasks[(name, log)], count)

            try:
                total = projector.rebuild(chosen, progress=advance, leaving_out=leaving_out)
            except EventsLeftOut as refused:
                # Nothing was swapped in: the new view would miss these events (ADR 16).
                raise click.ClickException(
                    f"the rebuild of {', '.join(chosen)} would leave events out ({refused}); "
                    "nothing was swapped in, the old view still serves. Fix the projection, or "
                    "rebuild with --leave-out-odd-events to swap in a view without them"
                ) from refused
            except Exception as error:
                # Nothing was swapped in: the old tables and positions serve on.
                raise click.ClickException(
                    f"the rebuild of {', '.join(chosen)} failed ({type(error).__name__}: "
                    f"{error}); the old view still serves"
                ) from error
        click.echo(f"rebuilt {', '.join(chosen)} from {total} events")
        if projector.left_out:  # only with --leave-out-odd-events
            left_out = describe_left_out(projector.left_out)
            click.echo(f"{left_out} (swapped in without them, as --leave-out-odd-events asked)")


def print_status(
    settings: Settings, store: Store, contexts: Sequence[ContextDeclaration] | None = None
) -> None:
    with opened_projector(settings, store, contexts) as (projector, _):
        statuses = projector.status()
        table = Table("projection", "log", "position", "head", "lag", "state", "left out")
        for status in statuses:
            failure = status.failure
            table.add_row(
                status.projection,
                status.log,
                str(status.position),
                str(status.head),
                str(status.lag),
                "ok" if failure is None else f"[red]failing at {failure.position}[/red]",
                "0" if status.left_out is None else f"[yellow]{status.left_out.count}[/yellow]",
            )
        console = Console()
        console.print(table)
        for status in statuses:
            failure = status.failure
            if failure is None:
                continue
            # Below the table, whole: the error is what an operator acts on.
            console.print(
                f"{status.projection} fails on {status.log}:{failure.position} since "
                f"{failure.failed_since:%Y-%m-%d %H:%M:%S} UTC: {failure.error_type}: "
                f"{failure.error_message}\n  attempts: {failure.attempts}, next try at "
                f"{failure.retry_at:%Y-%m-%d %H:%M:%S} UTC",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        for status in statuses:
            left = status.left_out
            if left is None:
                continue
            # Events left out of the view (ADR 16), each with a WARNING line when it was: the
            # view misses them. The last, to find the lines by.
            console.print(
                f"{status.projection} left out {left.count} event{'s' * (left.count != 1)} of "
                f"{status.log}; the last: {status.log}:{left.position} {left.topic}: {left.why}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )


@click.group()
def projections() -> None:
    """The read models: follow the event logs, rebuild them, see how far they are."""


@projections.command("run")
@click.option("--until-caught-up", is_flag=True, help="apply what is recorded, then exit")
def projections_run(until_caught_up: bool) -> None:
    """Follow the event logs (for a worker beside an API with TRADEHALL_RUN_PROJECTIONS=false)."""
    settings = _settings()
    configure_logging(settings.log_level)
    run_projections(settings, _store(settings), until_caught_up=until_caught_up)


@projections.command("rebuild")
@click.argument("names", nargs=-1)
@click.option(
    "--leave-out-odd-events",
    is_flag=True,
    help="swap the new view in even if a projection left events out (each is logged and listed)",
)
def projections_rebuild(names: tuple[str, ...], leave_out_odd_events: bool) -> None:
    """Empty the named projections (default: all) and apply every event again.

    A rebuild in which a projection leaves an event out (not what the domain writes, or a bug in
    the projection) swaps nothing in and exits 1, the old view serving on."""
    settings = _settings()
    rebuild_projections(settings, _store(settings), names, leaving_out=leave_out_odd_events)


@projections.command("status")
def projections_status() -> None:
    """Each projection's position and lag behind each event log, its failure, and the events
    it has left out."""
    settings = _settings()
    print_status(settings, _store(settings))
