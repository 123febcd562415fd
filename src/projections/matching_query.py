"""Matching's two reads (ADR 29): a lot's best members, and a member's best open lots, each
scored, ranked and cut to the top N in SQL from the matching tables (projections.matching),
never by loading every member or lot. Only the top N are then explained, in Python
(projections.matching_score), from a few rows each.

The buyer's read finds its candidates through the indexes: the members sharing one of the
lot's CPV prefixes (`match_member_prefixes` by prefix), for a tender restricted to regions the
members serving a related region (`match_member_regions` by region), and their figures in the
lot's divisions (`match_member_divisions` by division); one row a member each, put together
(UNION ALL) and grouped, then joined by key. The member's read does the same from the other
side: the lots sharing one of its prefixes (`match_lot_prefixes` by prefix) or naming a related
region (`match_tender_regions` by region), grouped per lot, joined to the open lots by key.
Plain subqueries, not CTEs: PostgreSQL estimates them well (see ADR 29).

Outside opportunities (issue 16) are lots of the member's read like any other, scored by the
same SQL; what they show beyond a lot (where from, the notice's link, the ocid, the VCSE flag)
is joined by key from the opportunities projection's own row, without which one is not shown.
The buyer's read never sees them: they are nobody's tender here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property
from typing import Any, Final
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from projections.directory import codes_of
from projections.mark_query import mark_held_at
from projections.matching_score import (
    CPV_POINTS_A_LEVEL,
    MARK_POINTS,
    MAX_POINTS,
    PREFIX_LEVELS,
    REGION_SAME,
    cpv_detail,
    divisions_of,
    listing_points,
    member_region_points,
    money,
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
from projections.pages import entry_of
from projections.standing_query import listed_at
from projections.tables import quality_marks

VALID_MARK = "valid"
OPEN_STATUS = "active"
SOURCE: Final = "tradehall"


@dataclass(frozen=True)
class Part:
    points: int
    max: int
    detail: str


@dataclass(frozen=True)
class Parts:
    cpv: Part
    region: Part
    mark: Part
    capacity: Part
    track_record: Part
    listings: Part


@dataclass(frozen=True)
class MemberMatch:
    rank: int
    organisation_id: UUID
    name: str
    score: int
    parts: Parts


@dataclass(frozen=True)
class Excluded:
    total: int
    not_in_good_standing: int
    no_quality_mark: int
    outside_regions: int


@dataclass(frozen=True)
class Lot:
    tender_id: UUID
    lot_id: str
    buyer_id: UUID
    tender_title: str
    lot_title: str
    status: str
    deadline: datetime
    value_minor: int
    currency: str
    quality_mark_required: bool
    cpv_codes: list[str]
    regions: list[str]


@dataclass(frozen=True)
class LotMatches:
    members: list[MemberMatch]
    excluded: Excluded


@dataclass(frozen=True)
class Recommendation:
    # "tradehall", or an outside opportunity's publisher (the portal it came from).
    source: str
    # A tender's id, or an outside opportunity's (its lot is OUTSIDE_LOT_ID).
    tender_id: UUID
    lot_id: str
    tender_title: str
    lot_title: str
    buyer_id: UUID | None  # None: an outside opportunity's buyer is no organisation here
    buyer_name: str | None
    deadline: datetime
    score: int
    parts: Parts
    # Outside opportunities only: the notice on the portal, the ocid, the VCSE flag (None: the
    # publisher did not say). None for our own tenders.
    url: str | None = None
    ocid: str | None = None
    vcse: bool | None = None


@dataclass(frozen=True)
class Recommendations:
    # "in good standing", "not in good standing" or "not a member".
    standing: str
    items: list[Recommendation]


def _codes(stored: str) -> list[str]:
    found = json.loads(stored)
    return [str(code) for code in found] if isinstance(found, list) else []


# The score's parts as SQL ----------------------------------------------------------------


def _level(prefix: Any) -> ColumnElement[int]:
    """The level a prefix stands for, from its length."""
    return case(
        *((func.length(prefix) == length, level) for length, level in PREFIX_LEVELS.items()),
        else_=0,
    )


def _points_of(column: Any, points: Mapping[str, int]) -> ColumnElement[int]:
    return case(points, value=column, else_=0) if points else literal(0, Integer)


def _least(a: Any, b: Any) -> ColumnElement[int]:
    return case((a < b, a), else_=b)


def _capacity(capacity: Any, value: Any) -> ColumnElement[int]:
    """floor(10 x min(c, V) / V); V = 0: 10 if c > 0 else 0 (amounts are capped when stored,
    so 10 x V fits a 64-bit integer)."""
    some = case((capacity > 0, 10), else_=0)
    return case((value == 0, some), else_=(10 * _least(capacity, value)) // value)


@dataclass(frozen=True)
class _Score:
    """A candidate's score in SQL from its raw figures (`parts`, a subquery with the level,
    track and listings columns) and the parts each read works out its own way."""

    parts: Any
    region: Any
    mark: Any
    capacity: Any

    # Each built once: the statement names one expression once, binding its constant once.
    @cached_property
    def cpv(self) -> Any:
        return self.parts.c.level * CPV_POINTS_A_LEVEL

    @cached_property
    def total(self) -> Any:
        p = self.parts.c
        return self.cpv + self.region + self.mark + self.capacity + p.track + p.listings

    def columns(self) -> list[Any]:
        """The parts and the total, labelled as `_Facts.parts` and the rankings read them."""
        return [
            self.cpv.label("cpv"),
            self.region.label("region"),
            self.mark.label("mark"),
            self.capacity.label("capacity"),
            self.parts.c.track.label("track"),
            self.parts.c.listings.label("listings"),
            self.total.label("total"),
        ]


def _track(won: Any, delivered: Any) -> ColumnElement[int]:
    return _least(3 * won + 2 * delivered, 10)


def _valid_mark(now: Any) -> ColumnElement[bool]:
    """The register's row is a valid mark: as it stands at `now` (expired from `valid_until`
    on, before the marks clock records it: projections.mark_query), or as recorded (None)."""
    return quality_marks.c.status == VALID_MARK if now is None else mark_held_at(now)


def _has_valid_mark(organisation_id: Any, now: Any) -> ColumnElement[bool]:
    return exists().where(quality_marks.c.organisation_id == organisation_id, _valid_mark(now))


# A lot's members ----------------------------------------------------------------------------


async def lot_of(connection: AsyncConnection, tender_id: UUID, lot_id: str) -> Lot | None:
    """A tender's lot as matching knows it, drafts too; None if there is no such lot (an
    outside opportunity is none)."""
    row = (
        await connection.execute(
            select(match_lots).where(
                match_lots.c.tender_id == tender_id,
                match_lots.c.lot_id == lot_id,
                match_lots.c.buyer_id != OUTSIDE_BUYER,  # an outside opportunity is no tender
            )
        )
    ).first()
    if row is None:
        return None
    regions = (
        await connection.execute(
            select(match_tender_regions.c.region)
            .where(match_tender_regions.c.tender_id == tender_id)
            .order_by(match_tender_regions.c.region)
        )
    ).scalars()
    return entry_of(Lot, row, cpv_codes=_codes(row.cpv_codes), regions=list(regions))


# Each part's raw figure, as every input's rows name them.
_PARTS = ("level", "region", "capacity", "track", "listings")


def _branch(keys: Sequence[Any], parts: Sequence[Any]) -> Select[Any]:
    """One input's rows: its keys, then each part's figure, named (a union takes its columns'
    names from its first branch, whichever input that is)."""
    named = (part.label(name) for part, name in zip(parts, _PARTS, strict=True))
    return select(*keys, *named)


def _grouped(found: Sequence[Select[Any]], keys: Sequence[str]) -> Any | None:
    """The inputs' rows put together and grouped by `keys`, each part's best (MAX); None if
    there was nothing to look for."""
    if not found:
        return None
    rows = union_all(*found).subquery("rows")
    by = [rows.c[key] for key in keys]
    best = (func.max(rows.c[part]).label(part) for part in _PARTS)
    return select(*by, *best).group_by(*by).subquery("parts")


def _member_parts(lot: Lot, parents: Mapping[str, str | None]) -> Any | None:
    """Per candidate member, each part's raw figure (the CPV level, the region points, the
    division figures), one row a member: the rows each input table holds for the lot's
    prefixes, regions and divisions (found by index), put together and grouped. None if the lot
    gives nothing to look for."""
    mp, mr, md = match_member_prefixes, match_member_regions, match_member_divisions
    zero, big_zero = literal(0, Integer), literal(0, BigInteger)
    prefixes, divisions = prefixes_of(lot.cpv_codes), divisions_of(lot.cpv_codes)
    region_points = member_region_points(lot.regions, parents)
    found = []
    if prefixes:
        found.append(
            _branch([mp.c.organisation_id], [_level(mp.c.prefix), zero, big_zero, zero, zero])
            .where(mp.c.prefix.in_(prefixes))
        )  # fmt: skip
    if region_points:
        found.append(
            _branch(
                [mr.c.organisation_id],
                [zero, _points_of(mr.c.region, region_points), big_zero, zero, zero],
            ).where(mr.c.region.in_(region_points))
        )
    if divisions:
        found.append(
            _branch(
                [md.c.organisation_id],
                [
                    zero,
                    zero,
                    md.c.capacity_minor,
                    _track(md.c.won, md.c.delivered),
                    _least(md.c.listings, 5),
                ],
            ).where(md.c.division.in_(divisions))
        )
    return _grouped(found, ["organisation_id"])


async def lot_matches(
    connection: AsyncConnection,
    lot: Lot,
    parents: Mapping[str, str | None],
    limit: int,
    now: datetime | None = None,
) -> LotMatches:
    """The lot's best `limit` members, scored and explained, and the excluded counted; a
    member's good standing and mark as they stand at `now` (None: as recorded)."""
    parts = _member_parts(lot, parents)
    if parts is None:  # no code and no region: nobody can match
        return LotMatches([], Excluded(0, 0, 0, 0))
    mm, qm = match_members, quality_marks
    region_part = parts.c.region if lot.regions else literal(REGION_SAME)
    marked = qm.c.organisation_id.is_not(None)
    score = _Score(
        parts,
        region=region_part,
        mark=case((marked, MARK_POINTS), else_=0),
        capacity=_capacity(parts.c.capacity, literal(lot.value_minor)),
    )
    no_mark = and_(true() if lot.quality_mark_required else false(), ~marked)
    outside = region_part == 0 if lot.regions else false()
    scored = (
        select(
            mm.c.organisation_id,
            mm.c.name,
            *score.columns(),
            case((listed_at(mm, now), 0), else_=1).label("not_listed"),
            case((no_mark, 1), else_=0).label("no_mark"),
            case((outside, 1), else_=0).label("outside"),
        )
        .select_from(
            parts.join(mm, mm.c.organisation_id == parts.c.organisation_id).outerjoin(
                qm, and_(qm.c.organisation_id == mm.c.organisation_id, _valid_mark(now))
            )
        )
        .where(
            mm.c.member.is_(True),
            mm.c.organisation_id != lot.buyer_id,
            # Matches: a CPV prefix in common, or a region of a restricted tender.
            or_(parts.c.level > 0, parts.c.region > 0),
        )
        .subquery("scored")
    )
    excluded = case(
        (or_(scored.c.not_listed == 1, scored.c.no_mark == 1, scored.c.outside == 1), 1),
        else_=0,
    )
    # One pass: the excluded sort last and are counted over every candidate (window sums,
    # taken before the LIMIT); the caller drops any that reach the top N.
    found = (
        await connection.execute(
            select(
                scored,
                excluded.label("excluded"),
                func.sum(excluded).over().label("excluded_total"),
                func.sum(scored.c.not_listed).over().label("not_listed_total"),
                func.sum(scored.c.no_mark).over().label("no_mark_total"),
                func.sum(scored.c.outside).over().label("outside_total"),
            )
            .order_by(
                excluded,
                scored.c.total.desc(),
                scored.c.cpv.desc(),
                scored.c.region.desc(),
                scored.c.name,
                scored.c.organisation_id,
            )
            .limit(limit)
        )
    ).all()
    counts = Excluded(0, 0, 0, 0)
    if found:
        first = found[0]
        counts = Excluded(
            int(first.excluded_total),
            int(first.not_listed_total),
            int(first.no_mark_total),
            int(first.outside_total),
        )
    ranked = [row for row in found if not row.excluded]
    explained = await _explain_members(
        connection, lot, parents, [r.organisation_id for r in ranked]
    )
    members = [
        MemberMatch(
            rank=rank,
            organisation_id=row.organisation_id,
            name=row.name,
            score=int(row.total),
            parts=explained[row.organisation_id].parts(row, lot.value_minor, lot.currency),
        )
        for rank, row in enumerate(ranked, start=1)
    ]
    return LotMatches(members, counts)


def _capacity_detail(capacity: int, value: int, currency: str) -> str:
    if not currency:  # an outside opportunity publishing no value: scored as V = 0
        if capacity > 0:
            return f"no value published: any capacity counts ({money(capacity, 'GBP')})"
        return "no value published, and no capacity in the lot's CPV divisions"
    return f"capacity {money(capacity, currency)} of {money(value, currency)}"


@dataclass
class _Facts:
    """What explains one member's score against one lot."""

    cpv: str
    region: str
    divisions: dict[str, tuple[int, int, int, int]]  # listings, capacity, won, delivered

    def parts(self, scored: Any, value: int, currency: str) -> Parts:
        mark = int(scored.mark)
        capacity = max((d[1] for d in self.divisions.values()), default=0)
        return Parts(
            cpv=Part(int(scored.cpv), MAX_POINTS["cpv"], self.cpv),
            region=Part(int(scored.region), MAX_POINTS["region"], self.region),
            mark=Part(
                mark,
                MAX_POINTS["mark"],
                "holds a valid quality mark" if mark else "no valid quality mark",
            ),
            capacity=Part(
                int(scored.capacity),
                MAX_POINTS["capacity"],
                _capacity_detail(capacity, value, currency),
            ),
            track_record=Part(int(scored.track), MAX_POINTS["track_record"], self._track()),
            listings=Part(int(scored.listings), MAX_POINTS["listings"], self._listings()),
        )

    def _track(self) -> str:
        if not self.divisions:
            return "no contract in the lot's CPV divisions"
        name, (_, _, won, delivered) = max(
            sorted(self.divisions.items()), key=lambda d: track_points(d[1][2], d[1][3])
        )
        return f"contracts in division {name}: {won} won, {delivered} completed"

    def _listings(self) -> str:
        if not self.divisions:
            return "no published listing in the lot's CPV divisions"
        name, figures = max(sorted(self.divisions.items()), key=lambda d: listing_points(d[1][0]))
        return f"published listings in division {name}: {figures[0]}"


async def _explain_members(
    connection: AsyncConnection,
    lot: Lot,
    parents: Mapping[str, str | None],
    ids: Sequence[UUID],
) -> dict[UUID, _Facts]:
    prefixes: dict[UUID, list[str]] = {o: [] for o in ids}
    regions: dict[UUID, list[str]] = {o: [] for o in ids}
    divisions: dict[UUID, dict[str, tuple[int, int, int, int]]] = {o: {} for o in ids}
    if ids:
        mp, mr, md = match_member_prefixes, match_member_regions, match_member_divisions
        for org_id, prefix in await connection.execute(
            select(mp.c.organisation_id, mp.c.prefix).where(
                mp.c.organisation_id.in_(ids), mp.c.prefix.in_(prefixes_of(lot.cpv_codes))
            )
        ):
            prefixes[org_id].append(prefix)
        for org_id, region in await connection.execute(
            select(mr.c.organisation_id, mr.c.region).where(mr.c.organisation_id.in_(ids))
        ):
            regions[org_id].append(region)
        for row in await connection.execute(
            select(md).where(
                md.c.organisation_id.in_(ids), md.c.division.in_(divisions_of(lot.cpv_codes))
            )
        ):
            divisions[row.organisation_id][row.division] = (
                row.listings,
                row.capacity_minor,
                row.won,
                row.delivered,
            )
    return {
        o: _Facts(
            cpv=cpv_detail(prefixes[o], lot.cpv_codes)[1],
            region=region_detail(lot.regions, regions[o], parents)[1],
            divisions=divisions[o],
        )
        for o in ids
    }


# A member's open lots -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Member:
    """What a member's recommendations need of it, read in one statement."""

    member: bool
    listed: bool
    marked: bool
    prefixes: list[str]
    regions: list[str]
    divisions: dict[str, tuple[int, int, int, int]]  # listings, capacity, won, delivered


def _kind(name: str) -> Any:
    """A constant text column (inline: a bound parameter has no type in a UNION's branch)."""
    return literal_column(f"'{name}'")


def _member_statement() -> Any:
    """A member's row, prefixes, regions and division figures: one row each, a kind apiece
    (the member's row: its flags as 0 or 1 in the figures' columns)."""
    mm, mp = match_members, match_member_prefixes
    mr, md = match_member_regions, match_member_divisions
    org = bindparam("organisation_id", type_=mm.c.organisation_id.type)
    now = bindparam("now", type_=quality_marks.c.valid_until.type)
    zero: ColumnElement[int] = literal_column("0")

    def flag(condition: Any) -> ColumnElement[int]:
        return case((condition, 1), else_=0)

    return union_all(
        select(
            _kind("member"),
            _kind(""),
            flag(mm.c.member.is_(True)),
            flag(listed_at(mm, now)),
            flag(_has_valid_mark(mm.c.organisation_id, now)),
            zero,
        ).where(mm.c.organisation_id == org),
        select(_kind("prefix"), mp.c.prefix, zero, zero, zero, zero).where(
            mp.c.organisation_id == org
        ),
        select(_kind("region"), mr.c.region, zero, zero, zero, zero).where(
            mr.c.organisation_id == org
        ),
        select(
            _kind("division"),
            md.c.division,
            md.c.listings,
            md.c.capacity_minor,
            md.c.won,
            md.c.delivered,
        ).where(md.c.organisation_id == org),
    )


_MEMBER = _member_statement()


async def _member(
    connection: AsyncConnection, organisation_id: UUID, now: datetime
) -> _Member | None:
    """The member's figures; its good standing and mark as they stand at `now`."""
    flags: tuple[int, int, int] | None = None
    prefixes: list[str] = []
    regions: list[str] = []
    divisions: dict[str, tuple[int, int, int, int]] = {}
    for kind, code, a, b, c, d in await connection.execute(
        _MEMBER, {"organisation_id": organisation_id, "now": now}
    ):
        if kind == "member":
            flags = (a, b, c)
        elif kind == "prefix":
            prefixes.append(code)
        elif kind == "region":
            regions.append(code)
        else:
            divisions[code] = (int(a), int(b), int(c), int(d))
    if flags is None:
        return None
    member, listed, marked = (bool(flag) for flag in flags)
    return _Member(member, listed, marked, prefixes, regions, divisions)


# Rows given to one fixed statement at execution: (name, its columns and their types).
_PREFIXES = ("prefixes", (("prefix", String()),))
_REGION_POINTS = ("region_points", (("region", String()), ("points", Integer())))
_FIGURES = (
    "figures",
    (("division", String()), ("capacity", BigInteger()), ("track", Integer()),
     ("listings", Integer())),
)  # fmt: skip
_Bound = tuple[str, tuple[tuple[str, TypeEngine[Any]], ...]]


def _bound_rows(dialect: str, bound: _Bound) -> Any:
    """A table of rows bound at execution (`_bound_values`), so the statement is the same
    whatever their number: on PostgreSQL one array a column, unnested together; on SQLite a
    JSON array of rows, read by json_each."""
    name, columns = bound
    if dialect == "postgresql":
        arrays = (bindparam(f"{name}_{c}", type_=ARRAY(type_)) for c, type_ in columns)
        typed = (column(c, type_) for c, type_ in columns)
        return func.unnest(*arrays).table_valued(*typed).render_derived(name=name)
    rows = func.json_each(bindparam(name, type_=String())).table_valued("value").alias(name + "_j")
    return select(
        *(
            type_coerce(func.json_extract(rows.c.value, f"$[{i}]"), type_).label(c)
            for i, (c, type_) in enumerate(columns)
        )
    ).subquery(name)


def _in_bound(dialect: str, column: Any, bound: _Bound) -> ColumnElement[bool]:
    """`column` is one of the bound rows' first values. On PostgreSQL `= ANY(array)`: a custom
    plan reads the array as a constant, each value's statistics with it (a join with the
    unnested array would be estimated blind)."""
    name, columns = bound
    first, type_ = columns[0]
    if dialect == "postgresql":
        listed: ColumnElement[bool] = column == any_(
            bindparam(f"{name}_{first}", type_=ARRAY(type_))
        )
    else:
        listed = column.in_(select(_bound_rows(dialect, bound).c[first]))
    return listed


def _bound_values(dialect: str, bound: _Bound, rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    name, columns = bound
    if dialect == "postgresql":
        return {f"{name}_{c}": [row[i] for row in rows] for i, (c, _) in enumerate(columns)}
    return {name: json.dumps([list(row) for row in rows])}


def _open_lot(now: Any) -> ColumnElement[bool]:
    ml = match_lots
    return and_(
        # Inline, not a parameter: a prepared statement's generic plan then still knows how
        # few lots are open.
        ml.c.status == literal(OPEN_STATUS, literal_execute=True),
        ml.c.deadline > now,
    )


def _lot_parts(dialect: str, now: Any) -> Any:
    """Per open lot, each part's raw figure for the member whose prefixes, region points and
    division figures are bound: the lots' prefix rows and their tenders' region rows found by
    index, kept to open lots (a join by key: lots closed long ago are never grouped), put
    together and grouped."""
    lp, tr, ml = match_lot_prefixes, match_tender_regions, match_lots
    points = _bound_rows(dialect, _REGION_POINTS)
    figures = _bound_rows(dialect, _FIGURES)
    zero, big_zero = literal(0, Integer), literal(0, BigInteger)
    open_lot = _open_lot(now)
    by_prefix = lp.join(ml, and_(ml.c.tender_id == lp.c.tender_id, ml.c.lot_id == lp.c.lot_id))
    keys = [lp.c.tender_id, lp.c.lot_id]
    found = [
        _branch(keys, [_level(lp.c.prefix), zero, big_zero, zero, zero])
        .select_from(by_prefix)
        .where(_in_bound(dialect, lp.c.prefix, _PREFIXES), open_lot),
        # Each bound table filters by index first, then gives its figures by a join.
        _branch([ml.c.tender_id, ml.c.lot_id], [zero, points.c.points, big_zero, zero, zero])
        .select_from(
            tr.join(points, points.c.region == tr.c.region).join(
                ml, ml.c.tender_id == tr.c.tender_id
            )
        )
        .where(_in_bound(dialect, tr.c.region, _REGION_POINTS), open_lot),
        # The member's own figures per division: joined by the lot's division prefix.
        _branch(keys, [zero, zero, figures.c.capacity, figures.c.track, figures.c.listings])
        .select_from(by_prefix.join(figures, figures.c.division == lp.c.prefix))
        .where(_in_bound(dialect, lp.c.prefix, _FIGURES), open_lot),
    ]
    return _grouped(found, ["tender_id", "lot_id"])


def _gathered_regions(dialect: str, tender_id: Any) -> Any:
    """A tender's regions, as one value: an array (PostgreSQL) or JSON text (SQLite)."""
    tr = match_tender_regions.alias("named")
    mine = tr.c.tender_id == tender_id
    if dialect == "postgresql":
        return select(func.array_agg(tr.c.region)).where(mine).scalar_subquery()
    return select(func.json_group_array(tr.c.region)).where(mine).scalar_subquery()


@cache
def _recommended_statement(dialect: str) -> Select[Any]:
    """The member's best open lots, scored and ranked: one statement for every member, its
    figures bound (`_recommended_values`)."""
    ml = match_lots
    now = bindparam("now", type_=ml.c.deadline.type)
    organisation_id = bindparam("organisation_id", type_=match_members.c.organisation_id.type)
    parts = _lot_parts(dialect, now)
    score = _Score(
        parts,
        region=case((ml.c.restricted.is_(True), parts.c.region), else_=REGION_SAME),
        mark=bindparam("mark_points", type_=Integer()),
        capacity=_capacity(parts.c.capacity, ml.c.value_minor),
    )
    buyer = match_members.alias("buyer")
    oo, tr = outside_opportunities, match_tender_regions
    outside = ml.c.buyer_id == OUTSIDE_BUYER
    # An outside opportunity naming places of which none was read as an ITL region: nobody can
    # be said to be outside them (ADR 29, outside opportunities).
    unread = and_(outside, ~exists().where(tr.c.tender_id == ml.c.tender_id))
    conditions: list[Any] = [
        # Inline, not a parameter: a prepared statement's generic plan then still knows how
        # few lots are open.
        ml.c.status == literal(OPEN_STATUS, literal_execute=True),
        ml.c.deadline > now,
        ml.c.buyer_id != organisation_id,
        # Matches: a CPV prefix in common, or a tender restricted to regions it serves ...
        or_(parts.c.level > 0, and_(ml.c.restricted.is_(True), parts.c.region > 0)),
        # ... and is not excluded: outside the regions, or without a mark the tender requires.
        or_(ml.c.restricted.is_(False), parts.c.region > 0, unread),
        or_(bindparam("marked", type_=Boolean()), ml.c.quality_mark_required.is_(False)),
        # An outside opportunity is shown with where it came from, or not at all.
        or_(~outside, oo.c.opportunity_id.is_not(None)),
    ]
    return (
        select(
            ml.c.tender_id,
            ml.c.lot_id,
            ml.c.tender_title,
            ml.c.lot_title,
            ml.c.buyer_id,
            buyer.c.name.label("buyer_name"),
            ml.c.deadline,
            ml.c.value_minor,
            ml.c.currency,
            ml.c.cpv_codes,
            ml.c.restricted,
            oo.c.source,
            oo.c.url,
            oo.c.ocid,
            oo.c.vcse,
            oo.c.title.label("outside_title"),
            oo.c.buyer_name.label("outside_buyer_name"),
            oo.c.unresolved_regions,
            *score.columns(),
            _gathered_regions(dialect, ml.c.tender_id).label("tender_regions"),
        )
        .select_from(
            parts.join(ml, and_(ml.c.tender_id == parts.c.tender_id, ml.c.lot_id == parts.c.lot_id))
            .outerjoin(buyer, buyer.c.organisation_id == ml.c.buyer_id)
            .outerjoin(oo, and_(outside, oo.c.opportunity_id == ml.c.tender_id))
        )
        .where(*conditions)
        .order_by(
            score.total.desc(),
            score.cpv.desc(),
            score.region.desc(),
            ml.c.deadline,
            ml.c.tender_id,
            ml.c.lot_id,
        )
        .limit(bindparam("limit", type_=Integer()))
    )


def _recommended_values(
    dialect: str,
    organisation_id: UUID,
    member: _Member,
    parents: Mapping[str, str | None],
    now: datetime,
    limit: int,
) -> dict[str, Any]:
    region_points = tender_region_points(member.regions, parents)
    figures = [
        (d, f[1], track_points(f[2], f[3]), listing_points(f[0]))
        for d, f in member.divisions.items()
    ]
    return {
        "organisation_id": organisation_id,
        "now": now,
        "limit": limit,
        "marked": member.marked,
        "mark_points": MARK_POINTS if member.marked else 0,
        **_bound_values(dialect, _PREFIXES, [(p,) for p in member.prefixes]),
        **_bound_values(dialect, _REGION_POINTS, sorted(region_points.items())),
        **_bound_values(dialect, _FIGURES, figures),
    }


async def recommended_lots(
    connection: AsyncConnection,
    organisation_id: UUID,
    parents: Mapping[str, str | None],
    now: datetime,
    limit: int,
) -> Recommendations:
    """The open lots (active, deadline after `now`, not its own) the member matches and is not
    excluded from, best first (ties: deadline, then tender and lot ids).

    Two statements: the member's figures, then one fixed statement with them bound (the same
    SQL for every member, compiled once)."""
    member = await _member(connection, organisation_id, now)
    if member is None or not member.member:
        return Recommendations("not a member", [])
    if not member.listed:
        return Recommendations("not in good standing", [])
    if not member.prefixes and not member.regions:  # no code and no region: nothing can match
        return Recommendations("in good standing", [])
    dialect = connection.dialect.name
    values = _recommended_values(dialect, organisation_id, member, parents, now, limit)
    rows = (await connection.execute(_recommended_statement(dialect), values)).all()
    return Recommendations(
        "in good standing", [_recommendation(row, member, parents) for row in rows]
    )


def _recommendation(row: Any, member: _Member, parents: Mapping[str, str | None]) -> Recommendation:
    codes = _codes(row.cpv_codes)
    lot_divisions = divisions_of(codes)
    named = codes_of(row.tender_regions)
    if row.restricted and not named:
        places = ", ".join(_codes(row.unresolved_regions or "[]"))
        region = f"no place it names was read as a region ({places}): not scored"
    else:
        region = region_detail(named, member.regions, parents)[1]
    facts = _Facts(
        cpv=cpv_detail(member.prefixes, codes)[1],
        region=region,
        divisions={d: f for d, f in member.divisions.items() if d in lot_divisions},
    )
    parts_of = facts.parts(row, row.value_minor, row.currency)
    outside = row.buyer_id == OUTSIDE_BUYER
    # An outside opportunity is shown as its own row says; the notice's link, ocid and VCSE
    # flag are its own (NULL for a tender of ours: the statement joins no opportunity to it).
    return Recommendation(
        source=row.source if outside else SOURCE,
        tender_id=row.tender_id,
        lot_id=row.lot_id,
        tender_title=row.outside_title if outside else row.tender_title,
        lot_title=row.outside_title if outside else row.lot_title,
        buyer_id=None if outside else row.buyer_id,
        buyer_name=row.outside_buyer_name if outside else row.buyer_name,
        deadline=row.deadline,
        score=int(row.total),
        parts=parts_of,
        url=row.url,
        ocid=row.ocid,
        vcse=row.vcse,
    )
