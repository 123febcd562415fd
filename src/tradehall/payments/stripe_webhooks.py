"""Stripe webhooks: verified on the raw body, applied once, in any order; strays are parked.

Stripe delivers each event at least once, in any order, for days. Each event id is claimed in
the same save as the change it causes (a replay changes nothing). An event that names no
organisation, or that the member's state refuses, is answered 200 and parked for staff: a 4xx
would only make Stripe retry it for three days.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import stripe
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from membership.application import ConcurrentChange
from membership.domain import Organisation
from sharedkernel.errors import Conflict, DomainError, NotFound
from sharedkernel.events import SYSTEM, Context
from sharedkernel.money import Money
from tradehall.payments.tables import parked_webhooks
from tradehall.services import Services

SIGNATURE_TOLERANCE_SECONDS = 300
# Stripe signs with its clock; allow this much skew ahead of ours, and no more.
FUTURE_SKEW_SECONDS = 60
_log = logging.getLogger("tradehall.payments")


class WebhookRejected(Exception):
    """A bad, stale or future signature: answered 400, nothing recorded."""


def verify(payload: bytes, header: str | None, secret: str, now: float) -> dict[str, Any]:
    """The event, if the signature over the raw body is good and its time is now-ish."""
    if not header:
        raise WebhookRejected("the Stripe-Signature header is missing")
    text = payload.decode("utf-8")
    try:
        stripe.WebhookSignature.verify_header(text, header, secret, SIGNATURE_TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as error:
        raise WebhookRejected(str(error.user_message or error)) from None
    timestamp = _timestamp(header)
    if timestamp > now + FUTURE_SKEW_SECONDS:
        raise WebhookRejected("the signature's timestamp is in the future")
    try:
        event: dict[str, Any] = json.loads(text)
    except ValueError:
        raise WebhookRejected("the body is not JSON") from None
    if not isinstance(event.get("id"), str) or not isinstance(event.get("data"), dict):
        raise WebhookRejected("the body is not a Stripe event")
    return event


def _timestamp(header: str) -> int:
    for part in header.split(","):
        key, _, value = part.partition("=")
        if key.strip() == "t" and value.strip().isdigit():
            return int(value)
    raise WebhookRejected("the signature has no timestamp")


@dataclass(frozen=True)
class Outcome:
    status: str  # applied, duplicate, parked, ignored
    detail: str = ""


def _when(epoch: Any) -> datetime | None:
    return datetime.fromtimestamp(int(epoch), tz=UTC) if epoch else None


def organisation_of(event_type: str, obj: dict[str, Any]) -> UUID | None:
    """The organisation an event is about: our id, which we put in every object we create."""
    candidates: list[Any] = [obj.get("client_reference_id"), (obj.get("metadata") or {})]
    parent = obj.get("parent") or {}
    details = parent.get("subscription_details") or {}
    candidates.append(details.get("metadata") or {})
    for candidate in candidates:
        value = candidate.get("organisation_id") if isinstance(candidate, dict) else candidate
        if value:
            try:
                return UUID(str(value))
            except ValueError:
                return None
    return None


def _decision(event_type: str, obj: dict[str, Any]) -> Callable[..., None] | None:
    """What an event asks of the organisation, or None for events we do not act on."""
    if event_type == "checkout.session.completed":
        return lambda org, ctx: org.link_payment_processor(
            ctx, str(obj.get("customer") or ""), obj.get("subscription")
        )
    if event_type == "invoice.paid":
        period_ends = [
            line.get("period", {}).get("end") for line in obj.get("lines", {}).get("data", [])
        ]
        covers_until = _when(max((end for end in period_ends if end), default=None))
        amount = Money.of(int(obj.get("amount_paid", 0)), str(obj.get("currency", "gbp")))
        reference = str(obj.get("number") or obj["id"])
        return lambda org, ctx: org.record_payment(
            ctx, str(obj["id"]), amount, "stripe", reference, covers_until
        )
    if event_type == "invoice.payment_failed":
        reference = str(obj.get("number") or obj["id"])
        return lambda org, ctx: org.record_payment_failure(ctx, reference)
    if event_type in {"customer.subscription.updated", "customer.subscription.deleted"}:
        status = "canceled" if event_type.endswith("deleted") else str(obj.get("status"))
        return lambda org, ctx: org.record_subscription_change(
            ctx, str(obj["id"]), status, bool(obj.get("cancel_at_period_end"))
        )
    return None


async def handle_event(
    services: Services, event: dict[str, Any], organisation_id: UUID | None = None
) -> Outcome:
    """Apply a Stripe event; `organisation_id` is staff's answer for an event that named none."""
    event_type = str(event.get("type", ""))
    obj: dict[str, Any] = event["data"].get("object") or {}
    decide = _decision(event_type, obj)
    if decide is None:
        return Outcome("ignored", event_type)
    organisation_id = organisation_id or organisation_of(event_type, obj)
    if organisation_id is None:
        return await _park(services, event, "the event names no organisation")
    now = services.clock.now()
    effective = _when((obj.get("status_transitions") or {}).get("paid_at")) or now
    context = Context(SYSTEM, f"stripe:{event['id']}", now, min(effective, now))

    def apply(organisation: Organisation) -> None:
        decide(organisation, context)

    # An invoice is credited once, whichever event tells of it (Stripe may send another).
    credits = str(obj["id"]) if event_type == "invoice.paid" else None
    try:
        saved = await services.run(
            services.membership.handle_external_event,
            context,
            "stripe",
            str(event["id"]),
            organisation_id,
            apply,
            credits_payment=credits,
        )
    except ConcurrentChange:
        raise  # not a refusal: answered 503 so that Stripe delivers it again
    except DomainError as refused:
        return await _park(services, event, refused.message)
    return Outcome("applied" if saved is not None else "duplicate")


async def resolve_parked(
    services: Services, event_id: str, organisation_id: UUID | None, *, apply: bool
) -> Outcome:
    """Staff's decision on a parked event: apply it to an organisation, or dismiss it."""
    async with services.engine.connect() as connection:
        row = (
            await connection.execute(
                select(parked_webhooks).where(
                    parked_webhooks.c.event_id == event_id, parked_webhooks.c.resolved_at.is_(None)
                )
            )
        ).first()
    if row is None:
        raise NotFound(f"no unresolved parked event {event_id}")
    outcome = Outcome("dismissed")
    if apply:
        outcome = await handle_event(services, json.loads(row.payload), organisation_id)
        if outcome.status == "parked":
            raise Conflict(f"still refused: {outcome.detail}")
    async with services.engine.begin() as connection:
        await connection.execute(
            update(parked_webhooks)
            .where(parked_webhooks.c.event_id == event_id)
            .values(resolved_at=services.clock.now())
        )
    return outcome


async def _park(services: Services, event: dict[str, Any], reason: str) -> Outcome:
    _log.warning("stripe event %s parked: %s", event.get("id"), reason)
    try:
        async with services.engine.begin() as connection:
            await connection.execute(
                insert(parked_webhooks).values(
                    event_id=str(event["id"]),
                    source="stripe",
                    event_type=str(event.get("type", "")),
                    reason=reason,
                    payload=json.dumps(event),
                    received_at=services.clock.now(),
                )
            )
    except IntegrityError:
        pass  # parked already: Stripe delivered it again
    return Outcome("parked", reason)
