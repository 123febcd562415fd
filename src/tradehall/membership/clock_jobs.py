"""The clock job: issue the transitions time has made due (grace, lapse, renewal, ...).

Each organisation that may have something due gets the `observe_time` command with the clock's
time; the aggregate records only what is due and not yet recorded, so a second tick at the same
time changes nothing more. Candidates come from the directory read model (its status column).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select

from membership.standing import MEMBER
from projections.tables import directory_members
from sharedkernel.errors import Conflict, DomainError
from sharedkernel.events import CLOCK, Context
from tradehall.identity.sessions import purge_expired
from tradehall.services import Services

_log = logging.getLogger("tradehall.clock")


@dataclass(frozen=True)
class TickReport:
    examined: int
    changed: int
    conflicts: int


async def clock_tick(services: Services) -> TickReport:
    now = services.clock.now()
    context = Context(CLOCK, f"clock-{now.isoformat()}", now)
    async with services.engine.connect() as connection:
        result = await connection.execute(
            select(directory_members.c.organisation_id).where(
                directory_members.c.status.in_([status.value for status in MEMBER])
            )
        )
        candidates = list(result.scalars())
    changed = conflicts = 0
    for organisation_id in candidates:
        try:
            saved = await services.run(services.membership.observe_time, context, organisation_id)
        except Conflict:
            conflicts += 1  # a concurrent change: the next tick sees it
            continue
        except DomainError:
            # One member's bad data must not stop the others' transitions.
            _log.exception("clock tick refused for %s", organisation_id)
            conflicts += 1
            continue
        changed += saved is not None
    report = TickReport(len(candidates), changed, conflicts)
    _log.info("clock tick: %s", report)
    await purge_expired(services)  # decayed sign-in throttles, expired refresh tokens
    return report


async def run_clock(services: Services, interval_seconds: float, stop: asyncio.Event) -> None:
    """Tick now and then every interval until `stop` (the in-process scheduler)."""
    while not stop.is_set():
        try:
            await clock_tick(services)
        except Exception:
            _log.exception("clock tick failed; trying again at the next interval")
        try:
            await asyncio.wait_for(stop.wait(), interval_seconds)
        except TimeoutError:
            continue
