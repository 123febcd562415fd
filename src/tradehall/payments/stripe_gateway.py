"""Calls we make to Stripe: a Checkout Session for the member's band, a Customer Portal.

The domain names a band's price by its price reference; here that is the `lookup_key` of the
Stripe Price (set on the Prices in Stripe's dashboard).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import stripe

from sharedkernel.errors import Conflict


@dataclass(frozen=True)
class CheckoutStarted:
    session_id: str
    url: str


class StripeGateway:
    """Synchronous, like the library: call it from a worker thread."""

    def __init__(self, secret_key: str, public_url: str, api_base: str | None = None) -> None:
        base = {"api": api_base} if api_base else None
        self._client = stripe.StripeClient(secret_key, base_addresses=base)  # type: ignore[arg-type]
        self._public_url = public_url.rstrip("/")

    def _price_id(self, price_reference: str) -> str:
        """The active Stripe Price for a band: its `lookup_key` is the band's price reference."""
        prices = self._client.v1.prices.list(
            params={"lookup_keys": [price_reference], "active": True}
        )
        if not prices.data:
            raise Conflict(f"Stripe has no active price with lookup_key {price_reference!r}")
        return prices.data[0].id

    def start_checkout(
        self, organisation_id: UUID, price_reference: str, idempotency_key: str
    ) -> CheckoutStarted:
        """A subscription checkout for the Price of the member's band."""
        price_id = self._price_id(price_reference)
        reference = str(organisation_id)
        session = self._client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "line_items": [{"price": price_id, "quantity": 1}],
                "client_reference_id": reference,
                "metadata": {"organisation_id": reference},
                "subscription_data": {"metadata": {"organisation_id": reference}},
                "success_url": f"{self._public_url}/dues/checkout/done",
                "cancel_url": f"{self._public_url}/dues/checkout/cancelled",
            },
            options={"idempotency_key": idempotency_key},
        )
        if session.url is None:
            raise Conflict("Stripe gave no checkout address")
        return CheckoutStarted(session.id, session.url)

    def change_price_at_renewal(
        self, subscription_id: str, price_reference: str, idempotency_key: str
    ) -> None:
        """The band changes from the next period: change the subscription's price without
        proration, so the renewal invoice charges the new due and this period stays as paid."""
        price_id = self._price_id(price_reference)
        subscription = self._client.v1.subscriptions.retrieve(subscription_id)
        item = subscription["items"]["data"][0]
        if item["price"]["id"] == price_id:
            return
        self._client.v1.subscriptions.update(
            subscription_id,
            params={
                "items": [{"id": item["id"], "price": price_id}],
                "proration_behavior": "none",
            },
            options={"idempotency_key": idempotency_key},
        )

    def cancel_subscription(
        self, subscription_id: str, *, at_period_end: bool, idempotency_key: str
    ) -> None:
        """Stop charging: at the end of the paid period (a resignation then) or at once.
        Stripe applies a request once per idempotency key, however often it is sent."""
        options: stripe.RequestOptions = {"idempotency_key": idempotency_key}
        if at_period_end:
            self._client.v1.subscriptions.update(
                subscription_id, params={"cancel_at_period_end": True}, options=options
            )
        else:
            self._client.v1.subscriptions.cancel(subscription_id, options=options)

    def invoice_paid_by(self, payment_intent_id: str) -> str | None:
        """The invoice a PaymentIntent paid, if it paid one: a refund names its PaymentIntent,
        and only Stripe's invoice payments say which invoice that was."""
        payments = self._client.v1.invoice_payments.list(
            params={
                "payment": {"type": "payment_intent", "payment_intent": payment_intent_id},
                "status": "paid",
                "limit": 1,
            }
        )
        for payment in payments.data:
            invoice = payment.invoice
            return invoice if isinstance(invoice, str) else invoice.id
        return None

    def portal_url(self, customer_id: str) -> str:
        session = self._client.v1.billing_portal.sessions.create(
            params={"customer": customer_id, "return_url": f"{self._public_url}/dues"}
        )
        return session.url
