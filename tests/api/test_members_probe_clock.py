"""Probe of the membership clock with an organisation whose stored facts overflow its date
arithmetic (recorded before ADR 17's bounds reached imports, or by any older writer)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from membership.standing import MembershipStatus
from sharedkernel.events import Context
from tests.api.helpers import services_of
from tests.api.test_membership_standing import (
    Client,
    admitted,
    membership_of,
    pay,
    tick,
)
from tradehall.clock import ManualClock


async def test_one_members_unworkable_dates_do_not_stop_the_clock_for_the_others(
    client: Client, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    """A member in grace, paid up until 9999-12-31 (as an import once took it), makes its grace
    period's end overflow (year 10000): the tick raised ValueError and stopped, so no member
    after it in the log moved into grace or lapse, tick after tick. One member's data must not
    stop the others (as a DomainError already did not)."""
    membership = services_of(client).membership
    poisoned = await unworkable_member(client, staff_headers, clock)
    try:
        member, headers = await admitted(client, staff_headers)
        assert (await pay(client, member, staff_headers)).status_code == 201
        paid_up_until = datetime.fromisoformat(
            (await membership_of(client, member, headers))["paid_up_until"]
        )
        clock.set(paid_up_until + timedelta(days=1))

        await tick(client)

        assert (await membership_of(client, member, headers))["status"] == "grace"
    finally:
        # Leave no unworkable member to the other tests of a shared database.
        membership.expel(Context("staff", "probe-cleanup", clock.now()), poisoned, "probe")


async def unworkable_member(
    client: Client, staff_headers: dict[str, str], clock: ManualClock
) -> uuid.UUID:
    """A member in grace paid up until 9999-12-31 (as an import once took it): its grace
    period's end overflows (year 10000)."""
    membership = services_of(client).membership
    organisation_id = uuid.UUID((await admitted(client, staff_headers))[0]["id"])
    organisation = membership.get_organisation(organisation_id)
    old = Context("importer", f"probe-{uuid.uuid4().hex[:8]}", clock.now())
    organisation.trigger_event(
        organisation.PaidUpUntilMoved,
        paid_up_until=datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
        **old.event_kwargs(),
    )
    organisation.trigger_event(
        organisation.StandingChanged,
        status=MembershipStatus.GRACE.value,
        cause="imported",
        **old.event_kwargs(),
    )
    membership.save(organisation)
    return organisation_id


async def test_a_member_whose_grace_would_end_past_year_9999_stops_no_reader(
    client: Client, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    """The read models that judge standing at the reader's time keep when each member lapses
    (ADR 11): a paid-up-until of 9999-12-31 made that moment overflow (year 10000), so the
    directory, its search, matching and listings failed on the event, retried for ever, and a
    reader of the member's own standing got a 500. Its grace is taken to end at the last moment a
    datetime holds: never lapsed, and every reader answers."""
    membership = services_of(client).membership
    poisoned = await unworkable_member(client, staff_headers, clock)
    try:
        services = services_of(client)
        await services.run(services.readside.projector.catch_up)
        ready = await client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["failing_projections"] == []
        assert membership.is_in_good_standing(poisoned, clock.now())
        view = await client.get(f"/api/v1/organisations/{poisoned}", headers=staff_headers)
        assert view.status_code == 200, view.text
        assert view.json()["membership"]["status"] == "grace"
    finally:
        membership.expel(Context("staff", "probe-cleanup", clock.now()), poisoned, "probe")
