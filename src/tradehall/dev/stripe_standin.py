"""A local stand-in for the parts of Stripe's API we call, and the webhooks Stripe would send.

For tests and `tradehall serve --demo` only (it says so on every page it serves). Objects are
shaped after the stripe library's typed resources for its pinned API version: a subscription's
period lives on its items (`items.data[].current_period_end`) and an invoice names its
subscription under `parent.subscription_details`. Webhooks are signed with the library's own
scheme, so the service verifies them exactly as it verifies Stripe's.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

API_VERSION = stripe.api_version
YEAR_SECONDS = 365 * 24 * 3600


def _public(session: dict[str, Any]) -> dict[str, Any]:
    """A session as Stripe shows it (without what the stand-in keeps for itself)."""
    return {k: v for k, v in session.items() if k not in {"price", "subscription_metadata"}}


@dataclass(frozen=True)
class SignedEvent:
    """A webhook delivery: the raw body and its Stripe-Signature header."""

    event_id: str
    event_type: str
    payload: str
    signature: str


@dataclass
class StripeStandIn:
    secret_key: str
    webhook_secret: str
    # lookup_key -> (unit amount in pence, currency)
    prices: Mapping[str, tuple[int, str]]
    # Dates inside objects (periods, payment times) follow `now`; signatures are made at the
    # wall clock's time, since that is what a receiver checks them against.
    now: Callable[[], float] = time.time
    signing_time: Callable[[], float] = time.time
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What paid each paid invoice: its PaymentIntent and charge, by the PaymentIntent's id.
    payment_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _run: str = field(default_factory=lambda: secrets.token_hex(4))
    base_url: str = ""
    # Answers to requests that changed something, by Idempotency-Key: sent again, a request
    # gets the first answer and changes nothing more, as Stripe does.
    idempotent_answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # Each change a request made: (method, path), in order (a replayed request adds none).
    changes: list[tuple[str, str]] = field(default_factory=list)
    # How many of the next requests that would change something fail (500) instead.
    failures_to_come: int = 0
    # How many of the next invoice payment look-ups fail (500) instead.
    lookup_failures_to_come: int = 0

    def fail_next(self, count: int) -> None:
        """The next `count` requests that would change something answer 500 and change nothing."""
        with self._lock:
            self.failures_to_come = count

    def _take_failure(self) -> bool:
        with self._lock:
            if self.failures_to_come <= 0:
                return False
            self.failures_to_come -= 1
            return True

    def _id(self, prefix: str) -> str:
        # Unique across stand-ins too, as Stripe's ids are: databases outlive a test's stand-in.
        with self._lock:
            return f"{prefix}_standin{self._run}{next(self._ids):06d}"

    # The API ----------------------------------------------------------------------------------

    def price_objects(self, lookup_keys: list[str]) -> list[dict[str, Any]]:
        return [
            {
                "id": f"price_{key}",
                "object": "price",
                "active": True,
                "lookup_key": key,
                "unit_amount": amount,
                "currency": currency.lower(),
                "recurring": {"interval": "year", "interval_count": 1},
                "type": "recurring",
            }
            for key, (amount, currency) in self.prices.items()
            if key in lookup_keys
        ]

    def create_checkout_session(self, form: Mapping[str, str]) -> dict[str, Any]:
        session_id = self._id("cs")
        price_id = form.get("line_items[0][price]", "")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form.get("mode", "subscription"),
            "status": "open",
            "payment_status": "unpaid",
            "client_reference_id": form.get("client_reference_id"),
            "metadata": {"organisation_id": form.get("metadata[organisation_id]")},
            "subscription_metadata": {
                "organisation_id": form.get("subscription_data[metadata][organisation_id]")
            },
            "price": price_id,
            "customer": None,
            "subscription": None,
            "success_url": form.get("success_url"),
            "cancel_url": form.get("cancel_url"),
            "url": f"{self.base_url}/pay/{session_id}",
            "livemode": False,
        }
        self.sessions[session_id] = session
        return _public(session)

    def create_portal_session(self, form: Mapping[str, str]) -> dict[str, Any]:
        session_id = self._id("bps")
        return {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": form.get("customer"),
            "return_url": form.get("return_url"),
            "url": f"{self.base_url}/portal/{session_id}",
            "livemode": False,
        }

    # What Stripe would do and tell us ---------------------------------------------------------

    def complete_checkout(self, session_id: str) -> list[SignedEvent]:
        """The customer pays: a customer, a subscription, its first invoice, and the webhooks."""
        session = self.sessions[session_id]
        now = int(self.now())
        customer_id, subscription_id = self._id("cus"), self._id("sub")
        lookup_key = str(session["price"]).removeprefix("price_")
        amount, currency = self.prices[lookup_key]
        subscription = {
            "id": subscription_id,
            "object": "subscription",
            "customer": customer_id,
            "status": "active",
            "cancel_at_period_end": False,
            "metadata": session["subscription_metadata"],
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": self._id("si"),
                        "object": "subscription_item",
                        "price": self.price_objects([lookup_key])[0],
                        "quantity": 1,
                        "current_period_start": now,
                        "current_period_end": now + YEAR_SECONDS,
                    }
                ],
            },
        }
        self.subscriptions[subscription_id] = subscription
        session.update(
            status="complete",
            payment_status="paid",
            customer=customer_id,
            subscription=subscription_id,
        )
        completed = _public(session)
        return [
            self.sign("checkout.session.completed", completed),
            self.sign("invoice.paid", self._invoice(subscription, amount, currency, paid=True)),
        ]

    def renew(self, subscription_id: str, *, paid: bool) -> list[SignedEvent]:
        """The next period's invoice: paid, or its payment failing (Stripe retries for weeks)."""
        subscription = self.subscriptions[subscription_id]
        item = subscription["items"]["data"][0]
        start = item["current_period_end"]
        amount = item["price"]["unit_amount"]
        currency = item["price"]["currency"]
        if paid:
            item.update(current_period_start=start, current_period_end=start + YEAR_SECONDS)
            invoice = self._invoice(subscription, amount, currency, paid=True)
            return [self.sign("invoice.paid", invoice)]
        invoice = self._invoice(subscription, amount, currency, paid=False, period_start=start)
        return [self.sign("invoice.payment_failed", invoice)]

    def update_subscription(self, subscription_id: str, form: Mapping[str, str]) -> dict[str, Any]:
        """Change the item's price (proration none: the change shows from the next invoice)."""
        subscription = self.subscriptions[subscription_id]
        if form.get("cancel_at_period_end") == "true":
            subscription["cancel_at_period_end"] = True
        price_id = form.get("items[0][price]")
        if price_id:
            key = price_id.removeprefix("price_")
            subscription["items"]["data"][0]["price"] = self.price_objects([key])[0]
        return subscription

    def cancel(self, subscription_id: str) -> list[SignedEvent]:
        subscription = self.subscriptions[subscription_id]
        subscription["status"] = "canceled"
        return [self.sign("customer.subscription.deleted", subscription)]

    def _invoice(
        self,
        subscription: dict[str, Any],
        amount: int,
        currency: str,
        *,
        paid: bool,
        period_start: int | None = None,
    ) -> dict[str, Any]:
        item = subscription["items"]["data"][0]
        start = period_start if period_start is not None else item["current_period_start"]
        invoice_id = self._id("in")
        if paid:
            # Paid by a PaymentIntent and its charge, which the invoice does not name (only
            # Stripe's invoice payments do, as for this API version).
            intent_id = self._id("pi")
            self.payment_intents[intent_id] = {
                "invoice": invoice_id,
                "charge": self._id("ch"),
                "customer": subscription["customer"],
                "amount": amount,
                "currency": currency,
                "amount_refunded": 0,
            }
        return {
            "id": invoice_id,
            "object": "invoice",
            "number": f"STANDIN-{invoice_id[-6:]}",
            "customer": subscription["customer"],
            "status": "paid" if paid else "open",
            "currency": currency,
            "amount_due": amount,
            "amount_paid": amount if paid else 0,
            "parent": {
                "type": "subscription_details",
                "subscription_details": {
                    "subscription": subscription["id"],
                    "metadata": subscription["metadata"],
                },
            },
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": self._id("il"),
                        "object": "line_item",
                        "amount": amount,
                        "currency": currency,
                        "period": {"start": start, "end": start + YEAR_SECONDS},
                    }
                ],
            },
            "status_transitions": {"paid_at": int(self.now()) if paid else None},
        }

    def payment_intent_of(self, invoice_id: str) -> str:
        return next(k for k, v in self.payment_intents.items() if v["invoice"] == invoice_id)

    def refund(
        self, invoice_id: str, amount: int | None = None, *, status: str = "succeeded"
    ) -> list[SignedEvent]:
        """A refund made in Stripe's dashboard of (part of) what paid an invoice: the charge
        told refunded, and the refund created, as Stripe sends them."""
        return self.refund_payment_intent(self.payment_intent_of(invoice_id), amount, status=status)

    def refund_payment_intent(
        self,
        intent_id: str,
        amount: int | None = None,
        *,
        status: str = "succeeded",
        currency: str = "gbp",
    ) -> list[SignedEvent]:
        """A refund of a PaymentIntent: one the stand-in made for an invoice, or any other
        (a one-off payment taken in the dashboard) whose invoice payments are none."""
        intent = self.payment_intents.get(intent_id)
        charge_id = intent["charge"] if intent else self._id("ch")
        currency = intent["currency"] if intent else currency
        if amount is None:
            amount = intent["amount"] - intent["amount_refunded"] if intent else 100
        refund_id = self._id("re")
        refund: dict[str, Any] = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "charge": charge_id,
            "payment_intent": intent_id,
            "currency": currency,
            "created": int(self.now()),
            "metadata": {},
            "reason": "requested_by_customer",
            "status": status,
        }
        self.refunds[refund_id] = refund
        events = [self.sign("refund.created", dict(refund))]
        if intent is not None and status == "succeeded":
            intent["amount_refunded"] += amount
            events.insert(0, self.sign("charge.refunded", self._charge(intent_id)))
        return events

    def settle_refund(self, refund_id: str, status: str = "succeeded") -> list[SignedEvent]:
        """A pending refund goes through (or fails), or a refund that succeeded fails later
        (the card's bank refused it) or is cancelled: refund.updated, and refund.failed when it
        failed, as Stripe sends them. Money that did not go back counts as not refunded."""
        refund = self.refunds[refund_id]
        intent = self.payment_intents.get(refund["payment_intent"])
        was, refund["status"] = refund["status"], status
        if intent is not None and (was == "succeeded") != (status == "succeeded"):
            intent["amount_refunded"] += refund["amount"] * (1 if status == "succeeded" else -1)
        if status == "failed":
            refund["failure_reason"] = "expired_or_canceled_card"
        events = [self.sign("refund.updated", dict(refund))]
        if status == "failed":
            events.append(self.sign("refund.failed", dict(refund)))
        return events

    def _charge(self, intent_id: str) -> dict[str, Any]:
        intent = self.payment_intents[intent_id]
        return {
            "id": intent["charge"],
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"],
            "amount_refunded": intent["amount_refunded"],
            "currency": intent["currency"],
            "customer": intent["customer"],
            "payment_intent": intent_id,
            "paid": True,
            "refunded": intent["amount_refunded"] >= intent["amount"],
            "status": "succeeded",
            "metadata": {},
        }

    def invoice_payments(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        """`GET /v1/invoice_payments?payment[type]=payment_intent&payment[payment_intent]=..`"""
        intent_id = query.get("payment[payment_intent]")
        intent = self.payment_intents.get(intent_id or "")
        if intent is None or query.get("payment[type]") != "payment_intent":
            return []
        return [
            {
                "id": f"inpay_{intent_id}",
                "object": "invoice_payment",
                "invoice": intent["invoice"],
                "amount_paid": intent["amount"],
                "amount_requested": intent["amount"],
                "currency": intent["currency"],
                "is_default": True,
                "livemode": False,
                "status": "paid",
                "payment": {"type": "payment_intent", "payment_intent": intent_id},
            }
        ]

    def sign(self, event_type: str, obj: dict[str, Any], at: int | None = None) -> SignedEvent:
        event_id = self._id("evt")
        payload = json.dumps(
            {
                "id": event_id,
                "object": "event",
                "api_version": API_VERSION,
                "created": int(self.now()),
                "type": event_type,
                "livemode": False,
                "data": {"object": obj},
            }
        )
        header = stripe.WebhookSignature.generate_signature_header(
            payload,
            self.webhook_secret,
            timestamp=at if at is not None else int(self.signing_time()),
        )
        return SignedEvent(event_id, event_type, payload, header)

    # Serving ---------------------------------------------------------------------------------

    def serve(self, deliver: Callable[[SignedEvent], None] | None = None) -> ThreadingHTTPServer:
        """Listen on a free local port (in a daemon thread) and return the server."""
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                if status >= 500:
                    # Told once: the caller's own retries (with backoff) decide when again.
                    self.send_header("Stripe-Should-Retry", "false")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_standin{int(time.time() * 1000)}")
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {standin.secret_key}":
                    return True
                self._reply(
                    401,
                    {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}},
                )
                return False

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path.startswith("/pay/"):
                    session_id = url.path.removeprefix("/pay/")
                    events = standin.complete_checkout(session_id)
                    for event in events:
                        if deliver is not None:
                            deliver(event)
                    page = (
                        b"<h1>Stripe stand-in (not Stripe)</h1><p>Payment simulated; "
                        b"webhooks sent.</p>"
                    )
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                if not self._authorised():
                    return
                if url.path.startswith("/v1/subscriptions/"):
                    subscription = standin.subscriptions.get(url.path.rsplit("/", 1)[1])
                    if subscription is None:
                        self._reply(404, {"error": {"type": "invalid_request_error"}})
                    else:
                        self._reply(200, subscription)
                    return
                if url.path == "/v1/invoice_payments":
                    with standin._lock:
                        failing = standin.lookup_failures_to_come > 0
                        standin.lookup_failures_to_come -= failing
                    if failing:
                        self._reply(500, {"error": {"type": "api_error", "message": "stand-in"}})
                        return
                    data = standin.invoice_payments(dict(parse_qsl(url.query)))
                    self._reply(
                        200, {"object": "list", "data": data, "has_more": False, "url": url.path}
                    )
                    return
                if url.path == "/v1/prices":
                    query = dict(parse_qsl(url.query))
                    keys = [v for k, v in query.items() if k.startswith("lookup_keys")]
                    data = standin.price_objects(keys)
                    self._reply(
                        200, {"object": "list", "data": data, "has_more": False, "url": url.path}
                    )
                    return
                self._reply(404, {"error": {"type": "invalid_request_error", "message": url.path}})

            def _change(self, method: str, path: str, act: Callable[[], tuple[int, Any]]) -> None:
                """A request that changes something: failed if told to, once per key."""
                key = self.headers.get("Idempotency-Key")
                with standin._lock:
                    answered = standin.idempotent_answers.get(key) if key else None
                if answered is not None:
                    self._reply(*answered)
                    return
                if standin._take_failure():
                    self._reply(500, {"error": {"type": "api_error", "message": "stand-in fault"}})
                    return
                status, body = act()
                if status == 200:
                    with standin._lock:
                        standin.changes.append((method, path))
                        if key:
                            standin.idempotent_answers[key] = (status, json.loads(json.dumps(body)))
                self._reply(status, body)

            def do_DELETE(self) -> None:
                if not self._authorised():
                    return
                path = urlsplit(self.path).path
                self._change("DELETE", path, lambda: self._delete(path))

            def _delete(self, path: str) -> tuple[int, Any]:
                path = urlsplit(self.path).path
                subscription = standin.subscriptions.get(path.rsplit("/", 1)[1])
                if not path.startswith("/v1/subscriptions/") or subscription is None:
                    return 404, {"error": {"type": "invalid_request_error"}}
                subscription["status"] = "canceled"
                return 200, subscription

            def do_POST(self) -> None:
                if not self._authorised():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                path = urlsplit(self.path).path
                if path.startswith("/v1/subscriptions/"):
                    subscription_id = path.rsplit("/", 1)[1]
                    self._change(
                        "POST",
                        path,
                        lambda: (200, standin.update_subscription(subscription_id, form)),
                    )
                    return
                if path == "/v1/checkout/sessions":
                    self._reply(200, standin.create_checkout_session(form))
                elif path == "/v1/billing_portal/sessions":
                    self._reply(200, standin.create_portal_session(form))
                else:
                    self._reply(404, {"error": {"type": "invalid_request_error", "message": path}})

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        # Polled often, so that shutdown() returns at once (at 0.5 s, the default, every test
        # with a stand-in waited half a second to stop it).
        threading.Thread(
            target=server.serve_forever, args=(0.02,), daemon=True, name="stripe-standin"
        ).start()
        return server
