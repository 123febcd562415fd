"""A lot's evaluation and award over HTTP, on both stores (issue 13): a council's tender opened
with three valid bids on lot 1; the buyer scores them (bad input named, nothing changed), reads
the computed totals, queries an abnormally low price, records the explanation and excludes the
bid (never before), awards once everything is scored; each bidder reads its own summary and the
winner's scores, never the third bid's; the lot is the buyer's alone (another buyer, a
supplier: the 404 of a lot with no evaluation); the public award notice waits for the notice,
and the notice for the summaries. Two scores sent on one If-Match: one 409.

The award notice published and the contract signed need the summaries sent by the award notice
writer (not on main when this was written): that path is left to the scenario test."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from tests.api.helpers import services_of
from tests.api.test_bid_scenario import at, drafted_bid, member, published_tender, submitted, tick
from tests.api.test_bids import fields_of
from tests.api.test_clarifications import council
from tests.api.test_tenders import DEADLINE, marketplace_events
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
JSON = {"Content-Type": "application/json"}
# Prices on lot 1: C's is far below the others' (A and B's mean less 20% is 8,400,000).
PRICES = {"a": 11_000_000, "b": 10_000_000, "c": 6_000_000}
NAMES = {
    "a": "Alder Grounds CIC",
    "b": "Beech Cafe Co-operative",
    "c": "Cedar Landscapes CIC",
    "d": "Damson Training Trust",
}


@dataclass(frozen=True)
class Opened:
    """A council's tender, opened with three valid bids on lot 1 (A's, B's and C's, each
    alone) and none on lot 2; D is a member that did not bid."""

    tender: str
    buyer_headers: Headers
    orgs: dict[str, str]
    headers: dict[str, Headers]
    bids: dict[str, str]

    @property
    def lot(self) -> str:
        return f"/api/v1/tenders/{self.tender}/lots/lot-1"

    def bid(self, who: str) -> str:
        return f"{self.lot}/bids/{self.bids[who]}"


async def opened(client: Client, staff_headers: Headers, clock: ManualClock) -> Opened:
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    orgs, headers, bids = {}, {}, {}
    for who, name in NAMES.items():
        orgs[who], _, headers[who] = await member(client, staff_headers, name)
    for who, price in PRICES.items():
        bids[who] = await drafted_bid(client, headers[who], tender, "lot-1", price)
        await submitted(client, headers[who], bids[who])
    margin = services_of(client).settings.bid_opening_margin_seconds
    clock.set(at(DEADLINE) + timedelta(seconds=margin))
    await tick(client)
    return Opened(tender, buyer_headers, orgs, headers, bids)


async def evaluation_of(client: Client, on: Opened, headers: Headers | None = None) -> Any:
    response = await client.get(f"{on.lot}/evaluation", headers=headers or on.buyer_headers)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{response.json()["version"]}"'
    assert response.headers["cache-control"] == "private, no-store"
    return response.json()


def scores(method: int, experience: int, social: int) -> dict[str, Any]:
    return {
        "scores": [
            {"criterion": "Method statement", "score": method, "justification": "Clear crews"},
            {"criterion": "Experience", "score": experience, "justification": "Ten years"},
            {"criterion": "Social value", "score": social, "justification": "Local hires"},
        ]
    }


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail: str = response.json()["detail"]
    return detail


async def score_all(client: Client, on: Opened) -> None:
    for who, given in (("a", scores(4, 3, 8)), ("b", scores(3, 4, 6)), ("c", scores(2, 2, 5))):
        ok(await client.put(f"{on.bid(who)}/scores", json=given, headers=on.buyer_headers))


async def exclude_c(client: Client, on: Opened) -> None:
    headers = on.buyer_headers
    ok(await client.post(f"{on.bid('c')}/low-price-query", json={}, headers=headers))
    explained = {"explanation": "Volunteers do half the work"}
    ok(await client.post(f"{on.bid('c')}/low-price-explanation", json=explained, headers=headers))
    decision = {"accept": False, "reason": "Volunteers cannot be relied on"}
    ok(await client.post(f"{on.bid('c')}/low-price-decision", json=decision, headers=headers))


async def test_bad_scores_name_their_field_and_change_nothing(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    on = await opened(client, staff_headers, clock)
    before, seen = marketplace_events(client), await evaluation_of(client, on)
    url = f"{on.bid('a')}/scores"
    good = {"criterion": "Experience", "score": 3, "justification": "Ten years"}

    def one(**changes: Any) -> dict[str, Any]:
        return {"scores": [good | changes]}

    cases: list[tuple[dict[str, Any] | bytes, int, str]] = [
        (one(criterion="Colour"), 422, "scores[0].criterion"),
        (one(criterion="Price"), 422, "scores[0].criterion"),  # computed, never scored
        (one(score=6), 422, "scores[0].score"),  # Experience is scored 0 to 5
        (one(score=-1), 400, "scores[0].score"),
        (one(score=101), 400, "scores[0].score"),
        (one(score=10**30), 400, "scores[0].score"),
        (one(score=True), 400, "scores[0].score"),
        (one(score=2.5), 400, "scores[0].score"),
        (one(score="3"), 400, "scores[0].score"),
        (one(justification=""), 400, "scores[0].justification"),
        (one(justification=" \n\t "), 400, "scores[0].justification"),
        (one(justification="x" * 5000), 400, "scores[0].justification"),
        (one(justification="ok\u202eok"), 400, "scores[0].justification"),
        ({"scores": [{"criterion": "Experience", "score": 3}]}, 400, "scores[0].justification"),
        ({"scores": [good, good | {"criterion": "Colour"}]}, 422, "scores[1].criterion"),
        ({"scores": [good, good | {"score": 9}]}, 422, "scores[1].score"),
        ({"scores": []}, 400, "scores"),
        ({"scores": [good] * 50}, 400, "scores"),
        ({}, 400, "scores"),
        ({"scores": [good], "total": 99}, 400, "total"),
        (b'{"scores": [', 400, "body"),
    ]
    for body, status, field in cases:
        if isinstance(body, bytes):
            response = await client.put(url, content=body, headers=on.buyer_headers | JSON)
        else:
            response = await client.put(url, json=body, headers=on.buyer_headers)
        assert response.status_code == status, (body, response.text)
        assert field in fields_of(response), (body, response.json())

    # Other bodies of the buyer's commands: named too.
    for path, body, field in (
        ("/low-price-explanation", {"explanation": ""}, "explanation"),
        ("/low-price-explanation", {}, "explanation"),
        ("/low-price-decision", {"accept": "no", "reason": "x"}, "accept"),
        ("/low-price-decision", {"accept": False}, "reason"),
    ):
        response = await client.post(f"{on.bid('c')}{path}", json=body, headers=on.buyer_headers)
        assert response.status_code == 400, (path, response.text)
        assert field in fields_of(response), (path, response.json())
    for body, status, field in (
        ({"reason": ""}, 400, "reason"),
        ({"reason": "   "}, 400, "reason"),
    ):
        response = await client.post(f"{on.lot}/no-award", json=body, headers=on.buyer_headers)
        assert response.status_code == status, response.text
        assert field in fields_of(response), response.json()
    period = {"start": "2026-05-01T00:00:00Z", "end": "2027-04-30T23:59:59Z"}
    for body, status, field in (
        ({"value_minor": 0, "period": period}, 400, "value_minor"),
        ({"value_minor": 100, "period": period, "currency": "pounds"}, 400, "currency"),
        (
            {"value_minor": 100, "period": period | {"end": "2026-04-01T00:00:00Z"}},
            422,
            "period.end",
        ),
        (
            {"value_minor": 100, "period": period | {"start": "0001-01-01T00:00:00Z"}},
            422,
            "period.start",
        ),
        ({"value_minor": 100}, 400, "period"),
    ):
        response = await client.post(f"{on.lot}/contract", json=body, headers=on.buyer_headers)
        assert response.status_code == status, (body, response.text)
        assert field in fields_of(response), (body, response.json())

    # Not a bid, lot or tender of this evaluation: 404; a malformed bid id: 404 too.
    for url_ in (
        f"{on.lot}/bids/{uuid.uuid4()}/scores",
        f"/api/v1/tenders/{on.tender}/lots/lot-9/bids/{on.bids['a']}/scores",
        f"/api/v1/tenders/{on.tender}/lots/{'x' * 1500}/bids/{on.bids['a']}/scores",
        f"/api/v1/tenders/{uuid.uuid4()}/lots/lot-1/bids/{on.bids['a']}/scores",
        f"{on.lot}/bids/not-a-uuid/scores",
    ):
        response = await client.put(url_, json={"scores": [good]}, headers=on.buyer_headers)
        assert response.status_code == 404, (url_, response.text)
    # Lot 2 had no valid bid: unsuccessful from the opening, nothing to score.
    lot_2 = await client.get(
        f"/api/v1/tenders/{on.tender}/lots/lot-2/evaluation", headers=on.buyer_headers
    )
    assert (ok(lot_2)["status"], ok(lot_2)["bids"]) == ("unsuccessful", [])

    assert marketplace_events(client) == before
    assert await evaluation_of(client, on) == seen


async def test_scores_low_prices_and_award(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    on = await opened(client, staff_headers, clock)
    a, b, c = (on.bids[w] for w in "abc")
    start = await evaluation_of(client, on)
    assert (start["status"], start["lot_id"], start["tender_id"]) == (
        "evaluating",
        "lot-1",
        on.tender,
    )
    assert {x["bid_id"]: x["price_minor"] for x in start["bids"]} == {
        on.bids[w]: p for w, p in PRICES.items()
    }
    assert [m["organisation_id"] for x in start["bids"] for m in x["members"]] == [
        on.orgs[w] for w in "abc"
    ]
    assert start["flagged"] == [c]
    assert {u["bid_id"]: u["criteria"] for u in start["unscored"]} == {
        bid: ["Method statement", "Experience", "Social value"] for bid in (a, b, c)
    }
    assert (start["ranking"], start["decision"], start["excluded"]) == ([], None, [])

    # Award refused while anything is unscored; C's low price still undecided after.
    refused_award = await client.post(f"{on.lot}/award", json={}, headers=on.buyer_headers)
    assert "not scored" in refused(refused_award, 409)
    await score_all(client, on)
    rescored = {"scores": [{"criterion": "Experience", "score": 3, "justification": "Ten years"}]}
    ok(await client.put(f"{on.bid('a')}/scores", json=rescored, headers=on.buyer_headers))
    scored = await evaluation_of(client, on)
    [bid_a] = [x for x in scored["bids"] if x["bid_id"] == a]
    assert bid_a["scores"] == [
        {"criterion": "Method statement", "score": 4, "justification": "Clear crews"},
        {"criterion": "Experience", "score": 3, "justification": "Ten years"},
        {"criterion": "Social value", "score": 8, "justification": "Local hires"},
    ]
    assert scored["unscored"] == []
    # Weights: price 50, method 25 (of 5), experience 15 (of 5), social value 10 (of 10); the
    # lowest price is C's 6,000,000. A by hand: price 6/11 * 50 = 27.2727..., quality
    # 4/5 * 25 + 3/5 * 15 = 29, social value 8/10 * 10 = 8; total 64.2727... -> "64.27".
    assert [
        (r["bid_id"], r["price_points"], r["quality_points"], r["social_value_points"], r["total"])
        for r in scored["ranking"]
    ] == [
        (c, "50.00", "16.00", "5.00", "71.00"),
        (a, "27.27", "29.00", "8.00", "64.27"),
        (b, "30.00", "27.00", "6.00", "63.00"),
    ]
    assert [r["rank"] for r in scored["ranking"]] == [1, 2, 3]
    undecided = await client.post(f"{on.lot}/award", json={}, headers=on.buyer_headers)
    assert "abnormally low" in refused(undecided, 409)

    # C's price: no exclusion before the bidder is asked and its explanation recorded.
    headers = on.buyer_headers
    exclude = {"accept": False, "reason": "Too cheap to be true"}
    for step in range(2):
        early = await client.post(
            f"{on.bid('c')}/low-price-decision", json=exclude, headers=headers
        )
        assert "explanation recorded" in refused(early, 409), step
        if step == 0:
            ok(await client.post(f"{on.bid('c')}/low-price-query", json={}, headers=headers))
    again = await client.post(f"{on.bid('c')}/low-price-query", json={}, headers=headers)
    refused(again, 409)
    not_flagged = await client.post(f"{on.bid('a')}/low-price-query", json={}, headers=headers)
    assert "not abnormally low" in refused(not_flagged, 409)
    explanation = {"explanation": "Volunteers do half the work"}
    ok(await client.post(f"{on.bid('c')}/low-price-explanation", json=explanation, headers=headers))
    ok(await client.post(f"{on.bid('c')}/low-price-decision", json=exclude, headers=headers))
    excluded = await evaluation_of(client, on)
    [bid_c] = [x for x in excluded["bids"] if x["bid_id"] == c]
    low = bid_c["low_price"]
    assert at(low["queried_at"]) <= clock.now()
    assert (low["explanation"], low["decision"], low["reason"]) == (
        "Volunteers do half the work",
        "excluded",
        "Too cheap to be true",
    )
    assert (excluded["excluded"], excluded["flagged"]) == ([c], [])
    # C no longer ranks nor sets the lowest price: B's 10,000,000 does (A: 10/11 * 50).
    assert [(r["bid_id"], r["price_points"], r["total"]) for r in excluded["ranking"]] == [
        (b, "50.00", "83.00"),
        (a, "45.45", "82.45"),
    ]
    no_more = await client.put(f"{on.bid('c')}/scores", json=scores(5, 5, 10), headers=headers)
    assert "excluded" in refused(no_more, 409)

    # The award: B, every member still eligible; nothing more is scored after it.
    awarded = ok(await client.post(f"{on.lot}/award", json={}, headers=headers))
    assert set(awarded["position"]) == {"marketplace"}
    decided = await evaluation_of(client, on)
    assert decided["version"] == awarded["version"]
    assert decided["status"] == "awarded"
    assert decided["decision"] == {"winner": b, "passed_over": [], "reason": None}
    assert (decided["notice_published_at"], decided["standstill_ends"]) == (None, None)
    assert decided["contract_id"] is None
    late = await client.put(f"{on.bid('a')}/scores", json=scores(5, 5, 10), headers=headers)
    refused(late, 409)
    refused(await client.post(f"{on.lot}/no-award", json={"reason": "x"}, headers=headers), 409)
    # Staff read it too, as it is.
    assert await evaluation_of(client, on, staff_headers) == decided

    # Each bidder's summary: its own scores with justifications, and the winner's scores.
    summary_url = f"{on.lot}/assessment-summary"
    of_a = ok(await client.get(summary_url, headers=on.headers["a"]))
    assert (of_a["bid_id"], of_a["outcome"], of_a["result"]["total"]) == (
        a,
        "unsuccessful",
        "82.45",
    )
    assert [(s["criterion"], s["score"], s["justification"]) for s in of_a["scores"]] == [
        ("Method statement", 4, "Clear crews"),
        ("Experience", 3, "Ten years"),
        ("Social value", 8, "Local hires"),
    ]
    winner = of_a["winner"]
    assert (winner["bid_id"], winner["result"]["total"]) == (b, "83.00")
    assert [(s["criterion"], s["score"]) for s in winner["scores"]] == [
        ("Method statement", 3),
        ("Experience", 4),
        ("Social value", 6),
    ]
    assert all("justification" not in s for s in winner["scores"])
    shown = json.dumps(of_a)
    for secret in (c, on.orgs["c"], on.orgs["b"], "6000000", "Volunteers"):
        assert secret not in shown, secret
    of_c = ok(await client.get(summary_url, headers=on.headers["c"]))
    assert (of_c["outcome"], of_c["excluded_reason"], of_c["result"]) == (
        "excluded",
        "Too cheap to be true",
        None,
    )
    assert a not in json.dumps(of_c)
    of_b = ok(await client.get(summary_url, headers=on.headers["b"]))
    assert (of_b["outcome"], of_b["winner"]["bid_id"]) == ("successful", b)
    for who in (on.headers["d"], on.buyer_headers, staff_headers):
        assert (await client.get(summary_url, headers=who)).status_code == 404

    # The notice waits for every summary to be sent; the public sees nothing until it is out.
    waiting = await client.post(f"{on.lot}/award-notice", json={}, headers=headers)
    assert "summary has been sent" in refused(waiting, 409)
    assert (await client.get(f"{on.lot}/award")).status_code == 404
    period = {"start": "2026-05-01T00:00:00Z", "end": "2027-04-30T23:59:59Z"}
    too_soon = await client.post(
        f"{on.lot}/contract", json={"value_minor": 10_000_000, "period": period}, headers=headers
    )
    assert "not published" in refused(too_soon, 409)
    assert (await evaluation_of(client, on))["version"] == decided["version"]


async def test_a_summary_waits_for_the_decision(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    on = await opened(client, staff_headers, clock)
    summary_url = f"{on.lot}/assessment-summary"
    for who in "abd":
        assert (await client.get(summary_url, headers=on.headers[who])).status_code == 404
    declined = {"reason": "The budget was withdrawn"}
    ok(await client.post(f"{on.lot}/no-award", json=declined, headers=on.buyer_headers))
    of_a = ok(await client.get(summary_url, headers=on.headers["a"]))
    assert (of_a["outcome"], of_a["decision_reason"], of_a["winner"]) == (
        "unsuccessful",
        "The budget was withdrawn",
        None,
    )
    assert (await client.get(summary_url, headers=on.headers["d"])).status_code == 404
    decided = await evaluation_of(client, on)
    assert (decided["status"], decided["decision"]["reason"]) == (
        "not_awarded",
        "The budget was withdrawn",
    )
    # Nothing to publish for a lot not awarded; no public award.
    refused(await client.post(f"{on.lot}/award-notice", json={}, headers=on.buyer_headers), 409)
    assert (await client.get(f"{on.lot}/award")).status_code == 404


def routes(on: Opened, tender: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    lot = f"/api/v1/tenders/{tender}/lots/lot-1"
    bid = f"{lot}/bids/{on.bids['c']}"
    period = {"start": "2026-05-01T00:00:00Z", "end": "2027-04-30T23:59:59Z"}
    return [
        ("GET", f"{lot}/evaluation", None),
        ("PUT", f"{bid}/scores", scores(3, 3, 3)),
        ("POST", f"{bid}/low-price-query", {}),
        ("POST", f"{bid}/low-price-explanation", {"explanation": "Volunteers"}),
        ("POST", f"{bid}/low-price-decision", {"accept": True, "reason": "Fine"}),
        ("POST", f"{lot}/award", {}),
        ("POST", f"{lot}/no-award", {"reason": "No budget"}),
        ("POST", f"{lot}/award-notice", {}),
        ("POST", f"{lot}/contract", {"value_minor": 100, "period": period}),
    ]


async def test_the_lot_is_its_buyers_alone(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    on = await opened(client, staff_headers, clock)
    _, other_buyer = await council(client, staff_headers)
    before, seen = marketplace_events(client), await evaluation_of(client, on)
    nobody = str(uuid.uuid4())
    callers = {
        "the buyer of another tender": other_buyer,
        "a bidder": on.headers["a"],
        "a member that did not bid": on.headers["d"],
    }
    for who, headers in callers.items():
        pairs = zip(routes(on, on.tender), routes(on, nobody), strict=True)
        for (method, url, body), (_, unknown_url, _) in pairs:
            theirs = await client.request(method, url, json=body, headers=headers)
            unknown = await client.request(method, unknown_url, json=body, headers=headers)
            assert theirs.status_code == unknown.status_code == 404, (who, method, url)
            assert theirs.text.replace(on.tender, nobody) == unknown.text, (who, method, url)
    # Staff read the evaluation, and act on nothing.
    for method, url, body in routes(on, on.tender)[1:]:
        response = await client.request(method, url, json=body, headers=staff_headers)
        assert response.status_code == 404, (method, url, response.text)
    # Anonymous callers: 401, but for the public award notice (404 until published).
    for method, url, body in routes(on, on.tender):
        assert (await client.request(method, url, json=body)).status_code == 401, url
    assert (await client.get(f"{on.lot}/award")).status_code == 404
    assert marketplace_events(client) == before
    assert await evaluation_of(client, on) == seen


async def test_before_opening_every_route_is_404_as_for_no_tender(
    client: Client, staff_headers: Headers
) -> None:
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    _, _, a_headers = await member(client, staff_headers, NAMES["a"])
    bid = await drafted_bid(client, a_headers, tender, "lot-1", 9_000_000)
    await submitted(client, a_headers, bid)
    on = Opened(tender, buyer_headers, {}, {}, {"c": bid})
    nobody = str(uuid.uuid4())
    for headers in (buyer_headers, staff_headers):
        pairs = zip(routes(on, tender), routes(on, nobody), strict=True)
        for (method, url, body), (_, unknown_url, _) in pairs:
            theirs = await client.request(method, url, json=body, headers=headers)
            unknown = await client.request(method, unknown_url, json=body, headers=headers)
            assert theirs.status_code == unknown.status_code == 404, (method, url)
            assert theirs.text.replace(tender, nobody) == unknown.text, (method, url)
    summary = f"/api/v1/tenders/{tender}/lots/lot-1/assessment-summary"
    assert (await client.get(summary, headers=a_headers)).status_code == 404


async def test_two_scores_on_one_if_match_one_is_refused(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    on = await opened(client, staff_headers, clock)
    version = (await evaluation_of(client, on))["version"]
    same = on.buyer_headers | {"If-Match": f'"{version}"'}
    both = await asyncio.gather(
        client.put(f"{on.bid('a')}/scores", json=scores(4, 3, 8), headers=same),
        client.put(f"{on.bid('b')}/scores", json=scores(3, 4, 6), headers=same),
    )
    assert sorted(r.status_code for r in both) == [200, 409], [r.text for r in both]
    [lost] = [r for r in both if r.status_code == 409]
    assert lost.json()["type"] == "urn:tradehall:problem:stale-version"
    [won] = [r for r in both if r.status_code == 200]
    assert won.headers["etag"] == f'"{version + 3}"'  # one event per criterion scored
    after = await evaluation_of(client, on)
    assert after["version"] == version + 3
    assert len(after["unscored"]) == 2  # the other bid and C
    # A stale If-Match on the award too; a weak one is not a version at all.
    stale = await client.post(f"{on.lot}/award", json={}, headers=same)
    assert refused(stale, 409)
    weak = await client.post(
        f"{on.lot}/award", json={}, headers=on.buyer_headers | {"If-Match": f'W/"{version + 3}"'}
    )
    assert fields_of(weak) == ["If-Match"]
