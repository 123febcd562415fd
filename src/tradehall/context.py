"""What a bounded context brings to the service, declared once (`tradehall.contexts.CONTEXTS`).

The composition root iterates over the declarations and nothing else: the store creates each
log's event tables, the services open each Application, the projector follows each log that is
not sealed, the app serves each context's controllers, `/ready` and `projections status` report
each followed log, the clock runs each context's jobs and the CLI adds its command groups.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import click
from eventsourcing.application import Application

from projections.base import Projection
from sharedkernel.events import Context
from tradehall.settings import Settings
from tradehall.store.base import Store

# `tradehall.services.Services` (the container, which holds the declarations): annotations
# here must resolve at run time (Litestar checks the container's fields when it injects it).
Services = Any

# Its store settings (the store's `application_env`), the service's settings and the store ->
# the context's Application (the marketplace takes its tender policy from the settings; the
# bids their sealing keys from the store).
ApplicationFactory = Callable[[dict[str, str], Settings, Store], Application[Any]]
# The service's settings -> projections (read models) or followers (records, never rebuilt).
ProjectionFactory = Callable[[Settings], Sequence[Projection]]
# A worker the API runs in process when `clock_interval_seconds` is set: (services, interval,
# stop) -> runs until `stop` is set.
ClockJob = Callable[[Services, float, asyncio.Event], Coroutine[Any, Any, None]]
# One tick of a context's clock, for `tradehall clock tick`: (services) -> a line of report.
ClockTick = Callable[[Services], Coroutine[Any, Any, str]]
# Another worker the API runs in process: (services, stop) -> what runs until `stop` is set, or
# None where its settings turn it off (membership: sending card-subscription commands).
Worker = Callable[[Services, asyncio.Event], Coroutine[Any, Any, None] | None]
# Reference data the context cannot run without, ensured at start-up (idempotent).
ReferenceData = Callable[[Any, Context], None]


def _nothing(settings: Settings) -> Sequence[Projection]:
    return ()


@dataclass(frozen=True)
class EventLog:
    """A context's event log: its name (the Application's name, its tables' prefix, the key of
    read-your-writes positions) and whether it is sealed (followed by nothing)."""

    name: str
    sealed: bool = False

    def position_of(self, notification_id: int | None) -> dict[str, int]:
        """The read-your-writes token a command's result carries: none for a sealed log."""
        if self.sealed or notification_id is None:
            return {}
        return {self.name: notification_id}


@dataclass(frozen=True)
class ContextDeclaration:
    """One bounded context, as the composition root sees it."""

    name: str
    log: EventLog
    application: ApplicationFactory
    # Litestar route handlers (controllers or routers) the app serves.
    controllers: Sequence[Any] = ()
    projections: ProjectionFactory = _nothing
    followers: ProjectionFactory = _nothing
    clock_jobs: Sequence[ClockJob] = ()
    # The same clock once (`tradehall clock tick`): what is due now, and a line saying what.
    clock_ticks: Sequence[ClockTick] = ()
    workers: Sequence[Worker] = ()
    commands: Sequence[click.Command] = ()
    reference_data: ReferenceData | None = None
    # More things its controllers ask for by name, each made from the container (an adapter
    # given its collaborators, say).
    dependencies: Mapping[str, Callable[[Services], Any]] = field(default_factory=dict)
    # The name controllers ask for the Application by (a Litestar dependency); default: name.
    dependency: str = field(default="")
    # Logs whose events its Application processes (an eventsourcing ProcessApplication, which
    # records its own events with the position followed to, in one transaction): the
    # container links it to each log's Application.
    follows: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not self.dependency:
            object.__setattr__(self, "dependency", self.name)

    @property
    def sealed(self) -> bool:
        return self.log.sealed

    def read_side(self, settings: Settings) -> list[Projection]:
        """Its projections, then its followers; a sealed log is covered by neither."""
        covered = [*self.projections(settings), *self.followers(settings)]
        if self.sealed and covered:
            names = ", ".join(p.name for p in covered)
            raise ValueError(f"the {self.log.name} log is sealed: nothing may follow it ({names})")
        return covered


def event_logs(contexts: Sequence[ContextDeclaration]) -> list[str]:
    """Every log the contexts keep (sealed ones too: they still need their tables)."""
    return [context.log.name for context in contexts]


def followed_logs(contexts: Sequence[ContextDeclaration]) -> list[str]:
    """The logs the read side follows: every log but the sealed ones."""
    return [context.log.name for context in contexts if not context.sealed]
