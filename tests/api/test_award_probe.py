"""Issue 13's routes attacked over HTTP, on both stores: a losing bidder, a rival buyer, a
supplier party and a curious public client try to learn or change what is not theirs. What
holds is kept here, by the attacker's aim:

1. a losing bidder learns nothing of another losing bid (summary, public views, contracts, its
   e-mails, ETags, error answers);
2. a rival buyer gets the 404 of nothing on every evaluation and contract route;
3. a supplier never decides its own delivery nor the contract's terms; a buyer never reports;
4. bad input on every new route is a 4xx problem naming its field, and changes nothing;
5. the timing rules: the notice after the summaries, the contract after the standstill, nothing
   scored or awarded after the award, one of two concurrent awards;
6. before the opening, a tender with bids and one without answer alike.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from tests.api.conftest import Mailbox
from tests.api.helpers import services_of
from tests.api.test_accounts import mail_to
from tests.api.test_award_scenario import score_body
from tests.api.test_bid_scenario import at, drafted_bid, member, published_tender, submitted, tick
from tests.api.test_clarifications import council
from tests.api.test_contracts import Signed, report, signed_contract
from tests.api.test_evaluation import NAMES, PRICES, Opened, routes
from tests.api.test_tender_scenario import settle
from tests.api.test_tenders import DEADLINE, marketplace_events
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
PROBLEM = "application/problem+json"
JSON = {"Content-Type": "application/json"}
PERIOD = {"start": "2026-05-01T00:00:00Z", "end": "2027-04-30T23:59:59Z"}
# What lot 1's scores say of each bidder (A loses, B wins, C is excluded for its low price).
GIVEN = {"a": (4, 3, 8, "A"), "b": (3, 4, 6, "B"), "c": (2, 2, 5, "C")}
EXPLANATION = "Volunteers do half the work"
EXCLUSION = "Volunteers cannot be relied on"


@dataclass(frozen=True)
class Bidders:
    """An opened tender (test_evaluation's Opened) and its bidders' e-mail addresses."""

    on: Opened
    emails: dict[str, str]


async def opened_with_emails(client: Client, staff_headers: Headers, clock: ManualClock) -> Bidders:
    """As test_evaluation.opened: A, B and C bid alone on lot 1 (C's price abnormally low), D
    does not bid; the clock opens the bids."""
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    orgs, emails, headers, bids = {}, {}, {}, {}
    for who, name in NAMES.items():
        orgs[who], emails[who], headers[who] = await member(client, staff_headers, name)
    for who, price in PRICES.items():
        bids[who] = await drafted_bid(client, headers[who], tender, "lot-1", price)
        await submitted(client, headers[who], bids[who])
    margin = services_of(client).settings.bid_opening_margin_seconds
    clock.set(at(DEADLINE) + timedelta(seconds=margin))
    await tick(client)
    return Bidders(Opened(tender, buyer_headers, orgs, headers, bids), emails)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def problem(response: httpx.Response, status: int | tuple[int, ...]) -> dict[str, Any]:
    """An RFC 9457 problem of this status (or one of these)."""
    expected = status if isinstance(status, tuple) else (status,)
    assert response.status_code in expected, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM), response.text
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status"} <= body.keys(), body
    assert body["status"] == response.status_code
    return body


def fields(response: httpx.Response) -> list[str]:
    return [e["field"] for e in problem(response, response.status_code).get("errors") or []]


def named(response: httpx.Response, status: int | tuple[int, ...], field: str) -> None:
    """A problem naming `field` (or a field within it)."""
    problem(response, status)
    given = fields(response)
    assert any(f == field or f.startswith((field + ".", field + "[")) for f in given), (
        field,
        response.text,
    )


def same_answer(theirs: httpx.Response, unknown: httpx.Response, *swaps: tuple[str, str]) -> None:
    """The same status, headers and body but the instance path, once `swaps` are made."""
    assert theirs.status_code == unknown.status_code, (theirs.text, unknown.text)
    mine, other = theirs.json(), unknown.json()
    mine.pop("instance", None), other.pop("instance", None)
    text = json.dumps(mine, sort_keys=True)
    for real, invented in swaps:
        text = text.replace(real, invented)
    assert text == json.dumps(other, sort_keys=True)
    assert "etag" not in theirs.headers
    assert "etag" not in unknown.headers
    assert set(theirs.headers) == set(unknown.headers)


async def score_all(client: Client, on: Opened) -> None:
    for who, given in GIVEN.items():
        url = f"{on.bid(who)}/scores"
        ok(await client.put(url, json=score_body(*given), headers=on.buyer_headers))


async def exclude_c(client: Client, on: Opened) -> None:
    headers = on.buyer_headers
    ok(await client.post(f"{on.bid('c')}/low-price-query", json={}, headers=headers))
    explained = {"explanation": EXPLANATION}
    ok(await client.post(f"{on.bid('c')}/low-price-explanation", json=explained, headers=headers))
    decision = {"accept": False, "reason": EXCLUSION}
    ok(await client.post(f"{on.bid('c')}/low-price-decision", json=decision, headers=headers))


async def awarded(client: Client, on: Opened) -> None:
    """Every bid scored, C excluded, the lot awarded to B (83.00 against A's 82.45)."""
    await score_all(client, on)
    await exclude_c(client, on)
    ok(await client.post(f"{on.lot}/award", json={}, headers=on.buyer_headers))


async def view(client: Client, on: Opened) -> Any:
    return ok(await client.get(f"{on.lot}/evaluation", headers=on.buyer_headers))


async def sent_and_published(client: Client, box: Mailbox, on: Opened) -> Any:
    """The summaries sent (the whole outbox), the award notice published; the evaluation."""
    await settle(client)
    await mail_to(client, box, "nobody@example.org")
    ok(await client.post(f"{on.lot}/award-notice", json={}, headers=on.buyer_headers))
    return await view(client, on)


def secrets_of_c(on: Opened) -> list[str]:
    """What only C and the buyer may know of C's excluded bid (and of B's justifications)."""
    return [
        on.bids["c"],
        on.orgs["c"],
        "6000000",
        "60,000",
        "60000.00",
        "C: plan",
        "C: years",
        "C: local",
        "B: plan",  # the winner's justifications stay the buyer's and B's
        EXPLANATION,
        EXCLUSION,
    ]


async def public_texts(client: Client, on: Opened, headers: Headers) -> str:
    """The tender's public view and its entry on the board (other tests' tenders left out:
    PostgreSQL's database is shared)."""
    one = await client.get(f"/api/v1/tenders/{on.tender}", headers=headers)
    assert one.status_code == 200, one.text
    board = ok(await client.get("/api/v1/tenders", params={"per_page": "100"}, headers=headers))
    entries = [item for item in board["items"] if item["id"] == on.tender]
    return one.text + json.dumps(entries)


def hides(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, (secret, text)


# 1. A losing bidder learns nothing of another losing bid -------------------------------------


async def test_a_loser_sees_its_own_scores_and_the_winners_never_the_excluded_bid(
    mail_client: Client,
    staff_headers: Headers,
    mailbox: tuple[Mailbox, int],
    clock: ManualClock,
) -> None:
    """A reads its summary, its e-mails, the public tender, the award notice and its contracts,
    looking for C's excluded bid (its id, organisation, price, justifications, exclusion)."""
    client, (box, _) = mail_client, mailbox
    bidders = await opened_with_emails(client, staff_headers, clock)
    on, a = bidders.on, bidders.on.headers["a"]
    await settle(client)
    public = f"/api/v1/tenders/{on.tender}"
    before_award = await client.get(public)
    await awarded(client, on)
    await settle(client)
    # Until its notice, the award leaves the public tender as it was, ETag and all.
    after_award = await client.get(public)
    assert after_award.headers["etag"] == before_award.headers["etag"]
    assert after_award.json() == before_award.json()
    secrets = secrets_of_c(on)

    summary = await client.get(f"{on.lot}/assessment-summary", headers=a)
    assert ok(summary)["outcome"] == "unsuccessful"
    assert "etag" not in summary.headers
    assert summary.headers["cache-control"] == "private, no-store"
    hides(summary.text, [*secrets, "abnormally"])
    mails = await mail_to(client, box, bidders.emails["a"])
    assert any("Your bid's scores:" in body for body in mails)
    for body in mails:
        hides(body, [*secrets, "abnormally", "exclu"])
    for headers in ({}, a):
        hides(await public_texts(client, on, headers), secrets)

    ok(await client.post(f"{on.lot}/award-notice", json={}, headers=on.buyer_headers))
    await settle(client)
    notice = await client.get(f"{on.lot}/award", headers=a)
    assert ok(notice)["winners"] == [{"organisation_id": on.orgs["b"], "share": 100}]
    assert notice.text == (await client.get(f"{on.lot}/award")).text  # A is no one special
    hides(notice.text, secrets)
    hides(await public_texts(client, on, a), secrets)
    contracts = ok(await client.get("/api/v1/contracts", headers=a))
    assert (contracts["items"], contracts["total"]) == ([], 0)


async def test_a_loser_naming_anothers_bid_on_the_buyers_routes_learns_nothing(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """A names C's real bid id, then an invented one, on every buyer's route: the answers are
    the same, so it cannot tell whether C's bid exists; the evaluation has no ETag for it."""
    bidders = await opened_with_emails(client, staff_headers, clock)
    on, a = bidders.on, bidders.on.headers["a"]
    await score_all(client, on)
    before, seen = marketplace_events(client), await view(client, on)
    invented = str(uuid.uuid4())
    for method, url, body in routes(on, on.tender):
        if on.bids["c"] not in url:
            continue
        theirs = await client.request(method, url, json=body, headers=a)
        unknown = await client.request(
            method, url.replace(on.bids["c"], invented), json=body, headers=a
        )
        assert theirs.status_code == 404, (url, theirs.text)
        same_answer(theirs, unknown, (on.bids["c"], invented))
    hidden = await client.get(f"{on.lot}/evaluation", headers=a)
    nobody = str(uuid.uuid4())
    unknown = await client.get(f"/api/v1/tenders/{nobody}/lots/lot-1/evaluation", headers=a)
    same_answer(hidden, unknown, (on.tender, nobody))
    assert marketplace_events(client) == before
    assert await view(client, on) == seen


async def test_before_the_decision_a_bidders_summary_is_the_404_of_a_stranger(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """A asks for its summary while the lot is evaluated, hoping a different 404 than D's (no
    bid) says the scoring has started; and reads the public award before the notice."""
    bidders = await opened_with_emails(client, staff_headers, clock)
    on = bidders.on
    await score_all(client, on)
    url = f"{on.lot}/assessment-summary"
    as_a = await client.get(url, headers=on.headers["a"])
    as_d = await client.get(url, headers=on.headers["d"])
    problem(as_a, 404)
    same_answer(as_a, as_d)
    await awarded_only(client, on)
    nobody = str(uuid.uuid4())
    public = await client.get(f"{on.lot}/award")
    problem(public, 404)
    unknown = await client.get(f"/api/v1/tenders/{nobody}/lots/lot-1/award")
    same_answer(public, unknown, (on.tender, nobody))


async def awarded_only(client: Client, on: Opened) -> None:
    """Lot 1 awarded from where `score_all` left it (C's low price accepted, not excluded)."""
    accept = {"accept": True, "reason": "Volunteers are a proper part of the model"}
    ok(
        await client.post(
            f"{on.bid('c')}/low-price-decision", json=accept, headers=on.buyer_headers
        )
    )
    ok(await client.post(f"{on.lot}/award", json={}, headers=on.buyer_headers))


# 2. A rival buyer gets the 404 of nothing --------------------------------------------------------


async def test_a_rival_buyer_cannot_tell_this_lot_from_none(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Another verified council tries every evaluation route of this tender's lot 1, of a lot
    it does not have, and of a tender that does not exist: the same 404, nothing changed."""
    bidders = await opened_with_emails(client, staff_headers, clock)
    on = bidders.on
    await awarded(client, on)
    _, rival = await council(client, staff_headers)
    before, seen = marketplace_events(client), await view(client, on)
    nobody = str(uuid.uuid4())
    extra = [("GET", "/api/v1/tenders/{}/lots/lot-1/assessment-summary", None)]
    for (method, url, body), (_, unknown_url, _) in zip(
        routes(on, on.tender) + [(m, u.format(on.tender), b) for m, u, b in extra],
        routes(on, nobody) + [(m, u.format(nobody), b) for m, u, b in extra],
        strict=True,
    ):
        theirs = await client.request(method, url, json=body, headers=rival)
        problem(theirs, 404)
        unknown = await client.request(method, unknown_url, json=body, headers=rival)
        same_answer(theirs, unknown, (on.tender, nobody))
        other_lot = await client.request(
            method, url.replace("/lot-1/", "/lot-9/"), json=body, headers=rival
        )
        same_answer(theirs, other_lot, ("lot-1", "lot-9"))
    assert marketplace_events(client) == before
    assert await view(client, on) == seen


def contract_routes(contract: str, report_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    url = f"/api/v1/contracts/{contract}"
    reason = {"reason": "Because we can"}
    return [
        ("GET", url, None),
        ("POST", f"{url}/amendments", reason | {"value_minor": 1}),
        ("POST", f"{url}/completion", reason),
        ("POST", f"{url}/termination", reason),
        ("POST", f"{url}/delivery-reports", report(PERIOD["start"], PERIOD["end"])),
        ("POST", f"{url}/delivery-reports/{report_id}/confirmation", None),
        ("POST", f"{url}/delivery-reports/{report_id}/rejection", reason),
    ]


async def contract_of(client: Client, signed: Signed) -> Any:
    return ok(await client.get(signed.url, headers=signed.buyer_headers))


async def reported(client: Client, signed: Signed, clock: ManualClock) -> str:
    """A report by the lead for the contract's first month; its id."""
    start = at(signed.signed_on)
    clock.set(start + timedelta(days=40))
    body = report(signed.signed_on, (start + timedelta(days=30)).isoformat())
    ok(
        await client.post(f"{signed.url}/delivery-reports", json=body, headers=signed.a_headers),
        201,
    )
    return str(body["report_id"])


async def test_a_rival_buyer_cannot_tell_this_contract_from_none(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Another council tries every contract route of a contract (and a real delivery report of
    it) and of one that does not exist; it lists contracts hoping to find it."""
    [signed] = await signed_contract(client, staff_headers, clock)
    report_id = await reported(client, signed, clock)
    _, rival = await council(client, staff_headers)
    seen = await contract_of(client, signed)
    nobody, no_report = str(uuid.uuid4()), str(uuid.uuid4())
    for (method, url, body), (_, unknown_url, _) in zip(
        contract_routes(signed.contract, report_id),
        contract_routes(nobody, no_report),
        strict=True,
    ):
        for who in (rival, signed.c_headers):
            theirs = await client.request(method, url, json=body, headers=who)
            problem(theirs, 404)
            unknown = await client.request(method, unknown_url, json=body, headers=who)
            same_answer(theirs, unknown, (signed.contract, nobody), (report_id, no_report))
    await settle(client)
    listed = ok(await client.get("/api/v1/contracts", headers=rival))
    assert (listed["items"], listed["total"]) == ([], 0)
    assert await contract_of(client, signed) == seen


# 3. A supplier never decides its own delivery, nor the terms; a buyer never reports -------------


async def test_a_supplier_party_never_decides_its_own_report_nor_the_terms(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """The lead and its partner try to confirm and reject their consortium's report, and to
    amend, complete and terminate the contract; the buyer tries to report delivery itself."""
    [signed] = await signed_contract(client, staff_headers, clock)
    report_id = await reported(client, signed, clock)
    seen = await contract_of(client, signed)
    decided = f"{signed.url}/delivery-reports/{report_id}"
    for party in (signed.a_headers, signed.b_headers):
        problem(await client.post(f"{decided}/confirmation", json={}, headers=party), 409)
        rejection = {"reason": "We changed our minds"}
        problem(await client.post(f"{decided}/rejection", json=rejection, headers=party), 409)
        for path, body in (
            ("amendments", {"reason": "More money", "value_minor": 20_000_000}),
            ("completion", {"reason": "Done"}),
            ("termination", {"reason": "Tired"}),
        ):
            problem(await client.post(f"{signed.url}/{path}", json=body, headers=party), 403)
    start = at(signed.signed_on)
    by_buyer = report(
        (start + timedelta(days=30)).isoformat(), (start + timedelta(days=35)).isoformat()
    )
    refused = await client.post(
        f"{signed.url}/delivery-reports", json=by_buyer, headers=signed.buyer_headers
    )
    problem(refused, 409)
    assert await contract_of(client, signed) == seen
    assert seen["delivery_reports"][0]["status"] == "reported"


async def test_a_party_cannot_report_on_or_decide_for_another_contract(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """The lead of one contract reports delivery against, and decides a report of, a contract
    it is not party to: the 404 of a contract that does not exist."""
    [mine] = await signed_contract(client, staff_headers, clock)
    [theirs] = await signed_contract(client, staff_headers, clock)
    report_id = await reported(client, theirs, clock)
    seen = await contract_of(client, theirs)
    nobody = str(uuid.uuid4())
    body = report(theirs.signed_on, (at(theirs.signed_on) + timedelta(days=5)).isoformat())
    for path, sent in (
        ("delivery-reports", body),
        (f"delivery-reports/{report_id}/confirmation", None),
        (f"delivery-reports/{report_id}/rejection", {"reason": "Not ours to say"}),
    ):
        found = await client.post(f"{theirs.url}/{path}", json=sent, headers=mine.a_headers)
        problem(found, 404)
        unknown = await client.post(
            f"/api/v1/contracts/{nobody}/{path}", json=sent, headers=mine.a_headers
        )
        same_answer(found, unknown, (theirs.contract, nobody))
    # Its own buyer's headers do not reach the other council's contract either.
    problem(await client.get(theirs.url, headers=mine.buyer_headers), 404)
    assert await contract_of(client, theirs) == seen


# 4. Bad input: a 4xx problem naming the field, nothing changed --------------------------------

ODD_LOTS = [
    "x" * 5000,
    "lot-1%2F..%2Flot-2",
    "lot%2F1",
    "%2e%2e",
    "lot-%E2%91%A0",  # lot-①
    "l%C3%B6t-1",  # löt-1
    "%F0%9F%92%A3",  # a bomb
    "lot-1%00",
    "%00",
    "%FF%FE",  # not UTF-8
    "lot-1%0D%0ASet-Cookie:%20x=1",
]


async def test_odd_lot_ids_are_a_problem_never_a_500(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """The buyer, a bidder and the public send lot ids that are huge, encoded slashes or dots,
    unicode, NUL, invalid UTF-8, a header injection: each a 4xx problem, nothing changed."""
    bidders = await opened_with_emails(client, staff_headers, clock)
    on = bidders.on
    before, seen = marketplace_events(client), await view(client, on)
    base = f"/api/v1/tenders/{on.tender}/lots"
    for lot in ODD_LOTS:
        for method, path, body, headers in (
            ("GET", "evaluation", None, on.buyer_headers),
            ("PUT", f"bids/{on.bids['a']}/scores", score_body(4, 3, 8, "A"), on.buyer_headers),
            ("POST", "award", {}, on.buyer_headers),
            ("POST", "contract", {"value_minor": 1, "period": PERIOD}, on.buyer_headers),
            ("GET", "assessment-summary", None, on.headers["a"]),
            ("GET", "award", None, {}),
        ):
            response = await client.request(
                method, f"{base}/{lot}/{path}", json=body, headers=headers
            )
            problem(response, (400, 404, 405))
            assert "set-cookie" not in response.headers
    assert marketplace_events(client) == before
    assert await view(client, on) == seen


SCORE_VALUES: list[Any] = [
    "3",
    "three",
    2.0,
    2.5,
    float("1e308"),
    10**30,
    -(10**30),
    2**63,
    None,
    [3],
    {"$gt": 0},
    {"value": 3},
    True,
]


async def test_scores_that_are_not_whole_numbers_are_named_and_change_nothing(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """The buyer sends scores as strings, floats, huge ints, null, lists, nested objects,
    and criteria and justifications of the wrong type."""
    bidders = await opened_with_emails(client, staff_headers, clock)
    on = bidders.on
    before, seen = marketplace_events(client), await view(client, on)
    url = f"{on.bid('a')}/scores"
    good = {"criterion": "Experience", "score": 3, "justification": "Ten years"}
    for value in SCORE_VALUES:
        response = await client.put(
            url, json={"scores": [good | {"score": value}]}, headers=on.buyer_headers
        )
        named(response, 400, "scores[0].score")
    for key, value in (
        ("criterion", {"name": "Experience"}),
        ("criterion", ["Experience"]),
        ("criterion", "Experience\u0000"),
        ("justification", 7),
        ("justification", {"text": "x"}),
    ):
        response = await client.put(
            url, json={"scores": [good | {key: value}]}, headers=on.buyer_headers
        )
        named(response, (400, 422), f"scores[0].{key}")
    for body in ({"scores": {"0": good}}, {"scores": "all fives"}, [good], "scores"):
        response = await client.put(url, json=body, headers=on.buyer_headers)
        problem(response, 400)
    raw = b'{"scores": [{"criterion": "Experience", "score": NaN, "justification": "x"}]}'
    problem(await client.put(url, content=raw, headers=on.buyer_headers | JSON), 400)
    assert marketplace_events(client) == before
    assert await view(client, on) == seen


async def past_the_standstill(
    client: Client, staff_headers: Headers, box: Mailbox, clock: ManualClock
) -> Opened:
    """Lot 1 awarded, its notice published, and the clock past the standstill."""
    bidders = await opened_with_emails(client, staff_headers, clock)
    on = bidders.on
    await awarded(client, on)
    published = await sent_and_published(client, box, on)
    clock.set(at(published["standstill_ends"]) + timedelta(days=1))
    return on


def contract_cases() -> list[tuple[dict[str, Any], int | tuple[int, ...], str]]:
    def period(start: str, end: str) -> dict[str, Any]:
        return {"value_minor": 9_000_000, "period": {"start": start, "end": end}}

    z = "T00:00:00Z"
    return [
        (period("2026-06-01" + z, "2026-05-01" + z), 422, "period.end"),  # ends before it starts
        (period("2026-06-01" + z, "2026-06-01" + z), 422, "period.end"),  # no time at all
        (period("9999-01-01" + z, "9999-12-31" + z), 422, "period.start"),
        (period("2026-06-01" + z, "9999-12-31T23:59:59Z"), 422, "period.end"),
        (period("1066-10-14" + z, "2027-01-01" + z), 422, "period.start"),
        (period("0001-01-01" + z, "2027-01-01" + z), 422, "period.start"),
        (period("2026-06-01T00:00:00", "2026-05-01T00:00:00"), 422, "period.end"),  # naive
        (period("2026-06-01" + z, "next year"), 400, "period.end"),
        (period("2026-06-01" + z, "2026-13-01" + z), 400, "period.end"),
        (period("2026-06-01T00:00:00+25:00", "2027-01-01" + z), 400, "period.start"),
        ({"value_minor": 0, "period": PERIOD}, 400, "value_minor"),
        ({"value_minor": -1, "period": PERIOD}, 400, "value_minor"),
        ({"value_minor": 10**30, "period": PERIOD}, 400, "value_minor"),
        ({"value_minor": "9000000", "period": PERIOD}, 400, "value_minor"),
        ({"value_minor": 9e6, "period": PERIOD}, 400, "value_minor"),
        ({"value_minor": 9_000_000, "period": PERIOD, "currency": "ZZZ"}, 422, "currency"),
        ({"value_minor": 9_000_000, "period": PERIOD, "currency": "EUR"}, 422, "currency"),
        ({"value_minor": 9_000_000, "period": PERIOD, "currency": "gbp"}, 400, "currency"),
        ({"value_minor": 9_000_000, "period": PERIOD, "currency": "£"}, 400, "currency"),
        ({"value_minor": 9_000_000, "period": PERIOD, "currency": ""}, 400, "currency"),
        ({"value_minor": 9_000_000, "period": "2026/2027"}, 400, "period"),
        ({"value_minor": 9_000_000, "period": PERIOD, "parties": []}, 400, "parties"),
    ]


async def test_bad_contract_terms_at_signing_are_named_and_change_nothing(
    mail_client: Client,
    staff_headers: Headers,
    mailbox: tuple[Mailbox, int],
    clock: ManualClock,
) -> None:
    """Past the standstill, where a good contract would be signed, the buyer sends periods
    backwards, empty, in year 9999 or before 1900, naive or malformed; values of 0, negative,
    10**30, strings, floats; currencies unknown, other than the bid's, lower case; garbage
    If-Match values."""
    client, (box, _) = mail_client, mailbox
    on = await past_the_standstill(client, staff_headers, box, clock)
    before, seen = marketplace_events(client), await view(client, on)
    url = f"{on.lot}/contract"
    for body, status, field in contract_cases():
        named(await client.post(url, json=body, headers=on.buyer_headers), status, field)
    good = {"value_minor": 9_000_000, "period": PERIOD}
    for garbage in ("garbage", '"abc"', '"-1"', '""', 'W/"9"', '"1", "2"', '"' + "9" * 40 + '"'):
        response = await client.post(
            url, json=good, headers=on.buyer_headers | {"If-Match": garbage}
        )
        named(response, 400, "If-Match")
    stale = await client.post(url, json=good, headers=on.buyer_headers | {"If-Match": '"1"'})
    assert problem(stale, 409)["type"] == "urn:tradehall:problem:stale-version"
    assert marketplace_events(client) == before
    assert await view(client, on) == seen


async def test_bad_contract_changes_and_reports_are_named_and_change_nothing(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """The buyer amends with values 0, negative or 10**30 and periods in year 9999; the lead
    reports with a report_id that is no uuid (body and path), measures unknown or twice,
    periods naive and backwards; the buyer sends garbage If-Match values."""
    [signed] = await signed_contract(client, staff_headers, clock)
    start = at(signed.signed_on)
    clock.set(start + timedelta(days=40))
    seen, before = await contract_of(client, signed), marketplace_events(client)
    buyer, lead = signed.buyer_headers, signed.a_headers
    why = {"reason": "More parks"}
    for body, status, field in (
        (why | {"value_minor": 0}, 400, "value_minor"),
        (why | {"value_minor": -5}, 400, "value_minor"),
        (why | {"value_minor": 10**30}, 400, "value_minor"),
        (why | {"value_minor": "lots"}, 400, "value_minor"),
        (
            why | {"period": {"start": "9999-01-01T00:00:00Z", "end": "9999-02-01T00:00:00Z"}},
            422,
            "period.start",
        ),
        (why | {"period": {"start": "2027-01-01T00:00:00Z"}}, 400, "period.end"),
        (why | {"currency": "EUR", "value_minor": 1}, 400, "currency"),
    ):
        response = await client.post(f"{signed.url}/amendments", json=body, headers=buyer)
        named(response, status, field)
    early = (start + timedelta(days=10)).isoformat()
    month = (start + timedelta(days=30)).isoformat()

    def delivered(*items: tuple[Any, Any]) -> dict[str, Any]:
        return {"delivered": [{"measure": m, "quantity": q} for m, q in items]}

    url = f"{signed.url}/delivery-reports"
    reports: list[tuple[dict[str, Any], int | tuple[int, ...], str]] = [
        (report(early, month, report_id="42"), 400, "report_id"),
        (report(early, month, report_id=""), 400, "report_id"),
        (report(early, month, report_id={"id": str(uuid.uuid4())}), 400, "report_id"),
        (report(early, month, **delivered(("local_jobs", 1), ("local_jobs", 2))), 422, "delivered"),
        (report(early, month, **delivered(("Local_Jobs", 1))), (400, 422), "delivered"),
        (report(early, month, **delivered(("carbon_saving", 1))), 422, "delivered"),
        (report(early, month, **delivered(("local_jobs", "2"))), 400, "delivered"),
        (report(month.replace("+00:00", ""), early.replace("+00:00", "")), 422, "period.end"),
        (report(early, "9999-12-31T00:00:00Z"), 422, "period.end"),
        (report("0001-01-01T00:00:00Z", month), 422, "period.start"),
    ]
    for sent, expected, named_field in reports:
        named(await client.post(url, json=sent, headers=lead), expected, named_field)
    for garbage in ("garbage", '"x"', 'W/"1"', '"' + "9" * 40 + '"'):
        for path, body, who in (
            ("amendments", why | {"value_minor": 1}, buyer),
            ("completion", why, buyer),
            ("termination", why, buyer),
        ):
            response = await client.post(
                f"{signed.url}/{path}", json=body, headers=who | {"If-Match": garbage}
            )
            named(response, 400, "If-Match")
    for report_id in ("not-a-uuid", "1", "%00", "x" * 3000):
        for verb in ("confirmation", "rejection"):
            response = await client.post(
                f"{url}/{report_id}/{verb}", json={"reason": "no"}, headers=buyer
            )
            problem(response, (400, 404))
    assert marketplace_events(client) == before
    assert await contract_of(client, signed) == seen


async def test_odd_closure_days_are_named_and_change_nothing(
    client: Client, staff_headers: Headers
) -> None:
    """Staff close and reopen days that do not exist (30 February), the last day of year 9999,
    an empty day, a datetime, a NUL, a week date, unicode digits."""
    before = ok(await client.get("/api/v1/closure-days"))
    why = {"reason": "Strike"}
    for day in (
        "2026-02-30",
        "2031-02-29",
        "2031-06-11T00:00:00Z",
        "2031-06-11%00",
        "%00",
        "2031-W24-3",
        "%EF%BC%92%EF%BC%90%EF%BC%93%EF%BC%91-06-11",  # full-width digits
        "+2031-06-11",
        "x" * 5000,
    ):
        closing = await client.put(f"/api/v1/closure-days/{day}", json=why, headers=staff_headers)
        reopening = await client.delete(f"/api/v1/closure-days/{day}", headers=staff_headers)
        for response in (closing, reopening):
            problem(response, (400, 404, 422))
            if response.status_code == 422:
                assert fields(response) == ["day"], (day, response.text)
    for path in ("/api/v1/closure-days/", "/api/v1/closure-days/%20"):
        problem(await client.put(path, json=why, headers=staff_headers), (400, 404, 405, 422))
    assert ok(await client.get("/api/v1/closure-days")) == before


async def test_odd_queries_of_the_contracts_list_are_named(
    client: Client, staff_headers: Headers
) -> None:
    """A signed-in caller pages the contracts list with pages of 0 or 10**20, a page size of
    100,000, and positions that are garbage, negative or beyond any log."""
    _, headers = await council(client, staff_headers)
    for query, field in (
        ({"page": "0"}, "page"),
        ({"page": str(10**20)}, "page"),
        ({"per_page": "100000"}, "per_page"),
        ({"per_page": "-1"}, "per_page"),
        ({"position": "garbage"}, "position"),
        ({"position": "marketplace:-1"}, "position"),
        ({"position": "marketplace:" + "9" * 30}, "position"),
        ({"position": "marketplace:1\x00"}, "position"),
    ):
        response = await client.get("/api/v1/contracts", params=query, headers=headers)
        named(response, 400, field)


# 5. Timing rules -------------------------------------------------------------------------------


async def test_the_notice_waits_for_the_summaries_and_the_contract_for_the_standstill(
    mail_client: Client,
    staff_headers: Headers,
    mailbox: tuple[Mailbox, int],
    clock: ManualClock,
) -> None:
    """The buyer publishes the award notice before the summaries leave, scores and awards
    again after the award, publishes twice, and signs a second before the standstill ends."""
    client, (box, _) = mail_client, mailbox
    bidders = await opened_with_emails(client, staff_headers, clock)
    on, headers = bidders.on, bidders.on.buyer_headers
    await awarded(client, on)
    await settle(client)
    problem(await client.post(f"{on.lot}/award-notice", json={}, headers=headers), 409)
    problem(await client.get(f"{on.lot}/award"), 404)
    for method, path, body in (
        ("PUT", f"bids/{on.bids['a']}/scores", score_body(5, 5, 10, "A")),
        ("POST", "award", {}),
        ("POST", "no-award", {"reason": "Changed our minds"}),
        ("POST", f"bids/{on.bids['c']}/low-price-decision", {"accept": True, "reason": "ok"}),
    ):
        refused = await client.request(method, f"{on.lot}/{path}", json=body, headers=headers)
        problem(refused, 409)
    published = await sent_and_published(client, box, on)
    problem(await client.post(f"{on.lot}/award-notice", json={}, headers=headers), 409)
    ends = at(published["standstill_ends"])
    contract = {"value_minor": 9_000_000, "period": PERIOD}
    clock.set(ends - timedelta(seconds=1))
    problem(await client.post(f"{on.lot}/contract", json=contract, headers=headers), 409)
    assert await view(client, on) == published
    clock.set(ends)
    signed = ok(await client.post(f"{on.lot}/contract", json=contract, headers=headers), 201)
    problem(await client.post(f"{on.lot}/contract", json=contract, headers=headers), 409)
    assert (await view(client, on))["contract_id"] == signed["id"]


async def test_two_concurrent_awards_of_a_lot_one_wins(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Two of the buyer's users award the same lot at once (and decline it at once): exactly
    one decision is made, the other told 409."""
    bidders = await opened_with_emails(client, staff_headers, clock)
    on = bidders.on
    await score_all(client, on)
    accept = {"accept": True, "reason": "Volunteers are a proper part of the model"}
    ok(
        await client.post(
            f"{on.bid('c')}/low-price-decision", json=accept, headers=on.buyer_headers
        )
    )
    before = await view(client, on)
    both = await asyncio.gather(
        client.post(f"{on.lot}/award", json={}, headers=on.buyer_headers),
        client.post(f"{on.lot}/award", json={}, headers=on.buyer_headers),
        client.post(f"{on.lot}/no-award", json={"reason": "No budget"}, headers=on.buyer_headers),
    )
    assert sorted(r.status_code for r in both) == [200, 409, 409], [r.text for r in both]
    for lost in (r for r in both if r.status_code == 409):
        problem(lost, 409)
    after = await view(client, on)
    assert after["version"] == before["version"] + 1
    assert after["status"] in ("awarded", "not_awarded")


async def test_concurrent_notices_signings_and_decisions_one_wins(
    mail_client: Client,
    staff_headers: Headers,
    mailbox: tuple[Mailbox, int],
    clock: ManualClock,
) -> None:
    """Two of the buyer's users publish the award notice at once, then sign the contract at
    once: one notice, one contract, the other told 409."""
    client, (box, _) = mail_client, mailbox
    bidders = await opened_with_emails(client, staff_headers, clock)
    on, headers = bidders.on, bidders.on.buyer_headers
    await awarded(client, on)
    await settle(client)
    await mail_to(client, box, "nobody@example.org")
    notices = await asyncio.gather(
        *(client.post(f"{on.lot}/award-notice", json={}, headers=headers) for _ in range(2))
    )
    assert sorted(r.status_code for r in notices) == [200, 409], [r.text for r in notices]
    published = await view(client, on)
    clock.set(at(published["standstill_ends"]))
    contract = {"value_minor": 9_000_000, "period": PERIOD}
    signings = await asyncio.gather(
        *(client.post(f"{on.lot}/contract", json=contract, headers=headers) for _ in range(2))
    )
    assert sorted(r.status_code for r in signings) == [201, 409], [r.text for r in signings]
    [signed] = [r.json()["id"] for r in signings if r.status_code == 201]
    assert (await view(client, on))["contract_id"] == signed


async def test_concurrent_decisions_on_a_contract_one_wins(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """The buyer's users confirm and reject one report at once, then complete and terminate
    the contract at once; a party sends one report twice at once: one of each stands."""
    [signed] = await signed_contract(client, staff_headers, clock)
    report_id = await reported(client, signed, clock)
    decided = f"{signed.url}/delivery-reports/{report_id}"
    buyer = signed.buyer_headers
    both = await asyncio.gather(
        client.post(f"{decided}/confirmation", headers=buyer),
        client.post(f"{decided}/rejection", json={"reason": "No evidence"}, headers=buyer),
    )
    assert sorted(r.status_code for r in both) == [200, 409], [r.text for r in both]
    start = at(signed.signed_on)
    again = report(
        (start + timedelta(days=30)).isoformat(), (start + timedelta(days=35)).isoformat()
    )
    twice = await asyncio.gather(
        *(
            client.post(f"{signed.url}/delivery-reports", json=again, headers=signed.b_headers)
            for _ in range(2)
        )
    )
    assert [r.status_code for r in twice] == [201, 201], [r.text for r in twice]
    ends = await asyncio.gather(
        client.post(f"{signed.url}/completion", json={"reason": "Done"}, headers=buyer),
        client.post(f"{signed.url}/termination", json={"reason": "Stopped"}, headers=buyer),
    )
    assert sorted(r.status_code for r in ends) == [200, 409], [r.text for r in ends]
    contract = await contract_of(client, signed)
    assert len(contract["delivery_reports"]) == 2
    assert contract["delivery_reports"][0]["status"] in ("confirmed", "rejected")
    assert contract["status"] in ("completed", "terminated")
    assert contract["version"] == 5  # signed, two reports, one decision, one end


async def test_a_report_retried_with_the_if_match_it_was_sent_with_answers_the_first(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """A delivery report whose answer was lost is sent again, If-Match and all: the version it
    names is the one before its own report, yet the retry answers the first report (the route's
    promise), records nothing more, and another report under that version is still stale."""
    [signed] = await signed_contract(client, staff_headers, clock)
    start = at(signed.signed_on)
    clock.advance(timedelta(days=70))
    first = report(
        (start + timedelta(days=30)).isoformat(), (start + timedelta(days=35)).isoformat()
    )
    headers = signed.b_headers | {"If-Match": '"1"'}
    made = await client.post(f"{signed.url}/delivery-reports", json=first, headers=headers)
    assert made.status_code == 201, made.text
    again = await client.post(f"{signed.url}/delivery-reports", json=first, headers=headers)
    assert again.status_code == 201, again.text
    assert again.json()["id"] == made.json()["id"]
    other = report(
        (start + timedelta(days=40)).isoformat(), (start + timedelta(days=45)).isoformat()
    )
    stale = await client.post(f"{signed.url}/delivery-reports", json=other, headers=headers)
    assert stale.status_code in (409, 412), stale.text
    contract = await contract_of(client, signed)
    assert len(contract["delivery_reports"]) == 1
    assert contract["version"] == 2  # signed, one report


# 6. Sealed before the deadline ------------------------------------------------------------------


async def test_before_opening_a_tender_with_three_bids_answers_as_one_with_none(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Before the deadline (and after it, before the opening), the buyer, a bidder, staff and
    the public compare the new routes of a tender with three bids against one with none."""
    buyer, buyer_headers = await council(client, staff_headers)
    empty = await published_tender(client, buyer, buyer_headers)
    full = await published_tender(client, buyer, buyer_headers)
    bidder: Headers = {}
    bids = []
    for who in "abc":
        _, _, bidder = await member(client, staff_headers, NAMES[who])
        bids.append(await drafted_bid(client, bidder, full, "lot-1", PRICES[who]))
        await submitted(client, bidder, bids[-1])
    on_full = Opened(full, buyer_headers, {}, {}, {"c": bids[0]})
    on_empty = Opened(empty, buyer_headers, {}, {}, {"c": bids[0]})
    extra = [
        ("GET", "/api/v1/tenders/{}/lots/lot-1/assessment-summary", None),
        ("GET", "/api/v1/tenders/{}/lots/lot-1/award", None),
    ]
    for moment in (clock.now(), at(DEADLINE) + timedelta(seconds=1)):
        clock.set(moment)
        await tick(client)  # nothing is due: the margin has not passed
        for headers in (buyer_headers, bidder, staff_headers, {}):
            pairs = zip(
                routes(on_full, full) + [(m, u.format(full), b) for m, u, b in extra],
                routes(on_empty, empty) + [(m, u.format(empty), b) for m, u, b in extra],
                strict=True,
            )
            for (method, url, body), (_, empty_url, _) in pairs:
                with_bids = await client.request(method, url, json=body, headers=headers)
                without = await client.request(method, empty_url, json=body, headers=headers)
                problem(with_bids, (401, 404))
                same_answer(with_bids, without, (full, empty))
        await settle(client)
        public_full = await client.get(f"/api/v1/tenders/{full}")
        public_empty = await client.get(f"/api/v1/tenders/{empty}")
        assert public_full.headers["etag"] == public_empty.headers["etag"]
        assert public_full.text.replace(full, empty) == public_empty.text
