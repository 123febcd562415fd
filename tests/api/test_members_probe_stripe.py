"""Probes, as an attacker, of the Stripe webhook and card subscriptions (the stand-in signs)."""

from __future__ import annotations

import copy
import time
from dataclasses import replace
from typing import Any

import stripe
from litestar import Litestar

from membership.dues import default_bands
from tests.api import test_stripe
from tests.api.helpers import events_of
from tests.api.test_stripe import (
    Client,
    admitted,
    checkout_completed,
    deliver,
    send_card_commands,
    url,
)
from tests.conftest import AppClient, app_for, running
from tradehall.clock import ManualClock
from tradehall.dev.stripe_standin import StripeStandIn
from tradehall.membership.card_subscriptions import Sent
from tradehall.settings import Settings
from tradehall.store.base import Store

# The Stripe stand-in and an app that calls it, as the Stripe tests have them.
standin = test_stripe.standin
stripe_client = test_stripe.stripe_client


def _subscription_of(fake: StripeStandIn, org: dict[str, Any]) -> dict[str, Any]:
    return next(
        s for s in fake.subscriptions.values() if s["metadata"]["organisation_id"] == org["id"]
    )


async def test_an_event_about_another_subscription_does_not_end_the_members_own(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    """A late or stray `customer.subscription.deleted` for a subscription that is not the one
    the member pays by (an earlier one, one from an abandoned checkout) must not make the
    running subscription look ended: that would allow a second checkout (charged twice) and
    leave the running one uncancelled when the member resigns (charged after leaving)."""
    org, headers, _ = await admitted(stripe_client, store, clock)
    for event in await checkout_completed(stripe_client, standin, org, headers):
        assert (await deliver(stripe_client, event)).status_code == 200
    running = _subscription_of(standin, org)
    stray = copy.deepcopy(running)
    stray.update(id="sub_stray0001", status="canceled")

    told = await deliver(stripe_client, standin.sign("customer.subscription.deleted", stray))
    assert told.status_code == 200, told.text

    again = await stripe_client.post(url(org, "/dues/checkout"), headers=headers)
    assert again.status_code == 409, again.text
    resigned = await stripe_client.post(
        url(org, "/membership/resignation"), json={"effective": "now"}, headers=headers
    )
    assert resigned.status_code == 200, resigned.text
    assert await send_card_commands(stripe_client, org) == Sent(done=2)
    assert running["status"] == "canceled"


async def test_a_second_checkout_completed_while_the_first_runs_is_parked_for_staff(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    """Two checkout sessions started before either finished (two tabs) both complete: the
    member now has two running subscriptions at Stripe. The second must not silently replace
    the first in our records (whose cancellation at resignation would then never be sent):
    it is parked for staff, who cancel one at Stripe."""
    org, headers, staff = await admitted(stripe_client, store, clock)
    started = await stripe_client.post(url(org, "/dues/checkout"), headers=headers)
    session_id = started.json()["session_id"]
    for event in standin.complete_checkout(session_id):
        assert (await deliver(stripe_client, event)).json()["outcome"] == "applied"
    first = _subscription_of(standin, org)

    completed_again, _ = standin.complete_checkout(session_id)
    answer = await deliver(stripe_client, completed_again)

    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "parked"
    parked = (await stripe_client.get("/api/v1/dues/parked-webhooks", headers=staff)).json()
    assert completed_again.event_id in [p["event_id"] for p in parked]
    resigned = await stripe_client.post(
        url(org, "/membership/resignation"), json={"effective": "now"}, headers=headers
    )
    assert resigned.status_code == 200, resigned.text
    assert await send_card_commands(stripe_client, org) == Sent(done=2)
    assert first["status"] == "canceled"


async def test_a_paid_invoice_whose_period_ends_past_the_calendar_is_parked_not_a_500(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    """An invoice line's period ending at 9999-12-31 (the largest time the webhook's schema
    takes) made the standing arithmetic overflow (a month after it is year 10000): a 500,
    which Stripe retries for three days. A period no one could mean is refused as any date
    outside 1900-2099 is (ADR 17): the event is parked for staff and nothing is recorded."""
    org, headers, staff = await admitted(stripe_client, store, clock)
    invoice = {
        "id": "in_farfuture0001",
        "metadata": {"organisation_id": org["id"]},
        "amount_paid": 15_000,
        "currency": "gbp",
        "lines": {"data": [{"period": {"end": 253_402_300_799}}]},
    }
    event = standin.sign("invoice.paid", invoice)

    answer = await deliver(stripe_client, event)

    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "parked"
    parked = (await stripe_client.get("/api/v1/dues/parked-webhooks", headers=staff)).json()
    assert event.event_id in [p["event_id"] for p in parked]
    membership = (await stripe_client.get(url(org), headers=headers)).json()["membership"]
    assert membership["paid_up_until"] is None


async def test_a_future_timestamp_hidden_behind_a_decoy_in_the_header_is_refused(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    """The future check must read the timestamp the signature was checked against. Stripe's
    library takes the first item whose key is exactly `t`; a decoy ` t=<now>` (a space before
    the key) ahead of it was read by our check alone, so a signature dated a day ahead passed
    as fresh (and could be replayed for a day past the tolerance)."""
    org, _, _ = await admitted(stripe_client, store, clock)
    obj = {"id": "sub_decoy0001", "metadata": {"organisation_id": org["id"]}, "status": "active"}
    event = standin.sign("customer.subscription.updated", obj)
    now = int(time.time())
    future = now + 86_400
    signature = stripe.WebhookSignature._compute_signature(
        f"{future}.{event.payload}", test_stripe.WEBHOOK_SECRET
    )
    header = f" t={now},t={future},v1={signature}"

    answer = await deliver(stripe_client, event, signature=header)

    assert answer.status_code == 400, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["Stripe-Signature"]


async def test_a_checkout_without_a_subscription_does_not_unlink_the_running_one(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    """A completed checkout that names the member but no subscription (a one-off payment
    session made in Stripe's dashboard with our reference) linked the customer with no
    subscription over the running one: our record of it gone, it was never cancelled when the
    member resigned. Parked for staff instead."""
    org, headers, _ = await admitted(stripe_client, store, clock)
    for event in await checkout_completed(stripe_client, standin, org, headers):
        assert (await deliver(stripe_client, event)).json()["outcome"] == "applied"
    running = _subscription_of(standin, org)
    session = {"client_reference_id": org["id"], "customer": "cus_oneoff0001", "mode": "payment"}

    answer = await deliver(stripe_client, standin.sign("checkout.session.completed", session))

    assert answer.json()["outcome"] == "parked", answer.text
    resigned = await stripe_client.post(
        url(org, "/membership/resignation"), json={"effective": "now"}, headers=headers
    )
    assert resigned.status_code == 200, resigned.text
    assert await send_card_commands(stripe_client, org) == Sent(done=2)
    assert running["status"] == "canceled"


async def test_stripe_not_answering_is_a_503_to_retry_not_a_500(
    settings: Settings, store: Store, clock: ManualClock, built_app: Litestar
) -> None:
    """Starting a checkout or opening the portal calls Stripe; Stripe unreachable (or answering
    5xx) was a 500 "the server failed". It is Stripe's outage, not a fault here: 503 with
    Retry-After, as problem details, and nothing recorded."""
    prices = {band.price_reference: (band.annual_due.minor, "GBP") for band in default_bands()}
    gone = StripeStandIn(
        test_stripe.SECRET_KEY, test_stripe.WEBHOOK_SECRET, prices, now=lambda: 0.0
    )
    server = gone.serve()
    base_url = gone.base_url
    server.shutdown()
    server.server_close()  # nothing listens there now
    down = replace(
        settings,
        stripe_secret_key=test_stripe.SECRET_KEY,
        stripe_webhook_secret=test_stripe.WEBHOOK_SECRET,
        stripe_api_base=base_url,
        card_commands_interval_seconds=0,
    )
    app = app_for(built_app, down, clock=clock, store=store)
    async with running(app), AppClient(app) as http:
        org, headers, _ = await admitted(http, store, clock)
        before = len(events_of(http, org["id"]))

        answer = await http.post(url(org, "/dues/checkout"), headers=headers)

        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert int(answer.headers["retry-after"]) > 0
        assert "Stripe" in answer.json()["detail"]
        assert len(events_of(http, org["id"])) == before
