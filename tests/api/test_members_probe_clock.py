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
