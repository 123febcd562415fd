"""While a projection fails, `/ready` stays 200 and says the projections are degraded (and
which), and staff see each projection's position, head, lag and failure."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, delete

from projections.base import Projection
from projections.events import EventSource, RecordedEvent
from projections.runner import BatchProjector
from projections.tables import projection_positions
from tests.api.helpers import SignedIn, register, services_of, token
from tests.conftest import AppClient
from tradehall.store.base import Store


class Refuses(Projection):
    """Fails on every event, as a projection with a bug would."""

    logs = ("membership",)
    tables = ()

    def __init__(self) -> None:
        self.name = f"refuses_{uuid.uuid4().hex[:8]}"

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        raise ValueError(f"refused event {events[0].position}")


@pytest.fixture
def refuses(store: Store) -> Iterator[Refuses]:
    projection = Refuses()
    yield projection
    forget_positions(store, projection.name)


def forget_positions(store: Store, projection: str) -> None:
    """The tests of a run share one PostgreSQL database: leave no row of a test projection's
    behind (a failing or counting one would show in every later /ready)."""
    engine = store.sync_engine()
    with engine.begin() as connection:
        connection.execute(
            delete(projection_positions).where(projection_positions.c.projection == projection)
        )
    engine.dispose()


async def test_a_failing_projection_leaves_ready_200_degraded_and_staff_see_it(
    client: AppClient, store: Store, staff: SignedIn, refuses: Refuses
) -> None:
    member = await register(client)
    services = services_of(client)
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert (ready.json()["projections"], ready.json()["failing_projections"]) == ("ok", [])
    first = services.membership.recorder.select_notifications(start=1, limit=1)[0].id
    # Its clock stands still: however slow the machine, the failure's 1 s retry never comes
    # due within the catch-up, so it is tried once.
    frozen = datetime.now(UTC)
    runner = BatchProjector(
        store.sync_engine(),
        {"membership": EventSource("membership", services.membership.recorder)},
        [refuses],
        clock=lambda: frozen,
    )
    try:
        await services.run(runner.catch_up)  # a projector elsewhere (the worker), failing
    finally:
        runner.engine.dispose()
    head = services.membership.recorder.max_notification_id()

    ready = await client.get("/ready")
    report = await client.get("/api/v1/operations/projections", headers=staff.headers)
    anonymous = await client.get("/api/v1/operations/projections")
    as_member = await client.get(
        "/api/v1/operations/projections", headers=await token(client, member["email"])
    )

    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["projections"] == "degraded"
    # Which one, where: not the error, which may quote an event's content to anyone.
    assert ready.json()["failing_projections"] == [
        {"projection": refuses.name, "log": "membership", "failed_at": first}
    ]
    assert report.status_code == 200, report.text
    assert report.json()["status"] == "degraded"
    rows = {row["projection"]: row for row in report.json()["projections"]}
    failing = rows[refuses.name]
    assert {k: failing[k] for k in ("log", "position", "head", "lag")} == {
        "log": "membership",
        "position": 0,
        "head": head,
        "lag": head,
    }
    assert failing["failure"]["position"] == first
    assert failing["failure"]["error_type"] == "builtins.ValueError"
    assert failing["failure"]["error_message"] == f"refused event {first}"
    assert failing["failure"]["attempts"] == 1
    assert failing["failure"]["retry_at"] > failing["failure"]["failed_since"]
    assert rows["directory"]["failure"] is None
    assert rows["directory"]["head"] == head
    assert anonymous.status_code == 401
    assert as_member.status_code == 403
