"""Requests for quote: the sealing key of a request is made only for a post the domain takes
(a refused post's retry is opened like any other), never by a read, and an unhandled error on a
quote route logs neither its supplier nor its request (found by review, issue 18)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from litestar import Request

from tests.api.helpers import services_of
from tests.api.test_bid_scenario import member
from tests.api.test_quote_scenario import (
    REQUESTS,
    ok,
    open_quotes,
    quote_path,
    refused,
    request_body,
)
from tests.conftest import AppClient
from tradehall.api.problems import EXCEPTION_HANDLERS
from tradehall.clock import ManualClock

Headers = dict[str, str]


async def unsettled(client: AppClient) -> set[uuid.UUID]:
    services = services_of(client)
    return set(await services.run(services.sealing.unsettled_tenders))


async def test_a_post_refused_then_retried_with_its_key_is_opened_at_its_deadline(
    client: AppClient, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Rowan Housing CIC")
    ivy, _, i_headers = await member(client, staff_headers, "Ivy Removals Ltd")
    keyed = r_headers | {"Idempotency-Key": f"rfq-{uuid.uuid4().hex}"}
    before = await unsettled(client)
    far = {"start": "2026-07-02T08:00:00Z", "end": "2026-07-03T17:00:00Z"}
    too_far = request_body(requester, deadline="2026-07-01T12:00:00Z", period=far)
    refused(await client.post(REQUESTS, json=too_far, headers=keyed), 422, "deadline")
    assert await unsettled(client) == before  # refused: no key made

    made = ok(await client.post(REQUESTS, json=request_body(requester), headers=keyed), 201)
    request_id = made["id"]
    assert uuid.UUID(request_id) in await unsettled(client)
    ok(
        await client.put(
            quote_path(ivy, request_id), json={"price_minor": 50_000}, headers=i_headers
        )
    )
    await open_quotes(client, clock)
    opened = ok(await client.get(f"{REQUESTS}/{request_id}/quotes", headers=r_headers))
    assert [q["price_minor"] for q in opened["quotes"]] == [50_000]


async def test_reading_a_quote_of_a_request_that_is_not_there_makes_no_key(
    client: AppClient, staff_headers: Headers
) -> None:
    oak, _, o_headers = await member(client, staff_headers, "Oak Joinery Co-operative")
    before = await unsettled(client)
    nothing = uuid.uuid4()
    refused(await client.get(quote_path(oak, str(nothing)), headers=o_headers), 404)
    assert await unsettled(client) == before


def later(organisation_id: str) -> dict[str, Any]:
    """An open request due a week after the other tests' (their deadline), with its period after:
    a PostgreSQL run's lists are shared, soonest deadline first, and these 22 must not push
    another test's requests off its first page."""
    period = {"start": "2026-03-16T08:00:00Z", "end": "2026-03-20T17:00:00Z"}
    return request_body(organisation_id, deadline="2026-03-11T12:00:00Z", period=period)


async def test_an_organisation_posts_twenty_requests_at_once_then_one_an_hour(
    client: AppClient, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Sorrel Housing CIC")
    other, _, o_headers = await member(client, staff_headers, "Teasel Housing CIC")
    keyed = r_headers | {"Idempotency-Key": f"rfq-{uuid.uuid4().hex}"}
    first = ok(await client.post(REQUESTS, json=later(requester), headers=keyed), 201)
    for _ in range(19):
        ok(await client.post(REQUESTS, json=later(requester), headers=r_headers), 201)
    before = await unsettled(client)
    over = await client.post(REQUESTS, json=later(requester), headers=r_headers)
    assert over.status_code == 429, over.text
    assert over.headers["Retry-After"] == "3600"
    assert await unsettled(client) == before  # refused before its key was made
    # A replay of a request posted is no new post; another organisation has its own count;
    # a refused post is not counted.
    again = ok(await client.post(REQUESTS, json=later(requester), headers=keyed), 201)
    assert again["id"] == first["id"]
    far = {"start": "2026-07-02T08:00:00Z", "end": "2026-07-03T17:00:00Z"}
    too_far = request_body(other, deadline="2026-07-01T12:00:00Z", period=far)
    for _ in range(20):
        refused(await client.post(REQUESTS, json=too_far, headers=o_headers), 422, "deadline")
    ok(await client.post(REQUESTS, json=later(other), headers=o_headers), 201)
    clock.advance(timedelta(hours=1))
    ok(await client.post(REQUESTS, json=later(requester), headers=r_headers), 201)
    refused(await client.post(REQUESTS, json=later(requester), headers=r_headers), 429)


def test_an_unhandled_error_on_a_quote_route_logs_no_supplier_or_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    supplier, request_id = uuid.uuid4(), uuid.uuid4()
    path = f"/api/v1/organisations/{supplier}/quotes/{request_id}"
    scope: Any = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "scheme": "http",
        "server": ("tradehall.test", 80),
        "root_path": "",
    }
    handler = EXCEPTION_HANDLERS[Exception]
    try:
        raise RuntimeError("a failure no route expected")
    except RuntimeError as error:
        answer = handler(Request(scope), error)
    assert answer.status_code == 500
    logged = capsys.readouterr()
    # The log line itself (the development renderer below it prints the test's own locals).
    [line] = [t for t in (logged.out + logged.err).splitlines() if "unhandled error" in t]
    assert "/api/v1/organisations/{organisation_id}/quotes/{request_id}" in line
    assert str(supplier) not in line
    assert str(request_id) not in line
