"""Parked Stripe events and people's data (ADRs 4 and 13): their payloads hold names and
e-mail addresses, so they follow the organisation's erasure, and they are kept whole only for
the retention period (at the clock's tick): once staff have applied or dismissed them, deleted;
while still waiting, cut to what we read (one naming no organisation is reached by no erasure)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tradehall.membership.card_payments import minimal_payload
from tradehall.payments.tables import parked_webhooks

__all__ = ["erase_parked_webhooks", "purge_parked_webhooks"]


async def erase_parked_webhooks(engine: AsyncEngine, organisation_id: UUID) -> int:
    """The organisation's personal data is erased: parked events that named it, were about
    its payment, or that staff applied or dismissed to it, are deleted when resolved and cut
    to what we read of them when still waiting for staff (they can still be applied). Rows
    parked before the table said whose they were are found by its id in the payload.
    How many were touched."""
    table = parked_webhooks
    ours = or_(
        table.c.organisation_id == organisation_id,
        table.c.resolved_to == organisation_id,
        func.lower(table.c.payload).contains(str(organisation_id), autoescape=True),
    )
    async with engine.begin() as connection:
        deleted = await connection.execute(
            delete(table).where(ours, table.c.resolved_at.is_not(None))
        )
        cut = await _cut_waiting(connection, ours, organisation_id=organisation_id)
    return int(deleted.rowcount or 0) + cut


async def purge_parked_webhooks(engine: AsyncEngine, now: datetime, retention_days: int) -> int:
    """Parked events past `retention_days`: those applied or dismissed that long ago are
    deleted; those received that long ago and still waiting for staff are cut to what we read
    of them (ids, amounts, status, our organisation id), as erasure cuts them, so staff can
    still list, apply or dismiss them (one may be money Stripe took that no ledger shows yet,
    which deleting would lose). A row cut already is left as it is. How many were touched."""
    cutoff = now - timedelta(days=retention_days)
    table = parked_webhooks
    async with engine.begin() as connection:
        deleted = await connection.execute(
            delete(table).where(table.c.resolved_at.is_not(None), table.c.resolved_at < cutoff)
        )
        cut = await _cut_waiting(connection, table.c.received_at < cutoff)
    return int(deleted.rowcount or 0) + cut


async def _cut_waiting(
    connection: AsyncConnection, chosen: ColumnElement[bool], **values: UUID
) -> int:
    """Cut the waiting rows `chosen` to what we read of them (and set `values`), in the order
    of their ids: an erasure and a tick's purge cutting the same rows lock them in one order,
    so neither waits on the other for ever (PostgreSQL would abort one). A row cut already,
    with nothing else to set, is left as it is. How many were written."""
    table = parked_webhooks
    waiting = (
        await connection.execute(
            select(table.c.event_id, table.c.payload)
            .where(chosen, table.c.resolved_at.is_(None))
            .order_by(table.c.event_id)
        )
    ).all()
    cut = 0
    for row in waiting:
        payload = json.dumps(minimal_payload(json.loads(row.payload)))
        if payload == row.payload and not values:
            continue
        await connection.execute(
            update(table).where(table.c.event_id == row.event_id).values(payload=payload, **values)
        )
        cut += 1
    return cut
