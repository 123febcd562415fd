"""OCDS out over HTTP, on both stores (issue 15): a council's tender published as OCDS releases
and a record; nothing of its bids before opening (not a bidder, not a count: the record is the
same byte for byte), counts only after; drafts and a business's tenders never; pages by date
that walk every release once; a national portal's ocid as a related process; bad input named.

Every package served here is checked against the 1.1.5 schemas with both extensions, closed
codelists included (tests/ocds_review.py)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from projections.ocds_query import ReleaseAt
from tests.api.helpers import services_of, token
from tests.api.test_bid_scenario import at, drafted_bid, member, published_tender, submitted, tick
from tests.api.test_buyers import register_business
from tests.api.test_clarifications import council
from tests.api.test_tenders import DEADLINE, settle, terms
from tests.conftest import AppClient
from tests.ocds_review import codelist_violations, schema_errors
from tradehall.api.marketplace.ocds import _cursor, _parse_cursor
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
RELEASES = "/api/v1/ocds/releases"
RECORDS = "/api/v1/ocds/records"
# Each bidder's price on lot 1 (minor units): amounts no release may show.
PRICES = {"Alder Grounds CIC": 7_777_700, "Beech Cafe Co-operative": 8_888_800}
PRICES |= {"Cedar Landscapes CIC": 9_999_900}


def valid(package: dict[str, Any]) -> dict[str, Any]:
    assert schema_errors(package) == []
    assert codelist_violations(package) == []
    return package


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text


async def ocid_of(client: Client, tender: str) -> str:
    ocid: str = ok(await client.get(f"/api/v1/tenders/{tender}"))["ocid"]
    return ocid


async def record_of(client: Client, ocid: str) -> dict[str, Any]:
    package = valid(ok(await client.get(f"{RECORDS}/{ocid}")))
    [record] = package["records"]
    assert record["ocid"] == ocid
    found: dict[str, Any] = record
    return found


async def every_release(client: Client, **params: Any) -> list[dict[str, Any]]:
    """Every public release, page by page through `links.next` (other tests' too, on the
    PostgreSQL worker's database)."""
    found: list[dict[str, Any]] = []
    response = await client.get(RELEASES, params=params)
    if response.status_code == 404:  # none at all
        return found
    while True:
        package = valid(ok(response))
        found += package["releases"]
        following = package.get("links", {}).get("next")
        if following is None:
            return found
        response = await client.get(following.removeprefix(services_of(client).settings.public_url))


def of(releases: list[dict[str, Any]], ocid: str) -> list[dict[str, Any]]:
    return [r for r in releases if r["ocid"] == ocid]


async def test_nothing_of_a_bid_is_published_before_opening_and_only_counts_after(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    await settle(client)
    ocid = await ocid_of(client, tender)
    before = await record_of(client, ocid)
    [published] = before["releases"]
    assert published["tag"] == ["tender"]
    assert published["id"] == f"{ocid}-tender-1"
    assert published["tender"]["status"] == "active"
    assert published["buyer"]["id"] == buyer
    [party] = published["parties"]
    assert party["roles"] == ["buyer", "procuringEntity"]
    assert party["identifier"]["scheme"] == "GB-GOR"
    assert "bids" not in published
    assert "numberOfTenderers" not in published["tender"]
    board_before = of(await every_release(client), ocid)

    bidders = {}
    for name, price in PRICES.items():
        org, _, headers = await member(client, staff_headers, name)
        bid = await drafted_bid(client, headers, tender, "lot-1", price)
        await submitted(client, headers, bid)
        bidders[name] = org
    await settle(client)

    # Sealed: the record and the pages are what they were, to the byte.
    assert await record_of(client, ocid) == before
    assert of(await every_release(client), ocid) == board_before
    for text in (json.dumps(before), json.dumps(board_before)):
        for name, org in bidders.items():
            assert name not in text
            assert org not in text

    margin = services_of(client).settings.bid_opening_margin_seconds
    clock.set(at(DEADLINE) + timedelta(seconds=margin))
    await tick(client)
    await settle(client)
    after = await record_of(client, ocid)
    # The opening's counts, then lot 2 decided unsuccessful (no bid), at the same moment.
    opening, decided = after["releases"][-2:]
    assert opening["tag"] == decided["tag"] == ["tenderUpdate"]
    assert opening["id"] == f"{ocid}-opening-1"
    assert [lot["status"] for lot in decided["tender"]["lots"]] == ["active", "unsuccessful"]
    assert opening["tender"]["numberOfTenderers"] == 3
    counts = {(s["relatedLot"], s["measure"]): s["value"] for s in opening["bids"]["statistics"]}
    assert counts == {
        ("lot-1", "bids"): 3,
        ("lot-1", "validBids"): 3,
        ("lot-2", "bids"): 0,
        ("lot-2", "validBids"): 0,
    }
    assert set(opening["bids"]) == {"statistics"}  # never `details`
    compiled = after["compiledRelease"]
    assert compiled["tender"]["numberOfTenderers"] == 3
    text = json.dumps(after)
    for name, org in bidders.items():
        assert name not in text
        assert org not in text
    for price in PRICES.values():
        assert str(price // 100) not in text


async def test_drafts_and_a_business_s_tenders_are_never_published(
    client: Client, staff_headers: Headers
) -> None:
    buyer, buyer_headers = await council(client, staff_headers)
    drafted = ok(
        await client.post(
            f"/api/v1/organisations/{buyer}/tenders", json=terms(), headers=buyer_headers
        ),
        201,
    )
    business = await register_business(client)
    business_headers = await token(client, business["email"])
    sold = ok(
        await client.post(
            f"/api/v1/organisations/{business['id']}/tenders",
            json=terms(social=0),
            headers=business_headers,
        ),
        201,
    )
    published = await client.post(
        f"/api/v1/tenders/{sold['id']}/publication", json={}, headers=business_headers
    )
    assert published.status_code == 200, published.text
    await settle(client)

    releases = await every_release(client)
    for tender in (drafted["id"], sold["id"]):
        ocid = f"{services_of(client).settings.ocid_prefix}-{tender}"
        assert of(releases, ocid) == []
        refused(await client.get(f"{RECORDS}/{ocid}"), 404, ocid)
    assert business["id"] not in json.dumps(releases)


async def test_a_planned_tender_is_announced_amended_and_withdrawn(
    client: Client, staff_headers: Headers
) -> None:
    buyer, headers = await council(client, staff_headers)
    drafted = ok(
        await client.post(f"/api/v1/organisations/{buyer}/tenders", json=terms(), headers=headers),
        201,
    )
    tender = drafted["id"]
    ok(
        await client.post(
            f"/api/v1/tenders/{tender}/publication", json={"planned": True}, headers=headers
        )
    )
    national = "ocds-b5fd17-0b3e8f0c-2a61-4c3b-9d7e-5a1f0e2c9b11"
    ok(
        await client.put(
            f"/api/v1/tenders/{tender}/national-ocid", json={"ocid": national}, headers=headers
        )
    )
    reason = {"reason": "Merged into the county's framework"}
    ok(await client.post(f"/api/v1/tenders/{tender}/withdrawal", json=reason, headers=headers))
    await settle(client)

    ocid = await ocid_of(client, tender)
    record = await record_of(client, ocid)
    tags = [r["tag"] for r in record["releases"]]
    assert tags == [["planning"], ["planningUpdate"], ["planningUpdate"]]
    assert [r["tender"]["status"] for r in record["releases"]] == [
        "planned",
        "planned",
        "withdrawn",
    ]
    [related] = record["compiledRelease"]["relatedProcesses"]
    assert related == {
        "id": "national-notice",
        "title": "This contracting process as published on a national portal",
        "scheme": "ocid",
        "identifier": national,
    }
    assert record["compiledRelease"]["tender"]["status"] == "withdrawn"
    # The versioned release keeps each status with the release that set it.
    statuses = record["versionedRelease"]["tender"]["status"]
    assert [(s["releaseTag"], s["value"]) for s in statuses] == [
        (["planning"], "planned"),
        (["planningUpdate"], "withdrawn"),
    ]


async def test_a_national_ocid_is_checked_and_the_tender_s_buyers_alone_give_it(
    client: Client, staff_headers: Headers
) -> None:
    buyer, headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, headers)
    _, other_headers = await council(client, staff_headers)
    route = f"/api/v1/tenders/{tender}/national-ocid"
    await settle(client)
    version = ok(await client.get(f"/api/v1/tenders/{tender}"))["version"]
    for bad in ("", "ocds-b5fd17", "not-an-ocid", "ocds-B5FD17-1", "ocds-b5fd17-a b", "x" * 300):
        response = await client.put(route, json={"ocid": bad}, headers=headers)
        assert response.status_code in (400, 422), response.text
        assert "ocid" in response.text
    ours = await ocid_of(client, tender)
    refused(await client.put(route, json={"ocid": ours}, headers=headers), 422, "ocid")
    given = {"ocid": "ocds-b5fd17-7f1c2d3e"}
    refused(await client.put(route, json=given, headers=other_headers), 404, tender)
    refused(await client.put(route, json=given), 401, "")
    await settle(client)
    assert ok(await client.get(f"/api/v1/tenders/{tender}"))["version"] == version

    linked = ok(await client.put(route, json=given, headers=headers))
    again = ok(await client.put(route, json=given, headers=headers))
    assert again["version"] == linked["version"]  # the same ocid again changes nothing
    await settle(client)
    assert ok(await client.get(f"/api/v1/tenders/{tender}"))["version"] == linked["version"]
    record = await record_of(client, ours)
    assert record["releases"][-1]["tag"] == ["tenderUpdate"]
    assert record["releases"][-1]["relatedProcesses"][0]["identifier"] == given["ocid"]


async def test_pages_walk_every_release_once_in_date_order_within_the_dates_asked(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    buyer, headers = await council(client, staff_headers)
    tenders = []
    for _ in range(3):
        tenders.append(await published_tender(client, buyer, headers))
        clock.advance(timedelta(hours=1))
    await settle(client)
    ocids = {await ocid_of(client, t) for t in tenders}

    one_by_one = await every_release(client, per_page=1)
    whole = await every_release(client)
    assert [r["id"] for r in one_by_one] == [r["id"] for r in whole]
    assert len({r["id"] for r in whole}) == len(whole)
    dates = [r["date"] for r in whole]
    assert dates == sorted(dates, key=lambda d: at(d))
    mine = [r for r in whole if r["ocid"] in ocids]
    assert len(mine) == 3

    second = at(mine[1]["date"])
    within = await every_release(
        client, since=second.isoformat(), until=(second + timedelta(minutes=1)).isoformat()
    )
    assert [r["id"] for r in within if r["ocid"] in ocids] == [mine[1]["id"]]
    later = await every_release(client, since=second.isoformat())
    assert [r["id"] for r in later if r["ocid"] in ocids] == [mine[1]["id"], mine[2]["id"]]

    for params, field in (
        ({"after": "yesterday"}, "after"),
        ({"after": "99999999999999999-1"}, "after"),
        ({"since": "soon"}, "since"),
        ({"until": "0001-01-01T00:00:00+14:00"}, "until"),
        ({"per_page": 0}, "per_page"),
        ({"per_page": 251}, "per_page"),
    ):
        refused(await client.get(RELEASES, params=params), 400, field)
    refused(await client.get(f"{RECORDS}/ocds-nobody-{uuid.uuid4()}"), 404, "ocds-nobody")
    # Nothing in the dates asked: a package holds at least one release.
    empty = {"since": "2099-01-01T00:00:00Z"}
    refused(await client.get(RELEASES, params=empty), 404, "no public release")
    refused(await client.get(f"{RECORDS}/{'x' * 500}"), 404, "no published process")


def test_a_page_s_end_reads_back_to_the_microsecond() -> None:
    """In whole microseconds: a float of them rounds (2038-02-19T10:41:02.216140 came back a
    microsecond off, and a page of one release repeated it for ever)."""
    for moment in (
        datetime(2038, 2, 19, 10, 41, 2, 216140, tzinfo=UTC),
        datetime(2004, 6, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(1900, 1, 1, tzinfo=UTC),
        datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ):
        at = ReleaseAt(moment, 2**63 - 1)
        assert _parse_cursor(_cursor(at)) == at
