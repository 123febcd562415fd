"""The quality mark, declared once: its own log in the membership context, an Application that
follows the membership log, its read side, clock job and worker (ADR 23)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any, cast

from membership.marks.application import MarksApp
from projections.base import Projection
from projections.marks import MarkApplications, MarkRegister
from tradehall.api.membership.mark_register import MarkRegisterController
from tradehall.api.membership.marks import MarkApplicationsController, MarkController
from tradehall.context import ContextDeclaration
from tradehall.membership.evidence import DirectoryFileStore, EvidenceIntake
from tradehall.membership.evidence.stores import evidence_files, staged_intake
from tradehall.membership.marks import LOG
from tradehall.membership.marks.notices import MarkNoticeWriter
from tradehall.membership.marks.workers import (
    MarkIndex,
    follow_membership,
    run_marks_clock,
    tick_marks,
)
from tradehall.services import Services
from tradehall.settings import Settings
from tradehall.store.base import Store


def _application(env: dict[str, str], settings: Settings, store: Store) -> MarksApp:
    return MarksApp(env=env)


def _marks(services: Services) -> MarksApp:
    return cast(MarksApp, services.applications[LOG.name])


def _evidence_files(services: Services) -> DirectoryFileStore:
    return evidence_files(services.settings)


def _evidence_intake(services: Services) -> EvidenceIntake:
    return staged_intake(services.settings, _evidence_files(services))


def _projections(settings: Settings) -> Sequence[Projection]:
    return [MarkRegister(), MarkApplications()]  # the register of marks, the applications


def _followers(settings: Settings) -> Sequence[Projection]:
    # A record, never rebuilt: the mark notice writer fills the outbox (ADR 12).
    return [MarkNoticeWriter(settings.public_url)]


def _clock(services: Services, interval: float, stop: asyncio.Event) -> Coroutine[Any, Any, None]:
    return run_marks_clock(_marks(services), services.clock, services.run, interval, stop)


async def _tick(services: Services) -> str:
    report = await services.run(tick_marks, _marks(services), services.clock, MarkIndex())
    return (
        f"quality marks changed {report.changed}, examined {report.examined}, "
        f"conflicts {report.conflicts}, failed {report.failed}"
    )


def _follower(services: Services, stop: asyncio.Event) -> Coroutine[Any, Any, None] | None:
    interval = services.settings.follow_interval_seconds
    if not interval:
        return None
    return follow_membership(_marks(services), services.run, interval, stop)


MARKS = ContextDeclaration(
    name="marks",
    log=LOG,
    application=_application,
    projections=_projections,
    followers=_followers,
    controllers=(MarkApplicationsController, MarkController, MarkRegisterController),
    clock_jobs=(_clock,),
    clock_ticks=(_tick,),
    workers=(_follower,),
    follows=("membership",),
    dependencies={"evidence_intake": _evidence_intake, "evidence_files": _evidence_files},
)
