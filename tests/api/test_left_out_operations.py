"""Events a projection leaves out on the live path (ADR 16) show where failures show: `/ready`
(still ready, not degraded: which projection, log, how many, the last one's position) and the
staff's report (how many, and the last one's position, topic and why, trimmed)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy import Connection

from projections.base import Projection
from projections.events import EventSource, RecordedEvent, leave_out
from projections.runner import LEFT_OUT_WHY_LIMIT, BatchProjector
from tests.api.helpers import SignedIn, register, services_of
from tests.api.test_projection_operations import forget_positions
from tests.conftest import AppClient
from tradehall.store.base import Store


class LeavesOutAll(Projection):
    """Leaves every event out, with a long why (a projection whose code no longer reads them)."""

    logs = ("membership",)
    tables = ()

    def __init__(self) -> None:
        self.name = f"leaves_out_{uuid.uuid4().hex[:8]}"

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        for event in events:
            leave_out(self.name, event, f"no 'legal_name' at {event.position}: " + "x" * 900)


@pytest.fixture
def leaves_out(store: Store) -> Iterator[LeavesOutAll]:
    projection = LeavesOutAll()
    yield projection
    forget_positions(store, projection.name)


async def test_left_out_events_leave_ready_ok_and_show_there_and_to_staff(
    client: AppClient, store: Store, staff: SignedIn, leaves_out: LeavesOutAll
) -> None:
    await register(client)
    services = services_of(client)
    ready = await client.get("/ready")
    assert leaves_out.name not in str(ready.json()["left_out_events"])
    runner = BatchProjector(
        store.sync_engine(),
        {"membership": EventSource("membership", services.membership.recorder)},
        [leaves_out],
    )
    try:
        await services.run(runner.catch_up)  # a projector elsewhere (the worker)
    finally:
        runner.engine.dispose()
    head = services.membership.recorder.max_notification_id()
    (last,) = services.membership.recorder.select_notifications(start=head, limit=1)
    # Every event in the log, counted: on PostgreSQL a writer that lost a race leaves a gap in
    # the notification ids, so the count may be less than the head.
    events = len(services.membership.recorder.select_notifications(start=1, limit=head))

    ready = await client.get("/ready")
    report = await client.get("/api/v1/operations/projections", headers=staff.headers)

    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    ours = [e for e in ready.json()["left_out_events"] if e["projection"] == leaves_out.name]
    # Which, where, how many: not the topic or why, which may say what an event holds.
    assert ours == [
        {"projection": leaves_out.name, "log": "membership", "count": events, "last_at": head}
    ]
    assert not [
        f for f in ready.json()["failing_projections"] if f["projection"] == leaves_out.name
    ]
    assert report.status_code == 200, report.text
    rows = {row["projection"]: row for row in report.json()["projections"]}
    mine = rows[leaves_out.name]
    assert (mine["position"], mine["lag"], mine["failure"]) == (head, 0, None)
    assert mine["left_out"] == events
    why = f"no 'legal_name' at {head}: " + "x" * 900
    assert mine["last_left_out"] == {
        "position": head,
        "topic": last.topic,
        "why": why[:LEFT_OUT_WHY_LIMIT],
    }
