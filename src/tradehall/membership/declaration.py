"""The membership context, declared once: its log, Application, controllers, read side, clock
job, CLI commands and reference data (see `tradehall.context`)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any

from membership.application import MembershipApp
from projections.base import Projection
from projections.registry import all_projections
from projections.search import DirectorySearchProjection
from sharedkernel.events import Context
from tradehall.api.membership.directory import ApplicationsController, DirectoryController
from tradehall.api.membership.dues import DuesController, DuesScheduleController
from tradehall.api.membership.members import MembersExportController
from tradehall.api.membership.membership import MembershipController
from tradehall.api.membership.organisations import OrganisationController, RegistryClaimController
from tradehall.api.membership.payments import StripeDuesController, StripeWebhookController
from tradehall.cli.clock import clock
from tradehall.cli.members import export_group, import_group
from tradehall.context import ContextDeclaration
from tradehall.membership import LOG
from tradehall.membership.card_payments import CardPayments
from tradehall.membership.card_subscriptions import (
    CardSubscriptionFollower,
    card_sender_job,
    sender_for,
)
from tradehall.membership.clock_jobs import ClockJobParts, clock_tick, run_clock
from tradehall.membership.notices import NoticeWriter
from tradehall.membership.registration import registrar_for
from tradehall.services import Services
from tradehall.settings import Settings
from tradehall.store.base import Store


def _application(env: dict[str, str], settings: Settings, store: Store) -> MembershipApp:
    return MembershipApp(env=env)


def _projections(settings: Settings) -> Sequence[Projection]:
    # The directory and the applications; directory search (which follows the marketplace's
    # listings too).
    return [*all_projections(), DirectorySearchProjection()]


def _followers(settings: Settings) -> Sequence[Projection]:
    # Records, followed like projections, never rebuilt: the notice writer fills the outbox, the
    # card subscription follower the commands for Stripe (ADR 20).
    return [NoticeWriter(settings.public_url), CardSubscriptionFollower()]


def _reference_data(app: Any, context: Context) -> None:
    assert isinstance(app, MembershipApp)
    app.ensure_dues_schedule(context)  # the first dues schedule


def _clock(services: Services, interval: float, stop: asyncio.Event) -> Coroutine[Any, Any, None]:
    """The clock job, given its parts (made once, here) rather than the container."""
    return run_clock(ClockJobParts.of(services), interval, stop)


async def _tick(services: Services) -> str:
    report = await clock_tick(ClockJobParts.of(services))
    return (
        f"examined {report.examined} members, changed {report.changed}, "
        f"conflicts {report.conflicts}, failed {report.failed}"
    )


def _card_sender(services: Services, stop: asyncio.Event) -> Coroutine[Any, Any, None] | None:
    """Sends the card-subscription commands (sends nothing without Stripe keys)."""
    interval = services.settings.card_commands_interval_seconds
    return card_sender_job(sender_for(services), interval, stop) if interval else None


def _card_payments(services: Services) -> CardPayments:
    """What the Stripe webhook and its parked events' resolution use."""
    return CardPayments(services.membership, services.engine, services.clock, services.threads)


MEMBERSHIP = ContextDeclaration(
    name="membership",
    log=LOG,
    application=_application,
    controllers=(
        OrganisationController,
        RegistryClaimController,
        DirectoryController,
        ApplicationsController,
        MembershipController,
        DuesScheduleController,
        DuesController,
        MembersExportController,
        StripeDuesController,
        StripeWebhookController,
    ),
    projections=_projections,
    followers=_followers,
    clock_jobs=(_clock,),
    clock_ticks=(_tick,),
    workers=(_card_sender,),
    commands=(clock, import_group, export_group),
    reference_data=_reference_data,
    dependencies={"registrar": registrar_for, "card_payments": _card_payments},
)
