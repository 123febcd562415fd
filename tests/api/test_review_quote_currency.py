"""Review probe: a request whose budget names no currency and whose stated currency is not
one quotes are taken in is refused naming `currency` (the field sent), not `budget.currency`."""

from __future__ import annotations

from tests.api.test_bid_scenario import member
from tests.api.test_quote_scenario import REQUESTS, request_body
from tests.conftest import AppClient

Headers = dict[str, str]


async def test_a_stated_currency_not_taken_is_named_as_sent(
    client: AppClient, staff_headers: Headers
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Hazel Housing CIC")
    body = request_body(requester, budget={"max_minor": 80_000}, currency="JPY")
    response = await client.post(REQUESTS, json=body, headers=r_headers)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["currency"], response.text
