"""Contact points in SQL: read, replaced as a whole list, erased (ADR 4: people's data stays out
of events). Written directly, as identity's tables are, by the API's request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import Delete, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from membership.contacts import ContactPoint
from sharedkernel.errors import Conflict
from tradehall.identity.tables import contact_points

# A replacement racing another for one organisation (PostgreSQL: both inserted position 0):
# the loser's delete sees the winner's rows on its next attempt.
_ATTEMPTS = 3


async def contact_points_of(
    connection: AsyncConnection, organisation_id: UUID
) -> list[ContactPoint]:
    rows = await connection.execute(
        select(contact_points)
        .where(contact_points.c.organisation_id == organisation_id)
        .order_by(contact_points.c.position)
    )
    return [
        ContactPoint(label=row.label, name=row.name, email=row.email, phone=row.phone)
        for row in rows
    ]


async def replace_contact_points(
    engine: AsyncEngine,
    organisation_id: UUID,
    points: Sequence[ContactPoint],
    *,
    actor: str,
    now: datetime,
) -> None:
    """The organisation's contact points become `points`, in their order, in one transaction."""
    rows = [
        {
            "organisation_id": organisation_id,
            "position": position,
            "label": point.label,
            "name": point.name,
            "email": point.email,
            "phone": point.phone,
            "updated_by": actor,
            "updated_at": now,
        }
        for position, point in enumerate(points)
    ]
    for _ in range(_ATTEMPTS):
        try:
            async with engine.begin() as connection:
                await connection.execute(_of(organisation_id))
                if rows:
                    await connection.execute(insert(contact_points), rows)
            return
        except IntegrityError:
            continue
    raise Conflict("the contact points kept changing; try again")


async def erase_contact_points(engine: AsyncEngine, organisation_id: UUID) -> int:
    """Remove every contact point of the organisation; how many there were."""
    async with engine.begin() as connection:
        result = await connection.execute(_of(organisation_id))
    return int(result.rowcount or 0)


def _of(organisation_id: UUID) -> Delete:
    return delete(contact_points).where(contact_points.c.organisation_id == organisation_id)
