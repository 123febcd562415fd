"""Whether a read model's row is a member in good standing at a moment (the reader's time).

A read model's `listed` flag is what the membership's status events recorded: a member whose
grace has run out, or whose resignation has taken effect, stays listed there until the
membership clock's next tick (hourly by default) records it. The rows keep the moments time
alone ends good standing (`lapses_at`, `resigns_at`: projections.membership_status), and readers
compare them with their own time, as the domain does (`Organisation.membership_status_at`):
lapsed from `lapses_at` on, resigned from `resigns_at` on. Nothing is written on read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, ColumnElement, Table, and_, or_

from sharedkernel.sqltypes import UtcDateTime


def standing_date_columns() -> list[Column[Any]]:
    """The columns a listing read model keeps beside `listed` (NULL: no such moment)."""
    return [
        Column("lapses_at", UtcDateTime, nullable=True),
        Column("resigns_at", UtcDateTime, nullable=True),
    ]


def listed_at(table: Table, now: Any) -> ColumnElement[bool]:
    """The row is listed (in good standing) at `now` (a datetime or a bound parameter of its
    type; None: as recorded)."""
    listed = table.c.listed.is_(True)
    if now is None:
        return listed
    lapses_at, resigns_at = table.c.lapses_at, table.c.resigns_at
    return and_(
        listed,
        or_(lapses_at.is_(None), lapses_at > now),
        or_(resigns_at.is_(None), resigns_at > now),
    )
