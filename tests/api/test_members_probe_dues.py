"""Probes, as an attacker (or a hurried treasurer), of the dues routes: replays and reused ids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.api.test_membership_standing import Client, admitted, url
from tradehall.clock import ManualClock

PAYMENT = {
    "amount": {"amount_minor": 5_000, "currency": "GBP"},
    "method": "cheque",
    "reference": "CHQ 100042",
}
REFUND = {"amount": {"amount_minor": 1_000, "currency": "GBP"}, "reference": "returned"}
CREDIT = {"amount": {"amount_minor": 1_500, "currency": "GBP"}, "reason": "hardship"}
KINDS = {
    "/dues/payments": "payment",
    "/dues/refunds": "refund",
    "/dues/credit-notes": "credit_note",
}


@pytest.mark.parametrize(
    ("path", "body", "other"),
    [
        ("/dues/payments", PAYMENT, {**PAYMENT, "amount": {"amount_minor": 999_999}}),
        ("/dues/payments", PAYMENT, {**PAYMENT, "reference": "CHQ 100043"}),
        ("/dues/refunds", REFUND, {**REFUND, "amount": {"amount_minor": 2_000}}),
        ("/dues/credit-notes", CREDIT, {**CREDIT, "amount": {"amount_minor": 1_000}}),
        ("/dues/credit-notes", CREDIT, {**CREDIT, "reason": "goodwill"}),
    ],
)
async def test_an_idempotency_key_reused_for_another_movement_is_refused_not_dropped(
    client: Client,
    staff_headers: dict[str, str],
    path: str,
    body: dict[str, object],
    other: dict[str, object],
) -> None:
    """A retry (the same body again) records once; the same key with another amount or
    reference is another payment: answering it 201 while recording nothing loses it from the
    ledger without anyone knowing (the quotes' keys answer 409 so, too)."""
    org, headers = await admitted(client, staff_headers)
    if path == "/dues/refunds":
        paid = await client.post(url(org, "/dues/payments"), json=PAYMENT, headers=staff_headers)
        assert paid.status_code == 201, paid.text
    keyed = {**staff_headers, "Idempotency-Key": "bank-statement-2026-03-02-0042"}

    first = await client.post(url(org, path), json=body, headers=keyed)
    again = await client.post(url(org, path), json=body, headers=keyed)
    reused = await client.post(url(org, path), json=other, headers=keyed)

    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert reused.status_code == 409, reused.text
    assert reused.headers["content-type"].startswith("application/problem+json")
    ledger = (await client.get(url(org, "/dues/ledger"), headers=headers)).json()
    kind = KINDS[path]
    assert [e["amount"]["amount_minor"] for e in ledger["entries"] if e["kind"] == kind] == [
        body["amount"]["amount_minor"]  # type: ignore[index]
    ]


async def test_a_credit_note_for_more_than_was_invoiced_is_refused(
    client: Client, staff_headers: dict[str, str]
) -> None:
    """A credit note reduces what was invoiced; one past it (a typo of a few noughts: £100bn
    on a £150 invoice) left the member in credit for centuries of dues, paying every later
    invoice on its own. Refused as a refund past what was paid is."""
    org, headers = await admitted(client, staff_headers)
    ledger = (await client.get(url(org, "/dues/ledger"), headers=headers)).json()
    invoiced = sum(e["amount"]["amount_minor"] for e in ledger["entries"] if e["kind"] == "invoice")

    whole = await client.post(
        url(org, "/dues/credit-notes"),
        json={"amount": {"amount_minor": invoiced - 1}, "reason": "hardship"},
        headers=staff_headers,
    )
    past = await client.post(
        url(org, "/dues/credit-notes"),
        json={"amount": {"amount_minor": 2}, "reason": "a penny too far"},
        headers=staff_headers,
    )
    typo = await client.post(
        url(org, "/dues/credit-notes"),
        json={"amount": {"amount_minor": 10**13}, "reason": "typo"},
        headers=staff_headers,
    )

    assert whole.status_code == 201, whole.text
    assert past.status_code == typo.status_code == 409, (past.text, typo.text)
    after = (await client.get(url(org, "/dues/ledger"), headers=headers)).json()
    assert after["balance"]["amount_minor"] == 1


async def test_a_payment_dated_today_in_london_just_after_midnight_summer_time_is_taken(
    client: Client, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    """At 00:30 British Summer Time it is still yesterday in UTC: a treasurer recording a
    cheque banked "today" was told the date is later than today (422)."""
    org, headers = await admitted(client, staff_headers)
    clock.set(datetime(2026, 6, 1, 23, 30, tzinfo=UTC))  # 00:30 on 2 June in London

    paid = await client.post(
        url(org, "/dues/payments"),
        json={**PAYMENT, "effective_date": "2026-06-02"},
        headers=staff_headers,
    )
    tomorrow = await client.post(
        url(org, "/dues/payments"),
        json={**PAYMENT, "reference": "CHQ 2", "effective_date": "2026-06-03"},
        headers=staff_headers,
    )

    assert paid.status_code == 201, paid.text
    assert tomorrow.status_code == 422, tomorrow.text
    ledger = (await client.get(url(org, "/dues/ledger"), headers=headers)).json()
    [payment] = [e for e in ledger["entries"] if e["kind"] == "payment"]
    assert payment["at"] == "2026-06-01T23:30:00Z"
