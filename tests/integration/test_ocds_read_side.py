"""The OCDS projection, on both stores: a council's tender from publication to a completed
contract makes the releases the mapping says, with ids that a rebuild (one batch, a batch an
event) writes again the same; what is served passes the schemas, the closed codelists and the
standard's review tool (libcoveocds, offline) with 0 errors, and the record compiles as the
standard's tools compile it; a business's tender is never served; and no odd event stops the
projection or leaks into a release (ADR 16)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.events import RecordedEvent
from projections.ocds import OcdsProjection
from projections.ocds_query import record_releases, release_page
from projections.ocds_tables import ocds_processes, ocds_releases
from sharedkernel.reference.ocds import compiled_release
from tests.integration.projection_fixtures import snapshot
from tests.integration.recorded import recorded
from tests.ocds_review import (
    codelist_violations,
    compile_like_review_tool,
    review,
    review_counts,
    schema_errors,
    versioned_like_review_tool,
)
from tradehall.store.base import Store

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
URL = "https://tradehall.example"
PERIOD = {"start": "2026-03-02T10:00:00+00:00", "end": "2026-04-01T12:00:00+00:00"}
CRITERION = {"name": "Price", "weight": 50, "scale": 10}
MODULES = {
    "Organisation": "membership.domain",
    "Tender": "marketplace.tenders",
    "BidOpening": "marketplace.openings",
    "LotEvaluation": "marketplace.evaluation.lot",
    "Contract": "marketplace.contracts",
}


def terms(currency: str = "GBP", **changes: Any) -> dict[str, Any]:
    return {
        "title": "Roads",
        "description": "Resurfacing",
        "method": "open",
        "category": "works",
        "lots": [
            {
                "id": lot_id,
                "title": f"Lot {lot_id}",
                "description": "",
                "cpv_codes": ["45233142-6"],
                "value_minor": 5_000_050,
                "currency": currency,
            }
            for lot_id in ("lot-1", "lot-2")
        ],
        "enquiry_period": PERIOD,
        "tender_period": PERIOD,
        "contract_period": {
            "start": "2026-05-01T00:00:00+00:00",
            "end": "2027-05-01T00:00:00+00:00",
        },
        "eligibility": {"members_only": True, "quality_mark_required": False, "regions": ["TLE"]},
        "evaluation": {
            "price": CRITERION,
            "quality": [CRITERION | {"name": "Method", "weight": 40}],
            "social_value": CRITERION | {"name": "Social value", "weight": 10},
            "tie_break": "lowest_price",
            "abnormally_low_percent": 20,
        },
    } | changes


class Log:
    """Membership and marketplace events as their logs hold them, numbered as made."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.versions: dict[uuid.UUID, int] = {}
        self.positions = {"membership": 0, "marketplace": 0}

    def add(self, owner: uuid.UUID, event_name: str, **data: Any) -> None:
        log = "membership" if event_name.startswith("Organisation.") else "marketplace"
        version = self.versions[owner] = self.versions.get(owner, 0) + 1
        self.positions[log] += 1
        data.setdefault("timestamp", T0 + timedelta(hours=len(self.events)))
        topic = f"{MODULES[event_name.split('.')[0]]}:{event_name}"
        self.events.append(recorded(log, self.positions[log], owner, version, topic, data))

    def org(self, name: str, kind: str, scheme: str | None = None) -> uuid.UUID:
        org_id = uuid.uuid4()
        self.add(
            org_id,
            "Organisation.Registered",
            name=name,
            kind=kind,
            registry_scheme=scheme,
            registry_id="E08000035" if scheme else None,
        )
        return org_id


@pytest.fixture
def engine(store: Store) -> Iterator[Engine]:
    store.migrate()
    engine = store.sync_engine()
    with engine.begin() as connection:  # a PostgreSQL database serves a worker's every test
        OcdsProjection(URL).clear(connection)
    yield engine
    engine.dispose()


def apply(engine: Engine, batches: list[list[RecordedEvent]]) -> None:
    """As the projector does: a batch is one log's events."""
    projection = OcdsProjection(URL)
    for batch in batches:
        for log in ("membership", "marketplace"):
            mine = [e for e in batch if e.log == log]
            if mine:
                with engine.begin() as connection:
                    projection.apply(connection, mine)


def rebuild(engine: Engine, batches: list[list[RecordedEvent]]) -> dict[str, Any]:
    projection = OcdsProjection(URL)
    with engine.begin() as connection:
        projection.clear(connection)
    apply(engine, batches)
    return snapshot(engine, [projection])


def package(releases: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "uri": f"{URL}/api/v1/ocds/releases",
        "version": "1.1",
        "extensions": [
            "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json",
            "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json",
        ],
        "publisher": {"name": "Tradehall"},
        "publishedDate": releases[-1]["date"],
        "releases": releases,
    }


def lifecycle(log: Log) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]:
    """A council's two-lot tender: documented, amended, opened (three bids on lot 1, one
    invalid; none on lot 2), lot 1 awarded to a consortium, its notice, its contract signed,
    amended and completed. Its id, the buyer's, and the two suppliers'."""
    council = log.org("Leeds City Council", "public_body", "GB-LAE")
    ash, birch = (
        log.org("Ash CIC", "social_enterprise"),
        log.org("Birch Co-op", "social_enterprise"),
    )
    tender = uuid.uuid4()
    ocid = f"ocds-test00-{tender}"
    log.add(tender, "Tender.Drafted", buyer_id=council, ocid=ocid, terms=terms())
    log.add(tender, "Tender.Published", status="active")
    log.add(
        tender,
        "Tender.DocumentAdded",
        sha256="ab" * 32,
        content_type="application/pdf",
        size=10,
        filename="spec.pdf",
        kind="technicalSpecifications",
    )
    log.add(
        tender,
        "Tender.Amended",
        terms=terms(title="Roads and paths"),
        changed=["title"],
        rationale="Paths too",
    )
    bids = [
        {
            "bid_id": str(uuid.uuid4()),
            "lot_id": "lot-1",
            "lead_id": str(lead),
            "shares": [],
            "valid": valid,
            "content": {"price_minor": price},
        }
        for lead, valid, price in (
            (ash, True, 4_444_400),
            (birch, True, 4_800_000),
            (ash, False, 1),
        )
    ]
    opening = uuid.uuid4()
    log.add(opening, "BidOpening.Recorded", tender_id=tender, bids=bids)
    log.add(tender, "Tender.BidsOpened")
    evaluation = uuid.uuid4()
    winner = {
        "bid_id": bids[0]["bid_id"],
        "shares": [
            {"organisation_id": str(ash), "percent": 70},
            {"organisation_id": str(birch), "percent": 30},
        ],
        "price_minor": 4_444_400,
        "currency": "GBP",
        "commitments": [],
        "submitted_at": PERIOD["start"],
    }
    loser = winner | {"bid_id": bids[1]["bid_id"], "price_minor": 4_800_000}
    log.add(
        evaluation,
        "LotEvaluation.Started",
        tender_id=tender,
        lot_id="lot-1",
        buyer_id=council,
        rules={},
        bids=[winner, loser],
        invalid=[],
    )
    log.add(tender, "Tender.LotDecided", lot_id="lot-2", outcome="unsuccessful")
    log.add(
        evaluation,
        "LotEvaluation.Awarded",
        bid_id=uuid.UUID(winner["bid_id"]),
        results=[],
        passed_over=[],
        summaries=[],
    )
    log.add(tender, "Tender.LotDecided", lot_id="lot-1", outcome="awarded")
    log.add(
        evaluation,
        "LotEvaluation.AwardNoticePublished",
        standstill_ends=T0 + timedelta(days=40),
        working_days=8,
    )
    contract = uuid.uuid4()
    log.add(evaluation, "LotEvaluation.ContractSigned", contract_id=contract)
    log.add(
        contract,
        "Contract.Signed",
        tender_id=tender,
        lot_id="lot-1",
        bid_id=uuid.UUID(winner["bid_id"]),
        buyer_id=council,
        value_minor=4_444_400,
        currency="GBP",
        period={"start": "2026-05-01T00:00:00+00:00", "end": "2027-05-01T00:00:00+00:00"},
        parties=[],
        commitments=[],
    )
    log.add(contract, "Contract.Amended", value_minor=4_600_000, period=None, reason="More paths")
    log.add(contract, "Contract.Completed", reason="Delivered")
    return tender, council, ash, birch


def odd_events(log: Log, council: uuid.UUID, tender: uuid.UUID) -> uuid.UUID:
    """Events no projection may fail on, each left out; a business's tender, never served.
    The business's tender id."""
    business = log.org("Harbour Facilities Ltd", "business")
    sold = uuid.uuid4()
    log.add(sold, "Tender.Drafted", buyer_id=business, ocid=f"ocds-test00-{sold}", terms=terms())
    log.add(sold, "Tender.Published", status="active")
    odd = uuid.uuid4()
    log.add(odd, "Tender.Drafted", buyer_id=council, ocid="ocds-test00-odd", terms={"lots": []})
    log.add(odd, "Tender.Published", status="active")
    foreign = uuid.uuid4()  # a currency no codelist has
    log.add(foreign, "Tender.Drafted", buyer_id=council, ocid="x", terms=terms("ZZZ"))
    log.add(foreign, "Tender.Published", status="active")
    log.add(tender, "Tender.Drafted", buyer_id=council, ocid="again", terms=terms())
    log.add(tender, "Tender.Published", status="nonsense")
    log.add(tender, "Tender.LotDecided", lot_id="lot-9", outcome="maybe")
    log.add(tender, "Tender.Ended", status="exploded", reason="?")
    log.add(uuid.uuid4(), "BidOpening.Recorded", tender_id=uuid.uuid4(), bids="x")
    log.add(uuid.uuid4(), "LotEvaluation.AwardNoticePublished", working_days=1)
    stray = uuid.uuid4()
    log.add(stray, "LotEvaluation.Started", tender_id=tender, lot_id="lot-7", bids=[])
    log.add(stray, "LotEvaluation.AwardNoticePublished", working_days=1)
    log.add(uuid.uuid4(), "Contract.Amended", value_minor=1, reason="never signed")
    log.add(
        uuid.uuid4(),
        "Contract.Signed",
        tender_id=tender,
        lot_id="lot-2",
        value_minor="lots",
        currency="GBP",
        period={},
    )
    return sold


async def test_a_tender_s_releases_rebuild_the_same_and_pass_the_review_tool(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    log = Log()
    tender, council, ash, birch = lifecycle(log)
    sold = odd_events(log, council, tender)
    events = log.events

    built = rebuild(engine, [events[:9], events[9:20], events[20:]])
    assert rebuild(engine, [events]) == built
    assert rebuild(engine, [[e] for e in events]) == built

    ocid = f"ocds-test00-{tender}"
    with engine.connect() as connection:
        ids = [
            r.release_id.removeprefix(f"{ocid}-")
            for r in connection.execute(
                select(ocds_releases.c.release_id)
                .where(ocds_releases.c.ocid == ocid)
                .order_by(ocds_releases.c.date, ocds_releases.c.position)
            )
        ]
        found = select(ocds_processes.c.tender_id, ocds_processes.c.state)
        states = {row.tender_id: row.state for row in connection.execute(found)}
        processes = set(states)
    # Numbered per kind, as made: nothing unpublished (scores, queries) counted.
    assert ids == [
        "tender-1",
        "tender-2",
        "tender-3",
        "opening-1",
        "tender-4",
        "tender-5",
        "award-lot-1-1",
        "award-lot-1-2",
        "contract-lot-1-1",
        "contract-lot-1-2",
        "contract-lot-1-3",
    ]
    assert processes == {tender, sold}  # the odd and the foreign tenders were left out
    # The losing bid's price is not kept once the lot is awarded (nor any once not awarded).
    assert "4800000" not in states[tender]
    assert "4444400" in states[tender]  # the winner's: published with the award

    async with async_engine.connect() as connection:
        releases = await record_releases(connection, ocid)
        assert await record_releases(connection, f"ocds-test00-{sold}") == []
        page = await release_page(connection, since=None, until=None, after=None, limit=100)
    assert page.releases == releases
    assert [r["tag"] for r in releases] == [
        ["tender"],
        ["tenderUpdate"],
        ["tenderAmendment"],
        ["tenderUpdate"],
        ["tenderUpdate"],
        ["tenderUpdate"],
        ["award"],
        ["awardUpdate"],
        ["contract"],
        ["contractAmendment"],
        ["contractTermination"],
    ]
    served = package(releases)
    assert schema_errors(served) == []
    assert codelist_violations(served) == []
    assert review_counts(review(served)) == (0, 0)

    compiled = compiled_release(releases)
    assert compiled == compile_like_review_tool(releases)
    assert versioned_like_review_tool(releases)["tender"]["status"][-1]["value"] == "complete"
    assert compiled["tender"]["title"] == "Roads and paths"
    assert compiled["tender"]["status"] == "complete"
    assert [lot["status"] for lot in compiled["tender"]["lots"]] == ["complete", "unsuccessful"]
    assert compiled["tender"]["value"] == {"amount": 100001, "currency": "GBP"}
    assert compiled["tender"]["numberOfTenderers"] == 2
    [award] = compiled["awards"]
    assert award["status"] == "active"
    assert award["value"] == {"amount": 44444, "currency": "GBP"}
    assert [s["id"] for s in award["suppliers"]] == [str(ash), str(birch)]
    assert [s["name"] for s in award["suppliers"]] == ["Ash CIC", "Birch Co-op"]
    [contract] = compiled["contracts"]
    assert contract["status"] == "terminated"
    assert contract["value"]["amount"] == 46000
    assert contract["amendments"][0]["rationale"] == "More paths"
    parties = {p["id"]: p for p in compiled["parties"]}
    assert parties[str(council)]["identifier"] == {
        "scheme": "GB-LAE",
        "id": "E08000035",
        "legalName": "Leeds City Council",
    }
    assert parties[str(ash)]["roles"] == ["supplier"]
    assert "identifier" not in parties[str(ash)]  # it gave none
    # Nothing of the losing or the invalid bid: not its price, not its bidder as a tenderer.
    text = json.dumps(releases)
    assert "48000" not in text
    assert "0.01" not in text
    assert "tenderers" not in {k for r in releases for k in r.get("tender", {})}


async def test_a_release_shows_its_parties_as_they_stood_and_never_changes(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    """Names and identifiers as of each release's date (a release never changes once made);
    an amendment release carries its own amendment, the record all of them; the losing bids'
    prices are not kept; odd times and prices are left out without stopping the projection."""
    log = Log()
    council = log.org("Leeds City Council", "public_body", "GB-LAE")
    tender = uuid.uuid4()
    ocid = f"ocds-test00-{tender}"
    log.add(tender, "Tender.Drafted", buyer_id=council, ocid=ocid, terms=terms())
    log.add(tender, "Tender.Published", status="active")
    log.add(council, "Organisation.ProfileUpdated", name="Leeds City Council (renamed)")
    log.add(council, "Organisation.RegistryIdentifierReleased", reason="claimed wrongly")
    for n in (1, 2):
        log.add(
            tender,
            "Tender.Amended",
            terms=terms(title=f"Roads, take {n}"),
            changed=["title"],
            rationale=f"take {n}",
        )
    # Odd: a time without an offset, an infinite price: each left out, nothing stopped.
    log.add(tender, "Tender.Amended", terms=terms(), changed=[], rationale="x")
    log.events[-1] = recorded(
        "marketplace",
        log.positions["marketplace"],
        tender,
        log.versions[tender],
        "marketplace.tenders:Tender.Amended",
        {
            "terms": terms(title="Naive"),
            "changed": [],
            "rationale": "x",
            "timestamp": datetime(2026, 3, 2, 12),
        },
    )
    log.add(
        uuid.uuid4(),
        "LotEvaluation.Started",
        tender_id=tender,
        lot_id="lot-2",
        bids=[{"bid_id": str(uuid.uuid4()), "shares": [], "price_minor": float("inf")}],
    )
    apply(engine, [[e] for e in log.events])

    async with async_engine.connect() as connection:
        releases = await record_releases(connection, ocid)
    assert [r["tender"]["title"] for r in releases] == ["Roads", "Roads, take 1", "Roads, take 2"]
    first, *amended = releases
    [buyer] = first["parties"]
    assert buyer["name"] == "Leeds City Council"
    assert buyer["identifier"]["id"] == "E08000035"
    for release in amended:
        [buyer] = release["parties"]
        assert buyer["name"] == "Leeds City Council (renamed)"
        assert "identifier" not in buyer  # released before these releases were made
        assert len(release["tender"]["amendments"]) == 1
    assert "amendments" not in first["tender"]
    compiled = compiled_release(releases)
    assert [a["rationale"] for a in compiled["tender"]["amendments"]] == ["take 1", "take 2"]
    assert compiled["buyer"]["name"] == "Leeds City Council (renamed)"
    assert schema_errors(package(releases)) == []
