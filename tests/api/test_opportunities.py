"""Outside opportunities over HTTP, on both stores (issue 16): the real Contracts Finder sample
imported through the marketplace's Application is on the public board with where it came from
and its notice's link; the VCSE flag is yes, no or unknown (never a missing flag read as no);
CPV, region, source and open filters; a later release of an ocid updates it by the standard's
merge; bad filters are named 400s."""

from __future__ import annotations

import copy
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgspec

from marketplace.outside.opportunity import opportunity_id_for
from sharedkernel.events import Context
from tests.api.helpers import services_of
from tests.api.test_tenders import settle
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
SAMPLE = (
    Path(__file__).parents[1] / "data" / "ocds" / "samples" / "contracts-finder-2025-sample.json"
)
BOARD = "/api/v1/opportunities"


def sample() -> dict[str, Any]:
    package: dict[str, Any] = msgspec.json.Decoder(float_hook=Decimal).decode(SAMPLE.read_bytes())
    return package


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


async def imported(
    client: Client, clock: ManualClock, releases: list[Any], source: str
) -> list[str]:
    services = services_of(client)
    marketplace = services.applications["marketplace"]
    context = Context("system:test", "test", clock.now())
    outcomes = [
        (await services.run(marketplace.import_outside_release, context, source, r)).outcome
        for r in releases
    ]
    await settle(client)
    return outcomes


async def board(client: Client, **params: Any) -> dict[str, Any]:
    found: dict[str, Any] = ok(await client.get(BOARD, params={"per_page": 100, **params}))
    return found


def mine(page: dict[str, Any], source: str) -> list[dict[str, Any]]:
    """This test's items (a PostgreSQL worker's database holds other tests' too)."""
    return [item for item in page["items"] if item["source"] == source]


async def test_the_sample_is_on_the_board_with_its_flags_and_filters(
    client: Client, clock: ManualClock
) -> None:
    package = sample()
    source = f"Contracts Finder test {uuid.uuid4().hex[:8]}"
    # Fresh ocids for this test: a PostgreSQL worker's database may hold the sample already.
    releases = []
    for release in package["releases"]:
        release = copy.deepcopy(release)
        release["ocid"] = f"{release['ocid']}-{source[-8:]}"
        releases.append(release)
    assert await imported(client, clock, releases, source) == ["imported"] * 43
    assert await imported(client, clock, releases, source) == ["unchanged"] * 43

    everything = await board(client, source=source)
    assert everything["total"] == 43
    items = mine(everything, source)
    flags = [item["vcse"] for item in items]
    assert (flags.count(True), flags.count(False), flags.count(None)) == (8, 15, 20)
    assert (await board(client, source=source, vcse="yes"))["total"] == 8
    assert (await board(client, source=source, vcse="no"))["total"] == 15
    assert (await board(client, source=source, vcse="unknown"))["total"] == 20
    # None is open on 2 March 2026: the sample's deadlines were in 2025.
    assert (await board(client, source=source, open="true"))["total"] == 0
    assert (await board(client, source=source, open="false"))["total"] == 43

    martock = next(i for i in items if i["title"].startswith("Martock Parish Council"))
    assert martock["url"].startswith("https://www.contractsfinder.service.gov.uk/Notice/")
    assert martock["amount"] == "10000"
    assert martock["currency"] == "GBP"
    assert martock["buyer_name"] == "Martock Parish Council"
    assert martock["vcse"] is True
    assert martock["unresolved_regions"] == ["TA12 6JL"]  # a postcode: not read
    assert "50000000-5" in martock["cpv_codes"]
    assert martock["open"] is False
    assert ok(await client.get(f"{BOARD}/{martock['id']}")) == martock

    # Wales (UKL... in the feed, NUTS) is TLL; a region filter finds its items and those
    # naming no region.
    welsh = mine(await board(client, source=source, region="TLL"), source)
    assert any("TLL" in item["regions"] for item in welsh)
    assert all(
        "TLL" in item["regions"] or not (item["regions"] or item["unresolved_regions"])
        for item in welsh
    )
    assert martock["id"] not in {item["id"] for item in welsh}  # a postcode: somewhere unknown
    repairs = mine(await board(client, source=source, cpv="50000000"), source)
    assert martock["id"] in {item["id"] for item in repairs}
    assert all(any(c.startswith("50") for c in item["cpv_codes"]) for item in repairs)

    for params, field in (
        ({"vcse": "maybe"}, "vcse"),
        ({"open": "perhaps"}, "open"),
        ({"cpv": "99999999"}, "cpv"),
        ({"region": "XX"}, "region"),
        ({"per_page": 0}, "per_page"),
    ):
        response = await client.get(BOARD, params=params)
        assert response.status_code in (400, 422), response.text
        assert field in response.text
    missing = await client.get(f"{BOARD}/{uuid.uuid4()}")
    assert missing.status_code == 404


async def test_a_later_release_updates_the_opportunity_by_the_merge(
    client: Client, clock: ManualClock
) -> None:
    source = f"Find a Tender test {uuid.uuid4().hex[:8]}"
    ocid = f"ocds-h6vhtk-{uuid.uuid4()}"
    first = {
        "ocid": ocid,
        "id": "1",
        "date": "2026-03-01T09:00:00Z",
        "tag": ["tender"],
        "tender": {
            "title": "Community transport",
            "status": "active",
            "tenderPeriod": {"endDate": "2026-04-01T12:00:00Z"},
            "value": {"amount": Decimal("120000.50"), "currency": "GBP"},
            "classification": {"scheme": "CPV", "id": "60130000"},
            "items": [{"id": "1", "deliveryAddresses": [{"region": "East of England"}]}],
            "suitability": {"vcse": True},
        },
    }
    later = {
        "ocid": ocid,
        "id": "2",
        "date": "2026-03-05T09:00:00Z",
        "tag": ["tenderAmendment"],
        "tender": {"tenderPeriod": {"endDate": "2026-04-15T12:00:00Z"}},
    }
    assert await imported(client, clock, [first], source) == ["imported"]
    [item] = mine(await board(client, source=source, open="true"), source)
    assert item["deadline"].startswith("2026-04-01")
    assert item["amount"] == "120000.50"  # as published: a decimal, never a float
    assert item["regions"] == ["TLH"]
    assert item["releases"] == 1

    assert await imported(client, clock, [later, later], source) == ["updated", "unchanged"]
    merged = ok(await client.get(f"{BOARD}/{opportunity_id_for(ocid)}"))
    assert merged["deadline"].startswith("2026-04-15")  # the later release's
    assert merged["title"] == "Community transport"  # the first's, kept by the merge
    assert merged["vcse"] is True
    assert merged["releases"] == 2

    clock.set(clock.now().replace(year=2026, month=4, day=20))
    closed = ok(await client.get(f"{BOARD}/{opportunity_id_for(ocid)}"))
    assert closed["open"] is False
    assert (await board(client, source=source, open="true"))["total"] == 0
