"""Sealed bids attacked over HTTP, on both stores (issue 12): strange input is refused or kept
safe, never a 500; ids of other kinds of aggregate are the same 404 as unknown ones; nothing
another member, the buyer or staff can see (status, body, ETag, Content-Length, a refusal, their
own bid's version) tells them whether a tender has bids; a partner dropped from a consortium no
longer sees the bid; races end in a state the responses explain (two leads at once, one lead
twice, submission against withdrawal, a consortium change against an acceptance, a submission
against the opening); replayed requests and old If-Match values change nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx

from marketplace.bids.application import BidsApp
from marketplace.bids.boxes import BidBox
from sharedkernel.events import Context, user_actor
from sharedkernel.money import Money
from tests.api.helpers import services_of
from tests.api.test_bid_scenario import (
    at,
    bid_of,
    content,
    drafted_bid,
    member,
    opened_bids,
    published_tender,
    submitted,
    tick,
)
from tests.api.test_bids import (
    JSON,
    OCTETS,
    PROBLEM,
    Arena,
    arena,
    bid_events,
    bid_files,
    fields_of,
    named,
    staged_files,
    view,
)
from tests.api.test_clarifications import QUESTION
from tests.api.test_listings import BREAD
from tests.api.test_tenders import DEADLINE
from tests.conftest import AppClient
from tests.evidence_files import pdf
from tradehall.clock import ManualClock
from tradehall.marketplace.bids.declaration import _opening_parts
from tradehall.marketplace.bids.opening import open_due_bids
from tradehall.marketplace.bids.suppliers import supplier_facts

Client = AppClient
Headers = dict[str, str]
# Headers that differ between any two responses whatever they say.
VOLATILE = {"date", "x-request-id"}


def bids_app(client: Client) -> BidsApp:
    app: BidsApp = services_of(client).applications["bids"]
    return app


def shape(response: httpx.Response, *replace: tuple[str, str]) -> tuple[Any, ...]:
    """What a caller sees of a response: status, headers (Content-Length and ETag included, but
    the date and request id) and body, with the given values put back to a common name of the
    same length (so that Content-Length still compares)."""
    text = response.text
    headers = {k: v for k, v in response.headers.items() if k.lower() not in VOLATILE}
    for old, new in replace:
        new = (new + "_" * len(old))[: len(old)]
        text = text.replace(old, new)
        headers = {k: v.replace(old, new) for k, v in headers.items()}
    assert int(headers.get("content-length", len(response.content))) == len(response.content)
    return response.status_code, sorted(headers.items()), text


def share(organisation: str, percent: int) -> dict[str, Any]:
    return {"organisation_id": organisation, "share": percent}


async def consortium(
    client: Client, headers: Headers, bid: str, lead_share: int, *partners: tuple[str, int]
) -> httpx.Response:
    return await client.put(
        f"/api/v1/bids/{bid}/consortium",
        json={"lead_share": lead_share, "partners": [share(p, s) for p, s in partners]},
        headers=headers,
    )


async def accept(client: Client, headers: Headers, bid: str, round_: int) -> httpx.Response:
    return await client.post(
        f"/api/v1/bids/{bid}/acceptance", json={"consortium_round": round_}, headers=headers
    )


# Strange input --------------------------------------------------------------------------------


async def test_strange_document_names_are_refused_or_kept_harmless_never_a_500(
    client: Client, staff_headers: Headers
) -> None:
    on = await arena(client, staff_headers)
    url = f"/api/v1/bids/{on.bid}/documents"
    before, files = bid_events(client), bid_files(client)

    # Refused, naming the header, before a byte is stored: what the text policy refuses in any
    # other string (a bidirectional override shows "\u202efdp.exe" as "exe.pdf"; control
    # characters; a blank name), a name that is not percent-encoded UTF-8, and a name too long.
    refused: list[tuple[str | bytes, int]] = [
        ("%00", 400),
        ("report%00.pdf", 400),
        ("%E2%80%AEfdp.exe", 400),  # RIGHT-TO-LEFT OVERRIDE
        ("invoice%E2%81%A6.pdf", 400),  # LEFT-TO-RIGHT ISOLATE
        ("%C2%85x.pdf", 400),  # NEL, a C1 control
        ("%0D%0AX-Injected: 1", 400),
        ("%20", 400),  # blank
        ("%E2%80%8B", 400),  # a zero-width space alone: blank
        ("%FF%FE.pdf", 400),  # not UTF-8
        ("%ED%A0%80.pdf", 400),  # a surrogate, in UTF-8's form: not UTF-8
        ("%EF%BF%BE.pdf", 400),  # a noncharacter
        (b"caf\xe9.pdf", 400),  # raw Latin-1 bytes, not percent-encoded
        ("a" * 10_000, 400),
        ("x" * 201, 422),
        (quote("\u65e5" * 201), 422),
    ]
    for header, status in refused:
        encoded = header if isinstance(header, bytes) else header.encode("ascii")
        response = await client.post(
            url,
            content=pdf(),
            headers=[(k.encode(), v.encode()) for k, v in (on.a_headers | OCTETS).items()]
            + [(b"x-filename", encoded)],
        )
        assert response.status_code == status, (header[:40], response.text)
        fields = fields_of(response)
        assert fields, response.text
        assert all("filename" in f for f in fields), (header[:40], fields)
    assert bid_events(client) == before
    assert bid_files(client) == files
    assert staged_files(client) == []

    # Kept, made harmless: path separators become "_", a broken escape stays as written, and
    # a non-Latin name of the longest length is taken (its percent-encoding is 1800 long).
    kept = {
        "../../etc/passwd": ".._.._etc_passwd",
        "..%2F..%2Fsealing-key": ".._.._sealing-key",
        "%ZZ": "%ZZ",
        "100%": "100%",
        quote("\u65e5\u672c" * 100): "\u65e5\u672c" * 100,
        quote("\u0645\u0644\u0641.pdf"): "\u0645\u0644\u0641.pdf",  # Arabic, shown right to left
        quote('quote".pdf'): "quote_.pdf",
    }
    for header in kept:
        response = await client.post(
            url, content=pdf(), headers=on.a_headers | OCTETS | {"x-filename": header}
        )
        assert response.status_code == 201, (header[:40], response.text)
    documents = (await view(client, on.a_headers, on.bid))["documents"]
    assert [d["filename"] for d in documents] == list(kept.values())
    for document in documents:
        got = await client.get(f"{url}/{document['name']}", headers=on.a_headers)
        assert got.status_code == 200, got.text
        disposition = got.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="'), disposition
        assert disposition.isascii(), disposition
        assert "\r" not in disposition, disposition
        assert "\n" not in disposition, disposition
        assert "/" not in disposition.split(";")[1]
    assert staged_files(client) == []


async def test_uploads_empty_too_large_or_lying_about_their_type(
    client: Client, staff_headers: Headers
) -> None:
    on = await arena(client, staff_headers)
    url = f"/api/v1/bids/{on.bid}/documents"
    before, files = bid_events(client), bid_files(client)
    most = services_of(client).settings.evidence_max_bytes
    document = pdf()
    too_large = document + b"\n%" + b"0" * (most + 1 - len(document) - 2)
    assert len(too_large) == most + 1
    for body, headers, status in (
        (b"", OCTETS, 422),
        (too_large, OCTETS, 413),
        # A body larger than it says: never more than the limit is taken.
        (too_large, OCTETS | {"Content-Length": "10"}, None),
        # HTML said to be a PDF: the type comes from the bytes.
        (
            b"<!DOCTYPE html><html><script>alert(1)</script></html>",
            {"Content-Type": "application/pdf"},
            415,
        ),
    ):
        try:
            response = await client.post(
                url, content=body, headers=on.a_headers | headers | named("x.pdf")
            )
        except (httpx.HTTPError, RuntimeError):
            continue  # the transport itself refused to send a body that lies about its length
        if status is None:
            assert 400 <= response.status_code < 500, response.text
        else:
            assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith(PROBLEM), response.text
    assert bid_events(client) == before
    assert bid_files(client) == files
    assert staged_files(client) == []

    # A PDF said to be a PNG is kept as what its bytes are, and served back as a PDF.
    lying = await client.post(
        url, content=document, headers=on.a_headers | {"Content-Type": "image/png"} | named("x.png")
    )
    assert lying.status_code == 201, lying.text
    [kept] = (await view(client, on.a_headers, on.bid))["documents"]
    assert (kept["content_type"], kept["size"]) == ("application/pdf", len(document))
    got = await client.get(f"{url}/{kept['name']}", headers=on.a_headers)
    assert got.headers["content-type"].startswith("application/pdf")
    assert got.content == document


async def test_strange_json_is_a_problem_naming_its_field_never_a_500(
    client: Client, staff_headers: Headers
) -> None:
    on = await arena(client, staff_headers)
    bid = f"/api/v1/bids/{on.bid}"
    new = {"tender_id": on.tender, "lot_id": "lot-1"}
    before, seen = bid_events(client), await view(client, on.a_headers, on.bid)

    Case = tuple[str, str, bytes, int, str | None]

    def raw(method: str, url: str, body: bytes, status: int, field: str | None) -> Case:
        return method, url, body, status, field

    def js(method: str, url: str, body: Any, status: int, field: str | None) -> Case:
        return method, url, json.dumps(body).encode(), status, field

    nested = b"[" * 40 + b"]" * 40
    cases = [
        # Numbers as floats, strings, booleans, past 2**64.
        *(
            js("PUT", bid, {"price_minor": value}, 400, "price_minor")
            for value in (1000.0, "1000", True, 2**64, -(2**64), [1000], {"$numberLong": "1"})
        ),
        raw("PUT", bid, b'{"price_minor": 1000e0}', 400, "price_minor"),
        raw("PUT", bid, b'{"price_minor": NaN}', 400, "body"),
        raw("PUT", bid, b'{"price_minor": Infinity}', 400, "body"),
        raw("PUT", bid, b'{"price_minor": ' + b"9" * 5000 + b"}", 400, "price_minor"),
        *(
            js("POST", f"{bid}/acceptance", {"consortium_round": value}, 400, "consortium_round")
            for value in (-1, -(2**64), 2**64, 10**6 + 1, 1.0, "1", True, None, {"$gt": 0})
        ),
        *(
            js("PUT", f"{bid}/consortium", body, 400, field)
            for body, field in (
                ({"lead_share": 60.0, "partners": [share(on.d, 40)]}, "lead_share"),
                ({"lead_share": "60", "partners": [share(on.d, 40)]}, "lead_share"),
                ({"lead_share": 60, "partners": [share(on.d, True)]}, "partners"),
                ({"lead_share": 60, "partners": [share(on.d, 2**64)]}, "partners"),
                ({"lead_share": 60, "partners": [share(on.d, -40)]}, "partners"),
                ({"lead_share": 60, "partners": [share(on.d, 40)] * 10}, "partners"),
                ({"lead_share": 60, "partners": {"0": share(on.d, 40)}}, "partners"),
                ({"lead_share": 60, "partners": [share("' OR 1=1--", 40)]}, "partners"),
            )
        ),
        # Answers: many keys, huge keys, huge answers, not strings, unprintable.
        js("PUT", bid, {"answers": {f"k{i}": "" for i in range(21)}}, 400, "answers"),
        js("PUT", bid, {"answers": {f"{i}": "" for i in range(10_000)}}, 413, None),
        js("PUT", bid, {"answers": {"k" * 201: "x"}}, 400, None),
        js("PUT", bid, {"answers": {"k" * 100_000: "x"}}, 413, None),
        js("PUT", bid, {"answers": {"Experience": "x" * 8001}}, 400, "answers"),
        js("PUT", bid, {"answers": {"Experience": 5}}, 400, "answers"),
        js("PUT", bid, {"answers": {"Experience": {"a": "b"}}}, 400, "answers"),
        js("PUT", bid, {"answers": {"Experience": "\u202egnol"}}, 400, "answers"),
        js("PUT", bid, {"answers": {"Experience\u0000": "x"}}, 400, "answers"),
        js("PUT", bid, {"answers": ["Experience", "x"]}, 400, "answers"),
        # Deeply nested JSON, wherever it is put.
        raw("PUT", bid, b'{"answers": {"Experience": ' + nested + b"}}", 400, "body"),
        raw("PUT", bid, b'{"unknown": ' + nested + b"}", 400, "body"),
        raw("POST", "/api/v1/bids", nested, 400, "body"),
        raw("POST", "/api/v1/bids", b"[" * 30_000 + b"]" * 30_000, 400, "body"),
        raw("POST", "/api/v1/bids", b"{" * 30_000, 400, "body"),
        # Lot ids: unicode, SQL and path metacharacters, a lone surrogate, NUL.
        *(
            js("POST", "/api/v1/bids", new | {"lot_id": lot}, 422, "lot_id")
            for lot in (
                "lot-1' OR '1'='1",
                "lot-1; --",
                "lot-\uff11",  # a fullwidth digit one
                "LOT-1",
                "lot-1 ",
                "\U0001f3af",
                "../lot-1",
                "%",
                "lot-*",
            )
        ),
        js("POST", "/api/v1/bids", new | {"lot_id": "lot-1\u0000"}, 400, "lot_id"),
        js("POST", "/api/v1/bids", new | {"lot_id": "lot-1\u202e"}, 400, "lot_id"),
        js("POST", "/api/v1/bids", new | {"lot_id": "x" * 21}, 400, "lot_id"),
        raw(
            "POST",
            "/api/v1/bids",
            b'{"tender_id": "%s", "lot_id": "\\ud800"}' % on.tender.encode(),
            400,
            None,
        ),
        js("POST", "/api/v1/bids", new | {"lot_id": 1}, 400, "lot_id"),
        js("POST", "/api/v1/bids", new | {"tender_id": on.tender.upper() + "0"}, 400, "tender_id"),
        js("POST", "/api/v1/bids", new | {"tender_id": 5}, 400, "tender_id"),
        js("POST", "/api/v1/bids", new | {"tender_id": None}, 400, "tender_id"),
        # Not a JSON object at all.
        raw("POST", "/api/v1/bids", b'"a string"', 400, "body"),
        raw("POST", "/api/v1/bids", b"\xff\xfe{}", 400, "body"),
        raw("PUT", bid, b"{}" * 10, 400, "body"),
    ]
    for method, url, body, status, field in cases:
        response = await client.request(method, url, content=body, headers=on.a_headers | JSON)
        assert response.status_code == status, (method, url, body[:80], response.text)
        assert response.headers["content-type"].startswith(PROBLEM), response.text
        if field is not None:
            found = fields_of(response)
            assert any(f == field or f.startswith((f"{field}.", f"{field}[")) for f in found), (
                body[:80],
                found,
            )
    assert bid_events(client) == before
    assert await view(client, on.a_headers, on.bid) == seen
    # None of the lot ids made a bid.
    mine = await client.get("/api/v1/bids", headers=on.a_headers)
    assert [i["id"] for i in mine.json()["items"]] == [on.bid]


# Ids of other kinds ---------------------------------------------------------------------------


async def _other_ids(client: Client, on: Arena, clock: ManualClock) -> dict[str, str]:
    """Ids of every other kind of aggregate near a bid: the tender's, its buyer's and the
    bidder's organisation, a listing, a clarification question, and the tender's ballot box
    and the bidder's index in the bids' own log."""
    listing = await client.post(
        f"/api/v1/organisations/{on.x}/listings", json=BREAD, headers=on.x_headers
    )
    assert listing.status_code == 201, listing.text
    clock.advance(timedelta(hours=1))  # into the enquiry period
    asked = await client.post(
        f"/api/v1/tenders/{on.tender}/questions", json={"question": QUESTION}, headers=on.x_headers
    )
    assert asked.status_code == 201, asked.text
    bids = bids_app(client)
    return {
        "tender": on.tender,
        "buyer": on.buyer,
        "bidder": on.a,
        "listing": listing.json()["id"],
        "question": asked.json()["id"],
        "ballot box": str(bids.ids.box_id(uuid.UUID(on.tender))),
        "bidder's index": str(bids.ids.index_id(uuid.UUID(on.a))),
    }


async def test_ids_of_other_kinds_are_the_same_404_as_unknown_ones(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    on = await arena(client, staff_headers)
    others = await _other_ids(client, on, clock)
    nobody = str(uuid.uuid4())
    before = bid_events(client)

    def requests(bid: str) -> list[tuple[str, str, dict[str, Any]]]:
        url = f"/api/v1/bids/{bid}"
        return [
            ("GET", url, {}),
            ("PUT", url, {"json": content(9_000_000)}),
            ("GET", f"{url}/documents/{'0' * 32}", {}),
            ("POST", f"{url}/documents", {"content": pdf(), "headers": OCTETS | named("a.pdf")}),
            ("PUT", f"{url}/consortium", {"json": {"lead_share": 100, "partners": []}}),
            ("POST", f"{url}/acceptance", {"json": {"consortium_round": 0}}),
            ("POST", f"{url}/submission", {}),
            ("POST", f"{url}/withdrawal", {}),
        ]

    async def ask(method: str, url: str, options: dict[str, Any], who: Headers) -> httpx.Response:
        headers = options.get("headers", {}) | who
        rest = {k: v for k, v in options.items() if k != "headers"}
        return await client.request(method, url, headers=headers, **rest)

    # As a bid id, to the bidder itself (who knows every one of these ids but the last two).
    for kind, other in others.items():
        pairs = zip(requests(other), requests(nobody), strict=True)
        for (method, url, options), (_, unknown_url, unknown_options) in pairs:
            theirs = await ask(method, url, options, on.a_headers)
            unknown = await ask(method, unknown_url, unknown_options, on.a_headers)
            assert theirs.status_code == 404, (kind, method, url, theirs.text)
            assert shape(theirs, (other, nobody)) == shape(unknown), (kind, method, url)

    # As a tender id, to draft a bid: as unknown as a tender that does not exist.
    unknown = await client.post(
        "/api/v1/bids", json={"tender_id": nobody, "lot_id": "lot-1"}, headers=on.a_headers
    )
    assert unknown.status_code == 404
    for kind, other in [*others.items(), ("the bid", on.bid)]:
        if kind == "tender":
            continue
        drafted = await client.post(
            "/api/v1/bids", json={"tender_id": other, "lot_id": "lot-1"}, headers=on.a_headers
        )
        assert drafted.status_code == 404, (kind, drafted.text)
        assert shape(drafted, (other, nobody)) == shape(unknown), kind

    # As a tender id for the opened bids, to the buyer and staff.
    for headers in (on.buyer_headers, staff_headers):
        unknown_opened = await opened_bids(client, nobody, headers)
        for kind, other in [*others.items(), ("the bid", on.bid)]:
            opened = await opened_bids(client, other, headers)
            assert opened.status_code == 404, (kind, opened.text)
            assert shape(opened, (other, nobody)) == shape(unknown_opened), kind
            document = await client.get(
                f"/api/v1/tenders/{other}/bids/{on.bid}/documents/{'0' * 32}", headers=headers
            )
            assert document.status_code == 404, (kind, document.text)
    assert bid_events(client) == before


async def test_document_names_that_are_not_the_bids_are_404_before_and_after_opening(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    on = await arena(client, staff_headers)
    url = f"/api/v1/bids/{on.bid}"
    uploaded = await client.post(
        f"{url}/documents", content=pdf(), headers=on.a_headers | OCTETS | named("plan.pdf")
    )
    assert uploaded.status_code == 201, uploaded.text
    [mine] = (await view(client, on.a_headers, on.bid))["documents"]
    # X's bid has a document of its own: its name read through A's bid is nothing.
    theirs_bid = await drafted_bid(client, on.x_headers, on.tender, "lot-1", 9_000_000)
    theirs_up = await client.post(
        f"/api/v1/bids/{theirs_bid}/documents",
        content=pdf(),
        headers=on.x_headers | OCTETS | named("theirs.pdf"),
    )
    assert theirs_up.status_code == 201, theirs_up.text
    [theirs] = (await view(client, on.x_headers, theirs_bid))["documents"]
    strange = [
        "0" * 32,
        "%2E%2E",  # ".." as such, the client resolves before sending
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2E%2E%2F%2E%2E%2Fsealing-key",
        "..%5C..%5Cwindows",
        "%00",
        "%E2%80%AE",
        "a" * 5000,
        "%FF",
        quote("\u65e5\u672c"),
    ]

    def names(own: str, other: str) -> list[str]:
        """Names that are not the bid's: another bid's document, near misses of its own (the
        store's temporary file, another case, one character short) and the strange ones."""
        return [other, own.upper(), own[:-1], f".{own}.tmp", *strange]

    for headers, base, own, other in (
        (on.a_headers, url, mine["name"], theirs["name"]),
        (on.x_headers, f"/api/v1/bids/{theirs_bid}", theirs["name"], mine["name"]),
    ):
        for name in names(own, other):
            response = await client.get(f"{base}/documents/{name}", headers=headers)
            assert response.status_code in (400, 404), (name, response.text)
            assert response.headers["content-type"].startswith(PROBLEM), (name, response.text)
    own = await client.get(f"{url}/documents/{mine['name']}", headers=on.a_headers)
    assert own.status_code == 200, own.text

    # Opened: the buyer reads A's and X's documents through their own bids only.
    await submitted(client, on.a_headers, on.bid)
    await submitted(client, on.x_headers, theirs_bid)
    clock.set(at(DEADLINE) + timedelta(minutes=5))
    await tick(client)
    opened = f"/api/v1/tenders/{on.tender}/bids/{on.bid}/documents"
    got = await client.get(f"{opened}/{mine['name']}", headers=on.buyer_headers)
    assert got.status_code == 200, got.text
    for name in names(mine["name"], theirs["name"]):
        response = await client.get(f"{opened}/{name}", headers=on.buyer_headers)
        assert response.status_code in (400, 404), (name, response.text)
        assert response.headers["content-type"].startswith(PROBLEM), (name, response.text)


# Oracles --------------------------------------------------------------------------------------


async def test_nothing_a_member_does_tells_it_whether_a_tender_has_bids(
    client: Client, staff_headers: Headers
) -> None:
    """Two tenders alike but for their bids (one with three, one consortium, one submitted; the
    other with none). Member P does the same on each: drafting, writing, forming a consortium
    with Q (who leads a bid on the busy tender and is a partner in another there), Q accepting,
    submitting, withdrawing, drafting again. Every answer is alike but for the ids."""
    on = await arena(client, staff_headers)
    busy, quiet = on.tender, await published_tender(client, on.buyer, on.buyer_headers)
    _, _, p_headers = await member(client, staff_headers, "Pear Tree Growers CIC")
    q, _, q_headers = await member(client, staff_headers, "Quince Kitchens CIC")
    # The busy tender's bids: A's (drafted by arena), Q's own for lot 1, D's with Q as partner.
    q_own = await drafted_bid(client, q_headers, busy, "lot-1", 10_000_000)
    await submitted(client, q_headers, q_own)
    d_bid = await drafted_bid(client, on.d_headers, busy, "lot-1", 10_500_000)
    assert (await consortium(client, on.d_headers, d_bid, 70, (q, 30))).status_code == 200
    assert (await accept(client, q_headers, d_bid, 1)).status_code == 200

    async def play(tender: str) -> tuple[str, list[tuple[Any, ...]]]:
        seen: list[httpx.Response] = []
        drafted = await client.post(
            "/api/v1/bids", json={"tender_id": tender, "lot_id": "lot-1"}, headers=p_headers
        )
        seen.append(drafted)
        bid = drafted.json()["id"]
        url = f"/api/v1/bids/{bid}"
        seen.append(await client.put(url, json=content(9_000_000), headers=p_headers))
        seen.append(await consortium(client, p_headers, bid, 50, (q, 50)))
        seen.append(await accept(client, q_headers, bid, 1))
        seen.append(await client.post(f"{url}/submission", headers=p_headers))
        seen.append(await client.post(f"{url}/withdrawal", headers=p_headers))
        seen.append(
            await client.post(
                "/api/v1/bids", json={"tender_id": tender, "lot_id": "lot-1"}, headers=p_headers
            )
        )
        seen.append(await client.get(url, headers=p_headers))
        seen.append(await client.get(url, headers=q_headers))
        for response in seen:
            assert response.status_code in (200, 201), response.text
        # The digest covers the bid's and the tender's ids: it differs, alike in length.
        digest = seen[4].json()["digest"]
        return bid, [shape(r, (bid, "BID"), (tender, "TENDER"), (digest, "DIGEST")) for r in seen]

    busy_bid, on_busy = await play(busy)
    quiet_bid, on_quiet = await play(quiet)
    assert on_busy == on_quiet
    # Nor the lists: P's and Q's own bids only.
    mine = await client.get("/api/v1/bids", headers=p_headers)
    assert sorted(i["id"] for i in mine.json()["items"]) == sorted([busy_bid, quiet_bid])
    q_sees = await client.get("/api/v1/bids", headers=q_headers)
    assert sorted(i["id"] for i in q_sees.json()["items"]) == sorted(
        [q_own, d_bid, busy_bid, quiet_bid]
    )
    # A partner learns the bids it is in, not the other bids of the tender.
    a_bid_as_q = await client.get(f"/api/v1/bids/{on.bid}", headers=q_headers)
    assert a_bid_as_q.status_code == 404


async def test_inviting_a_member_already_bidding_for_the_lot_is_not_refused_before_opening(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Refusing would tell the lead that the member bids: D leads its own bid for lot 1, E is a
    partner in D's; A invites each as it would a member bidding nowhere (F), alike. At opening
    the rule is applied: a member in two bids for a lot makes both invalid."""
    on = await arena(client, staff_headers)
    e, _, e_headers = await member(client, staff_headers, "Elm Catering CIC")
    f, _, _ = await member(client, staff_headers, "Fir Kitchens Ltd")
    d_bid = await drafted_bid(client, on.d_headers, on.tender, "lot-1", 10_000_000)
    assert (await consortium(client, on.d_headers, d_bid, 80, (e, 20))).status_code == 200
    assert (await accept(client, e_headers, d_bid, 1)).status_code == 200
    await submitted(client, on.d_headers, d_bid)
    # Three bids of A's kind, one per invitee, each in a lot bid of a member of its own.
    answers = {}
    for invitee, lead_name in ((on.d, "Ash"), (e, "Birch"), (f, "Cherry")):
        _, _, lead_headers = await member(client, staff_headers, f"{lead_name} Co-op")
        bid = await drafted_bid(client, lead_headers, on.tender, "lot-1", 9_000_000)
        invited = await consortium(client, lead_headers, bid, 60, (invitee, 40))
        answers[invitee] = (bid, lead_headers, invited)
    shapes = {
        invitee: shape(response, (bid, "BID")) for invitee, (bid, _, response) in answers.items()
    }
    assert shapes[on.d] == shapes[e] == shapes[f], shapes
    assert all(r.status_code == 200 for _, _, r in answers.values())
    # D, already leading a bid for the lot, may accept too: nothing is refused before opening.
    d_invited, d_lead_headers, _ = answers[on.d]
    assert (await accept(client, on.d_headers, d_invited, 1)).status_code == 200
    await submitted(client, d_lead_headers, d_invited)
    clock.set(at(DEADLINE) + timedelta(minutes=5))
    await tick(client)
    opening = await opened_bids(client, on.tender, on.buyer_headers)
    assert opening.status_code == 200, opening.text
    verdicts = {b["bid_id"]: (b["valid"], b["reason"]) for b in opening.json()["bids"]}
    for bid in (d_bid, d_invited):
        valid, reason = verdicts[bid]
        assert not valid, verdicts
        assert "more than one bid for lot-1" in reason, verdicts


async def test_a_partner_dropped_from_the_consortium_no_longer_sees_the_bid(
    client: Client, staff_headers: Headers
) -> None:
    on = await arena(client, staff_headers)
    url = f"/api/v1/bids/{on.bid}"
    assert (await consortium(client, on.a_headers, on.bid, 60, (on.d, 40))).status_code == 200
    assert (await accept(client, on.d_headers, on.bid, 1)).status_code == 200
    uploaded = await client.post(
        f"{url}/documents", content=pdf(), headers=on.a_headers | OCTETS | named("plan.pdf")
    )
    assert uploaded.status_code == 201, uploaded.text
    [document] = (await view(client, on.a_headers, on.bid))["documents"]
    assert (
        await client.get(f"{url}/documents/{document['name']}", headers=on.d_headers)
    ).status_code == 200

    # The lead drops D (and takes X instead), then changes the price: D sees none of it.
    assert (await consortium(client, on.a_headers, on.bid, 70, (on.x, 30))).status_code == 200
    assert (await client.put(url, json=content(7_777_777), headers=on.a_headers)).status_code == 200
    nobody = str(uuid.uuid4())
    for method, path, body in (
        ("GET", "", None),
        ("GET", f"/documents/{document['name']}", None),
        ("POST", "/acceptance", {"consortium_round": 1}),
        ("POST", "/acceptance", {"consortium_round": 2}),
        ("PUT", "", content(1)),
        ("POST", "/submission", None),
    ):
        dropped = await client.request(method, f"{url}{path}", json=body, headers=on.d_headers)
        unknown = await client.request(
            method, f"/api/v1/bids/{nobody}{path}", json=body, headers=on.d_headers
        )
        assert dropped.status_code == 404, (path, dropped.text)
        assert shape(dropped, (on.bid, nobody)) == shape(unknown), path
    listed = await client.get("/api/v1/bids", headers=on.d_headers)
    assert listed.json()["items"] == []
    as_lead = await view(client, on.a_headers, on.bid)
    assert [s["organisation_id"] for s in as_lead["consortium"]] == [on.a, on.x]
    assert as_lead["consortium_complete"] is False  # X has not accepted

    # Taken back on the old terms, D must accept again: its first acceptance does not count.
    assert (await consortium(client, on.a_headers, on.bid, 60, (on.d, 40))).status_code == 200
    back = await view(client, on.d_headers, on.bid)
    assert back["consortium_round"] == 3
    assert [(s["organisation_id"], s["accepted"]) for s in back["consortium"]] == [
        (on.a, True),
        (on.d, False),
    ]
    assert back["price_minor"] == 7_777_777
    assert (await accept(client, on.d_headers, on.bid, 1)).status_code == 409
    assert (await view(client, on.a_headers, on.bid))["consortium_complete"] is False
    # And X, dropped in its turn, sees nothing.
    assert (await client.get(url, headers=on.x_headers)).status_code == 404


# Races ----------------------------------------------------------------------------------------


async def test_leads_drafting_for_one_tender_at_once_all_succeed(
    client: Client, staff_headers: Headers
) -> None:
    on = await arena(client, staff_headers)
    leads = [(on.d, on.d_headers), (on.x, on.x_headers)]
    for name in ("Elm Catering CIC", "Fir Kitchens Ltd", "Gorse Gardening CIC", "Hazel Co-op"):
        organisation, _, headers = await member(client, staff_headers, name)
        leads.append((organisation, headers))
    drafted = await asyncio.gather(
        *(
            client.post(
                "/api/v1/bids",
                json={"tender_id": on.tender, "lot_id": lot},
                headers=headers,
            )
            for _, headers in leads
            for lot in ("lot-1", "lot-2")
        )
    )
    assert [r.status_code for r in drafted] == [201] * len(drafted), [r.text for r in drafted]
    ids = {r.json()["id"] for r in drafted}
    assert len(ids) == 2 * len(leads)
    assert {r.json()["version"] for r in drafted} == {1}
    box = bids_app(client).box(uuid.UUID(on.tender))
    assert box is not None
    assert {str(b) for b in box.bid_ids} == ids | {on.bid}


async def test_one_lead_drafting_one_lot_many_times_at_once_makes_one_bid(
    client: Client, staff_headers: Headers
) -> None:
    on = await arena(client, staff_headers)
    before = bid_events(client)
    body = {"tender_id": on.tender, "lot_id": "lot-2"}
    drafted = await asyncio.gather(
        *(client.post("/api/v1/bids", json=body, headers=on.x_headers) for _ in range(6))
    )
    assert [r.status_code for r in drafted] == [201] * 6, [r.text for r in drafted]
    assert {(r.json()["id"], r.json()["version"]) for r in drafted} == {
        (drafted[0].json()["id"], 1)
    }
    # One bid's events: its draft, the box's lodging and the new index; once.
    assert bid_events(client) == before + 3
    mine = await client.get("/api/v1/bids", headers=on.x_headers)
    assert [i["id"] for i in mine.json()["items"]] == [drafted[0].json()["id"]]


async def test_submission_and_withdrawal_racing_end_as_their_answers_say(
    client: Client, staff_headers: Headers
) -> None:
    on = await arena(client, staff_headers)
    url = f"/api/v1/bids/{on.bid}"
    for _ in range(4):
        start = (await view(client, on.a_headers, on.bid))["status"]
        submit, withdraw = await asyncio.gather(
            client.post(f"{url}/submission", headers=on.a_headers),
            client.post(f"{url}/withdrawal", headers=on.a_headers),
        )
        assert {submit.status_code, withdraw.status_code} <= {200, 409}, (
            submit.text,
            withdraw.text,
        )
        status = (await view(client, on.a_headers, on.bid))["status"]
        done = [
            (r.json()["version"], kind)
            for r, kind in ((submit, "submitted"), (withdraw, "withdrawn"))
            if r.status_code == 200
        ]
        assert done, (start, submit.text, withdraw.text)
        # The last to succeed decided the state; each refusal was refused for the state then.
        assert status == max(done)[1], (start, done, status)
        if start == "submitted":
            assert withdraw.status_code == 200 or submit.status_code == 200
        for refused in (r for r in (submit, withdraw) if r.status_code == 409):
            assert refused.headers["content-type"].startswith(PROBLEM)
        # A submission's receipt is the submission it made, even if a withdrawal came after.
        if submit.status_code == 200:
            receipt = submit.json()
            assert receipt["digest"].startswith("sha256:")


async def test_a_submissions_receipt_is_the_submission_it_made(
    client: Client, staff_headers: Headers, monkeypatch: Any
) -> None:
    """Between the submission's commit and its answer, another request of the lead withdraws,
    changes the price and submits again: the answer's receipt is still the first submission's
    (its time and digest, at its version), not the second's."""
    on = await arena(client, staff_headers)
    bids = bids_app(client)
    first: dict[str, Any] = {}
    real_submit = bids.submit

    def submit_then_another_request(
        context: Context,
        tender: Any,
        bid_id: uuid.UUID,
        organisation_id: uuid.UUID,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        result = real_submit(context, tender, bid_id, organisation_id, *args, **kwargs)
        bid = bids.bid_for(bid_id, organisation_id)
        first.update(version=bid.version, digest=bid.digest, submitted_at=bid.submitted_at)
        later = dataclasses.replace(context, at=context.at + timedelta(minutes=1))
        bids.withdraw(later, tender, bid_id, organisation_id)
        changed = dataclasses.replace(bid.content, price=Money(bid.currency, 10_999_999))
        bids.change_content(later, tender, bid_id, organisation_id, changed)
        real_submit(later, tender, bid_id, organisation_id, *args, **kwargs)
        return result

    monkeypatch.setattr(bids, "submit", submit_then_another_request)
    answer = await client.post(f"/api/v1/bids/{on.bid}/submission", headers=on.a_headers)
    monkeypatch.undo()
    assert answer.status_code == 200, answer.text
    receipt = answer.json()
    assert receipt["version"] == first["version"]
    assert answer.headers["etag"] == f'"{first["version"]}"'
    assert receipt["digest"] == first["digest"]
    assert at(receipt["submitted_at"]) == first["submitted_at"]
    now = await view(client, on.a_headers, on.bid)
    assert (now["price_minor"], now["version"]) == (10_999_999, first["version"] + 3)
    assert now["digest"] != receipt["digest"]


async def test_a_consortium_change_racing_an_acceptance_never_counts_the_old_round(
    client: Client, staff_headers: Headers
) -> None:
    on = await arena(client, staff_headers)
    share_d = 40
    assert (await consortium(client, on.a_headers, on.bid, 60, (on.d, share_d))).status_code == 200
    for round_ in range(1, 6):
        share_d = 30 if share_d == 40 else 40
        changed, accepted = await asyncio.gather(
            consortium(client, on.a_headers, on.bid, 100 - share_d, (on.d, share_d)),
            accept(client, on.d_headers, on.bid, round_),
        )
        assert changed.status_code == 200, changed.text
        assert accepted.status_code in (200, 409), accepted.text
        bid = await view(client, on.a_headers, on.bid)
        assert bid["consortium_round"] == round_ + 1
        # Accepted before the change or refused after it: never counted for the new round.
        assert bid["consortium_complete"] is False, (round_, accepted.text)
        assert [s["accepted"] for s in bid["consortium"]] == [True, False]
        if accepted.status_code == 200:
            assert accepted.json()["version"] < changed.json()["version"]
        else:
            assert "changed since" in accepted.json()["detail"]
    # The current round, accepted, counts.
    assert (await accept(client, on.d_headers, on.bid, 6)).status_code == 200
    assert (await view(client, on.a_headers, on.bid))["consortium_complete"] is True


async def test_a_submission_racing_the_opening_is_opened_or_refused_never_lost(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Submissions decided a second before the deadline race the clock's opening at the deadline
    plus the margin (the clock's own time, not the requests'), which starts once two of them
    are answered: each submission answered 200 is among the opened bids, valid, with the
    receipt's digest; each refused is closed, unopened."""
    on = await arena(client, staff_headers)
    bidders = [(on.a_headers, on.bid)]
    for i in range(7):
        _, _, headers = await member(client, staff_headers, f"Racing Gardeners {i} CIC")
        bidders.append((headers, await drafted_bid(client, headers, on.tender, "lot-1", 9_000_000)))
    deadline = at(DEADLINE)
    clock.set(deadline - timedelta(seconds=1))
    services = services_of(client)
    parts = _opening_parts(services)
    opening_parts = dataclasses.replace(parts, clock=ManualClock(deadline + parts.margin))

    async def submission(headers: Headers, bid: str) -> httpx.Response:
        return await client.post(f"/api/v1/bids/{bid}/submission", headers=headers)

    # All at once; the opening starts when two are answered (a condition, not a delay), so the
    # rest race it. The interleaving itself is forced in the next test.
    submissions = [asyncio.ensure_future(submission(h, bid)) for h, bid in bidders]

    async def opening() -> tuple[int, int]:
        pending = set(submissions)
        while len(submissions) - len(pending) < 2:
            _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        counts: tuple[int, int] = await services.run(open_due_bids, opening_parts)
        return counts

    opened_count = await opening()
    answers: list[httpx.Response] = await asyncio.gather(*submissions)
    assert opened_count[0] >= 1  # PostgreSQL's database holds other tests' tenders too
    assert sum(a.status_code == 200 for a in answers) >= 2
    opening_view = await opened_bids(client, on.tender, on.buyer_headers)
    assert opening_view.status_code == 200, opening_view.text
    opened = {b["bid_id"]: b for b in opening_view.json()["bids"]}
    for (headers, bid), answer in zip(bidders, answers, strict=True):
        status = (await bid_of(client, headers, bid))["status"]
        if answer.status_code == 200:
            assert status == "opened", (bid, answer.text)
            assert opened[bid]["valid"] is True
            assert opened[bid]["digest"] == answer.json()["digest"]
        else:
            assert answer.status_code == 409, answer.text
            assert status == "closed", (bid, answer.text)
            assert bid not in opened
    # The clock, ticking again, opens nothing more and loses nothing.
    clock.set(deadline + parts.margin + timedelta(minutes=1))
    await tick(client)
    again = await opened_bids(client, on.tender, on.buyer_headers)
    assert again.json() == opening_view.json()


async def test_a_submission_committed_while_the_opening_decides_is_opened(
    client: Client, staff_headers: Headers, clock: ManualClock, monkeypatch: Any
) -> None:
    """The interleaving the race above may not hit, made to happen: the opening has read the
    box's bids (X's a draft) and is about to close them when X's submission, decided a second
    before the deadline, commits. The opening's write clashes and it starts again: X's bid is
    opened, valid, not closed as a draft."""
    on = await arena(client, staff_headers)
    x_bid = await drafted_bid(client, on.x_headers, on.tender, "lot-2", 2_000_000)
    await submitted(client, on.a_headers, on.bid)
    services = services_of(client)
    bids = bids_app(client)
    tender = services.applications["marketplace"].tender(uuid.UUID(on.tender))
    deadline = at(DEADLINE)
    x_facts = supplier_facts(
        services.applications["membership"],
        services.applications["marks"],
        uuid.UUID(on.x),
        deadline - timedelta(seconds=1),
    )
    before_deadline = Context(
        actor=user_actor(uuid.uuid4()), request_id="late-commit", at=deadline - timedelta(seconds=1)
    )
    real_save = bids.save
    interleaved: list[int] = []

    def save(*objects: Any, **kwargs: Any) -> Any:
        closing = any(
            isinstance(o, BidBox) and o.closed and o.tender_id == tender.id for o in objects
        )
        if closing and not interleaved:
            interleaved.append(
                bids.submit(
                    before_deadline, tender, uuid.UUID(x_bid), uuid.UUID(on.x), x_facts
                ).version
            )
        return real_save(*objects, **kwargs)

    monkeypatch.setattr(bids, "save", save)
    clock.set(deadline + timedelta(seconds=services.settings.bid_opening_margin_seconds))
    await tick(client)
    monkeypatch.undo()
    assert interleaved, "the opening never reached its write"
    opening = await opened_bids(client, on.tender, on.buyer_headers)
    assert opening.status_code == 200, opening.text
    verdicts = {b["bid_id"]: b["valid"] for b in opening.json()["bids"]}
    assert verdicts == {on.bid: True, x_bid: True}
    assert (await bid_of(client, on.x_headers, x_bid))["status"] == "opened"


# Replays --------------------------------------------------------------------------------------


async def test_replayed_requests_and_old_if_match_change_nothing(
    client: Client, staff_headers: Headers
) -> None:
    on = await arena(client, staff_headers)
    url = f"/api/v1/bids/{on.bid}"
    formed = await consortium(client, on.a_headers, on.bid, 60, (on.d, 40))
    assert formed.status_code == 200, formed.text
    accepted = await accept(client, on.d_headers, on.bid, 1)
    assert accepted.status_code == 200, accepted.text
    before = bid_events(client)
    version = (await view(client, on.a_headers, on.bid))["version"]

    # The same bodies again: the same answer, nothing recorded, nobody told again.
    for method, path, body, who in (
        ("POST", "", {"tender_id": on.tender, "lot_id": "lot-1"}, on.a_headers),
        ("PUT", "", content(11_000_000), on.a_headers),
        ("PUT", "/consortium", {"lead_share": 60, "partners": [share(on.d, 40)]}, on.a_headers),
        ("POST", "/acceptance", {"consortium_round": 1}, on.d_headers),
    ):
        target = "/api/v1/bids" if method == "POST" and path == "" else f"{url}{path}"
        replay = await client.request(method, target, json=body, headers=who)
        assert replay.status_code in (200, 201), (path, replay.text)
        assert replay.json()["version"] == version, path
        assert replay.headers["etag"] == f'"{version}"', path
    assert bid_events(client) == before

    # Submitted: the submission again is refused (one receipt), and so is a second withdrawal.
    receipt = await submitted(client, on.a_headers, on.bid)
    again = await client.post(f"{url}/submission", headers=on.a_headers)
    assert again.status_code == 409, again.text
    assert (await view(client, on.a_headers, on.bid))["digest"] == receipt["digest"]
    drafted = await client.post(
        "/api/v1/bids", json={"tender_id": on.tender, "lot_id": "lot-1"}, headers=on.a_headers
    )
    assert (drafted.status_code, drafted.json()["id"]) == (201, on.bid)
    assert (await view(client, on.a_headers, on.bid))["status"] == "submitted"
    first = await client.post(f"{url}/withdrawal", headers=on.a_headers)
    assert first.status_code == 200, first.text
    second = await client.post(f"{url}/withdrawal", headers=on.a_headers)
    assert second.status_code == 409, second.text

    # Every If-Match seen before is stale now, on every route that reads it.
    after = bid_events(client)
    current = (await view(client, on.a_headers, on.bid))["version"]
    stale_requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PUT", "", content(8_000_000)),
        ("PUT", "/consortium", {"lead_share": 100, "partners": []}),
        ("POST", "/submission", None),
        ("POST", "/withdrawal", None),
    ]
    for old in range(1, current):
        for method, path, stale_body in stale_requests:
            stale = await client.request(
                method,
                f"{url}{path}",
                json=stale_body,
                headers=on.a_headers | {"If-Match": f'"{old}"'},
            )
            assert stale.status_code == 409, (old, path, stale.text)
            assert stale.json()["type"] == "urn:tradehall:problem:stale-version", stale.text
    # A version from the future, or unparseable, is no better.
    for tag in (f'"{current + 1}"', f'"{2**64}"', '"-1"', '"1.0"', "1", '""', 'W/"1"'):
        refused = await client.put(
            url, json=content(8_000_000), headers=on.a_headers | {"If-Match": tag}
        )
        assert refused.status_code in (400, 409), (tag, refused.text)
    assert bid_events(client) == after
    # The current one works.
    submitted_again = await client.post(
        f"{url}/submission", headers=on.a_headers | {"If-Match": f'"{current}"'}
    )
    assert submitted_again.status_code == 200, submitted_again.text
    # A submission replayed with the If-Match it was made with: stale, not a second receipt.
    replayed = await client.post(
        f"{url}/submission", headers=on.a_headers | {"If-Match": f'"{current}"'}
    )
    assert replayed.status_code == 409, replayed.text
