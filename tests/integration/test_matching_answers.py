"""Matching's two reads give the formula's answers on a seeded, varied set, on both stores.

The matching tables are written directly (a seeded set: members with codes at every CPV level,
regions at every ITL level, division figures, marks in several statuses, ties on name; lots
restricted or not, with and without a mark required, of value 0 or not, open or not). Every
lot's matches and many members' recommendations are then compared, whole (members, order,
scores, each part with its detail, the excluded counts), with the formula worked out here in
Python from every row the tables hold (other tests' rows too: the database is shared), so any
change to how the queries find, cut or rank candidates must keep the answers.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.matching_query import (
    Excluded,
    Lot,
    LotMatches,
    MemberMatch,
    Recommendation,
    Recommendations,
    _Facts,
    lot_matches,
    lot_of,
    recommended_lots,
)
from projections.matching_score import (
    CPV_POINTS_A_LEVEL,
    MARK_POINTS,
    PREFIX_LEVELS,
    REGION_SAME,
    capacity_points,
    cpv_detail,
    divisions_of,
    listing_points,
    member_region_points,
    prefixes_of,
    region_detail,
    tender_region_points,
    track_points,
)
from projections.matching_tables import (
    OUTSIDE_BUYER,
    match_lot_prefixes,
    match_lots,
    match_member_divisions,
    match_member_prefixes,
    match_member_regions,
    match_members,
    match_tender_regions,
)
from projections.opportunity_tables import outside_opportunities
from projections.tables import quality_marks
from sharedkernel.reference import cpv_codes, itl_regions

PARENTS = {code: region.parent for code, region in itl_regions().items()}
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SEED = 1919


def _codes() -> list[str]:
    """Reference codes of three divisions, so codes share divisions, groups, classes."""
    wanted = [c for c in sorted(cpv_codes()) if c[:2] in ("45", "90", "55")]
    return random.Random(SEED).sample(wanted, 40)


def _regions() -> list[str]:
    """Two ITL1 regions and everything inside them."""
    tops = ("TLC", "TLE")
    found = []
    for code in sorted(PARENTS):
        up: str | None = code
        while up is not None and up not in tops:
            up = PARENTS.get(up)
        if up is not None:
            found.append(code)
    return found


@dataclass
class Seeded:
    lots: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    members: list[uuid.UUID] = field(default_factory=list)


def seed(connection: Connection) -> Seeded:
    rng = random.Random(SEED)
    codes, regions = _codes(), _regions()
    seeded = Seeded()
    members, prefixes, served, divisions, marks = [], [], [], [], []
    for i in range(240):
        org = uuid.uuid4()  # fresh ids: the PostgreSQL database is shared by the tests
        seeded.members.append(org)
        mine = rng.sample(codes, rng.choice((0, 1, 1, 2, 3)))
        members.append(
            {
                "organisation_id": org,
                # Few names: ties on score, cpv and region go to the name, then the id.
                "name": f"Member {i % 37:02d}",
                "member": rng.random() < 0.9,
                "listed": rng.random() < 0.8,
                "profile_cpv": json.dumps(mine),
            }
        )
        prefixes += [{"organisation_id": org, "prefix": p} for p in prefixes_of(mine)]
        served += [
            {"organisation_id": org, "region": r}
            for r in rng.sample(regions, rng.choice((0, 1, 1, 2, 3)))
        ]
        for division in sorted(divisions_of(mine) | {rng.choice(("45", "90", "55", "72"))}):
            if rng.random() < 0.5:
                won = rng.randint(0, 4)
                divisions.append(
                    {
                        "organisation_id": org,
                        "division": division,
                        "listings": rng.randint(0, 7),
                        "capacity_minor": rng.choice((0, 50_000, 5_000_000, 10**9)),
                        "won": won,
                        "delivered": rng.randint(0, won),
                    }
                )
        if rng.random() < 0.35:
            marks.append(_mark(org, i, rng.choice(("valid", "valid", "suspended", "expired"))))
    lots, lot_prefixes, tender_regions = [], [], []
    for t in range(30):
        tender = uuid.uuid4()
        named = rng.sample(regions, rng.choice((0, 0, 1, 2)))
        tender_regions += [{"tender_id": tender, "region": r} for r in named]
        status = rng.choice(("active", "active", "active", "draft", "complete"))
        deadline = NOW + timedelta(days=rng.choice((-3, 5, 10, 10, 20)))
        buyer = rng.choice(seeded.members) if rng.random() < 0.3 else uuid.uuid4()
        required = rng.random() < 0.3
        for lot_id in [str(n) for n in range(1, rng.randint(1, 3) + 1)]:
            stated = rng.sample(codes, rng.choice((0, 1, 1, 2)))
            seeded.lots.append((tender, lot_id))
            lots.append(
                {
                    "tender_id": tender,
                    "lot_id": lot_id,
                    "buyer_id": buyer,
                    "tender_title": f"Tender {t}",
                    "lot_title": f"Lot {lot_id}",
                    "status": status,
                    "outcome": None,
                    "deadline": deadline,
                    "value_minor": rng.choice((0, 100_000, 8_000_000)),
                    "currency": "GBP",
                    "quality_mark_required": required,
                    "members_only": False,
                    "restricted": bool(named),
                    "cpv_codes": json.dumps(stated),
                }
            )
            lot_prefixes += [
                {"tender_id": tender, "lot_id": lot_id, "prefix": p} for p in prefixes_of(stated)
            ]
    for table, rows in (
        (match_members, members),
        (match_member_prefixes, prefixes),
        (match_member_regions, served),
        (match_member_divisions, divisions),
        (quality_marks, marks),
        (match_lots, lots),
        (match_lot_prefixes, lot_prefixes),
        (match_tender_regions, tender_regions),
    ):
        if rows:
            connection.execute(insert(table), rows)
    return seeded


def _mark(org: uuid.UUID, i: int, status: str) -> dict[str, Any]:
    return {
        "mark_id": uuid.uuid4(),
        "organisation_id": org,
        "certificate_number": f"TQM-T{uuid.uuid4().hex[:11].upper()}-{i}",
        "status": status,
        "valid_from": NOW - timedelta(days=100),
        "valid_until": NOW + timedelta(days=900),
        "staff_suspended": status == "suspended",
        "membership_suspended": False,
        "expired": status == "expired",
        "withdrawn": False,
        "revoked": False,
        "suspension_reason": None,
        "updated_at": NOW,
    }


# The formula, in Python, over every row the tables hold ---------------------------------


@dataclass
class Tables:
    members: dict[uuid.UUID, Any]
    prefixes: dict[uuid.UUID, set[str]]
    regions: dict[uuid.UUID, list[str]]
    divisions: dict[uuid.UUID, dict[str, tuple[int, int, int, int]]]
    marked: set[uuid.UUID]
    lots: list[Any]
    lot_prefixes: dict[tuple[uuid.UUID, str], set[str]]
    tender_regions: dict[uuid.UUID, list[str]]
    outside: dict[uuid.UUID, Any]


def read_tables(connection: Connection) -> Tables:
    tables = Tables({}, {}, {}, {}, set(), [], {}, {}, {})
    for row in connection.execute(select(match_members)):
        tables.members[row.organisation_id] = row
    for org, prefix in connection.execute(select(match_member_prefixes)):
        tables.prefixes.setdefault(org, set()).add(prefix)
    for org, region in connection.execute(select(match_member_regions)):
        tables.regions.setdefault(org, []).append(region)
    for row in connection.execute(select(match_member_divisions)):
        tables.divisions.setdefault(row.organisation_id, {})[row.division] = (
            row.listings, row.capacity_minor, row.won, row.delivered
        )  # fmt: skip
    tables.marked = set(
        connection.execute(
            select(quality_marks.c.organisation_id).where(quality_marks.c.status == "valid")
        ).scalars()
    )
    tables.lots = list(connection.execute(select(match_lots)))
    for tender, lot_id, prefix in connection.execute(select(match_lot_prefixes)):
        tables.lot_prefixes.setdefault((tender, lot_id), set()).add(prefix)
    for tender, region in connection.execute(select(match_tender_regions)):
        tables.tender_regions.setdefault(tender, []).append(region)
    for row in connection.execute(select(outside_opportunities)):
        tables.outside[row.opportunity_id] = row
    return tables


def _level(mine: set[str], theirs: set[str]) -> int:
    return max((PREFIX_LEVELS[len(p)] for p in mine & theirs), default=0)


def _figures(
    divisions: dict[str, tuple[int, int, int, int]], wanted: set[str]
) -> tuple[dict[str, tuple[int, int, int, int]], int, int, int]:
    """The member's figures in the wanted divisions and its best capacity, track, listings."""
    kept = {d: f for d, f in divisions.items() if d in wanted}
    capacity = max((f[1] for f in kept.values()), default=0)
    track = max((track_points(f[2], f[3]) for f in kept.values()), default=0)
    listings = max((listing_points(f[0]) for f in kept.values()), default=0)
    return kept, capacity, track, listings


def expected_matches(tables: Tables, lot: Lot, limit: int) -> LotMatches:
    lot_prefixes, wanted = prefixes_of(lot.cpv_codes), divisions_of(lot.cpv_codes)
    points = member_region_points(lot.regions, PARENTS)
    ranked, counts = [], [0, 0, 0, 0]
    for org, member in tables.members.items():
        if not member.member or org == lot.buyer_id:
            continue
        level = _level(tables.prefixes.get(org, set()), lot_prefixes)
        raw = max((points.get(r, 0) for r in tables.regions.get(org, [])), default=0)
        if not (level or raw):
            continue
        kept, capacity, track, listings = _figures(tables.divisions.get(org, {}), wanted)
        region = raw if lot.regions else REGION_SAME
        mark = MARK_POINTS if org in tables.marked else 0
        flags = (
            not member.listed,
            lot.quality_mark_required and not mark,
            bool(lot.regions) and raw == 0,
        )
        counts = [n + int(f) for n, f in zip(counts, (any(flags), *flags), strict=True)]
        if any(flags):
            continue
        scored = SimpleNamespace(
            cpv=level * CPV_POINTS_A_LEVEL,
            region=region,
            mark=mark,
            capacity=capacity_points(capacity, lot.value_minor),
            track=track,
            listings=listings,
        )
        total = sum(vars(scored).values())
        facts = _Facts(
            cpv=cpv_detail(tables.prefixes.get(org, set()) & lot_prefixes, lot.cpv_codes)[1],
            region=region_detail(lot.regions, tables.regions.get(org, []), PARENTS)[1],
            divisions=kept,
        )
        key = (-total, -scored.cpv, -scored.region, member.name, org)
        ranked.append((key, org, member.name, total, facts.parts(scored, lot.value_minor,
                                                                 lot.currency)))  # fmt: skip
    ranked.sort(key=lambda found: found[0])
    members = [
        MemberMatch(rank=n, organisation_id=org, name=name, score=total, parts=parts)
        for n, (_, org, name, total, parts) in enumerate(ranked[:limit], start=1)
    ]
    return LotMatches(members, Excluded(*counts))


def expected_recommendations(tables: Tables, org: uuid.UUID, limit: int) -> Recommendations:
    member = tables.members.get(org)
    if member is None or not member.member:
        return Recommendations("not a member", [])
    if not member.listed:
        return Recommendations("not in good standing", [])
    mine, served = tables.prefixes.get(org, set()), tables.regions.get(org, [])
    points = tender_region_points(served, PARENTS)
    marked = org in tables.marked
    found = []
    for lot in tables.lots:
        if lot.status != "active" or lot.deadline <= NOW or lot.buyer_id == org:
            continue
        outside = lot.buyer_id == OUTSIDE_BUYER
        opportunity = tables.outside.get(lot.tender_id) if outside else None
        if outside and opportunity is None:
            continue
        named = tables.tender_regions.get(lot.tender_id, [])
        level = _level(mine, tables.lot_prefixes.get((lot.tender_id, lot.lot_id), set()))
        raw = max((points.get(r, 0) for r in named), default=0)
        if not (level or (lot.restricted and raw)):
            continue
        if lot.restricted and not raw and not (outside and not named):
            continue
        if lot.quality_mark_required and not marked:
            continue
        codes = json.loads(lot.cpv_codes)
        kept, capacity, track, listings = _figures(tables.divisions.get(org, {}), {
            p for p in tables.lot_prefixes.get((lot.tender_id, lot.lot_id), set())
            if len(p) == 2})  # fmt: skip
        scored = SimpleNamespace(
            cpv=level * CPV_POINTS_A_LEVEL,
            region=raw if lot.restricted else REGION_SAME,
            mark=MARK_POINTS if marked else 0,
            capacity=capacity_points(capacity, lot.value_minor),
            track=track,
            listings=listings,
        )
        total = sum(vars(scored).values())
        if lot.restricted and not named:
            places = ", ".join(json.loads(opportunity.unresolved_regions or "[]"))
            region = f"no place it names was read as a region ({places}): not scored"
        else:
            region = region_detail(named, served, PARENTS)[1]
        facts = _Facts(cpv=cpv_detail(mine, codes)[1], region=region, divisions=kept)
        parts = facts.parts(scored, lot.value_minor, lot.currency)
        key = (-total, -scored.cpv, -scored.region, lot.deadline, lot.tender_id, lot.lot_id)
        buyer = tables.members.get(lot.buyer_id)
        if opportunity is None:
            item = Recommendation(
                source="tradehall", tender_id=lot.tender_id, lot_id=lot.lot_id,
                tender_title=lot.tender_title, lot_title=lot.lot_title, buyer_id=lot.buyer_id,
                buyer_name=None if buyer is None else buyer.name, deadline=lot.deadline,
                score=total, parts=parts,
            )  # fmt: skip
        else:
            item = Recommendation(
                source=opportunity.source, tender_id=lot.tender_id, lot_id=lot.lot_id,
                tender_title=opportunity.title, lot_title=opportunity.title, buyer_id=None,
                buyer_name=opportunity.buyer_name, deadline=lot.deadline, score=total,
                parts=parts, url=opportunity.url, ocid=opportunity.ocid, vcse=opportunity.vcse,
            )  # fmt: skip
        found.append((key, item))
    found.sort(key=lambda pair: pair[0])
    return Recommendations("in good standing", [item for _, item in found[:limit]])


# The comparison ------------------------------------------------------------------------------


@pytest.fixture
def seeded(engine: Engine) -> Iterator[tuple[Seeded, Tables]]:
    with engine.begin() as connection:
        made = seed(connection)
    with engine.connect() as connection:
        yield made, read_tables(connection)


@pytest.mark.parametrize("limit", [3, 20])
async def test_every_lots_matches_are_the_formulas(
    seeded: tuple[Seeded, Tables], async_engine: AsyncEngine, limit: int
) -> None:
    made, tables = seeded
    compared = 0
    async with async_engine.connect() as connection:
        for tender, lot_id in made.lots:
            lot = await lot_of(connection, tender, lot_id)
            assert lot is not None
            found = await lot_matches(connection, lot, PARENTS, limit)
            assert found == expected_matches(tables, lot, limit), (tender, lot_id)
            compared += len(found.members)
    assert compared > len(made.lots)  # the set gives matches to compare, not empties


@pytest.mark.parametrize("limit", [3, 20])
async def test_members_recommendations_are_the_formulas(
    seeded: tuple[Seeded, Tables], async_engine: AsyncEngine, limit: int
) -> None:
    made, tables = seeded
    compared = 0
    async with async_engine.connect() as connection:
        for org in made.members[:120]:
            found = await recommended_lots(connection, org, PARENTS, NOW, limit)
            assert found == expected_recommendations(tables, org, limit), org
            compared += len(found.items)
    assert compared > 100
