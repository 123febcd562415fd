"""Matching's read side, on both stores: a lot's members ranked as computed by hand, with their
explanations and the excluded counted by reason; a member losing good standing drops out at
once and returns when reinstated; a member's recommended open lots; a rebuild from zero, in one
batch or a batch an event, gives the same rows as the projector's batches; and no odd event
stops the projection (ADR 16). Outside opportunities (issue 16) are recommended beside the
tenders, scored by the same formula, with where they came from; never as a buyer's lot."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.outside.opportunity import opportunity_id_for
from projections.events import RecordedEvent
from projections.matching import MatchingProjection
from projections.matching_query import (
    Lot,
    LotMatches,
    Recommendations,
    lot_matches,
    lot_of,
    recommended_lots,
)
from projections.matching_tables import (
    OUTSIDE_BUYER,
    OUTSIDE_LOT_ID,
    match_lot_prefixes,
    match_lots,
    match_member_divisions,
    match_members,
    match_tender_regions,
)
from projections.opportunities import OpportunitiesProjection
from projections.tables import quality_marks
from sharedkernel.reference import itl_regions
from tests.integration.projection_fixtures import snapshot
from tests.integration.recorded import recorded
from tradehall.store.base import Store

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # the tenders' deadline is 2026-04-01
PARENTS = {code: region.parent for code, region in itl_regions().items()}
PERIOD = {"start": "2026-03-02T10:00:00+00:00", "end": "2026-04-01T12:00:00+00:00"}
CRITERION = {"name": "Price", "weight": 50, "scale": 10}


def terms(
    lots: list[tuple[str, list[str], int]], *, regions: list[str], mark: bool = False
) -> dict[str, Any]:
    return {
        "title": "Roads",
        "description": "",
        "method": "open",
        "category": "works",
        "lots": [
            {
                "id": lot_id,
                "title": f"Lot {lot_id}",
                "description": "",
                "cpv_codes": codes,
                "value_minor": value,
                "currency": "GBP",
            }
            for lot_id, codes, value in lots
        ],
        "enquiry_period": PERIOD,
        "tender_period": PERIOD,
        "contract_period": {
            "start": "2026-05-01T00:00:00+00:00",
            "end": "2027-05-01T00:00:00+00:00",
        },
        "eligibility": {"members_only": False, "quality_mark_required": mark, "regions": regions},
        "evaluation": {
            "price": CRITERION,
            "quality": [CRITERION | {"name": "Method", "weight": 40}],
            "social_value": CRITERION | {"name": "Social value", "weight": 10},
            "tie_break": "lowest_price",
            "abnormally_low_percent": 20,
        },
    }


class Log:
    """Membership and marketplace events as their logs hold them, numbered as made."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.versions: dict[uuid.UUID, int] = {}
        self.positions = {"membership": 0, "marketplace": 0}

    def add(self, log: str, module: str, owner: uuid.UUID, event_name: str, **data: Any) -> None:
        version = self.versions[owner] = self.versions.get(owner, 0) + 1
        self.positions[log] += 1
        data.setdefault("timestamp", T0 + timedelta(minutes=len(self.events)))
        topic = f"{module}:{event_name}"
        self.events.append(recorded(log, self.positions[log], owner, version, topic, data))

    def org(self, name: str, cpv: list[str], regions: list[str], standing: str | None) -> uuid.UUID:
        """An organisation registered and, unless `standing` is None, admitted and then in that
        standing."""
        org_id = uuid.uuid4()
        self.member(
            org_id,
            "Organisation.Registered",
            name=name,
            kind="social_enterprise",
            cpv_codes=cpv,
            regions=regions,
        )
        if standing is not None:
            self.member(org_id, "Organisation.MembershipAdmitted", effective_at=T0)
            self.member(org_id, "Organisation.StandingChanged", status=standing)
        return org_id

    def member(self, org_id: uuid.UUID, event_name: str, **data: Any) -> None:
        self.add("membership", "membership.domain", org_id, event_name, **data)

    def market(self, owner: uuid.UUID, event_name: str, **data: Any) -> None:
        module = {
            "ServiceListing": "marketplace.listings",
            "Tender": "marketplace.tenders",
            "Contract": "marketplace.contracts",
            "Opportunity": "marketplace.outside.opportunity",
        }[event_name.split(".")[0]]
        self.add("marketplace", module, owner, event_name, **data)

    def listing(self, org_id: uuid.UUID, codes: list[str], capacity: int) -> uuid.UUID:
        listing_id = uuid.uuid4()
        details = {
            "title": "Works",
            "description": "",
            "price_basis": "fixed",
            "capacity_minor": capacity,
            "cpv_codes": codes,
            "regions": [],
        }
        self.market(listing_id, "ServiceListing.Published", organisation_id=org_id, details=details)
        return listing_id

    def tender(self, buyer: uuid.UUID, stated: dict[str, Any], status: str = "active") -> uuid.UUID:
        tender_id = uuid.uuid4()
        self.market(tender_id, "Tender.Drafted", buyer_id=buyer, terms=stated)
        if status != "draft":
            self.market(tender_id, "Tender.Published", status=status)
        return tender_id

    def outside(
        self, ocid: str, event_name: str = "Opportunity.Imported", **summary: Any
    ) -> uuid.UUID:
        """An outside opportunity's event, as the domain records it: `summary` over a plain
        one (active until 10 April 2026, no places, no value)."""
        opportunity_id = opportunity_id_for(ocid)
        stated = {
            "title": f"Notice {ocid}",
            "description": "",
            "buyer_name": "Leeds City Council",
            "status": "active",
            "deadline": "2026-04-10T12:00:00+00:00",
            "amount": None,
            "currency": None,
            "cpv_codes": [],
            "regions": [],
            "unresolved_regions": [],
            "vcse": None,
            "url": f"https://www.contractsfinder.service.gov.uk/Notice/{ocid}",
        } | summary
        key = f"{ocid}-{len(self.events)}"
        if event_name == "Opportunity.Imported":
            self.market(
                opportunity_id,
                event_name,
                ocid=ocid,
                source="Contracts Finder",
                release_key=key,
                release="{}",
                summary=stated,
            )
        else:
            self.market(opportunity_id, event_name, release_key=key, release="{}", summary=stated)
        return opportunity_id

    def contract(
        self, tender: uuid.UUID, buyer: uuid.UUID, parties: list[uuid.UUID], completed: bool
    ) -> None:
        contract_id = uuid.uuid4()
        self.market(
            contract_id,
            "Contract.Signed",
            tender_id=tender,
            lot_id="1",
            bid_id=uuid.uuid4(),
            buyer_id=buyer,
            value_minor=100,
            currency="GBP",
            period=PERIOD,
            parties=[{"organisation_id": str(p), "share_percent": 100} for p in parties],
            commitments=[],
        )
        if completed:
            self.market(contract_id, "Contract.Completed", reason="done")


@pytest.fixture
def engine(store: Store) -> Iterator[Engine]:
    store.migrate()
    engine = store.sync_engine()
    with engine.begin() as connection:  # a PostgreSQL database serves a worker's every test
        MatchingProjection().clear(connection)
        OpportunitiesProjection().clear(connection)
    yield engine
    engine.dispose()


def apply(
    engine: Engine, batches: list[list[RecordedEvent]], *, opportunities: bool = True
) -> None:
    """As the projector does: a batch is one log's events, applied to matching and (unless
    told not to) the opportunities projection, whose rows recommendations join."""
    projections = [MatchingProjection(), *([OpportunitiesProjection()] if opportunities else [])]
    for batch in batches:
        for log in ("membership", "marketplace"):
            mine = [e for e in batch if e.log == log]
            if mine:
                with engine.begin() as connection:
                    for projection in projections:
                        if log in projection.logs:
                            projection.apply(connection, mine)


def rebuild(engine: Engine, batches: list[list[RecordedEvent]]) -> dict[str, Any]:
    projection = MatchingProjection()
    with engine.begin() as connection:
        projection.clear(connection)
    apply(engine, batches, opportunities=False)
    return snapshot(engine, [projection])


def give_marks(engine: Engine, *holders: uuid.UUID) -> None:
    """Valid quality marks in the mark register's table (its own projection's rows)."""
    with engine.begin() as connection:
        for n, holder in enumerate(holders):
            connection.execute(
                insert(quality_marks).values(
                    mark_id=uuid.uuid4(),
                    organisation_id=holder,
                    certificate_number=f"TQM-TEST-{holder.hex[:8]}-{n}",
                    status="valid",
                    valid_from=T0,
                    valid_until=T0 + timedelta(days=365),
                    staff_suspended=False,
                    membership_suspended=False,
                    expired=False,
                    withdrawn=False,
                    revoked=False,
                    suspension_reason=None,
                    updated_at=T0,
                )
            )


class World:
    """The hand-computed scene: one lot restricted to Leeds (TLE42), one open anywhere that
    requires the quality mark, and an earlier tender whose contracts give track records."""

    def __init__(self) -> None:
        log = self.log = Log()
        self.buyer = log.org("Council", ["45214000-0"], ["TLE42"], "current")
        self.a = log.org("Ash", ["45210000-2"], ["TLE4"], "current")
        self.b = log.org("Birch", ["45214000-0"], ["TLE42"], "current")
        self.c = log.org("Cedar", ["45000000-7"], ["TLE"], "current")
        self.d = log.org("Dale", ["71000000-8"], ["TLE42"], "current")
        self.e = log.org("Elm", ["72000000-5"], ["TLE42"], "current")
        self.f = log.org("Fir", ["45214000-0"], ["TLC3"], "current")  # outside Leeds
        self.g = log.org("Gorse", ["45214000-0"], ["TLE42"], "current")
        log.member(self.g, "Organisation.Suspended", reason="dues")
        self.h = log.org("Holly", ["45214000-0"], ["TLE42"], None)  # never admitted
        log.listing(self.a, ["45000000-7"], 5_000_000)
        log.listing(self.c, ["45000000-7"], 10_000_000)
        log.listing(self.c, ["45000000-7"], 3_000_000)
        withdrawn = log.listing(self.c, ["45214000-0"], 90_000_000)
        log.market(withdrawn, "ServiceListing.Withdrawn")
        earlier = log.tender(self.buyer, terms([("1", ["45000000-7"], 100)], regions=[]))
        log.market(earlier, "Tender.LotDecided", lot_id="1", outcome="awarded")  # complete
        log.contract(earlier, self.buyer, [self.a], completed=True)
        for _ in range(3):
            log.contract(earlier, self.buyer, [self.c], completed=False)
        self.leeds = log.tender(
            self.buyer, terms([("1", ["45214000-0"], 8_000_000)], regions=["TLE42"])
        )
        self.marked = log.tender(
            self.buyer, terms([("1", ["45214000-0"], 0)], regions=[], mark=True)
        )
        self.draft = log.tender(
            self.buyer, terms([("1", ["45214000-0"], 0)], regions=[]), status="draft"
        )


async def _matches(async_engine: AsyncEngine, tender: uuid.UUID, limit: int = 20) -> LotMatches:
    async with async_engine.connect() as connection:
        lot = await lot_of(connection, tender, "1")
        assert isinstance(lot, Lot)
        return await lot_matches(connection, lot, PARENTS, limit)


async def test_a_lots_members_are_ranked_as_computed_by_hand(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    world = World()
    apply(engine, [world.log.events])
    give_marks(engine, world.a, world.c, world.buyer)

    found = await _matches(async_engine, world.leeds)
    # The lot: 45214000-0, £80,000.00, restricted to Leeds (TLE42).
    # Ash:   cpv 24 (class 4521) + region 16 (TLE4, Leeds's parent) + mark 15
    #        + capacity floor(10 x 5,000,000 / 8,000,000) = 6 + track 3x1 + 2x1 = 5
    #        + listings 1                                                    = 67
    # Birch: cpv 40 (the same code) + region 20 + no mark 0 + 0 + 0 + 0       = 60
    # Cedar: cpv 8 (division 45) + region 12 (TLE, above Leeds) + mark 15
    #        + capacity 10 (10,000,000 >= 8,000,000) + track 3x3 = 9
    #        + listings 2 (the withdrawn one not counted)                    = 56
    # Dale and Elm: no CPV fit, but serve Leeds: region 20                   = 20 each,
    #        tied on score, cpv and region: by name.
    ranked = [(m.rank, m.name, m.score) for m in found.members]
    assert ranked == [
        (1, "Ash", 67),
        (2, "Birch", 60),
        (3, "Cedar", 56),
        (4, "Dale", 20),
        (5, "Elm", 20),
    ]
    ash = found.members[0].parts
    assert [
        (p.points, p.max)
        for p in (ash.cpv, ash.region, ash.mark, ash.capacity, ash.track_record, ash.listings)
    ] == [(24, 40), (16, 20), (15, 15), (6, 10), (5, 10), (1, 5)]
    assert ash.cpv.detail == "same class (4521) as 45214000-0"
    assert ash.region.detail == "serves TLE4, the parent of TLE42"
    assert ash.capacity.detail == "capacity £50,000.00 of £80,000.00"
    assert ash.track_record.detail == "contracts in division 45: 1 won, 1 completed"
    assert found.members[1].parts.cpv.detail == "the same code as 45214000-0"
    assert found.members[2].parts.region.detail == "serves TLE, a region above TLE42"
    assert found.members[3].parts.cpv.detail == "no CPV code in common"
    # Fir matches on CPV but serves none of Leeds; Gorse is suspended; Holly was never
    # admitted and the buyer is never its own candidate: neither is counted.
    assert (found.excluded.total, found.excluded.not_in_good_standing) == (2, 1)
    assert (found.excluded.no_quality_mark, found.excluded.outside_regions) == (0, 1)
    named = {m.organisation_id for m in found.members}
    assert not named & {world.f, world.g, world.h, world.buyer}

    top = await _matches(async_engine, world.leeds, limit=2)
    assert [m.name for m in top.members] == ["Ash", "Birch"]
    assert top.excluded == found.excluded

    # Open anywhere, the mark required, value 0: Ash 24 + 20 + 15 + 10 (some capacity) + 5 + 1
    # = 75; Cedar 8 + 20 + 15 + 10 + 9 + 2 = 64. Birch, Fir and Gorse hold no mark; Gorse is
    # suspended too (counted under both reasons, once in the total).
    marked = await _matches(async_engine, world.marked)
    assert [(m.name, m.score) for m in marked.members] == [("Ash", 75), ("Cedar", 64)]
    assert marked.excluded.total == 3
    assert (marked.excluded.not_in_good_standing, marked.excluded.no_quality_mark) == (1, 3)
    assert marked.excluded.outside_regions == 0
    # A draft's lot is matched too (its buyer previews it). Open anywhere, no mark required:
    # Ash 75, Cedar 64; Birch and Fir 40 + 20 = 60 each, tied on cpv and region: by name.
    draft = await _matches(async_engine, world.draft)
    assert [(m.name, m.score) for m in draft.members] == [
        ("Ash", 75),
        ("Cedar", 64),
        ("Birch", 60),
        ("Fir", 60),
    ]


async def test_a_member_losing_good_standing_drops_out_at_once(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    world = World()
    apply(engine, [world.log.events])
    give_marks(engine, world.a, world.c)
    more = Log()
    more.positions = dict(world.log.positions)
    more.versions = dict(world.log.versions)
    more.member(world.b, "Organisation.Suspended", reason="dues")
    apply(engine, [more.events])
    found = await _matches(async_engine, world.leeds)
    assert "Birch" not in [m.name for m in found.members]
    assert (found.excluded.total, found.excluded.not_in_good_standing) == (3, 2)
    async with async_engine.connect() as connection:
        suspended = await recommended_lots(connection, world.b, PARENTS, NOW, 20)
    assert (suspended.standing, suspended.items) == ("not in good standing", [])

    more.events.clear()
    more.member(world.b, "Organisation.Reinstated", status="current")
    apply(engine, [more.events])
    back = await _matches(async_engine, world.leeds)
    assert [m.name for m in back.members][:2] == ["Ash", "Birch"]
    assert back.excluded.not_in_good_standing == 1


async def test_a_members_recommended_open_lots(engine: Engine, async_engine: AsyncEngine) -> None:
    world = World()
    closed = world.log.tender(world.d, terms([("1", ["45214000-0"], 0)], regions=[]))
    world.log.market(closed, "Tender.Ended", status="cancelled", reason="no budget")
    own = world.log.tender(world.b, terms([("1", ["45214000-0"], 0)], regions=[]))
    apply(engine, [world.log.events])
    give_marks(engine, world.a)
    async with async_engine.connect() as connection:
        birch = await recommended_lots(connection, world.b, PARENTS, NOW, 20)
        ash = await recommended_lots(connection, world.a, PARENTS, NOW, 20)
        fir = await recommended_lots(connection, world.f, PARENTS, NOW, 20)
        late = await recommended_lots(connection, world.a, PARENTS, NOW + timedelta(days=30), 20)
        holly = await recommended_lots(connection, world.h, PARENTS, NOW, 20)
    # Birch (no mark): the Leeds lot only: cpv 40 + region 20 = 60. Not the lot requiring the
    # mark, not the draft, not the cancelled tender, never its own tender.
    assert birch.standing == "in good standing"
    assert [(i.tender_id, i.score) for i in birch.items] == [(world.leeds, 60)]
    assert birch.items[0].buyer_name == "Council"
    assert own not in {i.tender_id for i in birch.items}
    # Ash (marked): the mark's lot and Birch's, open anywhere, 24 + 20 + 15 + 10 + 5 + 1 = 75
    # each (tied to the deadline: by tender id), then Leeds 67, the scores the buyer sees.
    assert [(i.tender_id, i.score) for i in ash.items] == [
        *sorted([(world.marked, 75), (own, 75)]),
        (world.leeds, 67),
    ]
    assert ash.items[2].parts.region.detail == "serves TLE4, the parent of TLE42"
    # Fir serves no Leeds region and holds no mark: only Birch's tender, open anywhere, 40 + 20.
    assert [(i.tender_id, i.score) for i in fir.items] == [(own, 60)]
    assert late.items == []  # past the deadline
    assert (holly.standing, holly.items) == ("not a member", [])


async def test_a_member_with_regions_and_no_code_gets_the_lots_of_its_regions(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    """Only regions to look for (a member that names no CPV code, as a buyer admitted as a
    member may): the region rows come first in the read's union, and still name its parts."""
    log = Log()
    buyer = log.org("Council", [], ["TLE"], None)
    member = log.org("Regional only", [], ["TLE42"], "current")
    leeds = log.tender(buyer, terms([("1", ["45214000-0"], 0)], regions=["TLE42"]))
    apply(engine, [log.events])
    async with async_engine.connect() as connection:
        found = await recommended_lots(connection, member, PARENTS, NOW, 20)
    # cpv 0 + region 20 (the region itself) + capacity 0 (no listing; V = 0) = 20.
    assert [(i.tender_id, i.score) for i in found.items] == [(leeds, 20)]
    assert found.items[0].parts.cpv.points == 0
    assert found.items[0].parts.region.points == 20


async def test_a_rebuild_gives_the_same_rows_and_no_event_stops_the_projection(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    world = World()
    log = world.log
    # Odd events: a listing with no codes and one with junk details, a contract naming no
    # parties and one naming no lot we know, a tender with odd terms, a lot decided twice and
    # one never drafted, a status event without a status, a profile without codes.
    log.listing(world.d, [], 1_000)
    junk = uuid.uuid4()
    log.market(junk, "ServiceListing.Published", organisation_id=world.d, details={"x": 1})
    log.market(junk, "ServiceListing.Withdrawn")
    log.contract(world.leeds, world.buyer, [], completed=True)
    log.contract(uuid.uuid4(), world.buyer, [world.d], completed=True)
    odd = uuid.uuid4()
    log.market(odd, "Tender.Drafted", buyer_id=world.buyer, terms={"title": "x", "lots": []})
    log.market(odd, "Tender.Published", status="active")
    log.market(world.leeds, "Tender.Amended", terms={"lots": "none"}, changed=[], rationale="")
    log.market(world.leeds, "Tender.Published", status="nonsense")
    odd_lots = terms([("x" * 60, ["bad-code", "45214000-0"], 5)], regions=["TLE42", "ZZZ\x00"])
    odd_lots["lots"].append(odd_lots["lots"][0] | {"id": "2", "cpv_codes": ["\ud800"]})
    strange = log.tender(world.buyer, odd_lots)
    log.market(strange, "Tender.LotDecided", lot_id="nope", outcome="awarded")
    log.market(strange, "Tender.LotDecided", lot_id="2", outcome="awarded")
    log.member(world.e, "Organisation.StandingChanged")
    log.member(world.e, "Organisation.ProfileUpdated", name="Elm Ltd")
    log.member(uuid.uuid4(), "Organisation.Suspended", reason="never registered")
    events = log.events

    built = rebuild(engine, [events[:17], events[17:40], events[40:]])
    assert rebuild(engine, [events]) == built
    assert rebuild(engine, [[e] for e in events]) == built

    with engine.connect() as connection:
        lots = {(r.tender_id, r.lot_id): r for r in connection.execute(select(match_lots))}
        names = dict(
            connection.execute(select(match_members.c.organisation_id, match_members.c.name)).all()
        )
        dale = connection.execute(
            select(match_member_divisions).where(
                match_member_divisions.c.organisation_id == world.d
            )
        ).all()
    assert lots[(world.leeds, "1")].status == "active"
    assert odd not in {t for t, _ in lots}
    # The strange tender's one storable lot, decided: every lot decided, so complete.
    assert {k[1] for k in lots if k[0] == strange} == {"2"}
    assert lots[(strange, "2")].status == "complete"
    assert names[world.e] == "Elm Ltd"
    assert dale == []  # no codes, no known lot: no division figures
    give_marks(engine, world.a, world.c)
    found = await _matches(async_engine, world.leeds)
    assert [m.name for m in found.members][:3] == ["Ash", "Birch", "Cedar"]


class Outside:
    """World's members and tenders, and outside opportunities beside them."""

    def __init__(self) -> None:
        self.world = world = World()
        log = self.log = world.log
        road = "45214000-0"
        # Restricted to Leeds, like world.leeds, but worth £40,000.00, later deadline, VCSE.
        self.leeds = log.outside(
            "ocds-b5fd17-leeds",
            title="Leeds roads (outside)",
            cpv_codes=[road],
            regions=["TLE42"],
            amount="40000.00",
            currency="GBP",
            vcse=True,
        )
        # A postcode only: no place read as a region. No value published.
        self.unread = log.outside(
            "ocds-b5fd17-postcode", cpv_codes=[road], unresolved_regions=["LS1 4AP"]
        )
        # No place at all: open anywhere; a fractional value (12.345 -> 1,235 minor units).
        self.anywhere = log.outside(
            "ocds-b5fd17-anywhere", cpv_codes=["45000000-7"], amount="12.345", currency="GBP",
            vcse=False, buyer_name=None,
        )  # fmt: skip
        # A region read and a postcode not: restricted to the region read (TLC3).
        self.mixed = log.outside(
            "ocds-b5fd17-mixed", cpv_codes=[road], regions=["TLC3"], unresolved_regions=["NE1 1AA"]
        )
        # Never open: complete, past its deadline, no deadline.
        self.complete = log.outside("ocds-b5fd17-complete", cpv_codes=[road], status="complete")
        self.past = log.outside(
            "ocds-b5fd17-past", cpv_codes=[road], deadline="2026-03-01T12:00:00+00:00"
        )
        self.undated = log.outside("ocds-b5fd17-undated", cpv_codes=[road], deadline=None)
        # In planning, then a later release makes it active (merged).
        self.planned = log.outside("ocds-b5fd17-planned", cpv_codes=[road], status="planning")


async def _recommended(
    async_engine: AsyncEngine, org: uuid.UUID, now: datetime = NOW
) -> Recommendations:
    async with async_engine.connect() as connection:
        return await recommended_lots(connection, org, PARENTS, now, 20)


async def test_outside_opportunities_are_recommended_by_the_same_formula(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    scene = Outside()
    world = scene.world
    apply(engine, [world.log.events])
    give_marks(engine, world.a, world.c)

    ash = await _recommended(async_engine, world.a)
    # Ash (marked; listing 45000000-7 of £50,000.00 capacity; 1 won, 1 completed; serves TLE4):
    # anywhere: the same code 40 + open anywhere 20 + 15 + capacity 10 (5,000,000 >= 1,235)
    #           + 5 + 1                                                              = 91
    # the mark's tender 75 and world.leeds 67, as the buyer sees them;
    # outside Leeds: class 4521 24 + TLE4, Leeds's parent, 16 + 15
    #           + floor(10 x min(5,000,000, 4,000,000) / 4,000,000) = 10 + 5 + 1      = 71
    # the postcode: 24 + region 0 (no place read) + 15 + 10 (no value: V = 0, c > 0) + 5 + 1
    #                                                                                 = 55
    # The mixed one is restricted to TLC3: Ash is outside it. None of the never-open ones.
    assert [(i.tender_id, i.score) for i in ash.items] == [
        (scene.anywhere, 91),
        (world.marked, 75),
        (scene.leeds, 71),
        (world.leeds, 67),
        (scene.unread, 55),
    ]
    by_id = {i.tender_id: i for i in ash.items}
    leeds, unread, anywhere = by_id[scene.leeds], by_id[scene.unread], by_id[scene.anywhere]
    assert (leeds.source, leeds.lot_id, leeds.buyer_id) == ("Contracts Finder", "opportunity", None)
    assert leeds.url == "https://www.contractsfinder.service.gov.uk/Notice/ocds-b5fd17-leeds"
    assert (leeds.ocid, leeds.vcse) == ("ocds-b5fd17-leeds", True)
    assert (leeds.tender_title, leeds.buyer_name) == ("Leeds roads (outside)", "Leeds City Council")
    assert leeds.deadline == datetime(2026, 4, 10, 12, tzinfo=UTC)
    assert leeds.parts.capacity.detail == "capacity £50,000.00 of £40,000.00"
    assert leeds.parts.region.detail == "serves TLE4, the parent of TLE42"
    assert (unread.vcse, anywhere.vcse, anywhere.buyer_name) == (None, False, None)
    assert unread.parts.region.points == 0
    assert unread.parts.region.detail == (
        "no place it names was read as a region (LS1 4AP): not scored"
    )
    assert unread.parts.capacity.detail == "no value published: any capacity counts (£50,000.00)"
    assert anywhere.parts.capacity.detail == "capacity £50,000.00 of £12.35"
    assert anywhere.parts.region.detail == "the tender is open to suppliers anywhere"
    tradehall = by_id[world.leeds]
    assert (tradehall.source, tradehall.url, tradehall.ocid, tradehall.vcse) == (
        "tradehall",
        None,
        None,
        None,
    )
    assert tradehall.buyer_id == world.buyer

    # Birch (no mark, no listing; 45214000-0 in TLE42): world.leeds 60 and the outside Leeds
    # 60 (tied to the deadline: ours first), the postcode 40 + 0 (no capacity: no value and
    # none of its own), anywhere division 8 + 20 = 28. Outside the mixed one's TLC3.
    birch = await _recommended(async_engine, world.b)
    assert [(i.tender_id, i.score) for i in birch.items] == [
        (world.leeds, 60),
        (scene.leeds, 60),
        (scene.unread, 40),
        (scene.anywhere, 28),
    ]
    postcode = next(i for i in birch.items if i.tender_id == scene.unread)
    assert postcode.parts.capacity.detail == (
        "no value published, and no capacity in the lot's CPV divisions"
    )
    # Fir serves TLC3: the mixed one (40 + 20), the postcode (not excluded), anywhere.
    fir = await _recommended(async_engine, world.f)
    assert [(i.tender_id, i.score) for i in fir.items] == [
        (scene.mixed, 60),
        (scene.unread, 40),
        (scene.anywhere, 28),
    ]
    # Dale has no CPV fit: only what is restricted to a region it serves, ours and outside;
    # never the postcode one (no CPV fit, and no region read to match).
    dale = await _recommended(async_engine, world.d)
    assert [(i.tender_id, i.score) for i in dale.items] == [(world.leeds, 20), (scene.leeds, 20)]
    # Past the outside Leeds deadline (10 April) it is not open: gone.
    late = await _recommended(async_engine, world.b, datetime(2026, 4, 5, tzinfo=UTC))
    assert [i.tender_id for i in late.items] == [scene.leeds, scene.unread, scene.anywhere]
    assert await _recommended(async_engine, world.b, datetime(2026, 4, 11, tzinfo=UTC)) == (
        Recommendations("in good standing", [])
    )

    # An outside opportunity is nobody's tender: no buyer's lot, whoever asks.
    async with async_engine.connect() as connection:
        assert await lot_of(connection, scene.leeds, OUTSIDE_LOT_ID) is None
    # Only what may be open is kept: what is not active, or has no deadline, has no rows.
    with engine.connect() as connection:
        stored = {r.tender_id: r for r in connection.execute(select(match_lots))}
        prefixes = set(connection.execute(select(match_lot_prefixes.c.tender_id)).scalars())
        regions = set(connection.execute(select(match_tender_regions.c.tender_id)).scalars())
    for never in (scene.complete, scene.undated, scene.planned):
        assert never not in stored
        assert never not in prefixes
    # Active with a deadline: kept (the clock, not an event, closes it), never recommended.
    assert stored[scene.past].deadline == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert stored[scene.unread].restricted
    assert scene.unread not in regions
    assert (stored[scene.unread].value_minor, stored[scene.unread].currency) == (0, "")
    assert stored[scene.anywhere].value_minor == 1_235
    assert stored[scene.leeds].buyer_id == OUTSIDE_BUYER


async def test_an_outside_opportunity_follows_its_later_releases(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    scene = Outside()
    world, log = scene.world, scene.log
    apply(engine, [log.events])
    start = len(log.events)
    # The planned one becomes active; the outside Leeds one is cancelled.
    log.outside("ocds-b5fd17-planned", "Opportunity.ReleaseMerged", cpv_codes=["45214000-0"])
    log.outside(
        "ocds-b5fd17-leeds", "Opportunity.ReleaseMerged", status="cancelled", regions=["TLE42"]
    )
    apply(engine, [log.events[start:]])
    birch = await _recommended(async_engine, world.b)
    # The planned one, open anywhere now: 40 + 20 = 60; tied with world.leeds, whose deadline
    # (1 April) is earlier.
    assert [(i.tender_id, i.score) for i in birch.items] == [
        (world.leeds, 60),
        (scene.planned, 60),
        (scene.unread, 40),
        (scene.anywhere, 28),
    ]
    # Shown only with the opportunities projection's row (where it came from, the notice): an
    # opportunity matching has folded while that row is missing waits for it.
    start = len(log.events)
    late = log.outside("ocds-b5fd17-late", cpv_codes=["45214000-0"])
    apply(engine, [log.events[start:]], opportunities=False)
    assert late not in {i.tender_id for i in (await _recommended(async_engine, world.b)).items}
    with engine.begin() as connection:
        OpportunitiesProjection().apply(connection, log.events[start:])
    assert late in {i.tender_id for i in (await _recommended(async_engine, world.b)).items}


async def test_outside_opportunities_rebuild_alike_and_no_odd_one_stops_the_projection(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    scene = Outside()
    world, log = scene.world, scene.log
    road = "45214000-0"
    log.outside("ocds-b5fd17-planned", "Opportunity.ReleaseMerged", cpv_codes=[road])
    # Odd summaries: not a summary at all, none, a region that is not text, a deadline with
    # no zone, no status; amounts that are no amount, negative, beyond the cap or beyond
    # any; an amount without a currency; text a store cannot hold as it is, codes that are
    # not CPV codes, a region that is not ITL; a merge of an ocid never imported; a junk
    # merge after a good one (the opportunity keeps what it had).
    junk = opportunity_id_for("ocds-b5fd17-junk")
    log.market(junk, "Opportunity.Imported", ocid="x", source="x", release_key="k", release="{}",
               summary={"title": 5})  # fmt: skip
    log.market(junk, "Opportunity.ReleaseMerged", release_key="k2", release="{}")
    listed = log.outside("ocds-b5fd17-listed", cpv_codes=[road], regions=[["TLE42"]])
    naive = log.outside("ocds-b5fd17-naive", cpv_codes=[road], deadline="2026-04-10T12:00:00")
    unsaid = log.outside("ocds-b5fd17-unsaid", cpv_codes=[road], status=None)
    amounts = {
        "NaN": log.outside("ocds-b5fd17-nan", cpv_codes=[road], amount="NaN", currency="GBP"),
        "-5": log.outside("ocds-b5fd17-negative", cpv_codes=[road], amount="-5", currency="GBP"),
        "1e20": log.outside("ocds-b5fd17-huge", cpv_codes=[road], amount="1e20", currency="GBP"),
        "1e999": log.outside("ocds-b5fd17-vast", cpv_codes=[road], amount="1e999", currency="GBP"),
        "5": log.outside("ocds-b5fd17-nocurrency", cpv_codes=[road], amount="5"),
    }
    strange = log.outside(
        "ocds-b5fd17-strange",
        title="Nul\x00 and \ud800" + "x" * 400,
        cpv_codes=["bad-code", "\ud800", road],
        regions=["ZZZ\x00", "TLE42"],
    )
    orphan = log.outside("ocds-b5fd17-orphan", "Opportunity.ReleaseMerged", cpv_codes=[road])
    kept = log.outside("ocds-b5fd17-kept", cpv_codes=[road])
    log.market(kept, "Opportunity.ReleaseMerged", release_key="k3", release="{}",
               summary={"title": "x", "status": "cancelled"})  # fmt: skip
    events = log.events

    built = rebuild(engine, [events[:20], events[20:45], events[45:]])
    assert rebuild(engine, [events]) == built
    assert rebuild(engine, [[e] for e in events]) == built

    with engine.connect() as connection:
        lots = {r.tender_id: r for r in connection.execute(select(match_lots))}
        regions: dict[uuid.UUID, set[str]] = {}
        for tender_id, region in connection.execute(select(match_tender_regions)):
            regions.setdefault(tender_id, set()).add(region)
    for left_out in (junk, listed, naive, unsaid):
        assert left_out not in lots
    values = {amount: (lots[o].value_minor, lots[o].currency) for amount, o in amounts.items()}
    assert values == {
        "NaN": (0, ""),
        "-5": (0, ""),
        "1e20": (10**17, "GBP"),  # capped, as a tender's (ADR 29)
        "1e999": (0, ""),
        "5": (0, ""),
    }
    assert lots[scene.planned].status == "active"
    assert lots[orphan].deadline == datetime(2026, 4, 10, 12, tzinfo=UTC)
    assert lots[kept].status == "active"  # the junk merge left out
    assert len(lots[strange].tender_title) <= 200
    assert "TLE42" in regions[strange]

    # The whole scene through both projections: the odd ones harm no read.
    with engine.begin() as connection:
        OpportunitiesProjection().apply(connection, [e for e in events if e.log == "marketplace"])
    give_marks(engine, world.a, world.c)
    birch = await _recommended(async_engine, world.b)
    found = {i.tender_id: i for i in birch.items}
    assert (found[strange].score, found[kept].score, found[scene.planned].score) == (60, 60, 60)
    assert found[amounts["1e20"]].parts.capacity.points == 0  # no capacity of its own
    assert orphan not in found  # no opportunities' row: its import never came
    matches = await _matches(async_engine, world.leeds)
    assert [m.name for m in matches.members][:3] == ["Ash", "Birch", "Cedar"]
