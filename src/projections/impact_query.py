"""Reads of the impact ledger (projections.impact): the contracts and confirmed deliveries a
report needs, as the pure ledger (projections.impact_ledger) takes them, and organisations'
names (the tenders projection's table of every organisation's name)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, datetime, timedelta
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.impact import delivered_figures
from projections.impact_ledger import LedgerContract, LedgerDelivery
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


async def ledger_contracts(
    connection: AsyncConnection, day_of: DayOf, party: UUID | None = None
) -> list[LedgerContract]:
    """Every contract (or only those `party` is a party to), with parties and commitments."""
    listed = select(impact_contracts)
    if party is not None:
        listed = listed.where(
            impact_contracts.c.contract_id.in_(
                select(impact_parties.c.contract_id).where(
                    impact_parties.c.organisation_id == party
                )
            )
        )
    rows = (await connection.execute(listed)).all()
    ids = [row.contract_id for row in rows]
    parties: dict[UUID, list[tuple[UUID, int]]] = {i: [] for i in ids}
    committed: dict[UUID, dict[str, int]] = {i: {} for i in ids}
    for chunk in _chunks(ids):
        found = await connection.execute(
            select(impact_parties)
            .where(impact_parties.c.contract_id.in_(chunk))
            # The lead first (the larger share), then by id: the split's ties go the same way
            # on every read.
            .order_by(impact_parties.c.share_percent.desc(), impact_parties.c.organisation_id)
        )
        for p in found:
            parties[p.contract_id].append((p.organisation_id, p.share_percent))
        measures = await connection.execute(
            select(impact_commitments).where(impact_commitments.c.contract_id.in_(chunk))
        )
        for m in measures:
            committed[m.contract_id][m.measure] = m.quantity
    return [
        LedgerContract(
            contract_id=row.contract_id,
            buyer_id=row.buyer_id,
            currency=row.currency,
            awarded_minor=row.awarded_minor,
            value_minor=row.value_minor,
            estimated_minor=row.estimated_minor,
            signed_on=day_of(row.signed_at),
            parties=tuple(parties[row.contract_id]),
            committed=committed[row.contract_id],
        )
        for row in rows
    ]


async def ledger_deliveries(
    connection: AsyncConnection, day_of: DayOf, contract_ids: Collection[UUID] | None = None
) -> list[LedgerDelivery]:
    """Every confirmed delivery report's figures (or only those of these contracts), each on
    the last day of its period (a period ends at an instant; its last day is the one before)."""
    listed = select(impact_reports).where(impact_reports.c.status == "confirmed")
    found: list[LedgerDelivery] = []
    for chunk in [None] if contract_ids is None else _chunks(list(contract_ids)):
        query = listed if chunk is None else listed.where(impact_reports.c.contract_id.in_(chunk))
        for row in await connection.execute(query):
            on = day_of(row.period_end - _JUST_BEFORE)
            found.extend(
                LedgerDelivery(row.contract_id, row.reporter_id, on, measure, quantity)
                for measure, quantity in delivered_figures(row.delivered)
            )
    return found


async def names_of(connection: AsyncConnection, ids: Collection[UUID]) -> dict[UUID, str]:
    names: dict[UUID, str] = {}
    for chunk in _chunks(list(ids)):
        found = await connection.execute(
            select(tender_buyers.c.organisation_id, tender_buyers.c.name).where(
                tender_buyers.c.organisation_id.in_(chunk)
            )
        )
        names.update({row.organisation_id: row.name for row in found})
    return names


def _chunks(ids: list[UUID], size: int = 500) -> list[list[UUID]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]
