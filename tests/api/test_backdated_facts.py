"""Backdated facts and dates no one could mean (ADR 17): history as at any time answers, and
every date a client sends is checked, a 422 naming the field."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from membership.domain import Organisation
from sharedkernel.events import SYSTEM, Context
from tests.api.helpers import SMALL_BAND_DUE, events_of, services_of
from tests.api.test_membership_standing import admitted, pay, url
from tests.conftest import AppClient
from tradehall.clock import ManualClock

BEFORE_REGISTRATION = "2020-01-01"


async def history(client: AppClient, org: dict[str, Any], headers: dict[str, str], at: str) -> Any:
    return await client.get(url(org, "/membership/history"), params={"as_at": at}, headers=headers)


def field_of(response: Any) -> list[str]:
    return [error["field"] for error in response.json().get("errors", [])]


async def test_a_payment_dated_before_the_organisation_registered_is_refused(
    client: AppClient, staff_headers: dict[str, str]
) -> None:
    org, headers = await admitted(client, staff_headers)
    before = len(events_of(client, org["id"]))

    paid = await pay(client, org, staff_headers, effective_date=BEFORE_REGISTRATION)

    assert paid.status_code == 422, paid.text
    assert field_of(paid) == ["effective_date"]
    assert len(events_of(client, org["id"])) == before
    answer = await history(client, org, headers, "2021-06-30")
    assert answer.status_code == 200, answer.text
    assert answer.json()["standing"] is None


async def test_history_as_at_any_time_answers_when_a_stored_fact_predates_the_registration(
    client: AppClient, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    """Older versions stored such payments: they count from the registration."""
    org, headers = await admitted(client, staff_headers)
    app = services_of(client).membership
    organisation = app.get_organisation(uuid.UUID(org["id"]))
    backdated = Context(SYSTEM, "legacy", clock.now(), datetime(2020, 1, 1, 12, tzinfo=UTC))
    organisation.trigger_event(
        Organisation.PaymentRecorded,
        payment_id="pay_legacy",
        amount_minor=SMALL_BAND_DUE,
        currency="GBP",
        method="cheque",
        reference="CHQ 2020",
        covers_until=None,
        **backdated.event_kwargs(),
    )
    app.save(organisation)
    registered = events_of(client, org["id"])[0].effective_at

    answers = {
        at: await history(client, org, headers, at)
        for at in ("2019-12-31", "2020-01-01", "2021-06-30", registered.isoformat())
    }

    assert {at: a.status_code for at, a in answers.items()} == dict.fromkeys(answers, 200)
    assert [a.json()["standing"] for a in list(answers.values())[:3]] == [None, None, None]
    # Registered, applied and admitted at one moment; the 2020 cheque counts from then.
    assert answers[registered.isoformat()].json()["standing"]["status"] == "awaiting_first_payment"


@pytest.mark.parametrize(
    "as_at",
    [
        "0001-01-01",
        "0001-01-01T00:00:00+05:00",
        "1899-12-31T23:59:59Z",
        "2100-01-01",
        "9999-12-31",
        "9999-12-31T23:59:59-05:00",
    ],
)
async def test_an_as_at_no_one_could_mean_is_refused(
    client: AppClient, staff_headers: dict[str, str], as_at: str
) -> None:
    org, headers = await admitted(client, staff_headers)

    answer = await history(client, org, headers, as_at)

    assert answer.status_code == 422, answer.text
    assert field_of(answer) == ["as_at"]


@pytest.mark.parametrize("route", ["/dues/payments", "/dues/refunds"])
@pytest.mark.parametrize("day", ["0001-01-01", BEFORE_REGISTRATION, "tomorrow", "9999-12-31"])
async def test_a_money_movement_dated_when_it_could_not_have_happened_is_refused(
    client: AppClient, staff_headers: dict[str, str], clock: ManualClock, route: str, day: str
) -> None:
    org, _ = await admitted(client, staff_headers)
    assert (await pay(client, org, staff_headers)).status_code == 201  # something to refund
    before = len(events_of(client, org["id"]))
    if day == "tomorrow":
        day = (clock.now() + timedelta(days=1)).date().isoformat()
    body = {
        "amount": {"amount_minor": 1_000, "currency": "GBP"},
        "reference": "dated oddly",
        "effective_date": day,
    } | ({"method": "cheque"} if route.endswith("payments") else {})

    answer = await client.post(url(org, route), json=body, headers=staff_headers)

    assert answer.status_code == 422, answer.text
    assert field_of(answer) == ["effective_date"]
    assert len(events_of(client, org["id"])) == before


async def test_a_payment_dated_today_or_on_the_day_it_registered_is_recorded(
    client: AppClient, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    org, headers = await admitted(client, staff_headers)  # registered at 09:30 today
    today = clock.now().date().isoformat()

    paid = await pay(client, org, staff_headers, effective_date=today)

    assert paid.status_code == 201, paid.text
    [payment] = [e for e in events_of(client, org["id"]) if type(e).__name__ == "PaymentRecorded"]
    assert payment.effective_at == clock.now()  # noon would be later than now
    answer = await history(client, org, headers, today)
    assert answer.json()["standing"]["status"] == "new"


@pytest.mark.parametrize(
    "effective_from",
    [
        "0001-01-01T00:00:00+05:00",
        "1999-12-31T00:00:00Z",
        "2150-01-01T00:00:00Z",
        "9999-12-31T23:00:00-05:00",
    ],
)
async def test_a_schedule_taking_effect_when_no_one_could_mean_is_refused(
    client: AppClient, staff_headers: dict[str, str], effective_from: str
) -> None:
    before = (await client.get("/api/v1/dues/schedule")).json()
    body = {
        "effective_from": effective_from,
        "bands": [
            {
                "code": "all",
                "name": "Everyone",
                "up_to_minor": None,
                "annual_due_minor": 10_000,
                "lookup_key": "dues_all",
            }
        ],
    }

    answer = await client.post("/api/v1/dues/schedule", json=body, headers=staff_headers)

    assert answer.status_code == 422, answer.text
    assert field_of(answer) == ["effective_from"]
    assert (await client.get("/api/v1/dues/schedule")).json() == before
