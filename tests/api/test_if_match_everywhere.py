"""If-Match on every command, on both stores (the probe's F7; RFC 9110 §13.1.1: a server that
receives If-Match evaluates it before it performs the method). A command on one versioned
aggregate reads it as the version it expects (a stale one: 409, nothing written); every other
command refuses a request carrying one (412 naming the header, nothing done): none passes it
over in silence, as the delivery report's POST did (201 with `If-Match: "999"`).

The walk sends every POST, PUT, PATCH and DELETE of the OpenAPI document with a stale If-Match,
with real ids, as each party to them (the buyers, bidders, requester, quoter, a contract's
parties, staff): none answers a 2xx, no store moves, and each command the document does not
list If-Match for answers 412 to whoever may call it."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select

from tests.api.helpers import services_of
from tests.api.openapi_walk import Operation, Snapshot, operations
from tests.api.test_bid_scenario import bid_of, drafted_bid, member, published_tender
from tests.api.test_bids import OCTETS, bid_files, named
from tests.api.test_buyers import register_council, verification
from tests.api.test_clarifications import council
from tests.api.test_contracts import report, signed_contract
from tests.api.test_probe_strangers import live_tender, reported_contract, send
from tests.api.test_quote_scenario import (
    REQUESTS,
    ok,
    open_quotes,
    posted,
    quoted,
    refused,
    request_body,
)
from tests.api.test_tender_scenario import settle
from tests.conftest import AppClient
from tests.evidence_files import pdf
from tradehall.clock import ManualClock
from tradehall.mail.tables import outbox_messages
from tradehall.store.base import Store

Client = AppClient
Headers = dict[str, str]
STALE = {"If-Match": '"999"'}
COMMANDS = ("post", "put", "patch", "delete")
STALE_VERSION = "urn:tradehall:problem:stale-version"
PRECONDITION_FAILED = "urn:tradehall:problem:precondition-failed"


@dataclass(frozen=True)
class Party:
    """A caller: its headers and the ids its commands name (its own organisation's too)."""

    name: str
    headers: Headers
    ids: dict[str, str]


async def parties(client: Client, staff_headers: Headers, clock: ManualClock) -> list[Party]:
    """Every kind of aggregate the commands name, in a state where acting on it would do
    something, and who may act on each."""
    # A live tender (its deadline far off) with a bid drafted, a question and a listing.
    on = await live_tender(client, staff_headers, submit=False)
    buyer, buyer_headers, bidder, bidder_headers = (
        on.buyer,
        on.buyer_headers,
        on.bidder,
        on.bidder_headers,
    )
    search = {"name": "Parks", "cpv_prefixes": ["77"], "regions": [], "delivery": "immediate"}
    search_id = ok(
        await client.post(
            f"/api/v1/organisations/{bidder}/saved-searches", json=search, headers=bidder_headers
        ),
        201,
    )["id"]
    # A request for quote opened with a quote, and one still taking quotes.
    requester, _, r_headers = await member(client, staff_headers, "Oak Housing Co-operative")
    quoter, _, q_headers = await member(client, staff_headers, "Beech Vans Co-operative")
    opened = await posted(client, r_headers, request_body(requester))
    await quoted(client, q_headers, quoter, opened, 45_000)
    await open_quotes(client, clock)
    quote_id = ok(await client.get(f"{REQUESTS}/{opened}/quotes", headers=r_headers))["quotes"][0][
        "quote_id"
    ]
    deadline = (clock.now() + timedelta(days=20)).isoformat()
    work = {
        "start": (clock.now() + timedelta(days=30)).isoformat(),
        "end": (clock.now() + timedelta(days=31)).isoformat(),
    }
    taking = await posted(
        client, r_headers, request_body(requester, deadline=deadline, period=work)
    )
    await quoted(client, q_headers, quoter, taking, 40_000)
    # A tender awarded and contracted, a delivery report waiting for the buyer.
    signed, made = await reported_contract(client, staff_headers, clock)
    awarded = {
        "tender_id": signed.tender,
        "lot_id": "lot-1",
        "bid_id": signed.bid,
        "contract_id": signed.contract,
        "report_id": made["report_id"],
        "quote_id": quote_id,
    }
    shared = {"listing_id": on.listing, "clarification_id": on.question, "search_id": search_id}
    on_live = {"tender_id": on.tender, "bid_id": on.bid, "lot_id": "lot-1"}
    # Ids of what the world holds none of (an alert, a mail, a mark application): not found.
    nothing = {"alert_id": str(uuid.uuid4()), "message_id": str(uuid.uuid4())}
    base = {**nothing, **awarded, **shared, "request_id": opened}
    return [
        Party("staff", staff_headers, base | {"organisation_id": bidder}),
        Party("live buyer", buyer_headers, base | on_live | {"organisation_id": buyer}),
        Party("bidder", bidder_headers, base | on_live | {"organisation_id": bidder}),
        Party("requester", r_headers, base | {"organisation_id": requester}),
        Party("quoter", q_headers, base | {"organisation_id": quoter, "request_id": taking}),
        Party("contract buyer", signed.buyer_headers, base | {"organisation_id": signed.buyer}),
        Party("lead", signed.a_headers, base | {"organisation_id": signed.a}),
        Party("partner", signed.b_headers, base | {"organisation_id": signed.b}),
    ]


def reads_if_match(op: Operation) -> bool:
    return any(p["in"] == "header" and p["name"] == "If-Match" for p in op.parameters)


async def outbox_rows(client: Client) -> int:
    async with services_of(client).engine.connect() as connection:
        found = await connection.scalar(select(func.count()).select_from(outbox_messages))
    return int(found or 0)


def problem_type(response: httpx.Response) -> str | None:
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return None
    found: str | None = response.json().get("type")
    return found


async def test_a_stale_if_match_on_every_command_answers_no_2xx_and_writes_nothing(
    client: Client, store: Store, staff_headers: Headers, clock: ManualClock
) -> None:
    callers = await parties(client, staff_headers, clock)
    await settle(client)
    document = (await client.get("/schema/openapi.json")).json()
    commands = [op for op in operations(document) if op.method in COMMANDS]
    snapshot = Snapshot(store, services_of(client).event_logs)
    failures: list[str] = []
    refusing: dict[str, set[int]] = {}
    stale: set[str] = set()
    answered: dict[str, list[str]] = {}
    try:
        for op in commands:
            before = (snapshot.take(), await outbox_rows(client))
            answers = set()
            for party in callers:
                response = await send(client, document, op, party.ids, party.headers | STALE)
                where = f"{op} as {party.name}"
                answers.add(response.status_code)
                kind = problem_type(response)
                if response.status_code < 400:
                    failures.append(f"{where}: {response.status_code} {response.text[:200]}")
                if reads_if_match(op):
                    answered.setdefault(str(op), []).append(
                        f"{party.name} {response.status_code} {kind}"
                    )
                    if response.status_code == 412:
                        failures.append(f"{where}: 412 though it reads If-Match")
                    if kind == STALE_VERSION:
                        stale.add(str(op))
                elif response.status_code not in (401, 403, 412):
                    failures.append(f"{where}: {response.status_code} {response.text[:200]}")
                elif response.status_code == 412:
                    named = [e["field"] for e in response.json()["errors"]]
                    if (kind, named) != (PRECONDITION_FAILED, ["If-Match"]):
                        failures.append(f"{where}: 412 {response.text[:200]}")
            if not reads_if_match(op):
                refusing[str(op)] = answers
            if (snapshot.take(), await outbox_rows(client)) != before:
                failures.append(f"{op}: a stale If-Match changed the stores")
    finally:
        snapshot.close()
    # Every command that reads no If-Match refused it to whoever may call it.
    failures += [
        f"{op}: never 412 ({answers})" for op, answers in refusing.items() if 412 not in answers
    ]
    assert not failures, "\n".join(failures)
    assert len(refusing) >= 25
    # The walk reached the version of the aggregates it names: among them the commands that
    # read no If-Match before (ADR 28's delivery report among them).
    assert {
        "POST /api/v1/contracts/{contract_id}/delivery-reports",
        "POST /api/v1/bids/{bid_id}/documents",
        "PUT /api/v1/organisations/{organisation_id}/quotes/{request_id}",
        "POST /api/v1/organisations/{organisation_id}/quotes/{request_id}/decline",
        "POST /api/v1/bids/{bid_id}/submission",
        "POST /api/v1/contracts/{contract_id}/amendments",
        "POST /api/v1/listings/{listing_id}/withdrawal",
        "PUT /api/v1/organisations/{organisation_id}/saved-searches/{search_id}",
    } <= stale, {op: answered[op] for op in sorted(answered.keys() - stale)}
    assert len(stale) >= 30, {op: answered[op] for op in sorted(answered.keys() - stale)}


async def heads(client: Client) -> tuple[int, ...]:
    """Every event log's head (the sealed one too) and the outbox's rows."""
    services = services_of(client)
    found = [
        await services.run(app.recorder.max_notification_id)
        for _, app in sorted(services.applications.items())
    ]
    return (*(h or 0 for h in found), await outbox_rows(client))


async def etag_of(client: Client, path: str, headers: Headers) -> str:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


async def test_a_delivery_report_takes_the_contract_s_version(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    (signed,) = await signed_contract(client, staff_headers, clock)
    clock.advance(timedelta(days=30))
    start = datetime.fromisoformat(signed.signed_on)
    made = report(signed.signed_on, (start + timedelta(days=20)).isoformat())
    current = await etag_of(client, signed.url, signed.a_headers)
    await settle(client)
    before = await heads(client)
    problem = refused(
        await client.post(
            f"{signed.url}/delivery-reports", json=made, headers=signed.a_headers | STALE
        ),
        409,
    )
    assert (problem["type"], problem["expected_version"]) == (STALE_VERSION, 999)
    assert await heads(client) == before
    at_current = signed.a_headers | {"If-Match": current}
    ok(await client.post(f"{signed.url}/delivery-reports", json=made, headers=at_current), 201)


async def test_a_bid_document_and_a_partner_s_acceptance_take_the_bid_s_version(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    _, _, lead_headers = await member(client, staff_headers, "Hazel Gardens CIC")
    partner, _, partner_headers = await member(client, staff_headers, "Holly Paths Co-operative")
    bid = await drafted_bid(client, lead_headers, tender, "lot-1", 11_000_000)
    url = f"/api/v1/bids/{bid}"
    upload = lead_headers | OCTETS | named("method.pdf")
    await settle(client)

    before, files = await heads(client), bid_files(client)
    refused(await client.post(f"{url}/documents", content=pdf(), headers=upload | STALE), 409)
    assert (await heads(client), bid_files(client)) == (before, files)
    assert (await bid_of(client, lead_headers, bid))["documents"] == []
    current = {"If-Match": await etag_of(client, url, lead_headers)}
    ok(await client.post(f"{url}/documents", content=pdf(), headers=upload | current), 201)

    shares = {"lead_share": 50, "partners": [{"organisation_id": partner, "share": 50}]}
    ok(await client.put(f"{url}/consortium", json=shares, headers=lead_headers))
    accepting = {"consortium_round": 1}
    await settle(client)
    before = await heads(client)
    refused(
        await client.post(f"{url}/acceptance", json=accepting, headers=partner_headers | STALE), 409
    )
    assert await heads(client) == before
    current = {"If-Match": await etag_of(client, url, partner_headers)}
    ok(await client.post(f"{url}/acceptance", json=accepting, headers=partner_headers | current))
    assert (await bid_of(client, lead_headers, bid))["consortium_complete"] is True


async def test_a_buyer_s_verification_takes_its_version(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    org = await register_council(client, name=f"Upland Council {uuid.uuid4().hex[:6]}")
    url = verification(org["id"])
    evidence = {"evidence": "GOV.UK register"}
    await settle(client)
    before = await heads(client)
    # Never verified: it has no version to name.
    for version in ('"1"', '"0"', '"999"'):
        refused(
            await client.post(url, json=evidence, headers=staff_headers | {"If-Match": version}),
            409,
        )
    assert await heads(client) == before
    first = ok(await client.post(url, json=evidence, headers=staff_headers))
    withdrawal = {"reason": "Abolished"}
    current = {"If-Match": f'"{first["version"]}"'}
    withdrawn = ok(
        await client.post(f"{url}/withdrawal", json=withdrawal, headers=staff_headers | current)
    )
    await settle(client)
    before = await heads(client)
    refused(await client.post(url, json=evidence, headers=staff_headers | current), 409)
    assert await heads(client) == before
    again = {"If-Match": f'"{withdrawn["version"]}"'}
    assert ok(await client.post(url, json=evidence, headers=staff_headers | again))["version"] > 2


async def test_a_command_that_reads_no_if_match_refuses_one_and_takes_a_star(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Rowan Housing CIC")
    body = request_body(requester)
    await settle(client)
    before = await heads(client)
    problem = refused(
        await client.post(REQUESTS, json=body, headers=r_headers | {"If-Match": '"3"'}),
        412,
        "If-Match",
    )
    assert problem["type"] == PRECONDITION_FAILED
    # A malformed one is the 400 it is on every route.
    refused(
        await client.post(REQUESTS, json=body, headers=r_headers | {"If-Match": 'W/"3"'}),
        400,
        "If-Match",
    )
    assert await heads(client) == before
    # `*`: whatever is current, as everywhere.
    request_id = ok(
        await client.post(REQUESTS, json=body, headers=r_headers | {"If-Match": "*"}), 201
    )["id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", request_id)
    # And the document says which commands refuse it.
    document = (await client.get("/schema/openapi.json")).json()
    posting = document["paths"]["/api/v1/requests-for-quote"]["post"]
    assert "412" in posting["responses"]
    assert not any(p["name"] == "If-Match" for p in posting.get("parameters", []))
    quoting = document["paths"]["/api/v1/organisations/{organisation_id}/quotes/{request_id}"][
        "put"
    ]
    assert "412" not in quoting["responses"]
    assert any(p["name"] == "If-Match" for p in quoting["parameters"])
