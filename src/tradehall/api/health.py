"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from sqlalchemy import text

from tradehall.api.access import PUBLIC, rule
from tradehall.api.operations import DEGRADED, OK, failing_projections
from tradehall.api.problems import problem
from tradehall.services import Services


class HealthController(Controller):
    path = ""
    tags = ["operations"]

    @get("/health", opt=rule(PUBLIC), summary="The process is up")
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", opt=rule(PUBLIC), summary="The stores answer")
    async def ready(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> Response[dict[str, Any]]:
        checks: dict[str, str] = {}
        try:
            async with services.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                # A failing projection leaves the service ready (reads answer, from a view that
                # stops at the event it fails on) but degraded: said here, detailed for staff.
                failing = await failing_projections(connection)
            checks["read_store"] = "ok"
            await services.run(services.membership.recorder.max_notification_id)
            checks["event_store"] = "ok"
        except Exception as error:
            failed = "event_store" if "read_store" in checks else "read_store"
            return problem(
                request,
                503,
                "Not ready",
                f"{failed} did not answer: {type(error).__name__}",
                checks=checks | {failed: "failed"},
            )
        payments = "stripe" if services.stripe is not None else "manual"
        body = {"status": "ready", "store": services.store.name, "checks": checks}
        mail = "smtp" if services.settings.smtp is not None else "outbox only"
        projections = {"projections": DEGRADED if failing else OK, "failing_projections": failing}
        return Response(body | {"payments": payments, "mail": mail} | projections)
