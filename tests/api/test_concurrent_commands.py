"""Commands sent without If-Match do not race the client against itself; a stale one is 409."""

from __future__ import annotations

import asyncio

from tests.api.helpers import events_of
from tests.api.test_membership_standing import admitted, url
from tests.conftest import AppClient

Client = AppClient
PAYMENTS = 20


def payment(n: int) -> dict[str, object]:
    return {
        "amount": {"amount_minor": 1_000 + n, "currency": "GBP"},
        "method": "bank_transfer",
        "reference": f"BACS {n:04d}",
    }


async def test_twenty_concurrent_payments_without_if_match_are_all_recorded(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, headers = await admitted(client, staff_headers)

    answers = await asyncio.gather(
        *(
            client.post(url(org, "/dues/payments"), json=payment(n), headers=staff_headers)
            for n in range(PAYMENTS)
        )
    )

    assert [a.status_code for a in answers] == [201] * PAYMENTS, [
        a.text for a in answers if a.status_code != 201
    ]
    ledger = (await client.get(url(org, "/dues/ledger"), headers=headers)).json()
    references = sorted(e["reference"] for e in ledger["entries"] if e["kind"] == "payment")
    assert references == [f"BACS {n:04d}" for n in range(PAYMENTS)]
    versions = sorted(a.json()["version"] for a in answers)
    assert len(set(versions)) == PAYMENTS  # each answer names the version its own write made


async def test_a_stale_if_match_is_still_a_conflict_and_records_nothing(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, _ = await admitted(client, staff_headers)
    seen = (await client.get(url(org), headers=staff_headers)).headers["ETag"]
    first = await client.post(
        url(org, "/dues/payments"), json=payment(1), headers={**staff_headers, "If-Match": seen}
    )
    before = len(events_of(client, org["id"]))

    stale = await client.post(
        url(org, "/dues/payments"), json=payment(2), headers={**staff_headers, "If-Match": seen}
    )

    assert first.status_code == 201, first.text
    assert stale.status_code == 409, stale.text
    assert stale.json()["type"] == "urn:tradehall:problem:stale-version"
    assert len(events_of(client, org["id"])) == before


async def test_concurrent_if_match_on_one_version_records_one_and_refuses_the_rest(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, headers = await admitted(client, staff_headers)
    seen = (await client.get(url(org), headers=staff_headers)).headers["ETag"]

    answers = await asyncio.gather(
        *(
            client.post(
                url(org, "/dues/payments"),
                json=payment(n),
                headers={**staff_headers, "If-Match": seen},
            )
            for n in range(8)
        )
    )

    assert sorted(a.status_code for a in answers) == [201] + [409] * 7
    ledger = (await client.get(url(org, "/dues/ledger"), headers=headers)).json()
    assert [e["kind"] for e in ledger["entries"]].count("payment") == 1


async def test_concurrent_retries_of_one_idempotent_payment_record_it_once(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, headers = await admitted(client, staff_headers)
    keyed = {**staff_headers, "Idempotency-Key": "bank-statement-2026-03-02-0099"}

    answers = await asyncio.gather(
        *(
            client.post(url(org, "/dues/payments"), json=payment(7), headers=keyed)
            for _ in range(10)
        )
    )

    assert [a.status_code for a in answers] == [201] * 10, [a.text for a in answers]
    ledger = (await client.get(url(org, "/dues/ledger"), headers=headers)).json()
    assert [e["kind"] for e in ledger["entries"]].count("payment") == 1
