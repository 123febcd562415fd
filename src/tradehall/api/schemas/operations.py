"""Responses of the operations routes: how the read side stands."""

from __future__ import annotations

from datetime import datetime

import msgspec


class ProjectionFailureView(msgspec.Struct, kw_only=True):
    position: int  # of the event it fails on
    error_type: str
    error_message: str
    attempts: int
    failed_since: datetime
    retry_at: datetime


class LeftOutView(msgspec.Struct, kw_only=True):
    """The last event a projection left out (ADR 16: not what the domain writes, or not what
    the projection can apply); each was logged with a WARNING line when it was."""

    position: int
    topic: str
    why: str  # trimmed


class ProjectionView(msgspec.Struct, kw_only=True):
    projection: str
    log: str
    position: int
    head: int
    lag: int
    # The event it fails on, and the error, while it fails; it is retried with backoff.
    failure: ProjectionFailureView | None
    # The events it has left out of this log (its view misses them), and the last of them.
    left_out: int
    last_left_out: LeftOutView | None


class ProjectionsReport(msgspec.Struct, kw_only=True):
    status: str  # "ok", or "degraded" while any projection fails
    projections: list[ProjectionView]
