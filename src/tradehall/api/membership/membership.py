"""Membership after admission: turnover, resignation, suspension, expulsion, history."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from uuid import UUID

import stripe
import structlog
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody, QueryParameter

from membership.domain import Organisation
from membership.standing import GOOD_STANDING
from sharedkernel.moments import plausible_moment
from sharedkernel.money import Money
from tradehall.api.access import own_organisation, own_organisation_or_staff, rule, staff_only
from tradehall.api.commands import command_context, command_result, etag, expected_version
from tradehall.api.membership.schemas.membership import (
    DeclareTurnover,
    History,
    HistoryEntry,
    Resignation,
    StandingAt,
    WithReason,
)
from tradehall.api.schemas.common import CommandResult
from tradehall.services import Services

LOG = "membership"
_log = structlog.get_logger("tradehall.membership")
_BASE_FIELDS = {
    "originator_id",
    "originator_version",
    "timestamp",
    "originator_topic",
    "actor",
    "request_id",
    "effective_at",
}
AsAtParam = Annotated[
    str | None,
    QueryParameter(
        name="as_at",
        max_length=40,
        description="an ISO date (its end) or date-time (UTC if no offset): the membership then",
    ),
]


def parse_as_at(value: str) -> datetime:
    try:
        if len(value) == 10:  # a date: as it stood at the end of that day
            moment = datetime.combine(date.fromisoformat(value), time.max, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationException(
            "as_at must be an ISO date or date-time",
            extra=[{"key": "as_at", "message": "not an ISO date or date-time", "source": "query"}],
        ) from None
    return plausible_moment("as_at", moment)


def _result(saved: Any) -> Response[CommandResult]:
    return Response(command_result(saved, LOG), headers={"ETag": etag(saved.version)})


def _details(event: Any) -> dict[str, object]:
    """The event's own fields (the base fields are shown apart)."""
    return {k: v for k, v in vars(event).items() if k not in _BASE_FIELDS}


def standing_at(events: list[Any], as_at: datetime) -> StandingAt | None:
    """The membership as it stood at `as_at`, as we know it now (ADR 17): the facts in effect
    by then (by effective time, not recording time), replayed in the order they were recorded.
    None before the organisation registered; a fact stored with an effective time before the
    registration (older versions allowed it) counts from the registration."""
    if not events or events[0].effective_at > as_at:
        return None
    organisation = events[0].mutate(None)
    for event in events[1:]:
        if event.effective_at <= as_at:
            event.apply(organisation)
    assert isinstance(organisation, Organisation)
    tier = organisation.tier
    return StandingAt(
        as_at=as_at,
        status=organisation.membership_status.value,
        good_standing=organisation.membership_status in GOOD_STANDING,
        paid_up_until=organisation.paid_up_until,
        tier=tier.code if tier else None,
    )


async def stop_card_payments(
    services: Services, organisation_id: UUID, *, at_period_end: bool
) -> None:
    """A member who leaves stops paying: its Stripe subscription is cancelled."""
    if services.stripe is None:
        return
    organisation = await services.run(services.membership.get_organisation, organisation_id)
    subscription = organisation.processor_subscription_id
    if subscription is None or organisation.processor_subscription_status == "canceled":
        return
    try:
        await services.run(
            services.stripe.cancel_subscription, subscription, at_period_end=at_period_end
        )
    except stripe.StripeError:
        _log.exception("could not cancel the Stripe subscription of %s", organisation_id)


async def sync_renewal_price(services: Services, organisation_id: UUID) -> None:
    """A member paying by subscription is charged the new band from the next period."""
    if services.stripe is None:
        return
    organisation = await services.run(services.membership.get_organisation, organisation_id)
    band = await services.run(services.membership.renewal_band, organisation_id)
    subscription = organisation.processor_subscription_id
    if band is None or subscription is None:
        return
    try:
        await services.run(services.stripe.change_price_at_renewal, subscription, band.lookup_key)
    except stripe.StripeError:
        # The declaration stands; staff see this in the logs and change the price by hand.
        _log.exception("could not change the Stripe price for %s", organisation_id)


class MembershipController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}/membership"
    tags = ["membership"]

    @post(
        "/turnover",
        opt=rule(own_organisation()),
        status_code=200,
        summary="Declare annual turnover for the next period (in the renewal window)",
    )
    async def declare_turnover(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        organisation_id: FromPath[UUID],
        data: JSONBody[DeclareTurnover],
    ) -> Response[CommandResult]:
        turnover = Money.of(
            data.annual_turnover.amount_minor,
            data.annual_turnover.currency,
            field="annual_turnover.amount_minor",
        )
        saved = await services.run(
            services.membership.declare_turnover,
            command_context(request, services),
            organisation_id,
            turnover,
            expected_version(request),
        )
        await sync_renewal_price(services, organisation_id)
        return _result(saved)

    @post(
        "/resignation",
        opt=rule(own_organisation()),
        status_code=200,
        summary="Resign, at the end of the paid period (default) or now",
    )
    async def resign(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        organisation_id: FromPath[UUID],
        data: JSONBody[Resignation],
    ) -> Response[CommandResult]:
        at_period_end = data.effective == "period_end"
        saved = await services.run(
            services.membership.resign,
            command_context(request, services),
            organisation_id,
            at_period_end=at_period_end,
            expected_version=expected_version(request),
        )
        await stop_card_payments(services, organisation_id, at_period_end=at_period_end)
        return _result(saved)

    @post("/suspension", opt=rule(staff_only()), status_code=200, summary="Suspend (staff)")
    async def suspend(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        organisation_id: FromPath[UUID],
        data: JSONBody[WithReason],
    ) -> Response[CommandResult]:
        saved = await services.run(
            services.membership.suspend,
            command_context(request, services),
            organisation_id,
            data.reason,
            expected_version(request),
        )
        return _result(saved)

    @post("/reinstatement", opt=rule(staff_only()), status_code=200, summary="Reinstate (staff)")
    async def reinstate(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        organisation_id: FromPath[UUID],
    ) -> Response[CommandResult]:
        saved = await services.run(
            services.membership.reinstate,
            command_context(request, services),
            organisation_id,
            expected_version(request),
        )
        return _result(saved)

    @post("/expulsion", opt=rule(staff_only()), status_code=200, summary="Expel (staff)")
    async def expel(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        organisation_id: FromPath[UUID],
        data: JSONBody[WithReason],
    ) -> Response[CommandResult]:
        saved = await services.run(
            services.membership.expel,
            command_context(request, services),
            organisation_id,
            data.reason,
            expected_version(request),
        )
        await stop_card_payments(services, organisation_id, at_period_end=False)
        return _result(saved)

    @get(
        "/history",
        opt=rule(own_organisation_or_staff()),
        summary="Every membership event with its actor and effective time; ?as_at= for then",
    )
    async def history(
        self,
        services: NamedDependency[Services],
        organisation_id: FromPath[UUID],
        as_at: AsAtParam = None,
    ) -> History:
        moment = parse_as_at(as_at) if as_at is not None else None
        events = await services.run(services.membership.organisation_events, organisation_id)
        return History(
            organisation_id=str(organisation_id),
            events=[
                HistoryEntry(
                    version=event.originator_version,
                    event=type(event).__qualname__.rpartition(".")[2],
                    actor=event.actor,
                    effective_at=event.effective_at,
                    recorded_at=event.timestamp,
                    details=_details(event),
                )
                for event in events
            ],
            standing=standing_at(events, moment) if moment is not None else None,
        )
