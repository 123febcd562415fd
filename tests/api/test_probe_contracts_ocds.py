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
from tests.api.test_contracts import Signed, signed_contract
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


def signing(signed: Signed, at: datetime, **changes: Any) -> dict[str, Any]:
    """A Contract.Signed payload for `signed`'s tender and lot-1, as the domain writes one,
    with `changes`: a forged second contract of that lot (party A, 100%, no commitments)."""
    return {
        "tender_id": uuid.UUID(signed.tender),
        "lot_id": "lot-1",
        "bid_id": uuid.uuid4(),
        "buyer_id": uuid.UUID(signed.buyer),
        "value_minor": 100,
        "currency": "GBP",
        "period": {"start": at.isoformat(), "end": at.isoformat()},
        "parties": [{"organisation_id": signed.a, "share_percent": 100}],
        "commitments": [],
        "timestamp": at,
    } | changes


async def forge_document(
    client: Client, tender: str, version: int, sha256: str, at: datetime
) -> None:
    """A Tender.DocumentAdded of `tender` at `version`, its digest `sha256`, dated `at`."""
    await forge(
        client,
        uuid.UUID(tender),
        version,
        "marketplace.tenders:Tender.DocumentAdded",
        sha256=sha256,
        content_type="application/pdf",
        size=1,
        filename="spec.pdf",
        kind="technicalSpecifications",
        timestamp=at,
    )


async def signed_and_recorded(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> tuple[Signed, str, dict[str, Any]]:
    """A signed contract, its tender's ocid and its record as the projector has it now."""
    (signed,) = await signed_contract(client, staff_headers, clock)
    await settle(client)
    ocid = await ocid_of(client, signed.tender)
    return signed, ocid, await record_of(client, ocid)


async def published_and_recorded(
    client: Client, staff_headers: Headers, tenders: int = 1
) -> tuple[str, str, dict[str, Any], int]:
    """A council's `tenders` published tenders; of the first: its id, ocid, record and
    version."""
    buyer, headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, headers)
    for _ in range(tenders - 1):
        await published_tender(client, buyer, headers)
    await settle(client)
    ocid = await ocid_of(client, tender)
    version = (await client.get(f"/api/v1/tenders/{tender}", headers=headers)).json()["version"]
    return tender, ocid, await record_of(client, ocid), version


async def left_out(client: Client, ocid: str, before: dict[str, Any]) -> None:
    """Once the projector has caught up: no projection failed, and the record is as it was
    (and valid: record_of checks it)."""
    await settle(client)
    assert failures(client) == []
    assert await record_of(client, ocid) == before


async def test_a_contract_period_that_is_not_two_times_is_left_out_of_the_export(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    signed, ocid, before = await signed_and_recorded(client, staff_headers, clock)
    contract = uuid.UUID(signed.contract)
    clock.advance(timedelta(days=1))
    at = clock.now()
    version = 1
    for period in ODD_PERIODS:
        version += 1
        amended = {"value_minor": None, "period": period, "reason": "Odd", "timestamp": at}
        await forge(client, contract, version, topic("Amended"), **amended)
        forged = signing(signed, at, period=period)
        await forge(client, uuid.uuid4(), 1, topic("Signed"), **forged)
    await left_out(client, ocid, before)


async def test_a_document_whose_digest_is_not_one_is_left_out_of_the_export(
    client: Client, staff_headers: Headers
) -> None:
    """A document's id and address are its SHA-256 digest; a DocumentAdded whose digest is not
    64 hex digits (another writer's: spaces, a slash, a word) would publish an address no OCDS
    reader takes, or one naming another route. It is left out; the record stays valid."""
    tender, ocid, before, version = await published_and_recorded(client, staff_headers)
    for digest in ("a b", "../../../buyers", "x" * 64, "A" * 64 + "\n", "%2e%2e"):
        version += 1
        at = datetime.fromisoformat(before["releases"][-1]["date"])
        await forge_document(client, tender, version, digest, at)
    await left_out(client, ocid, before)


async def test_a_release_dated_where_no_cursor_reaches_is_left_out_and_paging_goes_on(
    client: Client, staff_headers: Headers
) -> None:
    """A page's `links.next` names its last release's date, and a cursor before 1900 or from
    2100 is refused (400), as every moment a client sends is. An event dated there (another
    writer's; the domain's are the clock's) made a release that every harvester paging from
    the start stopped at. It is left out of the releases; paging from the first page goes on."""
    # Two tenders: a second page, at least.
    tender, ocid, before, version = await published_and_recorded(client, staff_headers, 2)
    for n, when in enumerate(("1850-01-01T00:00:00+00:00", "2100-01-01T00:00:00+00:00")):
        await forge_document(
            client, tender, version + 1 + n, f"{n}" * 64, datetime.fromisoformat(when)
        )
    await left_out(client, ocid, before)
    for params in ({"per_page": "1"}, {"per_page": "1", "since": "1900-01-01T00:00:00Z"}):
        first = await client.get(RELEASES, params=params)
        assert first.status_code == 200, first.text
        following = await client.get(first.json()["links"]["next"])
        assert following.status_code == 200, following.text
