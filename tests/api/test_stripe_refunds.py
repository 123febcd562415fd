"""Refunds made in Stripe's dashboard reach the dues ledger: told by `refund.created` and
`refund.updated` (signed by the stand-in as Stripe signs), recorded once per refund id, within
what the refunded payment brought in; a refund of a payment we never recorded is parked."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from decimal import Decimal
from typing import Any

import pytest

from tests.api import test_stripe
from tests.api.helpers import events_of
from tests.api.test_stripe import Client, admitted, checkout_completed, deliver, url
from tradehall.clock import ManualClock
from tradehall.dev.stripe_standin import SignedEvent, StripeStandIn
from tradehall.store.base import Store

# The Stripe stand-in and an app that calls it, as the Stripe tests have them.
standin = test_stripe.standin
stripe_client = test_stripe.stripe_client


async def paid_by_card(
    client: Client, fake: StripeStandIn, store: Store, clock: ManualClock
) -> tuple[dict[str, Any], dict[str, str], dict[str, str], str, int]:
    """A member who paid its first year by Checkout: its invoice's id and amount."""
    org, headers, staff = await admitted(client, store, clock)
    events = await checkout_completed(client, fake, org, headers)
    for event in events:
        assert (await deliver(client, event)).json()["outcome"] == "applied"
    invoice = next(
        json.loads(e.payload)["data"]["object"] for e in events if e.event_type == "invoice.paid"
    )
    return org, headers, staff, invoice["id"], invoice["amount_paid"]


async def ledger_of(client: Client, org: dict[str, Any], headers: dict[str, str]) -> Any:
    answer = await client.get(url(org, "/dues/ledger"), headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def refunds_in(ledger: Any) -> list[tuple[str, int]]:
    return [
        (e["id"], e["amount"]["amount_minor"]) for e in ledger["entries"] if e["kind"] == "refund"
    ]


def refund_id_of(events: list[SignedEvent]) -> str:
    created = next(e for e in events if e.event_type.startswith("refund."))
    return str(json.loads(created.payload)["data"]["object"]["id"])


async def outcomes(client: Client, events: list[SignedEvent]) -> list[str]:
    answers = [await deliver(client, event) for event in events]
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    return [a.json()["outcome"] for a in answers]


async def parked_ids(client: Client, staff: dict[str, str]) -> set[str]:
    answer = await client.get("/api/v1/dues/parked-webhooks", headers=staff)
    assert answer.status_code == 200, answer.text
    return {row["event_id"] for row in answer.json()}


async def test_a_refund_made_in_stripes_dashboard_is_recorded_once_however_often_told(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, _, invoice_id, paid = await paid_by_card(stripe_client, standin, store, clock)
    before = (await ledger_of(stripe_client, org, headers))["balance"]["amount_minor"]

    events = standin.refund(invoice_id)
    refund_id = refund_id_of(events)
    first = await outcomes(stripe_client, events)
    replayed = await outcomes(stripe_client, events)
    # Another event about the same refund (its metadata edited in the dashboard).
    updated = await outcomes(stripe_client, standin.settle_refund(refund_id))

    # charge.refunded says no refund's id (its list is not sent): refund.created records it.
    assert first == ["ignored", "applied"]
    assert replayed == ["ignored", "duplicate"]
    assert updated in (["applied"], ["duplicate"])
    ledger = await ledger_of(stripe_client, org, headers)
    assert refunds_in(ledger) == [(refund_id, paid)]
    assert ledger["balance"]["amount_minor"] == before + paid
    entry = next(e for e in ledger["entries"] if e["kind"] == "refund")
    assert refund_id in entry["reference"]
    assert invoice_id in entry["reference"]
    names = [type(e).__name__ for e in events_of(stripe_client, org["id"])]
    assert names.count("CardRefundRecorded") == 1


async def test_partial_refunds_are_each_recorded_within_what_the_payment_brought_in(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, staff, invoice_id, paid = await paid_by_card(stripe_client, standin, store, clock)

    first = standin.refund(invoice_id, 1_000)
    second = standin.refund(invoice_id, 2_000)
    assert await outcomes(stripe_client, first + second) == ["ignored", "applied"] * 2
    # More than is left of the payment (a forged or mistaken amount): parked, not recorded.
    too_much = standin.refund_payment_intent(standin.payment_intent_of(invoice_id), paid - 2_999)
    assert await outcomes(stripe_client, too_much) == ["ignored", "parked"]
    rest = standin.refund_payment_intent(standin.payment_intent_of(invoice_id), paid - 3_000)
    assert await outcomes(stripe_client, rest) == ["ignored", "applied"]

    ledger = await ledger_of(stripe_client, org, headers)
    assert refunds_in(ledger) == [
        (refund_id_of(first), 1_000),
        (refund_id_of(second), 2_000),
        (refund_id_of(rest), paid - 3_000),
    ]
    assert refund_id_of(too_much) not in {i for i, _ in refunds_in(ledger)}
    parked = {json.loads(e.payload)["id"] for e in too_much if e.event_type == "refund.created"}
    assert parked <= await parked_ids(stripe_client, staff)


async def test_a_refund_is_bounded_by_its_own_payment_not_by_everything_paid(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, _, first_invoice, paid = await paid_by_card(stripe_client, standin, store, clock)
    subscription = next(
        k for k, v in standin.subscriptions.items() if v["metadata"]["organisation_id"] == org["id"]
    )
    [renewal] = standin.renew(subscription, paid=True)
    assert await outcomes(stripe_client, [renewal]) == ["applied"]

    # Within the two years paid, but more than the first year's payment brought in.
    over = standin.refund_payment_intent(standin.payment_intent_of(first_invoice), paid + 1)
    assert await outcomes(stripe_client, over) == ["ignored", "parked"]
    assert refunds_in(await ledger_of(stripe_client, org, headers)) == []


async def test_stripe_not_saying_what_a_refund_refunds_is_a_503_and_its_redelivery_records_it(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, _, invoice_id, _ = await paid_by_card(stripe_client, standin, store, clock)
    [_, created] = standin.refund(invoice_id, 300)

    standin.lookup_failures_to_come = 1
    down = await deliver(stripe_client, created)
    assert down.status_code == 503, down.text
    assert down.headers["retry-after"]
    assert refunds_in(await ledger_of(stripe_client, org, headers)) == []

    assert await outcomes(stripe_client, [created]) == ["applied"]
    assert refunds_in(await ledger_of(stripe_client, org, headers)) == [
        (refund_id_of([created]), 300)
    ]


async def test_events_about_one_refund_delivered_at_once_record_it_once(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, _, invoice_id, _ = await paid_by_card(stripe_client, standin, store, clock)
    [_, created] = standin.refund(invoice_id, 400)
    [updated] = standin.settle_refund(refund_id_of([created]))

    answers = await asyncio.gather(
        *(deliver(stripe_client, event) for event in [created, updated, created])
    )

    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert refunds_in(await ledger_of(stripe_client, org, headers)) == [
        (refund_id_of([created]), 400)
    ]


async def test_a_pending_refund_is_recorded_when_it_succeeds_and_a_failed_one_never(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, _, invoice_id, _ = await paid_by_card(stripe_client, standin, store, clock)

    pending = standin.refund(invoice_id, 500, status="pending")
    failing = standin.refund(invoice_id, 700, status="pending")
    assert await outcomes(stripe_client, pending + failing) == ["ignored", "ignored"]
    assert refunds_in(await ledger_of(stripe_client, org, headers)) == []

    settled = standin.settle_refund(refund_id_of(pending))
    failed = standin.settle_refund(refund_id_of(failing), "failed")
    # The failed one is marked (refund.updated, then refund.failed: each event's id claimed,
    # the mark made once), never recorded.
    assert await outcomes(stripe_client, settled + failed) == ["applied"] * 3
    assert refunds_in(await ledger_of(stripe_client, org, headers)) == [
        (refund_id_of(pending), 500)
    ]


@pytest.mark.parametrize("named_by", ["idempotency_key", "reference"])
async def test_a_refund_staff_recorded_is_not_recorded_again_when_stripe_tells_of_it(
    stripe_client: Client,
    standin: StripeStandIn,
    store: Store,
    clock: ManualClock,
    named_by: str,
) -> None:
    """Staff record the refund they made in Stripe's dashboard, naming its id (the
    Idempotency-Key, or in the reference); Stripe's word of it, before or after, adds none."""
    org, headers, staff, invoice_id, _ = await paid_by_card(stripe_client, standin, store, clock)

    async def by_hand(refund_id: str, amount: int) -> Any:
        extra = {"Idempotency-Key": refund_id} if named_by == "idempotency_key" else {}
        reference = "refunded in Stripe" if extra else f"refunded in Stripe, {refund_id}"
        return await stripe_client.post(
            url(org, "/dues/refunds"),
            json={"amount": {"amount_minor": amount}, "reference": reference},
            headers=staff | extra,
        )

    # Staff first, then Stripe's events (taken, and nothing more recorded).
    earlier = standin.refund(invoice_id, 1_200)
    assert (await by_hand(refund_id_of(earlier), 1_200)).status_code == 201
    assert (await outcomes(stripe_client, earlier))[0] == "ignored"
    # Stripe's events first, then staff.
    later = standin.refund(invoice_id, 800)
    assert await outcomes(stripe_client, later) == ["ignored", "applied"]
    assert (await by_hand(refund_id_of(later), 800)).status_code == 201
    # Staff name it with another amount: refused, and nothing is recorded.
    assert (await by_hand(refund_id_of(later), 900)).status_code == 409

    refunds = refunds_in(await ledger_of(stripe_client, org, headers))
    assert sorted(amount for _, amount in refunds) == [800, 1_200]
    assert refund_id_of(later) in {i for i, _ in refunds}


async def test_stripe_telling_another_amount_than_staff_recorded_is_parked(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, staff, invoice_id, _ = await paid_by_card(stripe_client, standin, store, clock)
    events = standin.refund(invoice_id, 1_500)
    refund_id = refund_id_of(events)
    recorded = await stripe_client.post(
        url(org, "/dues/refunds"),
        json={"amount": {"amount_minor": 1_000}, "reference": f"Stripe {refund_id}"},
        headers=staff,
    )
    assert recorded.status_code == 201, recorded.text

    assert await outcomes(stripe_client, events) == ["ignored", "parked"]
    assert refunds_in(await ledger_of(stripe_client, org, headers))[0][1] == 1_000
    assert len(refunds_in(await ledger_of(stripe_client, org, headers))) == 1


async def test_a_refund_of_a_payment_never_recorded_here_is_parked_for_staff(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, staff, invoice_id, _ = await paid_by_card(stripe_client, standin, store, clock)
    other, other_headers, _, _, _ = await paid_by_card(stripe_client, standin, store, clock)

    # A one-off payment taken in the dashboard (no invoice of ours) is refunded.
    stray = standin.refund_payment_intent("pi_takeninthedashboard01", 2_500)
    [created] = stray
    assert await outcomes(stripe_client, stray) == ["parked"]
    assert created.event_id in await parked_ids(stripe_client, staff)
    assert refunds_in(await ledger_of(stripe_client, org, headers)) == []

    # Staff apply it to the member it was for: recorded, within what the member paid.
    resolution = f"/api/v1/dues/parked-webhooks/{created.event_id}/resolution"
    applied = await stripe_client.post(
        resolution, json={"action": "apply", "organisation_id": org["id"]}, headers=staff
    )
    assert applied.status_code == 200, applied.text
    assert refunds_in(await ledger_of(stripe_client, org, headers)) == [
        (refund_id_of(stray), 2_500)
    ]

    # A refund of this member's payment, parked (more than it brought in), cannot be applied
    # to another member.
    too_much = standin.refund_payment_intent(standin.payment_intent_of(invoice_id), 10**9)
    assert await outcomes(stripe_client, too_much) == ["ignored", "parked"]
    refused = await stripe_client.post(
        f"/api/v1/dues/parked-webhooks/{too_much[1].event_id}/resolution",
        json={"action": "apply", "organisation_id": other["id"]},
        headers=staff,
    )
    assert refused.status_code == 409, refused.text
    assert refunds_in(await ledger_of(stripe_client, other, other_headers)) == []


@pytest.mark.parametrize("status", ["failed", "canceled"])
async def test_a_refund_that_fails_after_it_succeeded_stays_beside_its_reversal_once(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock, status: str
) -> None:
    org, headers, _, invoice_id, _ = await paid_by_card(stripe_client, standin, store, clock)
    before = (await ledger_of(stripe_client, org, headers))["balance"]["amount_minor"]
    made = standin.refund(invoice_id, 600)
    refund_id = refund_id_of(made)
    assert await outcomes(stripe_client, made) == ["ignored", "applied"]

    undone = standin.settle_refund(refund_id, status)
    told = await outcomes(stripe_client, undone)
    replayed = await outcomes(stripe_client, made + undone)
    # A word that it succeeded, delivered late under another event id: older news.
    late = standin.sign("refund.updated", {**standin.refunds[refund_id], "status": "succeeded"})
    assert (await deliver(stripe_client, late)).status_code == 200

    # refund.updated, and refund.failed when it failed: each claimed, one reversal.
    assert told == ["applied"] * (2 if status == "failed" else 1)
    assert set(replayed) <= {"ignored", "duplicate"}
    # The refund the accounts may have taken stays; a reversal line beside it nets it out.
    ledger = await ledger_of(stripe_client, org, headers)
    assert refunds_in(ledger) == [(refund_id, 600)]
    [reversal] = [e for e in ledger["entries"] if e["kind"] == "refund_reversal"]
    assert (reversal["id"], reversal["amount"]["amount_minor"]) == (f"rev_{refund_id}", 600)
    assert reversal["reference"] == f"refund {refund_id} {status}"
    assert ledger["balance"]["amount_minor"] == before
    names = [type(e).__name__ for e in events_of(stripe_client, org["id"])]
    assert names.count("CardRefundReversed") == 1
    assert names.count("CardRefundRecorded") == 1


# The export reads every organisation's aggregate: over the shared PostgreSQL database, every
# test's; what it writes does not depend on the store.
@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
async def test_the_ledger_export_shows_a_failed_refund_and_its_reversal(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, staff, invoice_id, _ = await paid_by_card(stripe_client, standin, store, clock)
    made = standin.refund(invoice_id, 600)
    refund_id = refund_id_of(made)
    await outcomes(stripe_client, made)
    await outcomes(stripe_client, standin.settle_refund(refund_id, "failed"))

    export = await stripe_client.get("/api/v1/dues/ledger.csv", headers=staff)

    assert export.status_code == 200, export.text
    rows = [
        r for r in csv.DictReader(io.StringIO(export.text)) if r["organisation_id"] == org["id"]
    ]
    # Signed as they move what the member owes: the refund the accounts may have taken
    # already, and its reversal; the organisation's lines sum to its balance.
    assert [(r["entry"], r["id"], r["amount"], r["reference"]) for r in rows[-2:]] == [
        ("refund", refund_id, "6.00", f"Stripe refund {refund_id} of {invoice_id}"),
        ("refund_reversal", f"rev_{refund_id}", "-6.00", f"refund {refund_id} failed"),
    ]
    balance = (await ledger_of(stripe_client, org, headers))["balance"]["amount_minor"]
    assert sum(Decimal(r["amount"]) for r in rows) * 100 == balance


async def test_a_failed_refund_staff_recorded_or_of_a_payment_not_recorded_here_is_parked(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, staff, invoice_id, _ = await paid_by_card(stripe_client, standin, store, clock)
    by_hand = standin.refund(invoice_id, 800)
    refund_id = refund_id_of(by_hand)
    recorded = await stripe_client.post(
        url(org, "/dues/refunds"),
        json={"amount": {"amount_minor": 800}, "reference": f"Stripe {refund_id}"},
        headers={**staff, "Idempotency-Key": refund_id},
    )
    assert recorded.status_code == 201, recorded.text
    stray = standin.refund_payment_intent("pi_takeninthedashboard02", 2_500)
    assert await outcomes(stripe_client, stray) == ["parked"]

    # Staff recorded it by hand: theirs to correct, so parked for them; the stray one's
    # failure is parked beside its success.
    [updated, failed] = standin.settle_refund(refund_id, "failed")
    assert await outcomes(stripe_client, [updated]) == ["parked"]
    [stray_failed, _] = standin.settle_refund(refund_id_of(stray), "failed")
    assert await outcomes(stripe_client, [stray_failed]) == ["parked"]

    assert {updated.event_id, stray_failed.event_id} <= await parked_ids(stripe_client, staff)
    # Its success, parked before, cannot be applied now: no money went back.
    refused = await stripe_client.post(
        f"/api/v1/dues/parked-webhooks/{stray[0].event_id}/resolution",
        json={"action": "apply", "organisation_id": org["id"]},
        headers=staff,
    )
    assert refused.status_code == 409, refused.text
    assert stray[0].event_id in await parked_ids(stripe_client, staff)
    assert refunds_in(await ledger_of(stripe_client, org, headers)) == [(f"ref_{refund_id}", 800)]
    assert failed.event_type == "refund.failed"


BAD_REFUNDS: list[dict[str, Any]] = [
    {"amount": "ten"},
    {"amount": -5},
    {"amount": 0},
    {"amount": 10**14},
    {"amount": True},
    {"currency": "pounds"},
    {"currency": None},
    {"id": "re_<script>"},
    {"id": None},
    {"payment_intent": {"id": "pi_expanded"}},
    {"payment_intent": "pi_" + "x" * 200},
    {"status": "Succeeded!"},
    {"created": -1},
    {"created": 10**12},
]


async def test_a_refund_event_of_another_shape_is_refused_never_a_500(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, _, invoice_id, _ = await paid_by_card(stripe_client, standin, store, clock)
    refund = json.loads(standin.refund(invoice_id, 100)[1].payload)["data"]["object"]

    answers = [
        await deliver(stripe_client, standin.sign("refund.created", refund | change))
        for change in BAD_REFUNDS
    ]

    assert [a.status_code for a in answers] == [400] * len(BAD_REFUNDS), [a.text for a in answers]
    assert all(a.headers["content-type"].startswith("application/problem+json") for a in answers)
    assert refunds_in(await ledger_of(stripe_client, org, headers)) == []
