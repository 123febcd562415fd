"""Dues by Stripe, against a local stand-in that speaks its API and signs its webhooks."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
import stripe
from litestar import Litestar

from membership.dues import default_bands
from tests.api.conftest import add_user
from tests.api.helpers import APPLICATION, event_count, events_of, register, services_of, token
from tests.conftest import AppClient, app_for, running
from tradehall.clock import ManualClock
from tradehall.dev.stripe_standin import SignedEvent, StripeStandIn
from tradehall.identity.users import Role
from tradehall.membership.card_subscriptions import CardSubscriptionSender, Sent, sender_for
from tradehall.membership.clock_jobs import clock_tick
from tradehall.settings import Settings
from tradehall.store.base import Store

Client = AppClient
SECRET_KEY = "sk_test_standin_0123456789"
WEBHOOK_SECRET = "whsec_standin_0123456789"


@pytest.fixture
def standin(clock: ManualClock) -> Iterator[StripeStandIn]:
    prices = {band.price_reference: (band.annual_due.minor, "GBP") for band in default_bands()}
    fake = StripeStandIn(SECRET_KEY, WEBHOOK_SECRET, prices, now=lambda: clock.now().timestamp())
    server = fake.serve()
    yield fake
    server.shutdown()


@pytest.fixture
async def stripe_client(
    settings: Settings,
    store: Store,
    clock: ManualClock,
    standin: StripeStandIn,
    built_app: Litestar,
) -> AsyncIterator[AppClient]:
    with_stripe = replace(
        settings,
        stripe_secret_key=SECRET_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=standin.base_url,
        card_commands_interval_seconds=0,  # the tests send the commands themselves
    )
    app = app_for(built_app, with_stripe, clock=clock, store=store)
    async with running(app), AppClient(app) as http:
        yield http


async def deliver(client: Client, event: SignedEvent, signature: str | None = None) -> Any:
    headers = {"content-type": "application/json"}
    if signature is not None or event.signature:
        headers["stripe-signature"] = signature if signature is not None else event.signature
    return await client.post("/api/v1/webhooks/stripe", content=event.payload, headers=headers)


def card_sender(client: Client) -> CardSubscriptionSender:
    sender = sender_for(services_of(client))
    assert sender is not None
    return sender


async def send_card_commands(client: Client, org: dict[str, Any]) -> Sent:
    """What the API's workers do: the projector records the commands, the sender sends them
    (this organisation's: the tests of a run share one PostgreSQL database)."""
    services = services_of(client)
    await services.run(services.readside.projector.catch_up)
    return await card_sender(client).send_due(UUID(org["id"]))


def url(org: dict[str, Any], action: str = "") -> str:
    return f"/api/v1/organisations/{org['id']}{action}"


async def admitted(
    client: Client, store: Store, clock: ManualClock
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    _, staff_email = add_user(store, clock, frozenset({Role.STAFF}))
    staff = await token(client, staff_email)
    org = await register(client)
    headers = await token(client, org["email"])
    await client.post(url(org, "/membership/application"), json=APPLICATION, headers=headers)
    done = await client.post(url(org, "/membership/admission"), headers=staff)
    assert done.status_code == 200, done.text
    return org, headers, staff


async def membership_of(client: Client, org: dict[str, Any], headers: dict[str, str]) -> Any:
    return (await client.get(url(org), headers=headers)).json()["membership"]


async def checkout_completed(
    client: Client, standin: StripeStandIn, org: dict[str, Any], headers: dict[str, str]
) -> list[SignedEvent]:
    started = await client.post(url(org, "/dues/checkout"), headers=headers)
    assert started.status_code == 201, started.text
    assert started.json()["url"].startswith(standin.base_url)
    return standin.complete_checkout(started.json()["session_id"])


async def test_paying_by_checkout_makes_a_new_member_once_however_often_stripe_tells_us(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, _ = await admitted(stripe_client, store, clock)
    events = await checkout_completed(stripe_client, standin, org, headers)

    answers = [await deliver(stripe_client, event) for event in events]
    after_first = len(events_of(stripe_client, org["id"]))
    replays = [await deliver(stripe_client, event) for event in events]

    assert [a.json()["outcome"] for a in answers] == ["applied", "applied"]
    assert [r.json()["outcome"] for r in replays] == ["duplicate", "duplicate"]
    assert len(events_of(stripe_client, org["id"])) == after_first
    membership = await membership_of(stripe_client, org, headers)
    assert membership["status"] == "new"
    period_end = standin.subscriptions[next(iter(standin.subscriptions))]["items"]["data"][0]
    assert (
        datetime.fromisoformat(membership["paid_up_until"]).timestamp()
        == period_end["current_period_end"]
    )
    ledger = (await stripe_client.get(url(org, "/dues/ledger"), headers=headers)).json()
    assert ledger["balance"]["amount_minor"] == 0
    portal = await stripe_client.post(url(org, "/dues/portal"), headers=headers)
    assert portal.status_code == 201
    assert portal.json()["url"].startswith(standin.base_url)


async def test_events_out_of_order_end_in_the_same_state(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, _ = await admitted(stripe_client, store, clock)
    completed, paid = await checkout_completed(stripe_client, standin, org, headers)

    first = await deliver(stripe_client, paid)
    second = await deliver(stripe_client, completed)

    assert first.json()["outcome"] == second.json()["outcome"] == "applied"
    assert (await membership_of(stripe_client, org, headers))["status"] == "new"
    kinds = [type(e).__name__ for e in events_of(stripe_client, org["id"])]
    assert "PaymentProcessorLinked" in kinds


@pytest.mark.parametrize("fault", ["wrong secret", "stale", "future", "missing", "tampered"])
async def test_a_bad_signature_is_refused_and_records_nothing(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock, fault: str
) -> None:
    org, headers, _ = await admitted(stripe_client, store, clock)
    _, paid = await checkout_completed(stripe_client, standin, org, headers)
    before = len(events_of(stripe_client, org["id"]))
    now = int(time.time())

    signature = {
        "wrong secret": stripe.WebhookSignature.generate_signature_header(
            paid.payload, "whsec_someone_else", timestamp=now
        ),
        "stale": stripe.WebhookSignature.generate_signature_header(
            paid.payload, WEBHOOK_SECRET, timestamp=now - 600
        ),
        "future": stripe.WebhookSignature.generate_signature_header(
            paid.payload, WEBHOOK_SECRET, timestamp=now + 600
        ),
        "missing": "",
        "tampered": paid.signature,
    }[fault]
    event = paid
    if fault == "tampered":
        event = SignedEvent(
            paid.event_id, paid.event_type, paid.payload.replace("15000", "99999"), paid.signature
        )
    if fault == "missing":
        event = SignedEvent(paid.event_id, paid.event_type, paid.payload, "")

    answer = await deliver(stripe_client, event, signature=signature if signature else None)

    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert len(events_of(stripe_client, org["id"])) == before


async def test_an_event_for_no_organisation_is_answered_200_and_parked_for_staff(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    _, _, staff = await admitted(stripe_client, store, clock)
    stray = standin.sign(
        "invoice.paid",
        {
            "id": "in_stray",
            "object": "invoice",
            "amount_paid": 100,
            "currency": "gbp",
            "metadata": {},
            "parent": None,
            "lines": {"data": []},
        },
    )

    answer = await deliver(stripe_client, stray)
    again = await deliver(stripe_client, stray)

    assert answer.status_code == 200
    assert answer.json()["outcome"] == "parked"
    assert again.status_code == 200
    parked = (await stripe_client.get("/api/v1/dues/parked-webhooks", headers=staff)).json()
    assert [p["event_id"] for p in parked].count(stray.event_id) == 1


async def test_card_payments_off_without_keys(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org = await register(client)
    headers = await token(client, org["email"])
    checkout = await client.post(url(org, "/dues/checkout"), headers=headers)
    webhook = await client.post("/api/v1/webhooks/stripe", content=b"{}")
    assert checkout.status_code == 409
    assert webhook.status_code == 404


@pytest.mark.own_database  # its clock ticks a year on: not over the shared database's members
async def test_join_pay_by_checkout_and_live_a_year_with_a_failed_renewal(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    """The issue's scenario: join, admitted, Checkout, new, current, a year, renewal notice,
    payment fails (notice only), period ends, grace, lapse, pays, current again."""
    joined = clock.now()
    org, headers, _ = await admitted(stripe_client, store, clock)
    for event in await checkout_completed(stripe_client, standin, org, headers):
        await deliver(stripe_client, event)
    services = services_of(stripe_client)

    async def tick() -> None:
        await services.run(services.readside.projector.catch_up)
        await clock_tick(services)

    seen: dict[str, datetime] = {"new": clock.now() + timedelta(hours=1)}
    clock.advance(timedelta(days=120))
    await tick()
    assert (await membership_of(stripe_client, org, headers))["status"] == "current"
    seen["current"] = clock.now()

    clock.set(joined + timedelta(days=345))
    await tick()
    assert "RenewalDue" in [type(e).__name__ for e in events_of(stripe_client, org["id"])]

    subscription_id = next(iter(standin.subscriptions))
    [failed] = standin.renew(subscription_id, paid=False)
    answer = await deliver(stripe_client, failed)
    assert answer.json()["outcome"] == "applied"
    assert (await membership_of(stripe_client, org, headers))["status"] == "current"
    assert "PaymentFailed" in [type(e).__name__ for e in events_of(stripe_client, org["id"])]

    clock.set(joined + timedelta(days=370))
    await tick()
    assert (await membership_of(stripe_client, org, headers))["status"] == "grace"
    seen["grace"] = clock.now()
    clock.advance(timedelta(days=40))
    await tick()
    assert (await membership_of(stripe_client, org, headers))["status"] == "lapsed"
    seen["lapsed"] = clock.now()

    clock.advance(timedelta(days=1))
    [paid] = standin.renew(subscription_id, paid=True)
    assert (await deliver(stripe_client, paid)).json()["outcome"] == "applied"
    assert (await membership_of(stripe_client, org, headers))["status"] == "current"

    for expected, moment in seen.items():
        history = await stripe_client.get(
            url(org, "/membership/history"), params={"as_at": moment.isoformat()}, headers=headers
        )
        assert history.json()["standing"]["status"] == expected, (expected, moment)


async def test_a_new_turnover_changes_the_subscriptions_price_from_the_next_period(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    joined = clock.now()
    org, headers, _ = await admitted(stripe_client, store, clock)
    for event in await checkout_completed(stripe_client, standin, org, headers):
        await deliver(stripe_client, event)
    subscription = next(
        s for s in standin.subscriptions.values() if s["metadata"]["organisation_id"] == org["id"]
    )
    assert subscription["items"]["data"][0]["price"]["lookup_key"] == "dues_small"
    clock.set(joined + timedelta(days=350))  # the renewal window

    declared = await stripe_client.post(
        url(org, "/membership/turnover"),
        json={"annual_turnover": {"amount_minor": 4_000_000, "currency": "GBP"}},
        headers=headers,
    )

    assert declared.status_code == 200, declared.text
    assert subscription["items"]["data"][0]["price"]["lookup_key"] == "dues_small"  # not yet
    # The turnover the application declared asks for a repricing too: both go to the band due.
    assert await send_card_commands(stripe_client, org) == Sent(done=2)
    assert subscription["items"]["data"][0]["price"]["lookup_key"] == "dues_micro"
    [renewed] = standin.renew(subscription["id"], paid=True)
    assert '"amount_paid": 6000' in renewed.payload


async def test_a_renewal_paid_before_the_clock_ticks_is_invoiced_not_left_as_credit(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    """Stripe charges at period end, usually before our hourly tick: the year it paid for is
    invoiced then, so a later failed renewal still leads to grace."""
    joined = clock.now()
    org, headers, _ = await admitted(stripe_client, store, clock)
    for event in await checkout_completed(stripe_client, standin, org, headers):
        await deliver(stripe_client, event)
    subscription_id = next(
        s["id"]
        for s in standin.subscriptions.values()
        if s["metadata"]["organisation_id"] == org["id"]
    )
    clock.set(joined + timedelta(days=366))
    [renewal] = standin.renew(subscription_id, paid=True)
    assert (await deliver(stripe_client, renewal)).json()["outcome"] == "applied"
    services = services_of(stripe_client)
    await services.run(services.readside.projector.catch_up)
    await clock_tick(services)
    ledger = (await stripe_client.get(url(org, "/dues/ledger"), headers=headers)).json()
    assert [e["kind"] for e in ledger["entries"]].count("invoice") == 2
    assert ledger["balance"]["amount_minor"] == 0

    clock.set(joined + timedelta(days=2 * 366 + 1))
    [failed] = standin.renew(subscription_id, paid=False)
    await deliver(stripe_client, failed)
    await services.run(services.readside.projector.catch_up)
    await clock_tick(services)
    assert (await membership_of(stripe_client, org, headers))["status"] == "grace"


async def test_a_second_checkout_is_refused_while_a_subscription_runs(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, _ = await admitted(stripe_client, store, clock)
    for event in await checkout_completed(stripe_client, standin, org, headers):
        await deliver(stripe_client, event)

    again = await stripe_client.post(url(org, "/dues/checkout"), headers=headers)

    assert again.status_code == 409
    assert "Customer Portal" in again.json()["detail"]


async def test_a_twin_delivery_at_the_same_moment_is_applied_once(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    import asyncio

    org, headers, _ = await admitted(stripe_client, store, clock)
    completed, paid = await checkout_completed(stripe_client, standin, org, headers)

    answers = await asyncio.gather(
        deliver(stripe_client, completed),
        deliver(stripe_client, paid),
        deliver(stripe_client, paid),
    )

    outcomes = sorted(a.json()["outcome"] for a in answers)
    assert outcomes == ["applied", "applied", "duplicate"], [a.text for a in answers]
    payments = [
        e for e in events_of(stripe_client, org["id"]) if type(e).__name__ == "PaymentRecorded"
    ]
    assert len(payments) == 1


async def test_staff_apply_a_parked_event_to_the_organisation_it_was_for(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, staff = await admitted(stripe_client, store, clock)
    _, paid = await checkout_completed(stripe_client, standin, org, headers)
    # The same payment, as if our metadata had been lost on the way.
    body = json.loads(paid.payload)["data"]["object"]
    body["parent"] = None
    stray = standin.sign("invoice.paid", body)
    assert (await deliver(stripe_client, stray)).json()["outcome"] == "parked"

    resolution = f"/api/v1/dues/parked-webhooks/{stray.event_id}/resolution"
    applied = await stripe_client.post(
        resolution, json={"action": "apply", "organisation_id": org["id"]}, headers=staff
    )
    again = await stripe_client.post(resolution, json={"action": "dismiss"}, headers=staff)

    assert applied.status_code == 200, applied.text
    assert applied.json()["outcome"] == "applied"
    assert again.status_code == 404
    assert (await membership_of(stripe_client, org, headers))["status"] == "new"
    parked = (await stripe_client.get("/api/v1/dues/parked-webhooks", headers=staff)).json()
    assert stray.event_id not in [p["event_id"] for p in parked]


@pytest.mark.parametrize("leaving", ["resign at period end", "resign now", "expelled"])
async def test_a_member_who_leaves_stops_paying_by_card(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock, leaving: str
) -> None:
    org, headers, staff = await admitted(stripe_client, store, clock)
    for event in await checkout_completed(stripe_client, standin, org, headers):
        await deliver(stripe_client, event)
    subscription = next(
        s for s in standin.subscriptions.values() if s["metadata"]["organisation_id"] == org["id"]
    )

    if leaving == "expelled":
        done = await stripe_client.post(
            url(org, "/membership/expulsion"), json={"reason": "fraud"}, headers=staff
        )
    else:
        effective = "period_end" if leaving.endswith("period end") else "now"
        done = await stripe_client.post(
            url(org, "/membership/resignation"), json={"effective": effective}, headers=headers
        )

    assert done.status_code == 200, done.text
    assert subscription["status"] == "active"  # no call to Stripe after the save
    # The repricing the application's turnover asked for, then the cancelling.
    assert await send_card_commands(stripe_client, org) == Sent(done=2)
    if leaving == "resign at period end":
        assert subscription["cancel_at_period_end"] is True
        assert subscription["status"] == "active"
    else:
        assert subscription["status"] == "canceled"


# An invoice is credited once, whatever the event id ------------------------------------------


def payments(ledger: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in ledger["entries"] if e["kind"] == "payment"]


async def ledger_of(client: Client, org: dict[str, Any], headers: dict[str, str]) -> Any:
    response = await client.get(url(org, "/dues/ledger"), headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_invoice_told_again_under_a_new_event_id_is_credited_once(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, _ = await admitted(stripe_client, store, clock)
    completed, paid = await checkout_completed(stripe_client, standin, org, headers)
    for event in (completed, paid):
        assert (await deliver(stripe_client, event)).json()["outcome"] == "applied"
    before = event_count(stripe_client, "")
    invoice = json.loads(paid.payload)["data"]["object"]

    again = await deliver(stripe_client, standin.sign("invoice.paid", invoice))

    assert again.status_code == 200, again.text
    assert again.json()["outcome"] == "duplicate"
    assert event_count(stripe_client, "") == before  # nothing recorded, not even a claim
    assert len(payments(await ledger_of(stripe_client, org, headers))) == 1


async def test_an_invoice_credited_to_one_member_is_not_credited_to_another(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    """The same invoice under a new event id naming another organisation (its metadata edited
    in Stripe's dashboard, say): two payments from one invoice before; now parked for staff."""
    org, headers, staff = await admitted(stripe_client, store, clock)
    other, other_headers, _ = await admitted(stripe_client, store, clock)
    _, paid = await checkout_completed(stripe_client, standin, org, headers)
    assert (await deliver(stripe_client, paid)).json()["outcome"] == "applied"
    invoice = json.loads(paid.payload)["data"]["object"]
    invoice["parent"]["subscription_details"]["metadata"] = {"organisation_id": other["id"]}
    other_events = len(events_of(stripe_client, other["id"]))

    elsewhere = standin.sign("invoice.paid", invoice)
    answer = await deliver(stripe_client, elsewhere)

    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "parked"
    assert payments(await ledger_of(stripe_client, other, other_headers)) == []
    assert len(events_of(stripe_client, other["id"])) == other_events
    parked = (await stripe_client.get("/api/v1/dues/parked-webhooks", headers=staff)).json()
    [reason] = [p["reason"] for p in parked if p["event_id"] == elsewhere.event_id]
    assert invoice["id"] in reason
    assert org["id"] in reason
    # Staff applying it to that organisation anyway are refused as well.
    resolution = f"/api/v1/dues/parked-webhooks/{elsewhere.event_id}/resolution"
    applied = await stripe_client.post(
        resolution, json={"action": "apply", "organisation_id": other["id"]}, headers=staff
    )
    assert applied.status_code == 409, applied.text
    assert payments(await ledger_of(stripe_client, other, other_headers)) == []
    assert len(payments(await ledger_of(stripe_client, org, headers))) == 1


# Garbage is a 4xx and records nothing ---------------------------------------------------------


def signed(body: bytes | str, timestamp: int | None = None) -> tuple[bytes, str]:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    header = stripe.WebhookSignature.generate_signature_header(
        text, WEBHOOK_SECRET, timestamp=timestamp or int(time.time())
    )
    return (body if isinstance(body, bytes) else body.encode()), header


def event_with(obj: Any, **envelope: Any) -> str:
    event = {"id": "evt_garbage_1", "type": "invoice.paid", "data": {"object": obj}} | envelope
    return json.dumps(event)


def garbage(invoice: dict[str, Any]) -> dict[str, tuple[bytes, str]]:
    """Each way a body or its signature can be wrong, as (body, Stripe-Signature)."""

    def with_invoice(**changes: Any) -> tuple[bytes, str]:
        return signed(event_with(invoice | changes))

    good_body, good_header = signed(event_with(invoice))
    latin1 = json.dumps(
        {
            "id": "evt_latin",
            "type": "invoice.paid",
            "data": {"object": invoice | {"number": "n\u00e9"}},
        },
        ensure_ascii=False,
    ).encode("latin-1")
    return {
        "body not utf-8": (b"\xff\xfe{\x00\x9c}", good_header),
        "body latin-1": signed(latin1),
        "invoice number not plain": with_invoice(number="caf\u00e9\u0000"),
        "header garbage": (good_body, "garbage"),
        "header without timestamp": (good_body, "v1=abc"),
        "header timestamp not a number": (good_body, "t=\u00b2,v1=abc"),
        "header timestamp huge": (good_body, "t=" + "9" * 400 + ",v1=abc"),
        "header other scheme": (good_body, good_header.replace("v1=", "v0=")),
        "not json": signed("this is not json"),
        "json nested deep": signed("[" * 5000 + "]" * 5000),
        "json array": signed("[1, 2]"),
        "json string": signed('"evt"'),
        "json null": signed("null"),
        "json huge number": signed('{"id": 1' + "0" * 5000 + "}"),
        "no id": signed(json.dumps({"type": "invoice.paid", "data": {"object": invoice}})),
        "id not text": signed(event_with(invoice, id=42)),
        "id with a nul": signed(event_with(invoice, id="evt_\u0000x")),
        "no data": signed(json.dumps({"id": "evt_x", "type": "invoice.paid"})),
        "data not an object": signed(event_with(invoice, data=[1])),
        "object not an object": signed(event_with([invoice])),
        "no type": signed(json.dumps({"id": "evt_x", "data": {"object": invoice}})),
        "invoice without id": signed(event_with({k: v for k, v in invoice.items() if k != "id"})),
        "invoice id with a bidi override": with_invoice(id="in_\u202eabc"),
        "amount not a number": with_invoice(amount_paid="a lot"),
        "amount negative": with_invoice(amount_paid=-15000),
        "currency not a code": with_invoice(currency="pounds sterling"),
        "lines a list": with_invoice(lines=[1]),
        "line not an object": with_invoice(lines={"data": ["line"]}),
        "period end out of range": with_invoice(lines={"data": [{"period": {"end": 10**15}}]}),
        "paid at not a time": with_invoice(status_transitions={"paid_at": "yesterday"}),
        "paid at out of range": with_invoice(status_transitions={"paid_at": -(10**12)}),
        "parent not an object": with_invoice(parent="sub_1"),
        "subscription without id": signed(
            event_with({"status": "active"}, type="customer.subscription.updated")
        ),
        "subscription status a number": signed(
            event_with({"id": "sub_1", "status": 3}, type="customer.subscription.updated")
        ),
    }


async def test_a_malformed_webhook_is_a_4xx_problem_and_records_nothing(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, staff = await admitted(stripe_client, store, clock)
    _, paid = await checkout_completed(stripe_client, standin, org, headers)
    invoice = json.loads(paid.payload)["data"]["object"]
    before = event_count(stripe_client, "")
    parked_before = (await stripe_client.get("/api/v1/dues/parked-webhooks", headers=staff)).json()

    answers = {}
    for fault, (body, header) in garbage(invoice).items():
        answers[fault] = await stripe_client.post(
            "/api/v1/webhooks/stripe",
            content=body,
            # As a server receives it: bytes, which it reads as Latin-1.
            headers={"content-type": "application/json", "stripe-signature": header.encode()},
        )

    wrong = {
        fault: (answer.status_code, answer.text[:200])
        for fault, answer in answers.items()
        if not 400 <= answer.status_code < 500
        or not answer.headers["content-type"].startswith("application/problem+json")
    }
    assert wrong == {}
    assert event_count(stripe_client, "") == before
    parked = (await stripe_client.get("/api/v1/dues/parked-webhooks", headers=staff)).json()
    assert parked == parked_before


async def test_a_stripe_payment_paid_at_before_the_registration_counts_from_it(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, _ = await admitted(stripe_client, store, clock)
    _, paid = await checkout_completed(stripe_client, standin, org, headers)
    invoice = json.loads(paid.payload)["data"]["object"]
    invoice["status_transitions"]["paid_at"] = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp())

    answer = await deliver(stripe_client, standin.sign("invoice.paid", invoice))

    assert answer.json()["outcome"] == "applied"
    events = events_of(stripe_client, org["id"])
    registered = events[0].effective_at
    [payment] = [e for e in events if type(e).__name__ == "PaymentRecorded"]
    assert payment.effective_at == registered
    then = await stripe_client.get(
        url(org, "/membership/history"), params={"as_at": "2021-06-30"}, headers=headers
    )
    now = await stripe_client.get(
        url(org, "/membership/history"),
        params={"as_at": clock.now().isoformat()},
        headers=headers,
    )
    assert then.status_code == now.status_code == 200, (then.text, now.text)
    assert then.json()["standing"] is None
    assert now.json()["standing"]["status"] == "new"
