"""The impact reports over HTTP, on both stores (issue 17): a consortium's contract (A 60%,
B 40%; estimate £120,000, awarded £95,000; 3 jobs and 2 apprenticeships committed) with a
partial delivery (A's 2 jobs confirmed, B's apprenticeship rejected, another awaiting the buyer);
a proxy-value version added between the signing and the delivery, so the two are valued by
different versions; the member's own report, staff's by member and buyer, the CSV, the public
totals (relative: other tests share the database) and the quarterly SVG chart; who may read
what; odd parameters named; odd events stop no projection."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

import pytest

from marketplace.working_days import london_date
from tests.api.test_contracts import Signed, report, signed_contract
from tests.api.test_ocds_probe import forge
from tests.api.test_outside_probe import failures
from tests.api.test_tenders import settle
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
PROXIES = "/api/v1/impact/proxy-values"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def rate_on(client: Client, measure: str, day: date) -> Decimal:
    """The pence per unit in effect on `day`, as the public list of versions gives it."""
    versions = ok(await client.get(PROXIES))["versions"]
    found = max(
        (v for v in versions if date.fromisoformat(v["effective_from"]) <= day),
        key=lambda v: v["effective_from"],
    )
    [value] = [v for v in found["values"] if v["measure"] == measure]
    return Decimal(value["pence_per_unit"])


async def add_version(client: Client, staff: Headers, day: date, job_pence: int) -> bool:
    """A version from `day`: a job worth `job_pence`, the rest as today's."""
    listed = await client.get(PROXIES)
    current = next(v for v in listed.json()["versions"] if v["in_effect"])
    values = [
        {
            "measure": v["measure"],
            "pence_per_unit": str(job_pence)
            if v["measure"] == "local_jobs"
            else v["pence_per_unit"],
            "source": v["source"],
        }
        for v in current["values"]
    ]
    body = {"effective_from": day.isoformat(), "note": "Impact test", "values": values}
    added = await client.post(
        PROXIES, json=body, headers=staff | {"If-Match": listed.headers["etag"]}
    )
    # Another test sharing the database may hold the date already: its version then applies,
    # and the expectations below read whichever is in effect.
    assert added.status_code in (201, 409), added.text
    return added.status_code == 201


def measures(group: dict[str, Any]) -> dict[str, tuple[int, int, int, int]]:
    return {
        m["measure"]: (
            m["committed"],
            m["delivered"],
            m["committed_value_minor"],
            m["delivered_value_minor"],
        )
        for m in group["measures"]
    }


def money(group: dict[str, Any], currency: str = "GBP") -> tuple[int, int, int, int]:
    [m] = [m for m in group["money"] if m["currency"] == currency]
    return (
        m["value_won_minor"],
        m["estimated_minor"],
        m["awarded_minor"],
        m["estimate_less_awarded_minor"],
    )


async def delivered(
    client: Client, signed: Signed, clock: ManualClock
) -> tuple[datetime, datetime]:
    """A's two jobs confirmed (the first month); B's apprenticeship rejected (the second); B's
    next one awaiting the buyer (the third). Returns the signing and the first report's end."""
    start = datetime.fromisoformat(signed.signed_on)
    clock.advance(timedelta(days=100))
    ends = [start + timedelta(days=30 * n) for n in range(4)]
    reports = [
        (signed.a_headers, report(ends[0].isoformat(), ends[1].isoformat())),
        (
            signed.b_headers,
            report(
                ends[1].isoformat(),
                ends[2].isoformat(),
                delivered=[{"measure": "apprenticeships", "quantity": 1}],
            ),
        ),
        (
            signed.b_headers,
            report(
                ends[2].isoformat(),
                ends[3].isoformat(),
                delivered=[{"measure": "apprenticeships", "quantity": 1}],
            ),
        ),
    ]
    for headers, body in reports:
        ok(await client.post(f"{signed.url}/delivery-reports", json=body, headers=headers), 201)
    first, second = (f"{signed.url}/delivery-reports/{b['report_id']}" for _, b in reports[:2])
    ok(await client.post(f"{first}/confirmation", headers=signed.buyer_headers))
    ok(
        await client.post(
            f"{second}/rejection",
            json={"reason": "No evidence of the apprenticeship"},
            headers=signed.buyer_headers,
        )
    )
    return start, ends[1]


async def test_a_consortium_s_partial_delivery_valued_by_the_version_of_the_day(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    before = ok(await client.get("/api/v1/impact"))["totals"]
    [signed] = await signed_contract(client, staff_headers, clock)
    signed_at = datetime.fromisoformat(signed.signed_on)
    # A version between the signing and the first delivery's last day.
    new_day = london_date(signed_at) + timedelta(days=15)
    added = await add_version(client, staff_headers, new_day, 3_000_000)
    start, first_end = await delivered(client, signed, clock)
    await settle(client)
    signing_day = london_date(start)
    delivery_day = london_date(first_end - timedelta(microseconds=1))
    job_then = await rate_on(client, "local_jobs", signing_day)
    job_later = await rate_on(client, "local_jobs", delivery_day)
    apprentice_then = await rate_on(client, "apprenticeships", signing_day)
    assert job_later == await rate_on(client, "local_jobs", new_day)
    if added:  # ours: the delivery is valued by it, the commitment by the one before
        assert job_later == 3_000_000
        assert job_then != job_later

    # A: 60% of £95,000 and of the £120,000 estimate; of 3 jobs 1.8 -> 2, of 2 apprenticeships
    # 1.2 -> 1; it reported the 2 jobs, confirmed.
    a = ok(await client.get(f"/api/v1/organisations/{signed.a}/impact", headers=signed.a_headers))
    assert a["totals"]["contracts"] == 1
    assert money(a["totals"]) == (5_700_000, 7_200_000, 5_700_000, 1_500_000)
    a_measures = measures(a["totals"])
    assert a_measures["local_jobs"] == (2, 2, int(2 * job_then), int(2 * job_later))
    assert a_measures["apprenticeships"] == (1, 0, int(apprentice_then), 0)
    assert a["totals"]["social_value_delivered_minor"] == int(2 * job_later)
    assert [y["key"] for y in a["years"]] == [str(signing_day.year)]
    # B: 40%; of 3 jobs 1.2 -> 1, of 2 apprenticeships 0.8 -> 1; its apprenticeship was
    # rejected and its next awaits the buyer: nothing delivered.
    b = ok(await client.get(f"/api/v1/organisations/{signed.b}/impact", headers=staff_headers))
    assert money(b["totals"]) == (3_800_000, 4_800_000, 3_800_000, 1_000_000)
    assert measures(b["totals"])["local_jobs"][:2] == (1, 0)
    assert measures(b["totals"])["apprenticeships"][:2] == (1, 0)
    assert b["totals"]["social_value_delivered_minor"] == 0

    # Staff, by member: the two parts; by buyer: the whole contract, once.
    by_member = ok(
        await client.get("/api/v1/impact/report", params={"by": "member"}, headers=staff_headers)
    )
    groups = {g["key"]: g for g in by_member["groups"]}
    assert money(groups[signed.a])[0] + money(groups[signed.b])[0] == 9_500_000
    assert groups[signed.a]["name"].startswith("Alder Grounds CIC")
    by_buyer = ok(
        await client.get("/api/v1/impact/report", params={"by": "buyer"}, headers=staff_headers)
    )
    council = next(g for g in by_buyer["groups"] if g["key"] == signed.buyer)
    assert council["contracts"] == 1
    assert money(council) == (9_500_000, 12_000_000, 9_500_000, 2_500_000)
    assert measures(council)["local_jobs"][:2] == (3, 2)
    assert measures(council)["apprenticeships"][:2] == (2, 0)

    # The public totals moved by the contract, once.
    after = ok(await client.get("/api/v1/impact"))["totals"]
    assert after["contracts"] - before["contracts"] == 1

    def won(totals: dict[str, Any]) -> int:
        return sum(m["value_won_minor"] for m in totals["money"] if m["currency"] == "GBP")

    assert won(after) - won(before) == 9_500_000
    assert signed.a not in str(ok(await client.get("/api/v1/impact")))

    # The CSV: the same figures, a row a currency and a measure.
    exported = await client.get(
        "/api/v1/impact/report.csv", params={"by": "member"}, headers=staff_headers
    )
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    mine = {(r["kind"], r["item"]): r for r in rows if r["group"] == signed.a}
    assert mine[("money", "GBP")]["value_won_minor"] == "5700000"
    assert mine[("money", "GBP")]["estimate_less_awarded_minor"] == "1500000"
    assert (
        mine[("measure", "local_jobs")]["committed"],
        mine[("measure", "local_jobs")]["delivered"],
    ) == ("2", "2")
    assert mine[("social_value", "all measures")]["delivered_value_minor"] == str(
        int(2 * job_later)
    )

    # The quarterly chart of the signing year: a drawing with four quarters, nothing to run.
    chart = await client.get(
        "/api/v1/impact/chart.svg", params={"year": str(signing_day.year), "figure": "jobs"}
    )
    assert chart.status_code == 200, chart.text
    assert chart.headers["content-type"].startswith("image/svg+xml")
    assert "default-src 'none'" in chart.headers["content-security-policy"]
    root = ElementTree.fromstring(chart.text)  # noqa: S314 (our own output)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert all(f"Q{n} {signing_day.year}" in chart.text for n in range(1, 5))
    fetched = [e for e in root.iter() if e.tag.endswith("script") and e.get("src")]
    assert fetched == []  # no script from elsewhere (and the CSP runs none)
    assert "Local jobs and apprenticeships delivered" in chart.text


async def test_who_reads_what(client: Client, staff_headers: Headers, clock: ManualClock) -> None:
    [signed] = await signed_contract(client, staff_headers, clock)
    await settle(client)
    own = f"/api/v1/organisations/{signed.a}/impact"
    assert (await client.get(own, headers=signed.a_headers)).status_code == 200
    assert (await client.get(own, headers=signed.c_headers)).status_code in (403, 404)
    assert (await client.get(own)).status_code == 401
    for staff_only in ("/api/v1/impact/report", "/api/v1/impact/report.csv"):
        assert (await client.get(staff_only, headers=signed.a_headers)).status_code == 403
        assert (await client.get(staff_only)).status_code == 401
    assert (await client.get("/api/v1/impact")).status_code == 200
    assert (await client.get("/api/v1/impact/chart.svg")).status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/impact/report", {"by": "nobody"}, "by"),
        ("/api/v1/impact/report", {"since": "2026-13-01"}, "since"),
        ("/api/v1/impact/report", {"since": "20260101"}, "since"),
        ("/api/v1/impact/report", {"since": "\u0662\u0660\u0662\u0666-01-01"}, "since"),
        ("/api/v1/impact/report", {"since": "1066-10-14"}, "since"),
        ("/api/v1/impact/report", {"since": "2026-06-01", "until": "2026-06-01"}, "until"),
        ("/api/v1/impact/report.csv", {"until": "2026-02-30"}, "until"),
        ("/api/v1/impact/report", {"since": "2026-01-01\x00"}, "since"),
        ("/api/v1/impact/chart.svg", {"figure": "profit"}, "figure"),
        ("/api/v1/impact/chart.svg", {"year": "1999"}, "year"),
        ("/api/v1/impact/chart.svg", {"year": "1e3"}, "year"),
    ],
)
async def test_odd_parameters_are_named(
    client: Client, staff_headers: Headers, path: str, params: dict[str, str], field: str
) -> None:
    response = await client.get(path, params=params, headers=staff_headers)
    assert response.status_code == 400, response.text
    assert field in response.text


async def test_odd_events_stop_no_projection_and_count_nothing(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    [signed] = await signed_contract(client, staff_headers, clock)
    await settle(client)
    before = ok(await client.get("/api/v1/impact"))["totals"]
    contract = uuid.UUID(signed.contract)
    now = clock.now()
    # Payloads another writer could store: every one left out, none stops a projection.
    odd = uuid.uuid4()
    await forge(
        client, odd, 1, "marketplace.contracts:Contract.Signed", parties="A and B", timestamp=now
    )
    await forge(
        client,
        uuid.uuid4(),
        1,
        "marketplace.tenders:Tender.Drafted",
        terms={"lots": 7},
        timestamp=now,
    )
    await forge(
        client,
        contract,
        2,
        "marketplace.contracts:Contract.Signed",
        tender_id=str(uuid.uuid4()),
        lot_id="lot-1",
        bid_id=str(uuid.uuid4()),
        buyer_id=str(uuid.uuid4()),
        value_minor=1,
        currency="GBP",
        period={"start": now.isoformat(), "end": now.isoformat()},
        parties=[],
        commitments=[],
        timestamp=now,
    )  # signed twice: the first stands
    await forge(
        client,
        contract,
        3,
        "marketplace.contracts:Contract.DeliveryConfirmed",
        report_id=str(uuid.uuid4()),
        timestamp=now,
    )  # no such report
    await forge(
        client,
        contract,
        4,
        "marketplace.contracts:Contract.Amended",
        value_minor=-5,
        period=None,
        reason="x",
        timestamp=now,
    )
    await settle(client)  # fmt: skip

    assert failures(client) == []
    after = ok(await client.get("/api/v1/impact"))["totals"]
    assert after["contracts"] == before["contracts"]
    assert after["money"] == before["money"]
