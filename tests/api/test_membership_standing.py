"""Membership after admission over HTTP: dues, the clock, standing, history, export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.helpers import (
    APPLICATION,
    SMALL_BAND_DUE,
    events_of,
    register,
    services_of,
    token,
)
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.membership.clock_jobs import TickReport, clock_tick

Client = AppClient


def url(org: dict[str, Any], action: str = "") -> str:
    return f"/api/v1/organisations/{org['id']}{action}"


async def admitted(
    client: Client, staff_headers: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    org = await register(client)
    headers = await token(client, org["email"])
    applied = await client.post(
        url(org, "/membership/application"), json=APPLICATION, headers=headers
    )
    assert applied.status_code == 200, applied.text
    done = await client.post(url(org, "/membership/admission"), headers=staff_headers)
    assert done.status_code == 200, done.text
    return org, headers


async def pay(
    client: Client, org: dict[str, Any], staff_headers: dict[str, str], **overrides: Any
) -> Any:
    body = {
        "amount": {"amount_minor": SMALL_BAND_DUE, "currency": "GBP"},
        "method": "bank_transfer",
        "reference": "BACS 4411",
    } | overrides
    return await client.post(url(org, "/dues/payments"), json=body, headers=staff_headers)


async def membership_of(client: Client, org: dict[str, Any], headers: dict[str, str]) -> Any:
    response = await client.get(url(org), headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["membership"]


async def tick(client: Client) -> TickReport:
    services = services_of(client)
    # The clock reads the log (ADR 18); the checks after a tick read the read models.
    await services.run(services.readside.projector.catch_up)
    return await clock_tick(services)


async def test_a_manual_payment_makes_an_admitted_organisation_a_new_member(
    client: Client, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    org, headers = await admitted(client, staff_headers)
    assert (await membership_of(client, org, headers))["status"] == "awaiting_first_payment"

    paid = await pay(client, org, staff_headers)

    assert paid.status_code == 201, paid.text
    membership = await membership_of(client, org, headers)
    assert membership["status"] == "new"
    assert membership["good_standing"] is True
    expected_end = clock.now().replace(year=clock.now().year + 1)
    assert datetime.fromisoformat(membership["paid_up_until"]) == expected_end
    ledger = (await client.get(url(org, "/dues/ledger"), headers=headers)).json()
    assert [e["kind"] for e in ledger["entries"]] == ["invoice", "payment"]
    assert ledger["balance"] == {"amount_minor": 0, "currency": "GBP"}


@pytest.mark.parametrize(
    ("override", "status", "field"),
    [
        ({"amount": {"amount_minor": 0, "currency": "GBP"}}, 400, "amount.amount_minor"),
        ({"amount": {"amount_minor": -5, "currency": "GBP"}}, 400, "amount.amount_minor"),
        ({"amount": {"amount_minor": 100, "currency": "EUR"}}, 422, "amount.currency"),
        ({"method": "bitcoin"}, 400, "method"),
        ({"reference": ""}, 400, "reference"),
    ],
)
async def test_a_bad_payment_is_a_problem_naming_the_field_and_records_nothing(
    client: Client,
    staff_headers: dict[str, str],
    override: dict[str, Any],
    status: int,
    field: str,
) -> None:
    org, _ = await admitted(client, staff_headers)
    before = len(events_of(client, org["id"]))

    response = await pay(client, org, staff_headers, **override)

    assert response.status_code == status, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert len(events_of(client, org["id"])) == before


async def test_a_payment_for_an_unknown_organisation_is_not_found(
    client: Client, staff_headers: dict[str, str]
) -> None:
    response = await pay(client, {"id": "00000000-0000-4000-8000-000000000001"}, staff_headers)
    assert response.status_code == 404


async def test_the_clock_is_idempotent(
    client: Client, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    org, headers = await admitted(client, staff_headers)
    await pay(client, org, staff_headers)
    clock.advance(timedelta(days=91))

    await tick(client)
    after_first = len(events_of(client, org["id"]))
    await tick(client)

    assert len(events_of(client, org["id"])) == after_first
    assert (await membership_of(client, org, headers))["status"] == "current"


async def test_a_year_of_membership_with_history_as_at_each_state(
    client: Client, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    """Join, pay, new, current, renewal due, period ends, grace, lapse, pay, current again."""
    joined = clock.now()
    org, headers = await admitted(client, staff_headers)
    await pay(client, org, staff_headers)
    seen: dict[str, datetime] = {"new": clock.now() + timedelta(days=1)}

    clock.advance(timedelta(days=100))
    await tick(client)
    seen["current"] = clock.now()
    assert (await membership_of(client, org, headers))["status"] == "current"

    clock.set(joined + timedelta(days=340))  # inside the 30-day renewal window
    await tick(client)
    kinds = [type(e).__name__ for e in events_of(client, org["id"])]
    assert "RenewalDue" in kinds
    declared = await client.post(
        url(org, "/membership/turnover"),
        json={"annual_turnover": {"amount_minor": 4_000_000, "currency": "GBP"}},
        headers=headers,
    )
    assert declared.status_code == 200, declared.text

    clock.set(joined.replace(year=joined.year + 1) + timedelta(days=3))
    await tick(client)
    membership = await membership_of(client, org, headers)
    assert membership["status"] == "grace"
    assert membership["good_standing"] is True
    seen["grace"] = clock.now()
    ledger = (await client.get(url(org, "/dues/ledger"), headers=headers)).json()
    renewal = [e for e in ledger["entries"] if e["kind"] == "invoice"][-1]
    assert renewal["amount"]["amount_minor"] == 6_000  # the micro band, from the new turnover

    clock.advance(timedelta(days=40))
    await tick(client)
    assert (await membership_of(client, org, headers))["status"] == "lapsed"
    seen["lapsed"] = clock.now()

    clock.advance(timedelta(days=2))
    paid = await pay(client, org, staff_headers, amount={"amount_minor": 6_000, "currency": "GBP"})
    assert paid.status_code == 201, paid.text
    assert (await membership_of(client, org, headers))["status"] == "current"

    for expected, moment in seen.items():
        history = await client.get(
            url(org, "/membership/history"),
            params={"as_at": moment.isoformat()},
            headers=headers,
        )
        assert history.status_code == 200, history.text
        assert history.json()["standing"]["status"] == expected, moment
    before_joining = await client.get(
        url(org, "/membership/history"),
        params={"as_at": (joined - timedelta(days=1)).date().isoformat()},
        headers=headers,
    )
    assert before_joining.json()["standing"] is None  # it was not registered yet
    by_date = await client.get(
        url(org, "/membership/history"),
        params={"as_at": joined.date().isoformat()},  # a date: as it stood at its end
        headers=headers,
    )
    assert by_date.json()["standing"]["status"] == "new"
    bad = await client.get(
        url(org, "/membership/history"), params={"as_at": "last tuesday"}, headers=headers
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "as_at"
    events = by_date.json()["events"]
    grace = next(e for e in events if e["details"].get("status") == "grace")
    assert grace["actor"] == "clock"
    assert grace["effective_at"] < grace["recorded_at"]


async def test_staff_suspend_and_reinstate_and_members_leave_the_directory_meanwhile(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, headers = await admitted(client, staff_headers)
    await pay(client, org, staff_headers)

    suspended = await client.post(
        url(org, "/membership/suspension"),
        json={"reason": "complaint under review"},
        headers=staff_headers,
    )
    assert suspended.status_code == 200, suspended.text
    membership = await membership_of(client, org, headers)
    assert membership["status"] == "suspended"
    assert membership["good_standing"] is False
    services = services_of(client)
    assert not await services.run(
        services.membership.is_in_good_standing, org["id"], services.clock.now()
    )

    reinstated = await client.post(url(org, "/membership/reinstatement"), headers=staff_headers)
    assert reinstated.status_code == 200
    assert (await membership_of(client, org, headers))["status"] == "new"
    again = await client.post(url(org, "/membership/reinstatement"), headers=staff_headers)
    assert again.status_code == 409


async def test_a_member_resigns_at_period_end_then_the_clock_ends_it(
    client: Client, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    org, headers = await admitted(client, staff_headers)
    await pay(client, org, staff_headers)

    resigned = await client.post(
        url(org, "/membership/resignation"), json={"effective": "period_end"}, headers=headers
    )

    assert resigned.status_code == 200, resigned.text
    membership = await membership_of(client, org, headers)
    assert membership["status"] == "new"
    assert membership["resigns_at"] == membership["paid_up_until"]
    clock.advance(timedelta(days=370))
    await tick(client)
    assert (await membership_of(client, org, headers))["status"] == "resigned"


async def test_expulsion_needs_a_reason_and_is_final(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, headers = await admitted(client, staff_headers)
    no_reason = await client.post(
        url(org, "/membership/expulsion"), json={"reason": ""}, headers=staff_headers
    )
    expelled = await client.post(
        url(org, "/membership/expulsion"), json={"reason": "fraud"}, headers=staff_headers
    )
    payment_after = await pay(client, org, staff_headers)
    suspend_after = await client.post(
        url(org, "/membership/suspension"), json={"reason": "x"}, headers=staff_headers
    )
    assert no_reason.status_code == 400
    assert expelled.status_code == 200
    assert (await membership_of(client, org, headers))["status"] == "expelled"
    assert payment_after.status_code == 201  # money can still come in; standing stays ended
    assert (await membership_of(client, org, headers))["status"] == "expelled"
    assert suspend_after.status_code == 409


async def test_refunds_and_credit_notes_and_the_ledger_export(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, headers = await admitted(client, staff_headers)
    credited = await client.post(
        url(org, "/dues/credit-notes"),
        json={"amount": {"amount_minor": 5_000}, "reason": "founding member discount"},
        headers=staff_headers,
    )
    paid = await pay(client, org, staff_headers, amount={"amount_minor": 10_000})
    too_much = await client.post(
        url(org, "/dues/refunds"),
        json={"amount": {"amount_minor": 20_000}, "reference": "overpaid"},
        headers=staff_headers,
    )
    refunded = await client.post(
        url(org, "/dues/refunds"),
        json={"amount": {"amount_minor": 1_000}, "reference": "goodwill"},
        headers=staff_headers,
    )
    assert credited.status_code == 201, credited.text
    assert paid.status_code == 201
    assert too_much.status_code == 409
    assert refunded.status_code == 201
    assert (await membership_of(client, org, headers))["status"] == "new"
    ledger = (await client.get(url(org, "/dues/ledger"), headers=headers)).json()
    assert ledger["balance"]["amount_minor"] == 15_000 - 5_000 - 10_000 + 1_000

    export = await client.get("/api/v1/dues/ledger.csv", headers=staff_headers)
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = [
        r for r in csv.DictReader(io.StringIO(export.text)) if r["organisation_id"] == org["id"]
    ]
    assert [r["entry"] for r in rows] == ["invoice", "credit_note", "payment", "refund"]
    assert [r["amount"] for r in rows] == ["150.00", "-50.00", "-100.00", "10.00"]
    member_export = await client.get("/api/v1/dues/ledger.csv", headers=headers)
    assert member_export.status_code == 403


async def test_the_dues_schedule_is_public_and_staff_publish_new_versions(
    client: Client, staff_headers: dict[str, str]
) -> None:
    schedule = (await client.get("/api/v1/dues/schedule")).json()
    first = schedule["versions"][0]
    assert [b["code"] for b in first["bands"]] == ["micro", "small", "medium", "large"]
    published = await client.post(
        "/api/v1/dues/schedule",
        json={
            "effective_from": datetime(2030, 4, 1, tzinfo=UTC).isoformat(),
            "bands": [
                {
                    "code": "all",
                    "name": "Everyone",
                    "up_to_minor": None,
                    "annual_due_minor": 10_000,
                    "lookup_key": "dues_all",
                },
            ],
        },
        headers=staff_headers,
    )
    bad = await client.post(
        "/api/v1/dues/schedule",
        json={
            "effective_from": datetime(2031, 4, 1, tzinfo=UTC).isoformat(),
            "bands": [
                {
                    "code": "a",
                    "name": "A",
                    "up_to_minor": 100,
                    "annual_due_minor": 1,
                    "lookup_key": "a",
                },
            ],
        },
        headers=staff_headers,
    )
    assert published.status_code == 201, published.text
    assert bad.status_code == 422
    assert "bands[0].up_to" in [e["field"] for e in bad.json()["errors"]]
    versions = (await client.get("/api/v1/dues/schedule")).json()["versions"]
    assert versions[-1]["bands"][0]["code"] == "all"


async def test_a_retried_payment_with_the_same_idempotency_key_is_recorded_once(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, headers = await admitted(client, staff_headers)
    keyed = {**staff_headers, "Idempotency-Key": "bank-statement-2026-03-02-0042"}
    body = {
        "amount": {"amount_minor": 5_000, "currency": "GBP"},
        "method": "cheque",
        "reference": "CHQ 100042",
    }

    first = await client.post(url(org, "/dues/payments"), json=body, headers=keyed)
    again = await client.post(url(org, "/dues/payments"), json=body, headers=keyed)
    bad_key = await client.post(
        url(org, "/dues/payments"), json=body, headers={**staff_headers, "Idempotency-Key": "x"}
    )

    assert first.status_code == again.status_code == 201
    assert bad_key.status_code == 400
    ledger = (await client.get(url(org, "/dues/ledger"), headers=headers)).json()
    assert [e["kind"] for e in ledger["entries"]] == ["invoice", "payment"]
