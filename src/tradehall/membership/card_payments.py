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
from typing import Annotated, Any, Protocol
from uuid import UUID

import msgspec
import stripe
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from membership.application import ConcurrentChange, ExternalMessage, MembershipApp, Saved
from membership.card_subscription import CardSubscriptionStatus
from sharedkernel.errors import Conflict, DomainError, NotFound
from sharedkernel.events import SYSTEM, Context
from sharedkernel.money import Money
from tradehall.membership.parts import HeldParts, MembershipParts
from tradehall.payments.tables import parked_webhooks

SOURCE = "stripe"
SIGNATURE_TOLERANCE_SECONDS = 300
# Stripe signs with its clock; allow this much skew ahead of ours, and no more.
FUTURE_SKEW_SECONDS = 60
_log = logging.getLogger("tradehall.payments")


@dataclass(frozen=True)
class CardPayments(HeldParts):
    """The parts the webhook handlers are given (the `card_payments` dependency)."""


class PaymentFinder(Protocol):
    """What Stripe says of a payment a refund names (the gateway)."""

    def invoice_paid_by(self, payment_intent_id: str) -> str | None: ...


class WebhookRejected(Exception):
    """A bad, stale or future signature: answered 400, nothing recorded."""


class StripeUnavailable(Exception):
    """Stripe did not answer a question the event needs answered: 503, so Stripe sends it
    again later; nothing recorded."""


def verify(payload: bytes, header: str | None, secret: str, now: float) -> dict[str, Any]:
    """The event, if the signature over the raw body is good, its time is now-ish and it has
    the shape of a Stripe event (the object too, for the types we act on)."""
    if not header:
        raise WebhookRejected("the Stripe-Signature header is missing")
    try:
        # Stripe signs the body as UTF-8 text: any other body is not from Stripe.
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected("the body is not UTF-8") from None
    try:
        stripe.WebhookSignature.verify_header(text, header, secret, SIGNATURE_TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as error:
        raise WebhookRejected(str(error.user_message or error)) from None
    timestamp = _timestamp(header)
    if timestamp > now + FUTURE_SKEW_SECONDS:
        raise WebhookRejected("the signature's timestamp is in the future")
    try:
        event: dict[str, Any] = msgspec.json.decode(text, type=dict[str, Any])
    except (msgspec.DecodeError, RecursionError):
        raise WebhookRejected("the body is not a JSON object") from None
    parse_event(event)
    return event


def _timestamp(header: str) -> int:
    """The timestamp the library checked the signature against: read as it reads it (the first
    item whose key is exactly `t`, as `int` takes it), so no decoy item can stand in for it."""
    for part in header.split(","):
        key, _, value = part.partition("=")
        if key == "t":
            try:
                return int(value.partition("=")[0])
            except ValueError:
                break
    raise WebhookRejected("the signature has no timestamp")


# The parts of Stripe's objects we read, typed: anything else in them is ignored, and an event
# whose parts have another shape is refused (400) before anything is recorded.
StripeId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_]{1,100}$")]
EventType = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_.]{1,100}$")]
# Seconds since 1970, up to the end of year 9999 (datetime's range).
Epoch = Annotated[int, msgspec.Meta(ge=0, le=253_402_300_799)]
InvoiceNumber = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")]
Metadata = dict[str, Any]


class _Data(msgspec.Struct):
    object: dict[str, Any]


class _Event(msgspec.Struct):
    id: StripeId
    type: EventType
    data: _Data


class _SubscriptionDetails(msgspec.Struct):
    metadata: Metadata | None = None


class _Parent(msgspec.Struct):
    subscription_details: _SubscriptionDetails | None = None


class _Period(msgspec.Struct):
    end: Epoch | None = None


class _Line(msgspec.Struct):
    period: _Period | None = None


class _Lines(msgspec.Struct):
    data: list[_Line] = msgspec.field(default_factory=list)


class _StatusTransitions(msgspec.Struct):
    paid_at: Epoch | None = None


class _Owned(msgspec.Struct, kw_only=True):
    """Where our organisation id may be: Checkout's reference, or the metadata we set."""

    client_reference_id: str | None = None
    metadata: Metadata | None = None
    parent: _Parent | None = None


class _Invoice(_Owned, kw_only=True):
    id: StripeId
    number: InvoiceNumber | None = None
    amount_paid: Annotated[int, msgspec.Meta(ge=0, le=10**13)] = 0
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{3}$")] = "gbp"
    lines: _Lines = msgspec.field(default_factory=_Lines)
    status_transitions: _StatusTransitions | None = None


class _CheckoutSession(_Owned, kw_only=True):
    customer: StripeId | None = None
    subscription: StripeId | None = None


class _Subscription(_Owned, kw_only=True):
    id: StripeId
    status: Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{1,40}$")] = ""
    cancel_at_period_end: bool = False


class _Refund(msgspec.Struct, kw_only=True):
    """A refund (Stripe's `refund.*` events): it names the PaymentIntent it returns money
    from, never an organisation or an invoice."""

    id: StripeId
    amount: Annotated[int, msgspec.Meta(ge=1, le=10**13)]
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{3}$")]
    # pending, requires_action, succeeded, failed, canceled: only a succeeded one is recorded.
    status: Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{1,40}$")] | None = None
    payment_intent: StripeId | None = None
    charge: StripeId | None = None
    created: Epoch | None = None


_OBJECTS: dict[str, type[msgspec.Struct]] = {
    "checkout.session.completed": _CheckoutSession,
    "invoice.paid": _Invoice,
    "invoice.payment_failed": _Invoice,
    "customer.subscription.updated": _Subscription,
    "customer.subscription.deleted": _Subscription,
    # A refund made anywhere (Stripe's dashboard, or told back after staff recorded it): each
    # refund is told of by its own events. `charge.refunded` says only the charge's total
    # refunded (its list of refunds is not sent), so it is acknowledged and not acted on.
    "refund.created": _Refund,
    "refund.updated": _Refund,
    # Sent with refund.updated when a refund fails (its status failed).
    "refund.failed": _Refund,
}

# A refund in these states returned no money (failed: the bank refused it, perhaps after it
# had succeeded; canceled: stopped before it went).
_REFUND_UNDONE = frozenset({"failed", "canceled"})


@dataclass(frozen=True)
class ParsedEvent:
    id: str
    type: str
    # The event's object, typed, for the types we act on; None for the others.
    object: msgspec.Struct | None


def parse_event(event: dict[str, Any]) -> ParsedEvent:
    """The parts of an event we read, or WebhookRejected naming what is wrong with it."""
    try:
        envelope = msgspec.convert(event, _Event)
        kind = _OBJECTS.get(envelope.type)
        obj = msgspec.convert(envelope.data.object, kind) if kind is not None else None
    except msgspec.ValidationError as error:
        raise WebhookRejected(f"the body is not a Stripe event we can read: {error}") from None
    return ParsedEvent(envelope.id, envelope.type, obj)


def minimal_payload(event: dict[str, Any]) -> dict[str, Any]:
    """The event with only what we read of it (ids, amounts, status, our organisation id in
    its metadata): still applicable, and holding no name, e-mail or address Stripe sent."""
    kept: dict[str, Any] = {"id": event.get("id"), "type": event.get("type")}
    try:
        parsed = parse_event(event)
    except WebhookRejected:
        return {**kept, "data": {"object": {}}}  # unreadable: it could never be applied
    obj = msgspec.to_builtins(parsed.object) if parsed.object is not None else {}
    return {**kept, "data": {"object": _ours_only(obj)}}


def _ours_only(value: Any) -> Any:
    """Metadata cut to the organisation id we put there (staff may write anything else)."""
    if isinstance(value, dict):
        return {
            key: (
                {k: v for k, v in item.items() if k == "organisation_id"}
                if key == "metadata" and isinstance(item, dict)
                else _ours_only(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_ours_only(item) for item in value]
    return value


@dataclass(frozen=True)
class Outcome:
    status: str  # applied, duplicate, parked, ignored
    detail: str = ""


def _when(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=UTC) if epoch else None


def organisation_of(obj: _Owned) -> UUID | None:
    """The organisation an event is about: our id, which we put in every object we create."""
    details = obj.parent.subscription_details if obj.parent else None
    candidates: list[Any] = [
        obj.client_reference_id,
        obj.metadata or {},
        (details.metadata if details else None) or {},
    ]
    for candidate in candidates:
        value = candidate.get("organisation_id") if isinstance(candidate, dict) else candidate
        if value:
            try:
                return UUID(str(value))
            except ValueError:
                return None
    return None


# Stripe's subscription states, in the membership context's words.
_SUBSCRIPTION_STATUSES = {
    "active": CardSubscriptionStatus.ACTIVE,
    "trialing": CardSubscriptionStatus.ACTIVE,
    "past_due": CardSubscriptionStatus.PAST_DUE,
    "unpaid": CardSubscriptionStatus.UNPAID,
    "paused": CardSubscriptionStatus.PAUSED,
    "incomplete": CardSubscriptionStatus.INCOMPLETE,
    "incomplete_expired": CardSubscriptionStatus.CANCELLED,
    "canceled": CardSubscriptionStatus.CANCELLED,
}


def subscription_status(event_type: str, stripe_status: str) -> CardSubscriptionStatus:
    """Stripe's status, translated; a deleted subscription has ended whatever it says."""
    if event_type == "customer.subscription.deleted":
        return CardSubscriptionStatus.CANCELLED
    return _SUBSCRIPTION_STATUSES.get(stripe_status, CardSubscriptionStatus.OTHER)


def _command(
    app: MembershipApp, event_type: str, obj: _Owned | None
) -> Callable[[Context, ExternalMessage], Saved | None] | None:
    """The membership command an event asks for, or None for events we do not act on."""
    if isinstance(obj, _CheckoutSession):
        return lambda ctx, message: app.link_card_subscription(
            ctx, message, obj.customer or "", obj.subscription
        )
    if isinstance(obj, _Invoice) and event_type == "invoice.paid":
        period_ends = [line.period.end for line in obj.lines.data if line.period]
        covers_until = _when(max((end for end in period_ends if end), default=None))
        amount = Money.of(obj.amount_paid, obj.currency)
        reference = obj.number or obj.id
        # An invoice is credited once, whichever event tells of it (Stripe may send another).
        return lambda ctx, message: app.record_card_payment(
            ctx, message, obj.id, amount, reference, covers_until
        )
    if isinstance(obj, _Invoice):
        reference = obj.number or obj.id
        return lambda ctx, message: app.record_card_payment_failure(ctx, message, reference)
    if isinstance(obj, _Subscription):
        status = subscription_status(event_type, obj.status)
        return lambda ctx, message: app.record_card_subscription_change(
            ctx, message, obj.id, status, obj.cancel_at_period_end
        )
    return None


async def handle_event(
    parts: MembershipParts,
    event: dict[str, Any],
    organisation_id: UUID | None = None,
    *,
    payments: PaymentFinder | None = None,
) -> Outcome:
    """Apply a Stripe event; `organisation_id` is staff's answer for an event that named none.

    The event has passed `verify` (or was parked after it did), so its shape is known good.
    `payments` answers which invoice a refund's payment paid (the gateway); without it a
    refund is parked unless staff name the organisation."""
    parsed = parse_event(event)
    obj = parsed.object
    if isinstance(obj, _Refund):
        return await _handle_refund(parts, event, parsed.id, obj, organisation_id, payments)
    command = _command(parts.membership, parsed.type, obj) if isinstance(obj, _Owned) else None
    if command is None or not isinstance(obj, _Owned):
        return Outcome("ignored", parsed.type)
    organisation_id = organisation_id or organisation_of(obj)
    if organisation_id is None:
        return await _park(parts, event, "the event names no organisation")
    paid_at = (
        obj.status_transitions.paid_at
        if isinstance(obj, _Invoice) and obj.status_transitions
        else None
    )
    return await _apply(parts, event, parsed.id, organisation_id, command, _when(paid_at))


async def _apply(
    parts: MembershipParts,
    event: dict[str, Any],
    event_id: str,
    organisation_id: UUID,
    command: Callable[[Context, ExternalMessage], Saved | None],
    effective: datetime | None,
) -> Outcome:
    now = parts.clock.now()
    context = Context(SYSTEM, f"stripe:{event_id}", now, min(effective or now, now))
    message = ExternalMessage(SOURCE, event_id, organisation_id)
    try:
        saved = await parts.run(command, context, message)
    except ConcurrentChange:
        raise  # not a refusal: answered 503 so that Stripe delivers it again
    except DomainError as refused:
        return await _park(parts, event, refused.message, organisation_id)
    return Outcome("applied" if saved is not None else "duplicate")


async def _handle_refund(
    parts: MembershipParts,
    event: dict[str, Any],
    event_id: str,
    refund: _Refund,
    organisation_id: UUID | None,
    payments: PaymentFinder | None,
) -> Outcome:
    """A refund returns money from a payment we recorded: the invoice its PaymentIntent paid
    (Stripe's invoice payments say which) was credited to one organisation, whose ledger takes
    the refund, by its id, once. A refund of anything else is parked for staff."""
    undone = refund.status in _REFUND_UNDONE
    if refund.status != "succeeded" and not undone:
        # Pending or waiting for the customer: no money has gone back; refund.updated tells.
        return Outcome("ignored", f"refund {refund.status or 'without a status'}")
    invoice_id = await _invoice_refunded(parts, refund, payments)
    holder = (
        await parts.run(parts.membership.card_payment_holder, SOURCE, invoice_id)
        if invoice_id is not None
        else None
    )
    if organisation_id is None:
        if holder is None:
            # A failed one too: its success may be parked already, and staff see both.
            return await _park(
                parts, event, "the refund returns money from no card payment recorded here"
            )
        organisation_id = holder
    elif holder is not None and holder != organisation_id:
        return await _park(
            parts, event, f"the refunded payment {invoice_id} is credited to {holder}", holder
        )
    payment_id = invoice_id if holder is not None else None
    amount = Money.of(refund.amount, refund.currency)
    if undone:
        status = refund.status or ""

        def reverse(ctx: Context, message: ExternalMessage) -> Saved | None:
            return parts.membership.reverse_card_refund(ctx, message, refund.id, amount, status)

        # Now: the refund is undone when Stripe says so, not when it was made.
        return await _apply(parts, event, event_id, organisation_id, reverse, None)
    reference = f"Stripe refund {refund.id}" + (f" of {payment_id}" if payment_id else "")

    def command(ctx: Context, message: ExternalMessage) -> Saved | None:
        return parts.membership.record_card_refund(
            ctx, message, refund.id, payment_id, amount, reference
        )

    return await _apply(parts, event, event_id, organisation_id, command, _when(refund.created))


async def _invoice_refunded(
    parts: MembershipParts, refund: _Refund, payments: PaymentFinder | None
) -> str | None:
    if refund.payment_intent is None or payments is None:
        return None
    try:
        return await parts.run(payments.invoice_paid_by, refund.payment_intent)
    except stripe.InvalidRequestError:
        return None  # Stripe knows no such PaymentIntent
    except stripe.StripeError as down:  # not answering, failing, or refusing our key
        raise StripeUnavailable(f"Stripe did not say what {refund.id} refunds: {down}") from None


async def resolve_parked(
    parts: MembershipParts,
    event_id: str,
    organisation_id: UUID | None,
    *,
    apply: bool,
    payments: PaymentFinder | None = None,
) -> Outcome:
    """Staff's decision on a parked event: apply it to an organisation, or dismiss it."""
    async with parts.engine.connect() as connection:
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
        await _refuse_a_refund_that_failed(parts, row.event_id, row.payload)
        try:
            outcome = await handle_event(
                parts, json.loads(row.payload), organisation_id, payments=payments
            )
        except WebhookRejected as unreadable:  # parked before events were checked on arrival
            raise Conflict(f"the parked event cannot be applied: {unreadable}") from None
        if outcome.status == "parked":
            raise Conflict(f"still refused: {outcome.detail}")
    async with parts.engine.begin() as connection:
        await connection.execute(
            update(parked_webhooks)
            .where(parked_webhooks.c.event_id == event_id)
            .values(resolved_at=parts.clock.now(), resolved_to=organisation_id)
        )
    return outcome


async def _refuse_a_refund_that_failed(parts: MembershipParts, event_id: str, payload: str) -> None:
    """A parked refund (of a payment not credited here) whose failure Stripe told of since,
    parked beside it: applying it would record money that never went back."""
    try:
        refund = parse_event(json.loads(payload)).object
    except (WebhookRejected, ValueError):
        return  # handle_event says why it cannot be applied
    if not isinstance(refund, _Refund) or refund.status in _REFUND_UNDONE:
        return
    async with parts.engine.connect() as connection:
        rows = await connection.execute(
            select(parked_webhooks.c.event_id, parked_webhooks.c.payload).where(
                parked_webhooks.c.event_type.in_([t for t, k in _OBJECTS.items() if k is _Refund]),
                parked_webhooks.c.payload.contains(refund.id, autoescape=True),
                parked_webhooks.c.event_id != event_id,
            )
        )
        for other in rows:
            try:
                told = parse_event(json.loads(other.payload)).object
            except (WebhookRejected, ValueError):
                continue
            if isinstance(told, _Refund) and told.id == refund.id and told.status in _REFUND_UNDONE:
                raise Conflict(
                    f"Stripe said refund {refund.id} {told.status} since (parked event "
                    f"{other.event_id}): no money went back"
                )


async def _park(
    parts: MembershipParts,
    event: dict[str, Any],
    reason: str,
    organisation_id: UUID | None = None,
) -> Outcome:
    _log.warning("stripe event %s parked: %s", event.get("id"), reason)
    try:
        async with parts.engine.begin() as connection:
            await connection.execute(
                insert(parked_webhooks).values(
                    event_id=str(event["id"]),
                    source=SOURCE,
                    event_type=str(event.get("type", "")),
                    reason=reason,
                    payload=json.dumps(event),
                    received_at=parts.clock.now(),
                    organisation_id=organisation_id,
                )
            )
    except IntegrityError:
        pass  # parked already: Stripe delivered it again
    return Outcome("parked", reason)
