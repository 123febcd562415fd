"""Matching's read side, on both stores: a lot's members ranked as computed by hand, with their
explanations and the excluded counted by reason; a member losing good standing drops out at
once and returns when reinstated; a member's recommended open lots; a rebuild from zero, in one
batch or a batch an event, gives the same rows as the projector's batches; and no odd event
stops the projection (ADR 16)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.events import RecordedEvent
from projections.matching import MatchingProjection
from projections.matching_query import Lot, LotMatches, lot_matches, lot_of, recommended_lots
from projections.matching_tables import match_lots, match_member_divisions, match_members
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
    yield engine
    engine.dispose()


def apply(engine: Engine, batches: list[list[RecordedEvent]]) -> None:
    """As the projector does: a batch is one log's events."""
    projection = MatchingProjection()
    for batch in batches:
        for log in ("membership", "marketplace"):
            mine = [e for e in batch if e.log == log]
            if mine:
                with engine.begin() as connection:
                    projection.apply(connection, mine)


def rebuild(engine: Engine, batches: list[list[RecordedEvent]]) -> dict[str, Any]:
    projection = MatchingProjection()
    with engine.begin() as connection:
        projection.clear(connection)
    apply(engine, batches)
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
