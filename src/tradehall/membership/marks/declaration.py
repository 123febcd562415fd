"""The quality mark, declared once: its own log in the membership context, an Application that
follows the membership log, its read side, clock job and worker (ADR 23)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, cast

from membership.marks.application import MarksApp
from tradehall.context import ContextDeclaration
from tradehall.membership.marks import LOG
from tradehall.membership.marks.workers import follow_membership, run_marks_clock
from tradehall.services import Services


def _application(env: dict[str, str]) -> MarksApp:
    return MarksApp(env=env)


def _marks(services: Services) -> MarksApp:
    return cast(MarksApp, services.applications[LOG.name])


def _clock(services: Services, interval: float, stop: asyncio.Event) -> Coroutine[Any, Any, None]:
    return run_marks_clock(_marks(services), services.clock, services.run, interval, stop)


def _follower(services: Services, stop: asyncio.Event) -> Coroutine[Any, Any, None] | None:
    interval = services.settings.follow_interval_seconds
    if not interval:
        return None
    return follow_membership(_marks(services), services.run, interval, stop)


MARKS = ContextDeclaration(
    name="marks",
    log=LOG,
    application=_application,
    clock_jobs=(_clock,),
    workers=(_follower,),
    follows=("membership",),
)
