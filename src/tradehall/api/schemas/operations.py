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


class ProjectionView(msgspec.Struct, kw_only=True):
    projection: str
    log: str
    position: int
    head: int
    lag: int
    # The event it fails on, and the error, while it fails; it is retried with backoff.
    failure: ProjectionFailureView | None


class ProjectionsReport(msgspec.Struct, kw_only=True):
    status: str  # "ok", or "degraded" while any projection fails
    projections: list[ProjectionView]
