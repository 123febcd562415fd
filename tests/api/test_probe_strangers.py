"""Every operation attacked with real ids by those it does not serve, on both stores (the
"probe" helper): a member of an unrelated organisation and a rival verified buyer send each
command and read whose path names an aggregate of someone else's (a tender awarded and
contracted, its lot, opened bid, contract and delivery report; a live tender and a submitted
bid; a request for quote to invited members, opened, and its quotes; a listing; a question)
with a valid body, and staff send each command they do not make. Each answer is a 4xx; the
stranger's and the rival's are the very answers they get for ids that name nothing (the ids
aside), so they learn nothing of what exists; and no event log, sealed or followed, and no
outbox row moves. Routes a stranger may use on another's aggregate (asking a question,
registering interest, drafting a bid of its own) are left out, as are the routes whose path
names an organisation (test_authorisation refuses those to anyone else's users)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.api.helpers import services_of
from tests.api.openapi_walk import Examples, Operation, operations
from tests.api.test_bid_scenario import drafted_bid, member, published_tender, submitted
from tests.api.test_clarifications import council
from tests.api.test_contracts import Signed, report, signed_contract
from tests.api.test_listings import BREAD
from tests.api.test_quote_scenario import (
    REQUESTS,
    ok,
    open_quotes,
    posted,
    quoted,
    request_body,
)
from tests.api.test_sealing import FIXED, REQUIRED_QUERY
from tests.api.test_tender_scenario import settle
from tests.conftest import AppClient
from tradehall.api.access import Access, declared_access
from tradehall.identity.users import Role
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.sealing.tables import sealing_keys

Client = AppClient
Headers = dict[str, str]
VOLATILE = {"date", "x-request-id", "content-length"}
# What a stranger may do to another's aggregate: its own part in it.
OPEN_TO_STRANGERS = {
    ("post", "/api/v1/tenders/{tender_id}/questions"),
    ("post", "/api/v1/tenders/{tender_id}/interest"),
    ("get", "/api/v1/tenders/{tender_id}/interest"),
}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# Whose answers are another's business: identity, registration, Stripe.
NOT_AGGREGATES = ("/api/v1/auth", "/api/v1/invitations", "/api/v1/webhooks", "/health", "/ready")


@dataclass(frozen=True)
class World:
    ids: dict[str, str]  # real ids, by path or body name
    live: dict[str, str]  # the live tender's and its bid's
    stranger: Headers
    rival: Headers


@dataclass(frozen=True)
class LiveTender:
    """A council's live tender (its deadline far off) with a member's bid for lot 1, the
    member's question on it and the member's published listing; who is who."""

    buyer: str
    buyer_headers: Headers
    tender: str
    bidder: str
    bidder_headers: Headers
    bid: str
    question: str
    listing: str


async def live_tender(client: Client, staff_headers: Headers, *, submit: bool) -> LiveTender:
    """The live tender, its bid submitted (`submit`) or left a draft."""
    buyer, buyer_headers = await council(client, staff_headers)
    live = await published_tender(
        client,
        buyer,
        buyer_headers,
        deadline="2026-09-01T12:00:00Z",
        enquiry_period={"start": "2026-03-02T09:00:00Z", "end": "2026-08-20T17:00:00Z"},
        contract_period={"start": "2026-10-01T00:00:00Z", "end": "2027-09-30T00:00:00Z"},
    )
    bidder, _, bidder_headers = await member(client, staff_headers, "Alder Grounds CIC")
    bid = await drafted_bid(client, bidder_headers, live, "lot-1", 10_000_000)
    if submit:
        await submitted(client, bidder_headers, bid)
    question = ok(
        await client.post(
            f"/api/v1/tenders/{live}/questions",
            json={"question": "May a consortium bid?"},
            headers=bidder_headers,
        ),
        201,
    )["id"]
    listing = ok(
        await client.post(
            f"/api/v1/organisations/{bidder}/listings", json=BREAD, headers=bidder_headers
        ),
        201,
    )["id"]
    return LiveTender(buyer, buyer_headers, live, bidder, bidder_headers, bid, question, listing)


async def reported_contract(
    client: Client, staff_headers: Headers, clock: Any
) -> tuple[Signed, dict[str, Any]]:
    """A tender awarded and contracted (`signed_contract`), a month on, and the lead's delivery
    report waiting for the buyer (its body)."""
    (signed,) = await signed_contract(client, staff_headers, clock)
    clock.advance(timedelta(days=30))
    start = datetime.fromisoformat(signed.signed_on)
    made = report(signed.signed_on, (start + timedelta(days=20)).isoformat())
    ok(
        await client.post(f"{signed.url}/delivery-reports", json=made, headers=signed.a_headers),
        201,
    )
    return signed, made


async def world(client: Client, staff_headers: Headers, clock: Any) -> World:
    """Someone else's aggregate of every kind the walk names, in a state where acting on it
    would do something."""
    # A live tender with a submitted bid (its deadline far off).
    on = await live_tender(client, staff_headers, submit=True)
    # A request for quote to two invited members, opened with both quotes.
    requester, _, r_headers = await member(client, staff_headers, "Oak Housing Co-operative")
    invited = []
    for name, price in (("Beech Vans Co-operative", 45_000), ("Cedar Movers CIC", 60_000)):
        org, _, headers = await member(client, staff_headers, name)
        invited.append((org, headers, price))
    request_id = await posted(
        client,
        r_headers,
        request_body(requester, audience="invited", invited=[o for o, _, _ in invited]),
    )
    for org, headers, price in invited:
        await quoted(client, headers, org, request_id, price)
    await open_quotes(client, clock)
    quotes = ok(await client.get(f"{REQUESTS}/{request_id}/quotes", headers=r_headers))
    # A tender awarded and contracted, a delivery report waiting for the buyer.
    signed, made = await reported_contract(client, staff_headers, clock)
    await settle(client)
    *_, stranger = await member(client, staff_headers, "Wren Cafe CIC")
    _, rival = await council(client, staff_headers)
    ids = {
        "tender_id": signed.tender,
        "lot_id": "lot-1",
        "bid_id": signed.bid,
        "contract_id": signed.contract,
        "report_id": made["report_id"],
        "request_id": request_id,
        "quote_id": quotes["quotes"][0]["quote_id"],
        "listing_id": on.listing,
        "clarification_id": on.question,
    }
    return World(ids, {"tender_id": on.tender, "bid_id": on.bid}, stranger, rival)


def nothing_like(ids: dict[str, str]) -> dict[str, str]:
    """Ids of the same kinds that name nothing."""
    return {k: v if k == "lot_id" else str(uuid.uuid4()) for k, v in ids.items()}


def names_in(path: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", path))


def walked(document: dict[str, Any]) -> list[Operation]:
    """The operations whose path names someone's aggregate, but not an organisation."""
    found = []
    for op in operations(document):
        names = names_in(op.path)
        if "organisation_id" in names or op.path.startswith(NOT_AGGREGATES):
            continue
        if (op.method, op.path) in OPEN_TO_STRANGERS:
            continue
        if names & {
            "tender_id",
            "bid_id",
            "contract_id",
            "request_id",
            "listing_id",
            "clarification_id",
            "report_id",
        }:
            found.append(op)
    return found


def rules(client: Client) -> dict[tuple[str, str], Access]:
    """Each operation's access rule."""
    found = {}
    for route in client.app.routes:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for handler in getattr(route, "route_handlers", []):
            access = declared_access(handler)
            if access is not None:
                found |= {(m.lower(), path): access for m in handler.http_methods}
    return found


async def stores(client: Client) -> tuple[Any, ...]:
    """How far every event log (the sealed one too) and the outbox have come."""
    services = services_of(client)
    heads = [
        await services.run(app.recorder.max_notification_id)
        for _, app in sorted(services.applications.items())
    ]
    async with services.engine.connect() as connection:
        outbox = await connection.scalar(select(func.count()).select_from(outbox_messages))
        keys = await connection.scalar(select(func.count()).select_from(sealing_keys))
    return (*heads, outbox, keys)


def seen(response: httpx.Response, ids: dict[str, str]) -> tuple[Any, ...]:
    """The answer, every id in it read as its kind's name."""
    text = response.text
    headers = [(k, v) for k, v in sorted(response.headers.items()) if k.lower() not in VOLATILE]
    for name, value in ids.items():
        if name != "lot_id":
            text = text.replace(value, f"<{name}>")
            headers = [(k, v.replace(value, f"<{name}>")) for k, v in headers]
    return response.status_code, headers, text


async def send(
    client: Client, document: dict[str, Any], op: Operation, ids: dict[str, str], headers: Headers
) -> httpx.Response:
    """The operation with these ids in its path and body (a valid body), as the caller."""
    values = FIXED | {"name": "0" * 32} | ids
    path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], op.path)
    if op.method == "post" and op.path.endswith("/documents"):  # a raw upload
        return await client.post(path, content=PDF, headers=headers | {"X-Filename": "walk.pdf"})
    query = {
        p["name"]: REQUIRED_QUERY[p["name"]]
        for p in op.parameters
        if p["in"] == "query" and p.get("required")
    }
    body = None if op.body_schema is None else Examples(document, values).value(op.body_schema)
    return await client.request(op.method.upper(), path, json=body, params=query, headers=headers)


async def test_strangers_learn_nothing_and_change_nothing_with_real_ids(
    client: Client, staff_headers: Headers, clock: Any
) -> None:
    w = await world(client, staff_headers, clock)
    document = (await client.get("/schema/openapi.json")).json()
    access = rules(client)
    # The live tender's ids, for the routes that take a tender's or a bid's.
    bindings = {"awarded": w.ids, "live": w.ids | w.live}
    failures: list[str] = []
    checked = 0
    for op in walked(document):
        rule = access[(op.method, op.path)]
        if rule.public:  # anyone's to read: the tender board, a listing, an award notice
            continue
        callers = {"stranger": w.stranger, "rival buyer": w.rival}
        if op.method != "get" and rule.roles != {Role.STAFF}:
            callers["staff"] = staff_headers
        for label, real in bindings.items():
            if label == "live" and not {"tender_id", "bid_id"} & names_in(op.path):
                continue  # the same ids as the awarded binding's
            fake = nothing_like(real)
            for who, headers in callers.items():
                where = f"{op} ({label}) as {who}"
                before = await stores(client)
                on_real = await send(client, document, op, real, headers)
                after = await stores(client)
                checked += 1
                if not 400 <= on_real.status_code < 500:
                    failures.append(f"{where}: {on_real.status_code} {on_real.text[:200]}")
                if after != before:
                    failures.append(f"{where}: the stores moved {before} -> {after}")
                if who == "staff":  # staff may read what exists; they only change nothing
                    continue
                on_fake = await send(client, document, op, fake, headers)
                if seen(on_real, real) != seen(on_fake, fake):
                    failures.append(
                        f"{where}: {on_real.status_code} {on_real.text[:160]} but for nothing "
                        f"{on_fake.status_code} {on_fake.text[:160]}"
                    )
    assert checked > 100
    assert not failures, "\n".join(failures)
