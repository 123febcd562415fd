"""Sealed bids' edges over HTTP, on both stores (issue 12): bad input is an RFC 9457 problem
naming its field and changes nothing, never a 500; a bid that is not the caller's (the buyer's,
staff's, another member's) is the same 404 as one that does not exist, and anonymous callers
get 401; only the lead changes a bid, while its partners read it; a stale If-Match is refused;
drafting a lot again answers the same bid, even twice at once; a draft or unknown tender takes
no bids, nor does the buyer's own organisation; bid commands answer no position; documents are
checked as every upload, stored encrypted under random names, and read back by the bidders
(and by the buyer once opened)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from tests.api.helpers import register, services_of, token
from tests.api.test_bid_scenario import (
    at,
    content,
    drafted_bid,
    member,
    opened_bids,
    published_tender,
    submitted,
    tick,
)
from tests.api.test_clarifications import council
from tests.api.test_tenders import DEADLINE, terms
from tests.conftest import AppClient
from tests.evidence_files import pdf
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
OCTETS = {"Content-Type": "application/octet-stream"}
JSON = {"Content-Type": "application/json"}
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Arena:
    """A verified council's published two-lot tender for members; member A with a drafted lot 1
    bid (content written), D (A's partner to be) and X (another member)."""

    tender: str
    buyer: str
    buyer_headers: Headers
    a: str
    a_headers: Headers
    d: str
    d_headers: Headers
    x: str
    x_headers: Headers
    bid: str


async def arena(client: Client, staff_headers: Headers) -> Arena:
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    a, _, a_headers = await member(client, staff_headers, "Alder Grounds CIC")
    d, _, d_headers = await member(client, staff_headers, "Damson Training Trust")
    x, _, x_headers = await member(client, staff_headers, "Xylem Gardens CIC")
    bid = await drafted_bid(client, a_headers, tender, "lot-1", 11_000_000)
    return Arena(tender, buyer, buyer_headers, a, a_headers, d, d_headers, x, x_headers, bid)


def named(filename: str) -> dict[str, str]:
    """A bid document's name, as its header carries it (percent-encoded UTF-8)."""
    return {"x-filename": quote(filename)}


def bid_events(client: Client) -> int:
    recorder = services_of(client).applications["bids"].recorder
    return len(recorder.select_notifications(start=1, limit=1_000_000))


def bid_files(client: Client) -> list[Path]:
    root = services_of(client).settings.evidence_path / "bids"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def staged_files(client: Client) -> list[Path]:
    root = services_of(client).settings.evidence_path / "staging"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def view(client: Client, headers: Headers, bid: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/bids/{bid}", headers=headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def fields_of(response: httpx.Response) -> list[str]:
    assert response.headers["content-type"].startswith(PROBLEM), response.text
    problem = response.json()
    assert problem["status"] == response.status_code
    return [e["field"] for e in problem.get("errors", [])]


async def test_bad_input_names_its_field_and_changes_nothing(
    client: Client, staff_headers: Headers
) -> None:
    on = await arena(client, staff_headers)
    before, seen = bid_events(client), await view(client, on.a_headers, on.bid)
    bid_url = f"/api/v1/bids/{on.bid}"
    new_bid = {"tender_id": on.tender, "lot_id": "lot-1"}
    consortium = f"{bid_url}/consortium"

    def share(organisation: str, percent: int) -> dict[str, Any]:
        return {"organisation_id": organisation, "share": percent}

    cases: list[tuple[str, str, dict[str, Any] | bytes, int, str]] = [
        # Drafting.
        ("POST", "/api/v1/bids", new_bid | {"lot_id": "lot-9"}, 422, "lot_id"),
        ("POST", "/api/v1/bids", new_bid | {"lot_id": ""}, 400, "lot_id"),
        ("POST", "/api/v1/bids", new_bid | {"tender_id": "not-a-uuid"}, 400, "tender_id"),
        ("POST", "/api/v1/bids", {"tender_id": on.tender}, 400, "lot_id"),
        ("POST", "/api/v1/bids", new_bid | {"price_minor": 5}, 400, "price_minor"),
        ("POST", "/api/v1/bids", b'{"tender_id": ', 400, "body"),
        # The content.
        ("PUT", bid_url, content(0), 400, "price_minor"),
        ("PUT", bid_url, content(-100), 400, "price_minor"),
        ("PUT", bid_url, content(10**13), 400, "price_minor"),
        (
            "PUT",
            bid_url,
            content(1000, commitments=[{"measure": "trees_planted", "quantity": 3}]),
            400,
            "commitments[0].measure",
        ),
        (
            "PUT",
            bid_url,
            content(1000, commitments=[{"measure": "local_jobs", "quantity": 3, "unit": "hours"}]),
            422,
            "commitments[0].unit",
        ),
        (
            "PUT",
            bid_url,
            content(1000, commitments=[{"measure": "local_jobs", "quantity": 0}]),
            400,
            "commitments[0].quantity",
        ),
        (
            "PUT",
            bid_url,
            content(
                1000,
                commitments=[
                    {"measure": "local_jobs", "quantity": 1},
                    {"measure": "local_jobs", "quantity": 2},
                ],
            ),
            422,
            "commitments",
        ),
        ("PUT", bid_url, content(1000, answers={"Colour": "green"}), 422, "answers.Colour"),
        ("PUT", bid_url, content(1000) | {"discount": 5}, 400, "discount"),
        ("PUT", bid_url, b"{not json", 400, "body"),
        # The consortium.
        ("PUT", consortium, {"lead_share": 50, "partners": [share(on.d, 40)]}, 422, "partners"),
        (
            "PUT",
            consortium,
            {"lead_share": 50, "partners": [share(on.d, 25), share(on.d, 25)]},
            422,
            "partners",
        ),
        ("PUT", consortium, {"lead_share": 50, "partners": [share(on.a, 50)]}, 422, "partners"),
        ("PUT", consortium, {"lead_share": 100, "partners": [share(on.d, 0)]}, 400, "partners"),
        ("PUT", consortium, {"lead_share": 101, "partners": []}, 400, "lead_share"),
        ("PUT", consortium, {"lead_share": 60, "partners": [share("x", 40)]}, 400, "partners"),
        ("PUT", consortium, {"partners": [share(on.d, 40)]}, 400, "lead_share"),
        ("PUT", consortium, b"[", 400, "body"),
        # Acceptance and submission.
        ("POST", f"{bid_url}/acceptance", {"consortium_round": -1}, 400, "consortium_round"),
        ("POST", f"{bid_url}/acceptance", {"round": 1}, 400, "round"),
    ]
    for method, url, body, status, field in cases:
        if isinstance(body, bytes):
            response = await client.request(method, url, content=body, headers=on.a_headers | JSON)
        else:
            response = await client.request(method, url, json=body, headers=on.a_headers)
        assert response.status_code == status, (method, url, body, response.text)
        named = fields_of(response)
        assert any(
            n == field or n.startswith(f"{field}.") or n.startswith(f"{field}[") for n in named
        ), (body, named)

    # Rules of the consortium that are not the shape of the request: a 409 saying why.
    for partner, why in (
        (on.buyer, "the buyer's own organisation does not bid"),
        (str(uuid.uuid4()), "is not registered"),
    ):
        refused = await client.put(
            consortium,
            json={"lead_share": 60, "partners": [share(partner, 40)]},
            headers=on.a_headers,
        )
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith(PROBLEM)
        assert why in refused.json()["detail"], refused.text
    assert bid_events(client) == before
    assert await view(client, on.a_headers, on.bid) == seen

    # A bid with no price is not submitted: the field it lacks is named.
    bare = await drafted_bid(client, on.x_headers, on.tender, "lot-2")
    before_bare = bid_events(client)
    unpriced = await client.post(f"/api/v1/bids/{bare}/submission", headers=on.x_headers)
    assert unpriced.status_code == 422, unpriced.text
    assert fields_of(unpriced) == ["price_minor"]
    await client.put(f"/api/v1/bids/{bare}", json={"price_minor": 100}, headers=on.x_headers)
    unanswered = await client.post(f"/api/v1/bids/{bare}/submission", headers=on.x_headers)
    assert unanswered.status_code == 422, unanswered.text
    assert fields_of(unanswered) == ["answers.Method statement"]
    assert bid_events(client) == before_bare + 1  # the price alone

    assert await view(client, on.a_headers, on.bid) == seen
    mine = await client.get("/api/v1/bids", headers=on.a_headers)
    assert [i["id"] for i in mine.json()["items"]] == [on.bid]


async def test_a_bid_not_yours_is_the_same_404_as_a_bid_that_does_not_exist(
    client: Client, staff_headers: Headers
) -> None:
    on = await arena(client, staff_headers)
    formed = await client.put(
        f"/api/v1/bids/{on.bid}/consortium",
        json={"lead_share": 60, "partners": [{"organisation_id": on.d, "share": 40}]},
        headers=on.a_headers,
    )
    assert formed.status_code == 200, formed.text
    uploaded = await client.post(
        f"/api/v1/bids/{on.bid}/documents",
        content=pdf(),
        headers=on.a_headers | OCTETS | named("method.pdf"),
    )
    assert uploaded.status_code == 201, uploaded.text
    [document] = (await view(client, on.a_headers, on.bid))["documents"]
    before, seen = bid_events(client), await view(client, on.a_headers, on.bid)
    files = bid_files(client)
    nobody = str(uuid.uuid4())

    def requests(bid: str, name: str) -> list[tuple[str, str, dict[str, Any]]]:
        url = f"/api/v1/bids/{bid}"
        return [
            ("GET", url, {}),
            ("PUT", url, {"json": content(9_000_000)}),
            ("GET", f"{url}/documents/{name}", {}),
            (
                "POST",
                f"{url}/documents",
                {"content": pdf(), "headers": OCTETS | named("a.pdf")},
            ),
            ("PUT", f"{url}/consortium", {"json": {"lead_share": 100, "partners": []}}),
            ("POST", f"{url}/acceptance", {"json": {"consortium_round": 1}}),
            ("POST", f"{url}/submission", {}),
            ("POST", f"{url}/withdrawal", {}),
        ]

    async def ask(
        method: str, url: str, options: dict[str, Any], who: Headers | None
    ) -> httpx.Response:
        headers = options.get("headers", {}) | (who or {})
        rest = {k: v for k, v in options.items() if k != "headers"}
        return await client.request(method, url, headers=headers, **rest)

    callers: dict[str, Headers | None] = {
        "the buyer": on.buyer_headers,
        "staff": staff_headers,
        "another member": on.x_headers,
        "anonymous": None,
    }
    for who, headers in callers.items():
        pairs = zip(requests(on.bid, document["name"]), requests(nobody, "0" * 32), strict=True)
        for (method, url, options), (_, unknown_url, unknown_options) in pairs:
            theirs = await ask(method, url, options, headers)
            unknown = await ask(method, unknown_url, unknown_options, headers)
            expected = 401 if headers is None else 404
            assert theirs.status_code == unknown.status_code == expected, (who, method, url)
            assert theirs.headers["content-type"] == unknown.headers["content-type"]
            assert (
                theirs.text.replace(on.bid, nobody).replace(document["name"], "0" * 32)
                == unknown.text
            ), (who, method, url)
        if headers is not None:
            listed = await client.get("/api/v1/bids", headers=headers)
            assert listed.status_code == 200, listed.text
            assert listed.json()["items"] == [], who
            # The tender's bids, before opening: as unknown as a tender that does not exist.
            tenders = await opened_bids(client, on.tender, headers)
            unknown_tender = await opened_bids(client, nobody, headers)
            assert tenders.status_code == unknown_tender.status_code == 404
            assert tenders.text.replace(on.tender, nobody) == unknown_tender.text
    assert bid_events(client) == before
    assert await view(client, on.a_headers, on.bid) == seen
    assert bid_files(client) == files


async def test_only_the_lead_changes_a_bid_its_partners_read_it(
    client: Client, staff_headers: Headers
) -> None:
    on = await arena(client, staff_headers)
    formed = await client.put(
        f"/api/v1/bids/{on.bid}/consortium",
        json={"lead_share": 60, "partners": [{"organisation_id": on.d, "share": 40}]},
        headers=on.a_headers,
    )
    assert formed.status_code == 200, formed.text
    # The partner finds the bid among its own, and reads it whole.
    listed = await client.get("/api/v1/bids", headers=on.d_headers)
    assert [(i["id"], i["status"]) for i in listed.json()["items"]] == [(on.bid, "draft")]
    as_partner = await view(client, on.d_headers, on.bid)
    assert as_partner == await view(client, on.a_headers, on.bid)
    assert [(s["organisation_id"], s["lead"], s["accepted"]) for s in as_partner["consortium"]] == [
        (on.a, True, True),
        (on.d, False, False),
    ]
    assert (await client.get("/api/v1/bids", headers=on.x_headers)).json()["items"] == []

    before, files = bid_events(client), bid_files(client)
    url = f"/api/v1/bids/{on.bid}"
    refused = [
        await client.put(url, json=content(1), headers=on.d_headers),
        await client.put(
            f"{url}/consortium", json={"lead_share": 100, "partners": []}, headers=on.d_headers
        ),
        await client.post(f"{url}/submission", headers=on.d_headers),
        await client.post(f"{url}/withdrawal", headers=on.d_headers),
    ]
    for response in refused:
        assert response.status_code == 409, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
    assert "only the lead" in refused[0].json()["detail"]
    upload = await client.post(
        f"{url}/documents",
        content=pdf(),
        headers=on.d_headers | OCTETS | named("mine.pdf"),
    )
    assert upload.status_code == 409, upload.text  # refused before a byte is stored
    # The lead does not accept for its partner.
    self_accepted = await client.post(
        f"{url}/acceptance", json={"consortium_round": 1}, headers=on.a_headers
    )
    assert self_accepted.status_code == 409, self_accepted.text
    assert bid_events(client) == before
    assert bid_files(client) == files
    assert staged_files(client) == []
    assert await view(client, on.d_headers, on.bid) == as_partner

    # A submitted bid is withdrawn by its lead only, too.
    accepted = await client.post(
        f"{url}/acceptance", json={"consortium_round": 1}, headers=on.d_headers
    )
    assert accepted.status_code == 200, accepted.text
    await submitted(client, on.a_headers, on.bid)
    by_partner = await client.post(f"{url}/withdrawal", headers=on.d_headers)
    assert by_partner.status_code == 409, by_partner.text
    assert (await view(client, on.d_headers, on.bid))["status"] == "submitted"


async def test_a_stale_if_match_is_refused(client: Client, staff_headers: Headers) -> None:
    on = await arena(client, staff_headers)
    url = f"/api/v1/bids/{on.bid}"
    got = await client.get(url, headers=on.a_headers)
    version = got.json()["version"]
    assert got.headers["etag"] == f'"{version}"'
    assert got.headers["cache-control"] == "private, no-store"

    changed = await client.put(
        url, json=content(10_000_000), headers=on.a_headers | {"If-Match": f'"{version}"'}
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == f'"{version + 1}"'
    before = bid_events(client)
    for method, path, body in (
        ("PUT", "", content(9_000_000)),
        (
            "PUT",
            "/consortium",
            {"lead_share": 60, "partners": [{"organisation_id": on.d, "share": 40}]},
        ),
        ("POST", "/submission", None),
    ):
        stale = await client.request(
            method, f"{url}{path}", json=body, headers=on.a_headers | {"If-Match": f'"{version}"'}
        )
        assert stale.status_code == 409, (path, stale.text)
        assert stale.headers["content-type"].startswith(PROBLEM)
    weak = await client.put(
        url, json=content(9_000_000), headers=on.a_headers | {"If-Match": f'W/"{version + 1}"'}
    )
    assert weak.status_code == 400, weak.text
    assert fields_of(weak) == ["If-Match"]
    assert bid_events(client) == before
    assert (await view(client, on.a_headers, on.bid))["price_minor"] == 10_000_000
    current = await client.post(
        f"{url}/submission", headers=on.a_headers | {"If-Match": f'"{version + 1}"'}
    )
    assert current.status_code == 200, current.text


async def test_drafting_a_lot_again_answers_the_same_bid(
    client: Client, staff_headers: Headers
) -> None:
    on = await arena(client, staff_headers)
    body = {"tender_id": on.tender, "lot_id": "lot-1"}
    again = await client.post("/api/v1/bids", json=body, headers=on.a_headers)
    assert again.status_code == 201, again.text
    assert (again.json()["id"], again.json()["position"]) == (on.bid, {})
    assert (await view(client, on.a_headers, on.bid))["price_minor"] == 11_000_000

    # Twice at once, for a lot not yet drafted: one bid.
    lot_2 = {"tender_id": on.tender, "lot_id": "lot-2"}
    both = await asyncio.gather(
        *(client.post("/api/v1/bids", json=lot_2, headers=on.a_headers) for _ in range(2))
    )
    assert [r.status_code for r in both] == [201, 201], [r.text for r in both]
    [other] = {r.json()["id"] for r in both}
    assert other != on.bid
    mine = await client.get("/api/v1/bids", headers=on.a_headers)
    assert sorted(i["id"] for i in mine.json()["items"]) == sorted([on.bid, other])
    # Another member's bid for the same lot is another bid.
    theirs = await drafted_bid(client, on.x_headers, on.tender, "lot-1")
    assert theirs not in {on.bid, other}


async def test_a_draft_or_unknown_tender_takes_no_bids_nor_does_its_buyer(
    client: Client, staff_headers: Headers
) -> None:
    on = await arena(client, staff_headers)
    drafted = await client.post(
        f"/api/v1/organisations/{on.buyer}/tenders", json=terms(), headers=on.buyer_headers
    )
    assert drafted.status_code == 201, drafted.text
    draft = drafted.json()["id"]
    nowhere = str(uuid.uuid4())
    before = bid_events(client)

    as_draft = await client.post(
        "/api/v1/bids", json={"tender_id": draft, "lot_id": "lot-1"}, headers=on.a_headers
    )
    unknown = await client.post(
        "/api/v1/bids", json={"tender_id": nowhere, "lot_id": "lot-1"}, headers=on.a_headers
    )
    assert as_draft.status_code == unknown.status_code == 404
    assert as_draft.text.replace(draft, nowhere) == unknown.text

    # The buyer's own organisation does not bid on its tender.
    own = await client.post(
        "/api/v1/bids", json={"tender_id": on.tender, "lot_id": "lot-1"}, headers=on.buyer_headers
    )
    assert own.status_code == 409, own.text
    assert "the buyer's own organisation does not bid" in own.json()["detail"]
    # Nor does an organisation that is not a member in good standing, where members only bid.
    outsider = await register(client)
    outsider_headers = await token(client, outsider["email"])
    not_member = await client.post(
        "/api/v1/bids", json={"tender_id": on.tender, "lot_id": "lot-1"}, headers=outsider_headers
    )
    assert not_member.status_code == 409, not_member.text
    assert "not a member in good standing" in not_member.json()["detail"]
    # Staff belong to no organisation: they do not bid.
    as_staff = await client.post(
        "/api/v1/bids", json={"tender_id": on.tender, "lot_id": "lot-1"}, headers=staff_headers
    )
    assert as_staff.status_code == 403, as_staff.text
    anonymous = await client.post("/api/v1/bids", json={"tender_id": on.tender, "lot_id": "lot-1"})
    assert anonymous.status_code == 401
    assert bid_events(client) == before


async def test_bid_commands_answer_no_position(client: Client, staff_headers: Headers) -> None:
    on = await arena(client, staff_headers)
    url = f"/api/v1/bids/{on.bid}"
    answers = [
        await client.post(
            "/api/v1/bids", json={"tender_id": on.tender, "lot_id": "lot-2"}, headers=on.a_headers
        ),
        await client.put(url, json=content(12_000_000), headers=on.a_headers),
        await client.post(
            f"{url}/documents",
            content=pdf(),
            headers=on.a_headers | OCTETS | named("plan.pdf"),
        ),
        await client.put(
            f"{url}/consortium",
            json={"lead_share": 60, "partners": [{"organisation_id": on.d, "share": 40}]},
            headers=on.a_headers,
        ),
        await client.post(f"{url}/acceptance", json={"consortium_round": 1}, headers=on.d_headers),
        await client.post(f"{url}/submission", headers=on.a_headers),
        await client.post(f"{url}/withdrawal", headers=on.a_headers),
    ]
    for response in answers:
        assert response.status_code in (200, 201), response.text
        assert response.json()["position"] == {}, response.request.url
        assert "x-read-consistent" not in response.headers
    versions = [r.json()["version"] for r in answers[1:]]
    assert versions == sorted(set(versions))


async def test_documents_are_sealed_checked_and_read_back_by_bidders_then_the_buyer(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    on = await arena(client, staff_headers)
    url = f"/api/v1/bids/{on.bid}"
    formed = await client.put(
        f"{url}/consortium",
        json={"lead_share": 60, "partners": [{"organisation_id": on.d, "share": 40}]},
        headers=on.a_headers,
    )
    assert formed.status_code == 200, formed.text
    before, files = bid_events(client), bid_files(client)

    executable = b"MZ" + bytes(58) + b"\x80\0\0\0" + bytes(64) + b"PE\0\0" + bytes(200)
    html = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
    for name, body, status, why in (
        ("setup.exe", executable, 415, "portable-executable; we take PDF"),
        ("page.html", html, 415, "text/html); we take PDF"),
        ("empty.pdf", b"", 422, "the file is empty"),
    ):
        refused = await client.post(
            f"{url}/documents",
            content=body,
            headers=on.a_headers | OCTETS | named(name),
        )
        assert refused.status_code == status, (name, refused.text)
        fields_of(refused)  # a problem document
        assert why in refused.json()["detail"], name
    no_name = await client.post(f"{url}/documents", content=pdf(), headers=on.a_headers | OCTETS)
    assert no_name.status_code == 400, no_name.text
    assert bid_events(client) == before
    assert bid_files(client) == files
    assert staged_files(client) == []

    document = pdf()
    uploaded = await client.post(
        f"{url}/documents",
        content=document,
        headers=on.a_headers | OCTETS | named("method statement.pdf"),
    )
    assert uploaded.status_code == 201, uploaded.text
    again = await client.post(
        f"{url}/documents",
        content=document,
        headers=on.a_headers | OCTETS | named("copy.pdf"),
    )
    assert again.status_code == 201, again.text
    first, second = (await view(client, on.a_headers, on.bid))["documents"]
    assert (first["filename"], first["content_type"], first["size"]) == (
        "method statement.pdf",
        "application/pdf",
        len(document),
    )
    assert first["sha256"] == second["sha256"]
    assert first["name"] != second["name"]  # never de-duplicated by content
    stored = [p for p in bid_files(client) if p not in files]
    assert sorted(p.name for p in stored) == sorted([first["name"], second["name"]])
    for path in stored:
        raw = path.read_bytes()
        assert document not in raw
        assert b"%PDF" not in raw
        assert first["sha256"].encode() not in raw
    assert staged_files(client) == []

    for who in (on.a_headers, on.d_headers):
        got = await client.get(f"{url}/documents/{first['name']}", headers=who)
        assert got.status_code == 200, got.text
        assert got.content == document
        assert got.headers["content-disposition"].startswith("attachment")
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["cache-control"] == "private, no-store"
    missing = await client.get(f"{url}/documents/{'0' * 32}", headers=on.a_headers)
    assert missing.status_code == 404
    traversal = await client.get(f"{url}/documents/..%2F..%2Fsealing-key", headers=on.a_headers)
    assert traversal.status_code == 404

    # Opened, the buyer reads the documents of a valid bid; before, nothing.
    opened_url = f"/api/v1/tenders/{on.tender}/bids/{on.bid}/documents/{first['name']}"
    assert (await client.get(opened_url, headers=on.buyer_headers)).status_code == 404
    accepted = await client.post(
        f"{url}/acceptance", json={"consortium_round": 1}, headers=on.d_headers
    )
    assert accepted.status_code == 200, accepted.text
    receipt = await submitted(client, on.a_headers, on.bid)
    clock.set(at(DEADLINE) + timedelta(minutes=5))
    await tick(client)
    opening = await opened_bids(client, on.tender, on.buyer_headers)
    assert opening.status_code == 200, opening.text
    [opened] = [b for b in opening.json()["bids"] if b["bid_id"] == on.bid]
    assert opened["digest"] == receipt["digest"]
    assert [d["name"] for d in opened["documents"]] == [first["name"], second["name"]]
    for who in (on.buyer_headers, staff_headers):
        got = await client.get(opened_url, headers=who)
        assert got.status_code == 200, got.text
        assert got.content == document
    for who in (on.a_headers, on.x_headers):
        assert (await client.get(opened_url, headers=who)).status_code == 404
    unknown = f"/api/v1/tenders/{on.tender}/bids/{uuid.uuid4()}/documents/{first['name']}"
    assert (await client.get(unknown, headers=on.buyer_headers)).status_code == 404
