"""Reads of the impact ledger (projections.impact): the contracts and confirmed deliveries a
report needs, as the pure ledger (projections.impact_ledger) takes them, and organisations'
names (the tenders projection's table of every organisation's name).

`public_only`: only the contracts whose award is public, a tender's (its award notice), and
their deliveries; not a request for quote's, whose accepted price only its requester and staff
see. The public figures are read so, or they would tell the price by their difference."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal,
    select,
    union,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.contracts import QUOTE_LOT
from projections.impact import delivered_figures
from projections.impact_ledger import LedgerContract, LedgerDelivery, MeasuredOn, SignedOn
from projections.impact_tables import (
    impact_commitments,
    impact_contracts,
    impact_parties,
    impact_reports,
)
from projections.tables import tender_buyers

# A moment's day where the association is (Europe/London), from the caller: this module reads
# no clock and knows no time zone of its own.
DayOf = Callable[[datetime], date]
_JUST_BEFORE = timedelta(microseconds=1)
# A LedgerContract's first fields: impact_contracts' columns of the same names, as stored.
_AS_STORED = LedgerContract._fields[: LedgerContract._fields.index("signed_on")]


async def ledger_contracts(
    connection: AsyncConnection,
    day_of: DayOf,
    party: UUID | None = None,
    *,
    with_parties: bool = True,
    public_only: bool = False,
) -> list[LedgerContract]:
    """Every contract (or only those `party` is a party to; `public_only`, only those whose
    award is public), with parties and commitments; `with_parties` False: each with no parties
    (for the groupings that never split one)."""
    c = impact_contracts.c
    listed = select(*(c[name] for name in _AS_STORED), c.signed_at)
    if public_only:
        listed = listed.where(_awarded_in_public())
    if party is not None:
        listed = listed.where(
            c.contract_id.in_(
                select(impact_parties.c.contract_id).where(
                    impact_parties.c.organisation_id == party
                )
            )
        )
    rows = (await connection.execute(listed)).all()
    ids = [row.contract_id for row in rows]
    parties: dict[UUID, list[tuple[UUID, int]]] = {i: [] for i in ids}
    committed: dict[UUID, dict[str, int]] = {i: {} for i in ids}
    # Every contract: the whole tables, each in one query (no list of ids to send).
    for chunk in [None] if party is None else _chunks(ids):
        found = select(
            impact_parties.c.contract_id,
            impact_parties.c.organisation_id,
            impact_parties.c.share_percent,
        )
        measures = select(
            impact_commitments.c.contract_id,
            impact_commitments.c.measure,
            impact_commitments.c.quantity,
        )
        if chunk is not None:
            found = found.where(impact_parties.c.contract_id.in_(chunk))
            measures = measures.where(impact_commitments.c.contract_id.in_(chunk))
        # The lead first (the larger share), then by id: the split's ties go the same way on
        # every read.
        found = found.order_by(
            impact_parties.c.share_percent.desc(), impact_parties.c.organisation_id
        )
        for contract_id, organisation_id, share in (
            await connection.execute(found) if with_parties else ()
        ):
            if contract_id in parties:  # a row of a contract stored since: left for next time
                parties[contract_id].append((organisation_id, share))
        for contract_id, measure, quantity in await connection.execute(measures):
            if contract_id in committed:
                committed[contract_id][measure] = quantity
    day = _Days(day_of)
    return [
        LedgerContract._make(
            (
                *row[: len(_AS_STORED)],
                day(row.signed_at),
                tuple(parties[row.contract_id]),
                committed[row.contract_id],
            )
        )
        for row in rows
    ]


async def ledger_deliveries(
    connection: AsyncConnection, day_of: DayOf, contract_ids: Collection[UUID] | None = None
) -> list[LedgerDelivery]:
    """Every confirmed delivery report's figures (or only those of these contracts), each on
    the last day of its period (a period ends at an instant; its last day is the one before)."""
    r = impact_reports.c
    listed = select(r.contract_id, r.reporter_id, r.period_end, r.delivered).where(
        r.status == "confirmed"
    )
    found: list[LedgerDelivery] = []
    day = _Days(lambda end: day_of(end - _JUST_BEFORE))
    # Reports often give the same figures (and end on the same day): each text read once.
    figures: dict[str, list[tuple[str, int]]] = {}
    for chunk in [None] if contract_ids is None else _chunks(list(contract_ids)):
        query = listed if chunk is None else listed.where(r.contract_id.in_(chunk))
        for contract_id, reporter_id, period_end, delivered in await connection.execute(query):
            on = day(period_end)
            items = figures.get(delivered)
            if items is None:
                items = figures[delivered] = delivered_figures(delivered)
            found.extend(
                LedgerDelivery(contract_id, reporter_id, on, measure, quantity)
                for measure, quantity in items
            )
    return found


class PeriodRows(NamedTuple):
    """The ledger summed by day, as impact_ledger.period_ledgers takes it."""

    signed: list[SignedOn]
    committed: list[MeasuredOn]
    delivered: list[MeasuredOn]


async def period_rows(
    connection: AsyncConnection,
    day_of: DayOf,
    *,
    since: date | None = None,
    until: date | None = None,
    public_only: bool = False,
) -> PeriodRows:
    """Every contract's figures and commitments summed by signing moment in SQL, then by day;
    every confirmed delivery of a stored contract summed by day and measure (`public_only`: of
    the contracts whose award is public). With `since` or `until`, only the moments within a
    day of those days (a superset of the window, whatever the zone of `day_of`: the ledger's
    arithmetic keeps to the window's days)."""
    c, m, r = impact_contracts.c, impact_commitments.c, impact_reports.c
    estimated = c.estimated_minor.is_not(None)
    signed = select(
        c.signed_at,
        c.currency,
        func.count(),
        *_summed(c.value_minor),
        *_summed(c.estimated_minor),
        *_summed(case((estimated, c.awarded_minor))),
    ).group_by(c.signed_at, c.currency)
    committed = (
        select(c.signed_at, m.measure, *_summed(m.quantity))
        .join_from(impact_commitments, impact_contracts, m.contract_id == c.contract_id)
        .group_by(c.signed_at, m.measure)
    )
    stored = exists().where(c.contract_id == r.contract_id)
    if public_only:
        signed, committed = (
            signed.where(_awarded_in_public()),
            committed.where(_awarded_in_public()),
        )
        stored = stored.where(_awarded_in_public())
    reports = select(r.period_end, r.delivered).where(and_(r.status == "confirmed", stored))
    if since is not None:
        start = datetime.combine(since, time(), UTC) - _SLACK
        signed, committed = (
            signed.where(c.signed_at >= start),
            committed.where(c.signed_at >= start),
        )
        reports = reports.where(r.period_end >= start)
    if until is not None:
        end = datetime.combine(until, time(), UTC) + _SLACK
        signed, committed = signed.where(c.signed_at < end), committed.where(c.signed_at < end)
        reports = reports.where(r.period_end < end)
    day = _Days(day_of)
    by_day: dict[tuple[date, str], list[int]] = {}
    for signed_at, currency, count, *halves in await connection.execute(signed):
        value, estimate, awarded = (_whole(*halves[i : i + 2]) for i in (0, 2, 4))
        found = by_day.setdefault((day(signed_at), currency), [0, 0, 0, 0])
        for i, figure in enumerate((count, value, estimate, awarded)):
            found[i] += figure
    quantities: dict[tuple[int, date, str], int] = {}
    for signed_at, measure, high, low in await connection.execute(committed):
        place = (0, day(signed_at), measure)
        quantities[place] = quantities.get(place, 0) + _whole(high, low)
    ends = _Days(lambda end: day_of(end - _JUST_BEFORE))
    figures: dict[str, list[tuple[str, int]]] = {}
    for period_end, delivered in await connection.execute(reports):
        on = ends(period_end)
        items = figures.get(delivered)
        if items is None:
            items = figures[delivered] = delivered_figures(delivered)
        for measure, quantity in items:
            place = (1, on, measure)
            quantities[place] = quantities.get(place, 0) + quantity
    return PeriodRows(
        [SignedOn(on, currency, *summed) for (on, currency), summed in by_day.items()],
        [MeasuredOn(on, measure, q) for (side, on, measure), q in quantities.items() if not side],
        [MeasuredOn(on, measure, q) for (side, on, measure), q in quantities.items() if side],
    )


def _awarded_in_public() -> ColumnElement[bool]:
    """A contract whose award is public: a tender's, not an accepted quote's."""
    return impact_contracts.c.lot_id != QUOTE_LOT


# A day somewhere begins and ends within a day of its date in UTC (London: an hour before).
_SLACK = timedelta(days=2)
# SQLite's sum() of integers raises past 2**63 (PostgreSQL's gives numeric): a column's sum in
# two halves, each of which stays far below it (figures are 0 to 2**63 - 1).
_HALF = 2**32


def _summed(column: ColumnElement[int]) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    half = literal(_HALF, BigInteger)
    return func.sum(column // half), func.sum(column % half)


def _whole(high: Any, low: Any) -> int:
    return int(high or 0) * _HALF + int(low or 0)


async def names_of(connection: AsyncConnection, ids: Collection[UUID]) -> dict[UUID, str]:
    """These organisations' names. Past a chunk of ids, first those of every organisation the
    ledger names (its parties, reporters and buyers: what its groups are) in one query, then
    any others by chunks as below it."""
    names = await _ledger_names(connection, ids) if len(ids) > _CHUNK else {}
    for chunk in _chunks([i for i in ids if i not in names]):
        found = await connection.execute(
            select(tender_buyers.c.organisation_id, tender_buyers.c.name).where(
                tender_buyers.c.organisation_id.in_(chunk)
            )
        )
        names.update({row.organisation_id: row.name for row in found})
    return names


async def _ledger_names(connection: AsyncConnection, ids: Collection[UUID]) -> dict[UUID, str]:
    p, r, c = impact_parties.c, impact_reports.c, impact_contracts.c
    named = union(select(p.organisation_id), select(r.reporter_id), select(c.buyer_id)).subquery()
    b = tender_buyers.c
    found = await connection.execute(
        select(b.organisation_id, b.name).where(b.organisation_id.in_(select(named)))
    )
    wanted = set(ids)
    return {i: name for i, name in found if i in wanted}


class _Days:
    """`day_of`, asked once a moment (contracts signed, periods ending, at the same instant)."""

    def __init__(self, day_of: DayOf) -> None:
        self.day_of = day_of
        self.known: dict[datetime, date] = {}

    def __call__(self, moment: datetime) -> date:
        found = self.known.get(moment)
        if found is None:
            try:
                found = self.day_of(moment)
            except OverflowError:  # at datetime's very edge (another writer's): the edge's day
                found = date.min if moment.year == 1 else date.max
            self.known[moment] = found
        return found


_CHUNK = 500


def _chunks(ids: list[UUID], size: int = _CHUNK) -> list[list[UUID]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]
