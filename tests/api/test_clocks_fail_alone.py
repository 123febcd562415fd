"""The clocks move every item they can: a quality mark whose events the clock cannot work with
fails alone (logged with its id, counted as failed) and the later marks still expire; the
membership clock counts such a member as failed, not as a conflict; a concurrent change is a
conflict, tried again at the next tick. On both stores."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import pytest

from membership.marks.mark import QualityMark
from sharedkernel.events import Context
from sharedkernel.writing import ConcurrentChange
from tests.api.helpers import register, services_of
from tests.api.test_members_probe_clock import unworkable_member
from tests.api.test_membership_standing import admitted, membership_of, pay, tick
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.membership.marks.workers import MarkIndex, tick_marks
from tradehall.tick_items import ItemTally


def _award(client: AppClient, organisation_id: str, clock: ManualClock) -> QualityMark:
    marks = services_of(client).applications["marks"]
    context = Context("staff", f"test-{uuid.uuid4().hex[:8]}", clock.now())
    mark = QualityMark.award(context, uuid.UUID(organisation_id), uuid.uuid4())
    marks.save(mark)
    return mark


async def test_a_mark_the_clock_cannot_work_with_fails_alone_and_later_marks_expire(
    client: AppClient, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A mark renewed by an older writer to a validity with no time zone cannot be compared
    with the clock's time (TypeError): it stopped the tick, so no mark after it in the log
    expired, tick after tick."""
    marks = services_of(client).applications["marks"]
    poisoned = _award(client, (await register(client))["id"], clock)
    old = Context("importer", f"probe-{uuid.uuid4().hex[:8]}", clock.now())
    poisoned.trigger_event(
        QualityMark.Renewed,
        application_id=uuid.uuid4(),
        review="full",
        valid_from=datetime(2026, 1, 1),
        valid_until=datetime(2027, 1, 1),  # no time zone
        **old.event_kwargs(),
    )
    marks.save(poisoned)
    healthy = _award(client, (await register(client))["id"], clock)
    try:
        clock.advance(timedelta(days=400))
        caplog.set_level(logging.INFO, logger="tradehall.marks")

        report = await services_of(client).run(tick_marks, marks, clock, MarkIndex())

        assert marks.repository.get(healthy.id).expired
        assert report.failed >= 1
        assert report.changed >= 1
        failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert any(str(poisoned.id) in r.getMessage() for r in failures)
    finally:
        # Leave no unworkable mark to the other tests of a shared database.
        _revoke(client, poisoned.id, clock)


def _revoke(client: AppClient, mark_id: uuid.UUID, clock: ManualClock) -> None:
    marks = services_of(client).applications["marks"]
    mark = marks.repository.get(mark_id)
    mark.revoke(Context("staff", "probe-cleanup", clock.now()), "probe")
    marks.save(mark)


async def test_a_member_paid_up_until_year_9999_no_longer_fails_the_membership_clock(
    client: AppClient, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    """A paid-up-until of 9999-12-31 once made the grace's end overflow, and the tick counted
    that member as failed (not a conflict). Since 1094ceb its grace ends at the last moment a
    datetime holds: the tick moves the others on, the member stays in grace and its view
    answers (how a failure is counted is the next test's)."""
    poisoned = await unworkable_member(client, staff_headers, clock)
    try:
        member, headers = await admitted(client, staff_headers)
        assert (await pay(client, member, staff_headers)).status_code == 201
        paid_up_until = datetime.fromisoformat(
            (await membership_of(client, member, headers))["paid_up_until"]
        )
        clock.set(paid_up_until + timedelta(days=1))

        report = await tick(client)

        # (Not report.failed == 0: a shared PostgreSQL database may hold another test's member.)
        assert report.conflicts == 0  # nothing else wrote while it ticked
        assert (await membership_of(client, member, headers))["status"] == "grace"
        view = await client.get(f"/api/v1/organisations/{poisoned}", headers=staff_headers)
        assert view.json()["membership"]["status"] == "grace"
    finally:
        services_of(client).membership.expel(
            Context("staff", "probe-cleanup", clock.now()), poisoned, "probe"
        )


def test_a_concurrent_change_is_a_conflict_and_a_store_away_stops_the_tick() -> None:
    from eventsourcing.persistence import OperationalError

    tally = ItemTally("test tick", logging.getLogger("tests.tick"))
    item = uuid.uuid4()

    assert tally.failed_alone(ConcurrentChange("kept changing"), item)
    assert tally.failed_alone(ValueError("year 10000 is out of range"), item)
    assert not tally.failed_alone(OperationalError("database is locked"), item)

    report = tally.report()
    assert (report.conflicts, report.failed, report.examined) == (1, 1, 2)
