"""Paying dues by Stripe: Checkout, the Customer Portal, and the webhook Stripe calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypeVar
from uuid import UUID

import msgspec
import stripe as stripe_api
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ServiceUnavailableException
from litestar.params import FromPath, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from membership.application import ConcurrentChange
from membership.standing import MEMBER, MembershipStatus
from sharedkernel.errors import Conflict
from tradehall.api.access import PUBLIC, own_organisation, rule, staff_only
from tradehall.api.commands import Commands
from tradehall.api.membership.organisation_commands import ORGANISATION, OrganisationCommands
from tradehall.api.problems import problem
from tradehall.api.request_policy import RAW_BODY
from tradehall.api.schemas.base import RequestBody
from tradehall.membership.card_payments import (
    CardPayments,
    StripeUnavailable,
    WebhookRejected,
    handle_event,
    resolve_parked,
    verify,
)
from tradehall.membership.card_subscriptions import unfinished_commands
from tradehall.payments.stripe_gateway import StripeGateway
from tradehall.payments.tables import parked_webhooks
from tradehall.settings import Settings

PAYABLE = MEMBER - {MembershipStatus.SUSPENDED}
T = TypeVar("T")


class CheckoutView(msgspec.Struct, kw_only=True):
    session_id: str
    url: str


class PortalView(msgspec.Struct, kw_only=True):
    url: str


class WebhookAnswer(msgspec.Struct, kw_only=True):
    received: bool
    outcome: str


class Resolution(RequestBody):
    action: Literal["apply", "dismiss"]
    organisation_id: UUID | None = None


class Resolved(msgspec.Struct, kw_only=True):
    outcome: str


class CardSubscriptionCommand(msgspec.Struct, kw_only=True):
    """A row of `card_subscription_commands`, as staff see it."""

    command_id: str
    organisation_id: UUID
    action: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None


class CardSubscriptionCommands(msgspec.Struct, kw_only=True):
    # False: no Stripe keys here, so nothing is sent and the commands wait.
    card_payments_configured: bool
    commands: list[CardSubscriptionCommand]


class ParkedWebhook(msgspec.Struct, kw_only=True):
    event_id: str
    event_type: str
    reason: str
    received_at: datetime


# Stripe not answering, or answering that it failed: its outage, not a fault here.
_STRIPE_DOWN = (stripe_api.APIConnectionError, stripe_api.RateLimitError, stripe_api.APIError)
STRIPE_RETRY_AFTER_SECONDS = 30


async def _ask_stripe(commands: Commands, call: Callable[..., T], *args: Any) -> T:
    """A call to Stripe from a worker thread; Stripe down is a 503 to try again later."""
    try:
        return await commands.run(call, *args)
    except _STRIPE_DOWN as error:
        raise ServiceUnavailableException(
            detail=f"Stripe is not answering ({type(error).__name__}): try again shortly",
            headers={"Retry-After": str(STRIPE_RETRY_AFTER_SECONDS)},
        ) from None


def _gateway(stripe: StripeGateway | None) -> StripeGateway:
    if stripe is None:
        raise Conflict("card payments are not set up here: pay by bank transfer or cheque")
    return stripe


class StripeDuesController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}/dues"
    tags = ["dues"]
    dependencies = ORGANISATION

    @post(
        "/checkout",
        opt=rule(own_organisation()),
        status_code=201,
        summary="Start paying dues by card: a Stripe Checkout subscription for the member's band",
    )
    async def checkout(
        self,
        organisation: NamedDependency[OrganisationCommands],
        stripe: NamedDependency[StripeGateway | None],
    ) -> CheckoutView:
        gateway = _gateway(stripe)
        found = await organisation.load()
        if found.membership_status not in PAYABLE or found.tier is None:
            raise Conflict(f"no dues to pay: the membership is {found.membership_status}")
        subscription = found.card_subscription
        if subscription is not None and not subscription.ended:
            raise Conflict("dues are already paid by card: use the Customer Portal to change it")
        started = await _ask_stripe(
            organisation.commands,
            gateway.start_checkout,
            organisation.organisation_id,
            found.tier.price_reference,
            f"checkout-{organisation.organisation_id}-{found.version}",
        )
        return CheckoutView(session_id=started.session_id, url=started.url)

    @post(
        "/portal",
        opt=rule(own_organisation()),
        status_code=201,
        summary="The Stripe Customer Portal: change card, see invoices, cancel",
    )
    async def portal(
        self,
        organisation: NamedDependency[OrganisationCommands],
        stripe: NamedDependency[StripeGateway | None],
    ) -> PortalView:
        gateway = _gateway(stripe)
        found = await organisation.load()
        if found.processor_customer_id is None:
            raise Conflict("the organisation has not paid by card yet")
        url = await _ask_stripe(
            organisation.commands, gateway.portal_url, found.processor_customer_id
        )
        return PortalView(url=url)


class StripeWebhookController(Controller):
    path = "/api/v1"
    tags = ["dues"]

    @post(
        "/webhooks/stripe",
        opt=rule(PUBLIC) | {RAW_BODY: True},
        status_code=200,
        summary="Stripe's webhook: signature checked on the raw body; each event applied once",
    )
    async def webhook(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        stripe: NamedDependency[StripeGateway | None],
        card_payments: NamedDependency[CardPayments],
    ) -> Response[Any]:
        secret = settings.stripe_webhook_secret
        if stripe is None or not secret:
            raise NotFoundException("Stripe is not configured here")
        body = await request.body()
        try:
            # The signature's freshness is about real elapsed time, so the wall clock, not
            # the business clock (which tests and imports may set elsewhere).
            event = verify(body, request.headers.get("stripe-signature"), secret, time.time())
        except WebhookRejected as rejected:
            return problem(
                request,
                400,
                "Bad webhook",
                str(rejected),
                type_="urn:tradehall:problem:bad-webhook",
                errors=[
                    {"field": "Stripe-Signature", "message": str(rejected), "source": "header"}
                ],
            )
        try:
            outcome = await handle_event(card_payments, event, payments=stripe)
        except ConcurrentChange as busy:
            return problem(request, 503, "Busy", busy.message, headers={"Retry-After": "5"})
        except StripeUnavailable as down:
            return problem(
                request,
                503,
                "Stripe is not answering",
                str(down),
                headers={"Retry-After": str(STRIPE_RETRY_AFTER_SECONDS)},
            )
        return Response(WebhookAnswer(received=True, outcome=outcome.status))

    @post(
        "/dues/parked-webhooks/{event_id:str}/resolution",
        opt=rule(staff_only()),
        status_code=200,
        summary="Apply a parked event to an organisation, or dismiss it (staff)",
    )
    async def resolve(
        self,
        card_payments: NamedDependency[CardPayments],
        stripe: NamedDependency[StripeGateway | None],
        event_id: FromPath[str],
        data: JSONBody[Resolution],
    ) -> Resolved:
        try:
            outcome = await resolve_parked(
                card_payments,
                event_id,
                data.organisation_id,
                apply=data.action == "apply",
                payments=stripe,
            )
        except StripeUnavailable as down:
            raise ServiceUnavailableException(
                detail=str(down), headers={"Retry-After": str(STRIPE_RETRY_AFTER_SECONDS)}
            ) from None
        return Resolved(outcome=outcome.status)

    @get(
        "/dues/parked-webhooks",
        opt=rule(staff_only()),
        summary="Webhooks that matched no organisation or that a member's state refused",
    )
    async def parked(self, engine: NamedDependency[AsyncEngine]) -> list[ParkedWebhook]:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(parked_webhooks)
                .where(parked_webhooks.c.resolved_at.is_(None))
                .order_by(parked_webhooks.c.received_at)
            )
            return [
                ParkedWebhook(
                    event_id=row.event_id,
                    event_type=row.event_type,
                    reason=row.reason,
                    received_at=row.received_at,
                )
                for row in rows
            ]

    @get(
        "/dues/card-subscription-commands",
        opt=rule(staff_only()),
        summary="Card subscription changes (cancel, reprice) that failed or still wait (staff)",
    )
    async def card_subscription_commands(
        self, engine: NamedDependency[AsyncEngine], stripe: NamedDependency[StripeGateway | None]
    ) -> CardSubscriptionCommands:
        rows = await unfinished_commands(engine)
        return CardSubscriptionCommands(
            card_payments_configured=stripe is not None,
            commands=[
                msgspec.convert(row, CardSubscriptionCommand, from_attributes=True) for row in rows
            ],
        )
