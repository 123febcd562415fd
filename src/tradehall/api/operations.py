"""Operations: how each projection stands (staff), and what `/ready` says of them (public):
failures, and the events left out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from eventsourcing.application import Application
from litestar import Controller, get
from litestar.di import NamedDependency
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from projections.runner import failure_of, left_out_of
from projections.tables import projection_positions
from tradehall.api.access import rule, staff_only
from tradehall.api.schemas.operations import (
    LeftOutView,
    ProjectionFailureView,
    ProjectionsReport,
    ProjectionView,
)
from tradehall.services import Threads

OK, DEGRADED = "ok", "degraded"


async def failing_projections(connection: AsyncConnection) -> list[dict[str, Any]]:
    """The projections failing on an event, as every process sees them (their position rows):
    which, in which log, at which event. Not the error, which may quote an event's content."""
    table = projection_positions
    rows = await connection.execute(
        select(table.c.projection, table.c.log, table.c.failed_position)
        .where(table.c.failed_position.is_not(None))
        .order_by(table.c.projection, table.c.log)
    )
    return [
        {"projection": row.projection, "log": row.log, "failed_at": row.failed_position}
        for row in rows
    ]


async def left_out_events(connection: AsyncConnection) -> list[dict[str, Any]]:
    """The projections that have left events out of a log (ADR 16), as their position rows
    count them: which, in which log, how many, the last one's position. Not its topic or why:
    `/ready` answers anyone."""
    table = projection_positions
    rows = await connection.execute(
        select(table.c.projection, table.c.log, table.c.left_out, table.c.left_out_position)
        .where(table.c.left_out > 0)
        .order_by(table.c.projection, table.c.log)
    )
    return [
        {
            "projection": row.projection,
            "log": row.log,
            "count": row.left_out,
            "last_at": row.left_out_position,
        }
        for row in rows
    ]


class OperationsController(Controller):
    path = "/api/v1/operations"
    tags = ["operations"]

    @get(
        "/projections",
        opt=rule(staff_only()),
        summary="Each projection's position in each log, its lag, and its failure if it fails",
    )
    async def projections(
        self,
        engine: NamedDependency[AsyncEngine],
        threads: NamedDependency[Threads],
        applications: NamedDependency[Mapping[str, Application[Any]]],
    ) -> ProjectionsReport:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(projection_positions).order_by(
                        projection_positions.c.log, projection_positions.c.projection
                    )
                )
            ).all()
        heads: dict[str, int] = {}
        for log, app in applications.items():  # the followed logs: no sealed one
            head: int | None = await threads.run(app.recorder.max_notification_id)
            heads[log] = head or 0
        views = []
        for row in rows:
            head = heads.get(row.log, row.position)
            failure = failure_of(row)
            left = left_out_of(row)
            views.append(
                ProjectionView(
                    projection=row.projection,
                    log=row.log,
                    position=row.position,
                    head=head,
                    lag=max(head - row.position, 0),
                    failure=None
                    if failure is None
                    else msgspec.convert(failure, ProjectionFailureView, from_attributes=True),
                    left_out=0 if left is None else left.count,
                    last_left_out=None
                    if left is None
                    else LeftOutView(position=left.position, topic=left.topic, why=left.why),
                )
            )
        degraded = any(view.failure is not None for view in views)
        return ProjectionsReport(status=DEGRADED if degraded else OK, projections=views)
