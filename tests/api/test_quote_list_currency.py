"""The list of requests for quote says each one's currency, as its own view does (read from
the read model, nothing replayed), on both stores: a budget's, one stated without a budget,
and GBP where none is stated."""

from __future__ import annotations

from tests.api.test_bid_scenario import member
from tests.api.test_quote_scenario import REQUESTS, ok, posted, request_body
from tests.api.test_tender_scenario import settle
from tests.conftest import AppClient

Headers = dict[str, str]


async def test_each_listed_request_says_its_currency_as_its_view_does(
    client: AppClient, staff_headers: Headers
) -> None:
    requester, _, headers = await member(client, staff_headers, "Larch Housing CIC")
    bodies = {
        "EUR": request_body(requester, budget={"currency": "EUR", "max_minor": 90_000}),
        "CHF": request_body(requester, budget=None, currency="CHF"),
        "GBP": request_body(requester, budget=None),
    }
    made = {currency: await posted(client, headers, body) for currency, body in bodies.items()}
    await settle(client)
    listed = ok(await client.get(REQUESTS, params={"requester_id": requester}, headers=headers))
    said = {item["id"]: item["currency"] for item in listed["items"]}
    assert said == {request_id: currency for currency, request_id in made.items()}
    for request_id, currency in said.items():
        view = ok(await client.get(f"{REQUESTS}/{request_id}", headers=headers))
        assert view["currency"] == currency
    # The document says it too.
    document = (await client.get("/schema/openapi.json")).json()
    assert "currency" in document["components"]["schemas"]["RequestSummary"]["properties"]
