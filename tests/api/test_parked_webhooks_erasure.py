"""Parked Stripe events hold people's names and e-mail addresses (ADRs 4 and 13): erasing an
organisation's personal data reaches the events parked about it; past their retention (at the
clock's tick, by the injected clock) events staff resolved are deleted and events still waiting
are cut to what we read.

The clock's purge reaches every parked row in the database, and another test's clock ticking
months on would cut this file's rows: on PostgreSQL each test has a database of its own."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.api import test_stripe
from tests.api.helpers import events_of, services_of
from tests.api.test_stripe import Client, admitted, deliver, url
from tradehall.clock import ManualClock
from tradehall.dev.stripe_standin import SignedEvent, StripeStandIn
from tradehall.membership.card_payments import organisation_of, parse_event
from tradehall.membership.clock_jobs import clock_tick
from tradehall.membership.parked_webhooks import purge_parked_webhooks
from tradehall.payments.tables import parked_webhooks
from tradehall.settings import Settings, SettingsError
from tradehall.store.base import Store

standin = test_stripe.standin
stripe_client = test_stripe.stripe_client

pytestmark = pytest.mark.own_database

_invoices = itertools.count(1)
PERSON = {"customer_name": "Jane Doe", "customer_email": "jane.doe@example.org"}


def invoice(standin: StripeStandIn, event_type: str, organisation_id: str | None) -> SignedEvent:
    """An invoice event as Stripe sends it, naming a person; in dollars (dues are in pounds,
    so one naming a member is refused and parked), or naming no organisation at all."""
    metadata = {"note": "ring Jane on 07700 900123"}
    if organisation_id is not None:
        metadata["organisation_id"] = organisation_id
    obj: dict[str, Any] = {
        "id": f"in_parked{next(_invoices)}",
        "object": "invoice",
        "amount_paid": 6_000,
        "currency": "usd",
        "metadata": metadata,
        "customer_address": {"line1": "1 Acacia Avenue"},
        **PERSON,
    }
    return standin.sign(event_type, obj)


async def parked(client: Client) -> dict[str, Any]:
    async with services_of(client).engine.connect() as connection:
        rows = (await connection.execute(select(parked_webhooks))).all()
    return {row.event_id: row for row in rows}


async def park(client: Client, event: SignedEvent) -> None:
    answer = await deliver(client, event)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "parked"


async def resolve(client: Client, staff: dict[str, str], event: SignedEvent, **body: Any) -> None:
    answer = await client.post(
        f"/api/v1/dues/parked-webhooks/{event.event_id}/resolution", json=body, headers=staff
    )
    assert answer.status_code == 200, answer.text


async def test_erasing_an_organisations_data_reaches_the_events_parked_about_it(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, staff = await admitted(stripe_client, store, clock)
    other, _, _ = await admitted(stripe_client, store, clock)
    waiting = invoice(standin, "invoice.paid", org["id"])  # refused: parked naming it
    before_0031 = invoice(standin, "invoice.paid", org["id"])  # parked before rows said whose
    applied = invoice(standin, "invoice.payment_failed", None)  # names nobody; staff apply it
    dismissed = invoice(standin, "invoice.payment_failed", None)
    others = invoice(standin, "invoice.paid", other["id"])
    for event in [waiting, before_0031, applied, dismissed, others]:
        await park(stripe_client, event)
    await resolve(stripe_client, staff, applied, action="apply", organisation_id=org["id"])
    await resolve(stripe_client, staff, dismissed, action="dismiss", organisation_id=org["id"])
    async with services_of(stripe_client).engine.begin() as connection:
        await connection.execute(
            update(parked_webhooks)
            .where(parked_webhooks.c.event_id == before_0031.event_id)
            .values(organisation_id=None)
        )

    erased = await stripe_client.delete(url(org, "/contact-points"), headers=headers)

    assert erased.status_code == 204, erased.text
    rows = await parked(stripe_client)
    # Resolved: deleted. Still waiting for staff: cut to what we read, still applicable.
    assert applied.event_id not in rows
    assert dismissed.event_id not in rows
    for event in [waiting, before_0031]:
        payload = rows[event.event_id].payload
        for word in ["Jane", "jane.doe", "Acacia", "07700"]:
            assert word not in payload
        obj = parse_event(json.loads(payload)).object
        assert obj is not None
        assert str(organisation_of(obj)) == org["id"]  # type: ignore[arg-type]
        assert rows[event.event_id].resolved_at is None
    # Another organisation's event is not touched.
    assert rows[others.event_id].payload == others.payload
    # Erasing again finds nothing more to take out.
    again = await stripe_client.delete(url(org, "/contact-points"), headers=headers)
    assert again.status_code == 204
    assert (await parked(stripe_client))[waiting.event_id].payload == rows[waiting.event_id].payload


def holds_a_person(payload: str) -> bool:
    return any(word in payload for word in ["Jane", "jane.doe", "Acacia", "07700"])


async def test_parked_events_past_their_retention_are_deleted_or_cut_to_what_we_read(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, _, staff = await admitted(stripe_client, store, clock)
    services = services_of(stripe_client)
    retention = timedelta(days=services.settings.parked_webhook_retention_days)
    dismissed = invoice(standin, "invoice.payment_failed", None)
    waiting = invoice(standin, "invoice.payment_failed", None)  # names nobody: no erasure
    naming = invoice(standin, "invoice.paid", org["id"])  # refused (dollars): parked naming it
    for event in [dismissed, waiting, naming]:
        await park(stripe_client, event)
    await resolve(stripe_client, staff, dismissed, action="dismiss")
    later = invoice(standin, "invoice.payment_failed", None)

    clock.advance(retention)
    await park(stripe_client, later)
    await resolve(stripe_client, staff, later, action="dismiss")
    fresh = invoice(standin, "invoice.payment_failed", None)
    await park(stripe_client, fresh)
    await clock_tick(services)
    rows = await parked(stripe_client)
    assert {dismissed.event_id, waiting.event_id, later.event_id} <= set(rows)
    assert rows[waiting.event_id].payload == waiting.payload

    clock.advance(timedelta(seconds=1))
    await clock_tick(services)
    rows = await parked(stripe_client)
    # Resolved past the retention: deleted; resolved since: kept.
    assert dismissed.event_id not in rows
    assert rows[later.event_id].payload == later.payload
    # Waiting past the retention: cut to what we read, naming nobody, still waiting.
    for event in [waiting, naming]:
        assert not holds_a_person(rows[event.event_id].payload)
        assert json.loads(rows[event.event_id].payload)["id"] == event.event_id
        assert rows[event.event_id].resolved_at is None
    obj = parse_event(json.loads(rows[naming.event_id].payload)).object
    assert str(organisation_of(obj)) == org["id"]  # type: ignore[arg-type]
    # Waiting, not yet past it: whole.
    assert rows[fresh.event_id].payload == fresh.payload
    # Purged again: nothing more to take out.
    days = services.settings.parked_webhook_retention_days
    assert await purge_parked_webhooks(services.engine, clock.now(), days) == 0
    assert {e: r.payload for e, r in (await parked(stripe_client)).items()} == {
        e: r.payload for e, r in rows.items()
    }
    # Staff still see it and can act on it.
    listed = await stripe_client.get("/api/v1/dues/parked-webhooks", headers=staff)
    assert {waiting.event_id, naming.event_id} <= {row["event_id"] for row in listed.json()}
    await resolve(stripe_client, staff, waiting, action="apply", organisation_id=org["id"])
    events = [type(e).__name__ for e in events_of(stripe_client, org["id"])]
    assert "PaymentFailed" in events


def test_the_retention_is_a_whole_number_of_days_up_to_ten_years() -> None:
    assert Settings.from_env({}).parked_webhook_retention_days == 90
    env = {"TRADEHALL_PARKED_WEBHOOK_RETENTION_DAYS": "30"}
    assert Settings.from_env(env).parked_webhook_retention_days == 30
    for bad in ["0", "-1", "3651", "ninety"]:
        with pytest.raises(SettingsError, match="PARKED_WEBHOOK_RETENTION_DAYS"):
            Settings.from_env({"TRADEHALL_PARKED_WEBHOOK_RETENTION_DAYS": bad})
