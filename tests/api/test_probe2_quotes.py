"""Probe of requests for quote (issue 18, ADR 35), on both stores, as a careless supplier's
client would behave: a quote or a decline retried after its answer was lost (the same body, the
same If-Match it sent first) answers the first one's success and records nothing more (RFC
9110 §13.1.1 lets a change already made answer 2xx; ADR 43), while a different body on a stale
version is still a 409; past the deadline the same retry answers the quote as it stands, and
anything else is refused as ever. Odd list parameters are problems, never a 500."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from tests.api.helpers import services_of
from tests.api.test_bid_scenario import member
from tests.api.test_ocds_probe import forge
from tests.api.test_outside_probe import failures
from tests.api.test_quote_scenario import (
    DEADLINE,
    REQUESTS,
    ok,
    posted,
    quote_path,
    refused,
    request_body,
)
from tests.api.test_quotes_probe import opened_request
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.mail.tables import outbox_messages

Client = AppClient
Headers = dict[str, str]


def sealed_events(client: Client) -> int:
    recorder = services_of(client).applications["bids"].recorder
    return len(recorder.select_notifications(start=1, limit=10_000_000))


async def sealed_rows(client: Client) -> int:
    services = services_of(client)
    async with services.engine.connect() as connection:
        count = await connection.scalar(
            select(func.count())
            .select_from(outbox_messages)
            .where(outbox_messages.c.sealed.is_not(None))
        )
    return int(count or 0)


async def settle(client: Client) -> None:
    services = services_of(client)
    await services.run(services.readside.projector.catch_up)


async def public_notices(client: Client, organisations: list[str]) -> list[tuple[str, str]]:
    """(organisation, template) of every message in the clear queued to these organisations
    about a request for quote's outcome, in the order asked."""
    ids = [uuid.UUID(o) for o in organisations]
    table = outbox_messages
    services = services_of(client)
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            select(table.c.organisation_id, table.c.template).where(
                table.c.organisation_id.in_(ids),
                table.c.sealed.is_(None),
                table.c.template.in_(
                    [
                        "quote_accepted",
                        "quote_not_accepted",
                        "quote_request_closed",
                        "quote_request_cancelled",
                    ]
                ),
            )
        )
        found = sorted((str(r.organisation_id), r.template) for r in rows)
    return sorted(found, key=lambda row: organisations.index(row[0]))


async def put(client: Client, path: str, headers: Headers, body: Any, tag: str | None) -> Any:
    extra = {} if tag is None else {"If-Match": tag}
    return await client.put(path, json=body, headers=headers | extra)


async def test_a_quote_or_decline_retried_with_its_first_if_match_answers_its_success(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Aspen Housing Trust")
    supplier, _, s_headers = await member(client, staff_headers, "Birch Removals CIC")
    request_id = await posted(client, r_headers, request_body(requester))
    path = quote_path(supplier, request_id)
    first = {"price_minor": 45_000, "note": "Two movers"}
    made = ok(await put(client, path, s_headers, first, None))
    revised = {"price_minor": 42_000, "note": "Two movers, one van"}
    tag = f'"{made["version"]}"'
    changed = ok(await put(client, path, s_headers, revised, tag))
    events, rows = sealed_events(client), await sealed_rows(client)
    # The revision's answer was lost: the client sends it again, as it did.
    again = await put(client, path, s_headers, revised, tag)
    assert again.status_code == 200, again.text
    assert again.json()["version"] == changed["version"]
    assert again.headers["ETag"] == f'"{changed["version"]}"'
    assert (sealed_events(client), await sealed_rows(client)) == (events, rows)
    # Another body on the stale version is still refused, and changes nothing.
    refused(await put(client, path, s_headers, first, tag), 409)
    # A decline retried likewise.
    current = f'"{changed["version"]}"'
    reason = {"reason": "No van free that week"}
    declined = ok(
        await client.post(f"{path}/decline", json=reason, headers=s_headers | {"If-Match": current})
    )
    events, rows = sealed_events(client), await sealed_rows(client)
    retried = await client.post(
        f"{path}/decline", json=reason, headers=s_headers | {"If-Match": current}
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["version"] == declined["version"]
    other = {"reason": "Changed our mind"}
    refused(
        await client.post(f"{path}/decline", json=other, headers=s_headers | {"If-Match": current}),
        409,
    )
    assert (sealed_events(client), await sealed_rows(client)) == (events, rows)
    # Past the deadline (before the opening), the same retry answers the quote as it stands;
    # anything else is refused, as ever.
    deadline = datetime.fromisoformat(DEADLINE.replace("Z", "+00:00"))
    clock.advance(deadline - clock.now() + timedelta(seconds=1))
    late = await client.post(f"{path}/decline", json=reason, headers=s_headers)
    assert late.status_code == 200, late.text
    assert late.json()["version"] == declined["version"]
    refused(await client.post(f"{path}/decline", json=other, headers=s_headers), 409)
    refused(await put(client, path, s_headers, revised, None), 409)
    assert (sealed_events(client), await sealed_rows(client)) == (events, rows)
    mine = ok(await client.get(path, headers=s_headers))
    assert (mine["status"], mine["decline_reason"], mine["price_minor"]) == (
        "declined",
        "No van free that week",
        42_000,
    )


async def test_odd_list_parameters_are_a_problem_naming_the_parameter_never_a_500(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Cedar Housing Trust")
    await posted(client, r_headers, request_body(requester))
    odd: list[dict[str, Any]] = [
        {"page": 10**20},
        {"page": 0},
        {"page": -1},
        {"per_page": 0},
        {"per_page": 10**6},
        {"page": 10**9, "per_page": 100},
        {"status": "sealed"},
        {"status": ""},
        {"requester_id": "nobody"},
        {"cpv": "x" * 5000},
        {"cpv": "\x00"},
        {"cpv": "99999999-9"},
        {"region": "TL\u202e"},
        {"region": "ZZZ9"},
        {"position": "marketplace:-1"},
        {"position": "marketplace:99999999999999999999999"},
        {"position": "bids:1"},
        {"position": "garbage"},
    ]
    seen = []
    for params in odd:
        response = await client.get("/api/v1/requests-for-quote", params=params, headers=r_headers)
        seen.append((params, response.status_code, response.text[:120]))
    assert [s for s in seen if s[1] >= 500] == []
    assert [s for s in seen if s[1] == 200 and s[0].get("page") != 10**9] == [], seen


async def test_ending_events_another_writer_stored_tell_no_quoter_again(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """The domain ends a request once: accepted or closed once its quotes are opened, or
    cancelled before. An Accepted naming another supplier, a Closed or a Cancelled stored after
    the acceptance (another writer's) tells no quoter anything more: not the winner that it
    lost, not the loser that it won (as the requests' read model leaves them out)."""
    request_id, r_headers, quoters, opened = await opened_request(client, staff_headers, clock)
    by_supplier = {q["supplier_id"]: q for q in opened["quotes"]}
    alder, beech = quoters["alder"][0], quoters["beech"][0]
    accepted = await client.post(
        f"{REQUESTS}/{request_id}/acceptance",
        json={"quote_id": by_supplier[alder]["quote_id"]},
        headers=r_headers,
    )
    assert accepted.status_code == 201, accepted.text
    await settle(client)
    told = await public_notices(client, [alder, beech])
    assert told == [(alder, "quote_accepted"), (beech, "quote_not_accepted")]
    version = ok(await client.get(f"{REQUESTS}/{request_id}", headers=r_headers))["version"]
    topic = "marketplace.quotes.request:RequestForQuote."
    at = clock.now()
    forged = [
        (
            "Accepted",
            {
                "quote_id": by_supplier[beech]["quote_id"],
                "supplier_id": beech,
                "price_minor": 60_000,
                "currency": "GBP",
                "contract_id": str(uuid.uuid4()),
            },
        ),
        ("Closed", {"reason": "None fit after all"}),
        ("Cancelled", {"reason": "Not needed"}),
    ]
    for offset, (name, payload) in enumerate(forged, start=1):
        await forge(
            client, uuid.UUID(request_id), version + offset, topic + name, **payload, timestamp=at
        )
    await settle(client)
    assert failures(client) == []
    assert await public_notices(client, [alder, beech]) == told
