"""A request for quote's own terms over HTTP, on both stores (the probe's F3 and F4): every
request has one currency (its budget's, or the one it states, GBP unless it states another), a
quote in another is a 422 naming `currency` and writes nothing, whatever others quoted; and the
work starts no earlier than the deadline (as a tender's contract), else a 422 naming
`period.start`."""

from __future__ import annotations

from typing import Any

from tests.api.test_bid_scenario import member
from tests.api.test_quote_scenario import (
    BUDGET,
    REQUESTS,
    ok,
    open_quotes,
    posted,
    quote_path,
    refused,
    request_body,
)
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]


async def heads(client: Client) -> dict[str, int]:
    logs: dict[str, int] = ok(await client.get("/ready"))["event_logs"]
    return logs


async def test_a_request_without_a_budget_takes_quotes_in_its_one_currency(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Elm Housing Co-operative")
    alder, _, a_headers = await member(client, staff_headers, "Alder Removals CIC")
    beech, _, b_headers = await member(client, staff_headers, "Beech Vans Co-operative")
    body = request_body(requester, budget=None, currency="EUR")
    request_id = await posted(client, r_headers, body)
    seen = ok(await client.get(f"{REQUESTS}/{request_id}", headers=a_headers))
    assert (seen["budget"], seen["currency"]) == (None, "EUR")

    # Alder quotes first, in euros (a quote naming no currency is in the request's).
    ok(
        await client.put(
            quote_path(alder, request_id), json={"price_minor": 4_000}, headers=a_headers
        )
    )
    own = ok(await client.get(quote_path(alder, request_id), headers=a_headers))
    assert (own["price_minor"], own["currency"]) == (4_000, "EUR")
    # Beech's pounds are refused, naming the field, and nothing is written.
    before = await heads(client)
    pounds = {"price_minor": 4_500, "currency": "GBP"}
    problem = refused(
        await client.put(quote_path(beech, request_id), json=pounds, headers=b_headers),
        422,
        "currency",
    )
    assert "EUR" in problem["detail"]
    assert await heads(client) == before
    # Alder may not revise into pounds either.
    refused(
        await client.put(quote_path(alder, request_id), json=pounds, headers=a_headers),
        422,
        "currency",
    )
    assert await heads(client) == before
    ok(
        await client.put(
            quote_path(beech, request_id),
            json={"price_minor": 4_500, "currency": "EUR"},
            headers=b_headers,
        )
    )

    await open_quotes(client, clock)
    opened = ok(await client.get(f"{REQUESTS}/{request_id}/quotes", headers=r_headers))
    assert [(q["supplier_id"], q["price_minor"], q["currency"]) for q in opened["quotes"]] == [
        (alder, 4_000, "EUR"),
        (beech, 4_500, "EUR"),
    ]


async def test_a_request_names_no_currency_but_its_budget_s_and_gbp_without_one(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Fir Housing Trust")
    alder, _, a_headers = await member(client, staff_headers, "Alder Removals CIC")
    before = await heads(client)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"currency": "EUR"}, "currency"),  # the budget is in GBP
        ({"budget": None, "currency": "JPY"}, "currency"),  # not counted in hundredths
        ({"budget": None, "currency": "XXX"}, "currency"),
        ({"budget": None, "currency": "gbp"}, "currency"),
    ]
    for changes, field in cases:
        body = request_body(requester) | changes
        response = await client.post(REQUESTS, json=body, headers=r_headers)
        assert response.status_code in (400, 422), (changes, response.text)
        named = [e["field"] for e in response.json()["errors"]]
        assert field in named, (changes, response.text)
    assert await heads(client) == before

    plain = await posted(client, r_headers, request_body(requester, budget=None))
    assert ok(await client.get(f"{REQUESTS}/{plain}", headers=r_headers))["currency"] == "GBP"
    euros = {"currency": "EUR", "max_minor": 80_000}
    budgeted = await posted(client, r_headers, request_body(requester, budget=euros))
    seen = ok(await client.get(f"{REQUESTS}/{budgeted}", headers=r_headers))
    assert (seen["currency"], seen["budget"]["currency"]) == ("EUR", "EUR")
    # A budget naming no currency is in the request's.
    stated = request_body(requester, budget={"max_minor": 80_000}, currency="EUR")
    both = await posted(client, r_headers, stated)
    seen = ok(await client.get(f"{REQUESTS}/{both}", headers=r_headers))
    assert (seen["currency"], seen["budget"]["currency"]) == ("EUR", "EUR")
    refused(
        await client.put(
            quote_path(alder, plain), json={"price_minor": 1, "currency": "EUR"}, headers=a_headers
        ),
        422,
        "currency",
    )
    ok(await client.put(quote_path(alder, plain), json={"price_minor": 1}, headers=a_headers))
    assert BUDGET["currency"] == "GBP"


async def test_the_work_starts_no_earlier_than_the_deadline(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Gean Housing CIC")
    before = await heads(client)
    for start in ("1900-01-01T00:00:00Z", "2026-03-02T10:00:00Z", "2026-03-04T11:59:59Z"):
        body = request_body(requester, period={"start": start, "end": "2099-12-31T00:00:00Z"})
        refused(await client.post(REQUESTS, json=body, headers=r_headers), 422, "period.start")
    assert await heads(client) == before
    at_the_deadline = {"start": "2026-03-04T12:00:00Z", "end": "2026-03-13T17:00:00Z"}
    request_id = await posted(client, r_headers, request_body(requester, period=at_the_deadline))
    seen = ok(await client.get(f"{REQUESTS}/{request_id}", headers=r_headers))
    assert seen["period"]["start"].startswith("2026-03-04T12:00:00")
