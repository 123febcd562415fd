"""The clock finds the members with a transition due from the event log, not a read model.

The directory is rebuildable: empty, or refilled only part of the way, it must not hide a
member from the clock (ADR 18).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete

from projections.directory import DirectoryProjection
from projections.events import EventSource
from projections.tables import directory_members
from tests.api.helpers import services_of
from tests.api.test_membership_standing import admitted, membership_of, pay
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.membership.clock_jobs import clock_tick
from tradehall.services import Services


async def _paid_member(
    client: AppClient, staff_headers: dict[str, str]
) -> tuple[UUID, dict[str, Any]]:
    org, headers = await admitted(client, staff_headers)
    paid = await pay(client, org, staff_headers)
    assert paid.status_code == 201, paid.text
    assert (await membership_of(client, org, headers))["status"] == "new"
    services = services_of(client)
    assert services.readside is not None
    await services.run(services.readside.projector.catch_up)
    return UUID(org["id"]), org


def _refill_directory_before(services: Services, organisation_id: UUID, event: str) -> None:
    """The directory as a refill that has not yet reached the organisation's `event` leaves it."""
    engine = services.store.sync_engine()
    projection = DirectoryProjection()
    events = EventSource("membership", services.membership.recorder).read(0, 1_000_000)
    stop = next(e.position for e in events if (e.originator_id, e.name) == (organisation_id, event))
    with engine.begin() as connection:
        projection.clear(connection)
        projection.apply(connection, [e for e in events if e.position < stop])


async def test_the_clock_finds_a_due_member_while_the_directory_is_empty(
    client: AppClient, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    _, org = await _paid_member(client, staff_headers)
    services = services_of(client)
    async with services.engine.begin() as connection:
        await connection.execute(delete(directory_members))

    clock.advance(timedelta(days=400))
    report = await clock_tick(services)

    assert report.changed >= 1
    assert (await membership_of(client, org, staff_headers))["status"] == "lapsed"


async def test_the_clock_finds_a_due_member_while_a_rebuild_refills_the_directory(
    client: AppClient, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    organisation_id, org = await _paid_member(client, staff_headers)
    services = services_of(client)
    # The refill has reached the organisation's application, not its admission: the directory
    # says "pending", which the clock would skip.
    await services.run(
        _refill_directory_before, services, organisation_id, "Organisation.MembershipAdmitted"
    )

    clock.advance(timedelta(days=400))
    report = await clock_tick(services)

    assert report.changed >= 1
    assert (await membership_of(client, org, staff_headers))["status"] == "lapsed"
