"""OCDS out attacked over HTTP, on both stores (issue 15): odd ocids in the record's path and odd
dates, cursors, page sizes and positions on the release pages are a problem naming the parameter
(or an empty answer), never a 500; a draft's, a business's or an unknown ocid is not found, a
cancelled tender's is published; a national portal's ocid is checked, refused without a trace,
guarded by If-Match (two writers from one version: one wins, one 409) and given by the tender's
buyer alone; drafting, writing, submitting and withdrawing bids writes nothing to the
marketplace's log, so no release, id, version, date, page or cursor moves with them; a tender's
text holding a lone surrogate (another writer) or a NUL is published valid; odd events of every
kind the projection reads are left out, stop no projection and leave the tender's releases as
they were; a lot's currency is an ISO 4217 code and published as given; a contract amended to
the largest value allowed is published to the penny, and more is refused."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from eventsourcing.persistence import StoredEvent

from marketplace.application import BuyerFacts
from marketplace.tender_terms import MAX_VALUE_MINOR, LotInput, parse_terms
from marketplace.tenders import Tender
from sharedkernel.events import Context
from tests.api.helpers import services_of, token
from tests.api.test_bid_scenario import (
    drafted_bid,
    member,
    published_tender,
    submitted,
    withdrawn,
)
from tests.api.test_buyers import register_business
from tests.api.test_clarifications import council
from tests.api.test_contracts import signed_contract
from tests.api.test_ocds import RECORDS, RELEASES, ocid_of, ok, record_of, valid
from tests.api.test_tenders import draft, marketplace_events, settle, terms
from tests.conftest import AppClient
from tests.unit.test_tender_domain import evaluation
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
PROBLEM = "application/problem+json"
MARK = "SURROGATE-GOES-HERE"
MODULES = {
    "Tender": "marketplace.tenders",
    "BidOpening": "marketplace.openings",
    "LotEvaluation": "marketplace.evaluation.lot",
    "Contract": "marketplace.contracts",
}


def problem(response: httpx.Response, statuses: tuple[int, ...], field: str | None = None) -> None:
    """A problem document (never a 500), naming `field` among its errors if given."""
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM), response.text
    if field is not None:
        named = [e.get("field") for e in response.json().get("errors", [])]
        assert field in named, (field, response.text)


def failures(client: Client) -> list[Any]:
    """Every projection's recorded failures (none while every event applies): the OCDS one's,
    and the others' that read the same events (PostgreSQL's database is shared by a worker's
    tests, so a stuck projection would stop the next ones too)."""
    projector = services_of(client).readside.projector
    return [(s.projection, s.failure) for s in projector.status() if s.failure is not None]


def context(clock: ManualClock, request: str = "probe") -> Context:
    return Context("user:test", f"{request}-{uuid.uuid4()}", clock.now())


def tagged(value: Any) -> Any:
    """A value as the library's transcoder writes it: UUIDs and datetimes tagged."""
    if isinstance(value, uuid.UUID):
        return {"_type_": "uuid_hex", "_data_": value.hex}
    if isinstance(value, datetime):
        return {"_type_": "datetime_iso", "_data_": value.isoformat()}
    return value


async def forge(
    client: Client, originator: uuid.UUID, version: int, topic: str, **data: Any
) -> None:
    """An event in the marketplace's log as another writer could store it: any payload."""
    app = services_of(client).applications["marketplace"]
    state = json.dumps({key: tagged(value) for key, value in data.items()}).encode()
    stored = StoredEvent(originator, version, topic, state)
    await services_of(client).run(app.recorder.insert_events, [stored])


# Routes: odd input ---------------------------------------------------------------------------


async def test_odd_ocids_are_a_problem_or_not_found_and_unpublished_ones_are_not_found(
    client: Client, staff_headers: Headers
) -> None:
    buyer, headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, headers)
    cancelled = await published_tender(client, buyer, headers)
    reason = {"reason": "The budget was withdrawn"}
    ok(await client.post(f"/api/v1/tenders/{cancelled}/cancellation", json=reason, headers=headers))
    drafted = (await draft(client, buyer, headers))["id"]
    business = await register_business(client)
    business_headers = await token(client, business["email"])
    sold = (await draft(client, business["id"], business_headers, terms(social=0)))["id"]
    publication = f"/api/v1/tenders/{sold}/publication"
    ok(await client.post(publication, json={}, headers=business_headers))
    await settle(client)
    ocid = await ocid_of(client, tender)
    prefix = services_of(client).settings.ocid_prefix

    for path in (
        "%00",
        f"{ocid}%00",
        "%01",
        "%7F",
        "%0A",
        "%20",
        "%E2%80%AE",  # a bidirectional override
        "x" * 5000,
    ):
        problem(await client.get(f"{RECORDS}/{path}"), (400, 404))
    for path in (
        "%ED%A0%80",  # a lone surrogate, as UTF-8 would have it
        "%FF",
        "%C3%A9",
        "%F0%9F%92%A9",
        "x" * 120,
        "x" * 121,
        "a%2Fb",
        "%2E%2E",
        "%25",
        f"{ocid}%20",
        ocid.upper(),
        f"{prefix}-{uuid.uuid4()}",
        f"{prefix}-{drafted}",
        f"{prefix}-{sold}",
    ):
        problem(await client.get(f"{RECORDS}/{path}"), (404,))

    # A cancelled tender is published, with its cancellation.
    record = await record_of(client, await ocid_of(client, cancelled))
    assert record["releases"][-1]["tag"] == ["tenderCancellation"]
    assert record["compiledRelease"]["tender"]["status"] == "cancelled"


async def test_odd_dates_cursors_and_page_sizes_are_named_or_empty_never_a_500(
    client: Client, staff_headers: Headers
) -> None:
    buyer, headers = await council(client, staff_headers)
    await published_tender(client, buyer, headers)
    await settle(client)
    late = "4102444799999999-1"  # the last microsecond of 2099
    for params, status, field in (
        ({"since": "1900-01-01T00:00:00Z"}, 200, None),
        ({"since": "1899-12-31T23:59:59Z"}, 400, "since"),
        ({"since": "1900-01-01T00:00:00+14:00"}, 400, "since"),
        ({"until": "1900-01-01T00:00:00-14:00"}, 404, None),
        ({"since": "2099-12-31T23:59:59Z"}, 404, None),
        ({"until": "2100-01-01T00:00:00Z"}, 400, "until"),
        ({"since": "9999-12-31T23:59:59-23:59"}, 400, "since"),
        ({"until": "0001-01-01T00:00:00+23:59"}, 400, "until"),
        ({"since": "2026-03-02T09:30:00"}, 200, None),  # no offset: UTC
        ({"since": "2026-03-02"}, 400, "since"),
        ({"since": "2026-03-02T09:30:00+25:00"}, 400, "since"),
        ({"since": "\uff12\uff10\uff12\uff16-03-02T09:30:00Z"}, 400, "since"),
        ({"since": "2026-03-02T09:30:00Z\x00"}, 400, "since"),
        ({"since": "2026-03-03T00:00:00Z", "until": "2026-03-02T00:00:00Z"}, 404, None),
        ({"per_page": "1.5"}, 400, "per_page"),
        ({"per_page": "-1"}, 400, "per_page"),
        ({"per_page": "9" * 30}, 400, "per_page"),
        ({"per_page": "\u0661"}, 400, "per_page"),
        ({"after": "0-0"}, 200, None),
        # Releases dated after it, or none (a worker's database holds other tests' too).
        ({"after": "1772443800000000-9223372036854775807"}, None, None),
        ({"after": "1772443800000000-9223372036854775808"}, 400, "after"),  # past bigint
        ({"after": "1772443800000000-\u0661"}, 400, "after"),  # not an ASCII digit
        ({"after": late}, 404, None),
        ({"after": "4102444800000000-1"}, 400, "after"),
        ({"after": "9999999999999999999-1"}, 400, "after"),
        ({"after": "-1-1"}, None, None),  # a microsecond before 1970: a date like any other
        ({"after": ""}, 400, "after"),
        ({"after": "1-1\x00"}, 400, "after"),
        ({"after": "1" * 41}, 400, "after"),
        ({"after": "1.5-1"}, 400, "after"),
        ({"position": "bids:1"}, 400, "position"),
        ({"position": "marketplace:1\u0661"}, 400, "position"),
    ):
        response = await client.get(RELEASES, params=params)
        if status == 200 or (status is None and response.status_code == 200):
            valid(ok(response))
        else:
            problem(response, (status or 404,), field)
    # A parameter given twice: one is taken, or the request refused; never a 500.
    for query in (
        "since=2026-03-02T09:30:00Z&since=2020-01-01T00:00:00Z",
        "per_page=1&per_page=2",
        f"after=0-0&after={late}",
    ):
        response = await client.get(f"{RELEASES}?{query}")
        if response.status_code == 200:
            valid(response.json())
        else:
            problem(response, (400, 404))


async def test_a_national_ocid_is_refused_without_a_trace_and_guarded_by_if_match(
    client: Client, staff_headers: Headers
) -> None:
    buyer, headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, headers)
    route = f"/api/v1/tenders/{tender}/national-ocid"
    _, other_headers = await council(client, staff_headers)
    _, _, member_headers = await member(client, staff_headers, "Alder Grounds CIC")
    before = marketplace_events(client)
    version = ok(await client.get(f"/api/v1/tenders/{tender}"))["version"]
    good = "ocds-b5fd17-7f1c2d3e"

    for body in (
        {"ocid": 5},
        {"ocid": None},
        {"ocid": [good]},
        {"ocid": {"id": good}},
        {"ocid": True},
        {},
        {"ocid": "ocds-b5fd17-\u00e9t\u00e9"},
        {"ocid": "ocds-b5fd17-\uff11\uff12"},  # full-width digits
        {"ocid": "ocds-b\u0665fd17-1"},  # an Arabic-Indic digit in the prefix
        {"ocid": "ocds-b5fd17-a\x00"},
        {"ocid": "ocds-b5fd17-a\u202e"},
        {"ocid": "ocds-b5fd17-a\nb"},
        {"ocid": "ocds-b5fd17-" + "a" * 121},
        {"ocid": "ocds-b5fd17--a"},
        {"ocid": "ocds-b5fd17-<script>"},
    ):
        response = await client.put(route, json=body, headers=headers)
        problem(response, (400, 422), "ocid")
    # No field but the ocid.
    extra = {"ocid": good, "relationship": "parent"}
    problem(await client.put(route, json=extra, headers=headers), (400,), "relationship")
    for raw in (
        b'{"ocid": "ocds-b5fd17-a\\ud800"}',
        b"",
        b"[]",
        b'"ocds-b5fd17-1"',
        b"{",
        b'{"ocid": "ocds-b5fd17-1"} x',
    ):
        response = await client.put(
            route, content=raw, headers=headers | {"Content-Type": "application/json"}
        )
        problem(response, (400, 415, 422))
    # Only the tender's buyer: anyone else cannot tell it from no tender.
    for who in (other_headers, member_headers, staff_headers):
        problem(await client.put(route, json={"ocid": good}, headers=who), (404,))
    unknown = f"/api/v1/tenders/{uuid.uuid4()}/national-ocid"
    problem(await client.put(unknown, json={"ocid": good}, headers=headers), (404,))
    problem(await client.put(route, json={"ocid": good}), (401,))
    # If-Match: a stale version is a 409, a weak or odd tag a 400; neither records anything.
    stale = {"If-Match": f'"{version - 1}"'}
    problem(await client.put(route, json={"ocid": good}, headers=headers | stale), (409,))
    sent = [(name.encode(), value.encode()) for name, value in headers.items()]
    for tag in ('W/"2"', "2", '"x"', '"\u0662"', '"99999999999999999999999"'):
        tagged_headers = [*sent, (b"If-Match", tag.encode())]
        response = await client.put(route, json={"ocid": good}, headers=tagged_headers)
        problem(response, (400, 409, 412))
    assert marketplace_events(client) == before
    assert ok(await client.get(f"/api/v1/tenders/{tender}"))["version"] == version

    # Two writers from the same version: one wins, the other is told, and the log has one.
    current = {"If-Match": f'"{version}"'}
    first, second = await asyncio.gather(
        client.put(route, json={"ocid": good}, headers=headers | current),
        client.put(route, json={"ocid": "ocds-b5fd17-other"}, headers=headers | current),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409], (first, second)
    assert marketplace_events(client) == before + 1
    winner = good if first.status_code == 200 else "ocds-b5fd17-other"
    await settle(client)
    record = await record_of(client, await ocid_of(client, tender))
    assert record["compiledRelease"]["relatedProcesses"][0]["identifier"] == winner
    # Surrounding spaces are not part of it: the same ocid again records nothing.
    again = ok(await client.put(route, json={"ocid": f"  {winner} "}, headers=headers))
    assert again["position"] == {}
    assert marketplace_events(client) == before + 1


# Sealed ---------------------------------------------------------------------------------------


def served_now(response: httpx.Response) -> str:
    """The package as served, less its publishedDate (when it is made: now)."""
    package = ok(response)
    del package["publishedDate"]
    return json.dumps(package)


async def pages(client: Client, **params: Any) -> list[str]:
    """The public release pages, one release a page, as served (bounded: never loops)."""
    served: list[str] = []
    response = await client.get(RELEASES, params={"per_page": 1} | params)
    for _ in range(500):
        if response.status_code == 404:
            return served
        package = valid(ok(response))
        served.append(served_now(response))
        following = package.get("links", {}).get("next")
        if following is None:
            return served
        response = await client.get(following.removeprefix(services_of(client).settings.public_url))
    raise AssertionError("the pages never end")


async def test_bids_write_nothing_to_the_marketplace_log_so_no_release_can_move_with_them(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    # Dates of their own, so that the pages read are this test's alone.
    clock.set(datetime(2031, 3, 2, 9, 30, tzinfo=UTC))
    periods = {
        "enquiry_period": {"start": "2031-03-02T10:00:00Z", "end": "2031-03-20T17:00:00Z"},
        "tender_period": {"start": "2031-03-02T10:00:00Z", "end": "2031-04-01T12:00:00Z"},
        "contract_period": {"start": "2031-05-01T00:00:00Z", "end": "2032-04-30T23:59:59Z"},
    }
    buyer, headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, headers, **periods)
    clock.advance(timedelta(hours=1))
    neighbour = await published_tender(client, buyer, headers, **periods)
    await settle(client)
    since = {"since": "2031-01-01T00:00:00Z", "until": "2032-01-01T00:00:00Z"}
    ocid = await ocid_of(client, tender)
    record = served_now(await client.get(f"{RECORDS}/{ocid}"))
    served = await pages(client, **since)
    assert len(served) == 2
    view = ok(await client.get(f"/api/v1/tenders/{tender}"))
    events = marketplace_events(client)

    clock.advance(timedelta(hours=1))
    bidders = []
    for name in ("Alder Grounds CIC", "Beech Cafe Co-operative"):
        org, _, bidder = await member(client, staff_headers, name)
        bidders.append(org)
        bid = await drafted_bid(client, bidder, tender, "lot-1", 7_777_700)
        await submitted(client, bidder, bid)
        await withdrawn(client, bidder, bid)
        await submitted(client, bidder, bid)
        clock.advance(timedelta(minutes=5))
    await drafted_bid(client, bidder, neighbour, "lot-2")  # a draft, never submitted
    await settle(client)

    assert marketplace_events(client) == events
    assert ok(await client.get(f"/api/v1/tenders/{tender}"))["version"] == view["version"]
    assert served_now(await client.get(f"{RECORDS}/{ocid}")) == record
    assert await pages(client, **since) == served
    for text in (record, *served):
        assert all(org not in text for org in bidders)


# Poison -----------------------------------------------------------------------------------------


def tender_terms(clock: ManualClock, title: str) -> Any:
    now = clock.now()
    parsed = parse_terms(
        title="Parks",
        description="Grounds maintenance",
        method="open",
        category="services",
        lots=[LotInput("Grounds", "Mowing", ["77310000"], 12_000_000)],
        enquiry_period=(now, now + timedelta(days=10)),
        tender_period=(now, now + timedelta(days=20)),
        contract_period=(now + timedelta(days=30), now + timedelta(days=400)),
        members_only=False,
        quality_mark_required=False,
        regions=["TLC3"],
        evaluation=evaluation(),
    )
    # Past `parse`, as an import or another writer might hold it.
    return dataclasses.replace(parsed, title=title)


async def test_a_tender_s_text_with_a_lone_surrogate_or_a_nul_is_published_valid(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    buyer, headers = await council(client, staff_headers)
    services = services_of(client)
    marketplace = services.applications["marketplace"]
    prefix = services.settings.ocid_prefix
    # The lone surrogate: stored escaped, as the library's own encoder never writes it.
    odd = uuid.uuid4()
    drafted = Tender.draft(context(clock), odd, uuid.UUID(buyer), prefix, tender_terms(clock, MARK))
    stored = marketplace.mapper.to_stored_event(drafted.collect_events()[0])
    assert MARK.encode() in stored.state
    state = stored.state.replace(MARK.encode(), b"a\\ud800b")
    await services.run(
        marketplace.recorder.insert_events, [dataclasses.replace(stored, state=state)]
    )
    nul = uuid.uuid4()
    await services.run(
        marketplace.draft_tender,
        context(clock),
        nul,
        uuid.UUID(buyer),
        tender_terms(clock, "Parks\x00and cafe"),
    )
    for tender in (odd, nul):
        await services.run(
            marketplace.publish_tender, context(clock), tender, BuyerFacts("public_body")
        )
    after = await published_tender(client, buyer, headers)
    await settle(client)

    assert failures(client) == []
    surrogate = await record_of(client, f"{prefix}-{odd}")
    assert surrogate["compiledRelease"]["tender"]["title"] == "a\ufffdb"
    kept = await record_of(client, f"{prefix}-{nul}")
    assert kept["compiledRelease"]["tender"]["title"] in (
        "Parks\x00and cafe",
        "Parks\ufffdand cafe",
    )
    assert (await record_of(client, await ocid_of(client, after)))["releases"]


async def test_odd_events_naming_a_tender_are_left_out_and_its_releases_stay_as_they_were(
    client: Client, staff_headers: Headers, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    buyer, headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, headers)
    await settle(client)
    ocid = await ocid_of(client, tender)
    before = await record_of(client, ocid)
    at = clock.now()
    tid = uuid.UUID(tender)
    period = {"start": "2026-05-01T00:00:00+00:00", "end": "2027-05-01T00:00:00+00:00"}
    first, second, signed, foreign = (uuid.uuid4() for _ in range(4))
    # (aggregate, version, event, payload): each names this tender, as the domain never would.
    odd: list[tuple[uuid.UUID, int, str, dict[str, Any]]] = [
        (uuid.uuid4(), 1, "BidOpening.Recorded", {"tender_id": tid, "bids": "x"}),
        (uuid.uuid4(), 1, "BidOpening.Recorded", {"tender_id": tid, "bids": [{"lot_id": []}]}),
        (
            first,
            1,
            "LotEvaluation.Started",
            {"tender_id": tid, "lot_id": "lot-1", "bids": {"a": 1}},
        ),
        (first, 2, "LotEvaluation.Awarded", {"bid_id": uuid.uuid4()}),
        (first, 3, "LotEvaluation.AwardNoticePublished", {"working_days": 8}),
        (second, 1, "LotEvaluation.Started", {"tender_id": tid, "lot_id": "lot-9", "bids": []}),
        (
            signed,
            1,
            "Contract.Signed",
            {"tender_id": tid, "lot_id": "lot-1", "value_minor": 2**80, "currency": "GBP"}
            | {"period": period},
        ),
        (signed, 2, "Contract.Amended", {"value_minor": -1, "reason": "never signed"}),
        (signed, 3, "Contract.Completed", {"timestamp": "yesterday"}),
        (
            foreign,
            1,
            "Contract.Signed",
            {"tender_id": tid, "lot_id": "lot-1", "value_minor": 100, "currency": "ZZZ"}
            | {"period": period},
        ),
        (tid, 3, "Tender.LotDecided", {"lot_id": "lot-9", "outcome": "maybe"}),
        (tid, 4, "Tender.Ended", {"status": ["cancelled"], "reason": "?"}),
        (tid, 5, "Tender.Amended", {"terms": {"lots": []}, "changed": 5, "rationale": "?"}),
        (tid, 6, "Tender.DocumentAdded", {"sha256": 5}),
        (tid, 7, "Tender.Drafted", {"buyer_id": uuid.UUID(buyer), "ocid": "again"}),
        (uuid.uuid4(), 1, "Tender.Drafted", {"buyer_id": uuid.UUID(buyer), "ocid": ["x"]}),
    ]
    for originator, version, name, payload in odd:
        kind = name.split(".")[0]
        await forge(
            client, originator, version, f"{MODULES[kind]}:{name}", **({"timestamp": at} | payload)
        )
    caplog.set_level(logging.WARNING, logger="tradehall.projections")
    await settle(client)

    assert failures(client) == []
    left_out = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ocds: ")]
    for originator, _, name, _ in odd:
        assert any(f"{name} of {originator}" in m and "left out" in m for m in left_out), name
    assert await record_of(client, ocid) == before
    later = await published_tender(client, buyer, headers)
    await settle(client)
    assert failures(client) == []
    assert (await record_of(client, await ocid_of(client, later)))["releases"]


async def test_a_lot_s_currency_is_an_iso_code_and_published_as_given(
    client: Client, staff_headers: Headers
) -> None:
    buyer, headers = await council(client, staff_headers)
    url = f"/api/v1/organisations/{buyer}/tenders"
    before = marketplace_events(client)
    lots = terms()["lots"]
    for currency in ("ZZZ", "XYZ", "eur", "GB", "GBPX", "\u00a3", "G\u0411P", "", 5):
        body = terms(lots=[lots[0] | {"currency": currency}])
        problem(await client.post(url, json=body, headers=headers), (400, 422))
    assert marketplace_events(client) == before
    euros = [lot | {"currency": "EUR"} for lot in lots]
    tender = await published_tender(client, buyer, headers, lots=euros)
    await settle(client)
    record = await record_of(client, await ocid_of(client, tender))
    compiled = record["compiledRelease"]["tender"]
    assert compiled["value"] == {"amount": 150_000, "currency": "EUR"}
    assert {lot["value"]["currency"] for lot in compiled["lots"]} == {"EUR"}


async def test_a_contract_amended_to_the_largest_value_is_published_to_the_penny(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    [signed] = await signed_contract(client, staff_headers, clock)
    amend = f"{signed.url}/amendments"
    headers = signed.buyer_headers
    before = marketplace_events(client)
    for value in (MAX_VALUE_MINOR + 1, 2**53 + 1, 2**63, 0, -1, 1.5, "100"):
        body = {"reason": "More parks", "value_minor": value}
        problem(await client.post(amend, json=body, headers=headers), (400, 422), "value_minor")
    assert marketplace_events(client) == before
    for value in (MAX_VALUE_MINOR, MAX_VALUE_MINOR - 1):
        body = {"reason": "More parks", "value_minor": value}
        ok(await client.post(amend, json=body, headers=headers))
    await settle(client)
    record = await record_of(client, await ocid_of(client, signed.tender))
    amended = [r for r in record["releases"] if r["tag"] == ["contractAmendment"]]
    values = [r["contracts"][0]["value"]["amount"] for r in amended]
    assert values == [MAX_VALUE_MINOR // 100, (MAX_VALUE_MINOR - 1) / 100]
    assert type(values[0]) is int
    assert json.dumps(values) == "[10000000000, 9999999999.99]"
    assert record["compiledRelease"]["contracts"][0]["value"]["amount"] == 9999999999.99
