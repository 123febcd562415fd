"""`tradehall serve --demo` pays through the Stripe stand-in, so the whole flow can be tried.

Clearly not Stripe: its pages say so, its keys say so, and start-up logs it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

import httpx

from membership.dues import default_bands
from tradehall.dev.stripe_standin import SignedEvent, StripeStandIn
from tradehall.settings import Settings

_log = logging.getLogger("tradehall.payments")
STANDIN_SECRET_KEY = "sk_test_standin_demo_not_stripe"  # noqa: S105 (a stand-in's demo key)
STANDIN_WEBHOOK_SECRET = "whsec_standin_demo_not_stripe"  # noqa: S105


def with_stripe_standin(settings: Settings, host: str, port: int) -> Settings:
    """Start the stand-in and point the settings at it; its webhooks come back to this app."""
    prices = {band.price_reference: (band.annual_due.minor, "GBP") for band in default_bands()}
    standin = StripeStandIn(STANDIN_SECRET_KEY, STANDIN_WEBHOOK_SECRET, prices)
    webhook_url = f"http://{host}:{port}/api/v1/webhooks/stripe"

    def deliver(event: SignedEvent) -> None:
        def send() -> None:
            try:
                httpx.post(
                    webhook_url,
                    content=event.payload,
                    headers={
                        "stripe-signature": event.signature,
                        "content-type": "application/json",
                    },
                    timeout=10,
                )
            except httpx.HTTPError:
                _log.exception("stand-in webhook %s not delivered", event.event_id)

        threading.Thread(target=send, daemon=True).start()

    standin.serve(deliver)
    _log.warning(
        "Stripe stand-in (NOT Stripe) at %s: card payments are simulated", standin.base_url
    )
    return replace(
        settings,
        stripe_secret_key=STANDIN_SECRET_KEY,
        stripe_webhook_secret=STANDIN_WEBHOOK_SECRET,
        stripe_api_base=standin.base_url,
        public_url=f"http://{host}:{port}",
    )
