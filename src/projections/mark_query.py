"""A quality mark's status as it stands at a moment, read from the register (`quality_marks`).

The register's `status` is what the mark's events recorded: a mark past its `valid_until` stays
`valid` (or `suspended`) there until the marks clock's next tick (hourly by default) records
`Expired`. Readers compare `valid_until` with the request's time, as the mark's own views do
(`membership.marks.mark.QualityMark.status_at`): expired from `valid_until` on. Nothing is
written on read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case

from membership.marks.mark import MarkStatus
from projections.tables import quality_marks

# Past `valid_until`, these are expired; revoked and withdrawn stay as they are (mark_status).
_EXPIRING = (MarkStatus.VALID.value, MarkStatus.SUSPENDED.value)


def mark_held_at(now: Any) -> ColumnElement[bool]:
    """The register's row is a valid mark at `now` (a datetime or a bound parameter of its
    type): recorded valid, and `valid_until` not yet reached."""
    qm = quality_marks.c
    return and_(qm.status == MarkStatus.VALID.value, qm.valid_until > now)


def mark_status_at(now: Any) -> ColumnElement[str]:
    """The register's row's status at `now`: `expired` once `valid_until` is reached, if it was
    recorded valid or suspended; otherwise as recorded."""
    qm = quality_marks.c
    ran_out = and_(qm.status.in_(_EXPIRING), qm.valid_until <= now)
    return case((ran_out, MarkStatus.EXPIRED.value), else_=qm.status)
