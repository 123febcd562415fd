"""Contracts' periods and tenders' documents in the OCDS export, probed on both stores (the
"probe" helper): a Contract event another writer could store whose period is not two times
with an offset (a word, a date alone, a time without its zone, a number), or a DocumentAdded
whose digest is not 64 hex digits, is left out of the OCDS releases, as a tender's terms are,
never published as a date or an address no OCDS reader takes; the projections go on and the
tender's record stays as it was, valid."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from tests.api.test_bid_scenario import published_tender
from tests.api.test_clarifications import council
from tests.api.test_contracts import signed_contract
from tests.api.test_ocds import RELEASES, ocid_of, record_of
from tests.api.test_ocds_probe import MODULES, failures, forge
from tests.api.test_tenders import settle
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
GOOD_START = "2026-05-01T00:00:00+00:00"
ODD_PERIODS: list[Any] = [
    {"start": "soon", "end": "later"},
    {"start": "2026-05-01", "end": "2027-05-01"},
    {"start": "2026-05-01T00:00:00", "end": "2027-05-01T00:00:00"},
    {"start": GOOD_START, "end": 5},
    {"start": GOOD_START},
    "next spring",
]


def topic(name: str) -> str:
    return f"{MODULES['Contract']}:Contract.{name}"


async def test_a_contract_period_that_is_not_two_times_is_left_out_of_the_export(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    (signed,) = await signed_contract(client, staff_headers, clock)
    await settle(client)
    ocid = await ocid_of(client, signed.tender)
    before = await record_of(client, ocid)
    contract, tender = uuid.UUID(signed.contract), uuid.UUID(signed.tender)
    clock.advance(timedelta(days=1))
    at = clock.now()
    version = 1
    for period in ODD_PERIODS:
        version += 1
        amended = {"value_minor": None, "period": period, "reason": "Odd", "timestamp": at}
        await forge(client, contract, version, topic("Amended"), **amended)
        signing = {
            "tender_id": tender,
            "lot_id": "lot-1",
            "bid_id": uuid.uuid4(),
            "buyer_id": uuid.UUID(signed.buyer),
            "value_minor": 100,
            "currency": "GBP",
            "period": period,
            "parties": [{"organisation_id": signed.a, "share_percent": 100}],
            "commitments": [],
            "timestamp": at,
        }
        await forge(client, uuid.uuid4(), 1, topic("Signed"), **signing)
    await settle(client)

    assert failures(client) == []
    assert await record_of(client, ocid) == before


async def test_a_document_whose_digest_is_not_one_is_left_out_of_the_export(
    client: Client, staff_headers: Headers
) -> None:
    """A document's id and address are its SHA-256 digest; a DocumentAdded whose digest is not
    64 hex digits (another writer's: spaces, a slash, a word) would publish an address no OCDS
    reader takes, or one naming another route. It is left out; the record stays valid."""
    buyer, headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, headers)
    await settle(client)
    ocid = await ocid_of(client, tender)
    before = await record_of(client, ocid)
    version = (await client.get(f"/api/v1/tenders/{tender}", headers=headers)).json()["version"]
    for digest in ("a b", "../../../buyers", "x" * 64, "A" * 64 + "\n", "%2e%2e"):
        version += 1
        await forge(
            client,
            uuid.UUID(tender),
            version,
            "marketplace.tenders:Tender.DocumentAdded",
            sha256=digest,
            content_type="application/pdf",
            size=1,
            filename="spec.pdf",
            kind="technicalSpecifications",
            timestamp=datetime.fromisoformat(before["releases"][-1]["date"]),
        )
    await settle(client)

    assert failures(client) == []
    assert await record_of(client, ocid) == before


async def test_a_release_dated_where_no_cursor_reaches_is_left_out_and_paging_goes_on(
    client: Client, staff_headers: Headers
) -> None:
    """A page's `links.next` names its last release's date, and a cursor before 1900 or from
    2100 is refused (400), as every moment a client sends is. An event dated there (another
    writer's; the domain's are the clock's) made a release that every harvester paging from
    the start stopped at. It is left out of the releases; paging from the first page goes on."""
    buyer, headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, headers)
    await published_tender(client, buyer, headers)  # a second page, at least
    await settle(client)
    ocid = await ocid_of(client, tender)
    before = await record_of(client, ocid)
    version = (await client.get(f"/api/v1/tenders/{tender}", headers=headers)).json()["version"]
    for n, when in enumerate(("1850-01-01T00:00:00+00:00", "2100-01-01T00:00:00+00:00")):
        await forge(
            client,
            uuid.UUID(tender),
            version + 1 + n,
            "marketplace.tenders:Tender.DocumentAdded",
            sha256=f"{n}" * 64,
            content_type="application/pdf",
            size=1,
            filename="spec.pdf",
            kind="technicalSpecifications",
            timestamp=datetime.fromisoformat(when),
        )
    await settle(client)

    assert failures(client) == []
    assert await record_of(client, ocid) == before
    for params in ({"per_page": "1"}, {"per_page": "1", "since": "1900-01-01T00:00:00Z"}):
        first = await client.get(RELEASES, params=params)
        assert first.status_code == 200, first.text
        following = await client.get(first.json()["links"]["next"])
        assert following.status_code == 200, following.text
