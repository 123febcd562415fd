"""ADR 17 in the domain: money movements are not dated before the registration or after today;
moments no one could mean are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from membership.domain import DuesSchedule, MembershipStatus
from membership.dues import default_bands
from sharedkernel.errors import InvalidValue
from sharedkernel.moments import plausible_moment
from tests.unit.membership_builders import (
    MICRO_DUE,
    STAFF,
    assert_forbidden,
    collected,
    context,
    organisation_in,
    register,
    replay,
)


def test_the_organisation_exists_from_its_registrations_effective_time() -> None:
    joined = datetime(2015, 6, 1, tzinfo=UTC)  # an imported member's join date
    org = register(ctx=context(STAFF, effective_at=joined))

    events = org.collect_events()

    assert org.exists_from == joined
    assert replay(events).exists_from == joined


@pytest.mark.parametrize("days", [-1, -3650, 1, 3650])
def test_a_payment_dated_before_the_registration_or_after_today_is_refused(days: int) -> None:
    org = organisation_in(MembershipStatus.AWAITING_FIRST_PAYMENT)
    now = context(STAFF).at
    anchor = org.exists_from if days < 0 else now
    ctx = context(STAFF, effective_at=anchor + timedelta(days=days))

    error = assert_forbidden(
        org,
        lambda: org.record_payment(ctx, "chq_1", MICRO_DUE, "cheque", "Cheque 1"),
        InvalidValue,
    )

    assert error.field == "effective_date"


def test_a_payment_dated_earlier_on_the_registration_day_counts_from_the_registration() -> None:
    org = organisation_in(MembershipStatus.AWAITING_FIRST_PAYMENT)
    same_day = org.exists_from.replace(hour=0, minute=0)
    ctx = context(STAFF, effective_at=same_day)

    org.record_payment(ctx, "chq_1", MICRO_DUE, "cheque", "Cheque 1")

    assert {event.effective_at for event in collected(org)} == {org.exists_from}


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1899, 12, 31, 23, 59, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59),
    ],
)
def test_moments_no_one_could_mean_are_refused_naming_the_field(moment: datetime) -> None:
    with pytest.raises(InvalidValue) as caught:
        plausible_moment("as_at", moment)

    assert caught.value.field == "as_at"


def test_a_schedule_version_from_the_far_future_is_refused() -> None:
    schedule = DuesSchedule.start(context(STAFF))
    schedule.collect_events()

    error = assert_forbidden(
        schedule,
        lambda: schedule.publish(context(STAFF), datetime(2150, 1, 1, tzinfo=UTC), default_bands()),
        InvalidValue,
    )

    assert error.field == "effective_from"
