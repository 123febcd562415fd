"""Dues bands and the `DuesSchedule` aggregate: versions of bands, each in force from its date."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from membership.domain import DUES_SCHEDULE_ID, DuesSchedule
from membership.dues import (
    DuesBand,
    ScheduleVersion,
    band_for,
    default_bands,
    in_force,
    validate_bands,
)
from sharedkernel.errors import InvalidValue
from sharedkernel.money import Money
from tests.unit.membership_builders import (
    STAFF,
    assert_carries,
    assert_forbidden,
    collected,
    context,
    replay,
    state,
)


def gbp(minor: int) -> Money:
    return Money("GBP", minor)


def band(code: str, up_to: int | None, due: int, currency: str = "GBP") -> DuesBand:
    return DuesBand(
        code,
        f"{code.title()} band",
        Money(currency, up_to) if up_to is not None else None,
        Money(currency, due),
        f"dues_{code}",
    )


TWO_BANDS = (band("small", 50_000_00, 100_00), band("big", None, 500_00))
APRIL_2024 = datetime(2024, 4, 1, tzinfo=UTC)
APRIL_2025 = datetime(2025, 4, 1, tzinfo=UTC)


# The default schedule


def test_the_default_bands_are_micro_small_medium_and_large_in_pence() -> None:
    bands = default_bands()

    assert [(b.code, b.up_to, b.annual_due, b.price_reference) for b in bands] == [
        ("micro", gbp(10_000_000), gbp(6_000), "dues_micro"),
        ("small", gbp(100_000_000), gbp(15_000), "dues_small"),
        ("medium", gbp(1_000_000_000), gbp(40_000), "dues_medium"),
        ("large", None, gbp(90_000), "dues_large"),
    ]
    assert validate_bands(bands) == bands


# validate_bands


def test_valid_bands_come_back_as_a_tuple_in_their_order() -> None:
    assert validate_bands(list(TWO_BANDS)) == TWO_BANDS


def test_a_single_open_ended_band_is_a_schedule() -> None:
    only = (band("flat", None, 100_00),)

    assert validate_bands(only) == only


def test_a_band_may_be_free() -> None:
    bands = (band("starter", 10_000_00, 0), band("rest", None, 100_00))

    assert validate_bands(bands) == bands


@pytest.mark.parametrize(
    ("bands", "field"),
    [
        ([], "bands"),
        ([band("a", 100, 10), band("a", None, 20)], "bands"),  # codes repeat
        ([band("a", 100, 10, "EUR"), band("b", None, 20, "EUR")], "bands"),  # not pounds
        ([band("a", 100, 10), band("b", None, 20, "EUR")], "bands"),  # mixed currencies
        (
            [
                DuesBand("a", "A", Money("EUR", 100), gbp(10), "dues_a"),
                band("b", None, 20),
            ],
            "bands",
        ),  # a ceiling in another currency
        ([band("a", 100, -1), band("b", None, 20)], "bands[0].annual_due"),
        ([band("a", 100, 10), band("b", None, -20)], "bands[1].annual_due"),
        ([band("a", None, 10), band("b", None, 20)], "bands[0].up_to"),  # open before the end
        ([band("a", 100, 10), band("b", None, 20), band("c", 300, 30)], "bands[1].up_to"),
        ([band("a", 100, 10), band("b", 200, 20)], "bands[1].up_to"),  # the last has a ceiling
        ([band("a", 100, 10), band("b", 100, 20), band("c", None, 30)], "bands[1].up_to"),
        ([band("a", 200, 10), band("b", 100, 20), band("c", None, 30)], "bands[1].up_to"),
    ],
)
def test_invalid_bands_name_the_field_at_fault(bands: list[DuesBand], field: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        validate_bands(bands)

    assert caught.value.field == field


# band_for


@pytest.mark.parametrize(
    ("turnover_minor", "code"),
    [
        (0, "micro"),
        (1, "micro"),
        (10_000_000, "micro"),  # £100,000 exactly: a ceiling is inclusive
        (10_000_001, "small"),
        (100_000_000, "small"),
        (100_000_001, "medium"),
        (1_000_000_000, "medium"),
        (1_000_000_001, "large"),
        (10**15, "large"),
    ],
)
def test_the_band_for_a_turnover_is_the_first_whose_ceiling_it_does_not_exceed(
    turnover_minor: int, code: str
) -> None:
    assert band_for(default_bands(), gbp(turnover_minor)).code == code


def test_a_negative_turnover_has_no_band() -> None:
    with pytest.raises(InvalidValue) as caught:
        band_for(default_bands(), gbp(-1))

    assert caught.value.field == "annual_turnover"


def test_a_turnover_in_another_currency_has_no_band() -> None:
    with pytest.raises(InvalidValue) as caught:
        band_for(default_bands(), Money("EUR", 5_000_000))

    assert caught.value.field == "annual_turnover"


# A band as event data


@pytest.mark.parametrize("original", [*default_bands(), band("free", 100, 0)])
def test_a_band_survives_the_round_trip_through_event_data(original: DuesBand) -> None:
    data = original.as_event_data()

    assert DuesBand.from_event_data(data) == original
    assert all(isinstance(value, str | int | type(None)) for value in data.values())


# in_force


def version(
    number: int, effective_from: datetime, bands: tuple[DuesBand, ...] = TWO_BANDS
) -> ScheduleVersion:
    return ScheduleVersion(number, effective_from, bands)


def test_the_version_in_force_is_the_latest_that_has_taken_effect() -> None:
    first, second = version(1, APRIL_2024), version(2, APRIL_2025)

    assert in_force([first, second], APRIL_2025 - timedelta(seconds=1)) is first
    assert in_force([first, second], APRIL_2025) is second  # from its moment, inclusive
    assert in_force([first, second], datetime(2030, 1, 1, tzinfo=UTC)) is second


def test_the_order_versions_are_listed_in_does_not_matter() -> None:
    first, second = version(1, APRIL_2024), version(2, APRIL_2025)

    assert in_force([second, first], datetime(2026, 1, 1, tzinfo=UTC)) is second
    assert in_force([second, first], datetime(2024, 6, 1, tzinfo=UTC)) is first


def test_of_two_versions_from_the_same_moment_the_later_version_is_in_force() -> None:
    first, second = version(1, APRIL_2024), version(2, APRIL_2024)

    assert in_force([second, first], APRIL_2024) is second


def test_before_any_version_no_schedule_is_in_force() -> None:
    with pytest.raises(InvalidValue) as caught:
        in_force([version(1, APRIL_2024)], APRIL_2024 - timedelta(days=1))

    assert caught.value.field == "dues_schedule"
    with pytest.raises(InvalidValue):
        in_force([], APRIL_2024)


# The DuesSchedule aggregate


def started() -> DuesSchedule:
    schedule = DuesSchedule.start(context(STAFF))
    schedule.collect_events()
    return schedule


def test_starting_the_schedule_records_one_event_under_the_well_known_id() -> None:
    ctx = context(STAFF)

    schedule = DuesSchedule.start(ctx)

    [event] = collected(schedule)
    assert type(event) is DuesSchedule.Started
    assert event.originator_id == DUES_SCHEDULE_ID
    assert schedule.id == DUES_SCHEDULE_ID
    assert_carries(event, ctx)
    assert schedule.versions == []


def test_a_started_schedule_without_versions_has_no_bands_in_force() -> None:
    with pytest.raises(InvalidValue) as caught:
        started().bands_at(APRIL_2024)

    assert caught.value.field == "dues_schedule"


def test_publishing_records_the_bands_and_their_effective_date() -> None:
    schedule = started()
    ctx = context(STAFF)

    schedule.publish(ctx, APRIL_2024, default_bands())

    [event] = collected(schedule)
    assert type(event) is DuesSchedule.Published
    assert event.effective_from == APRIL_2024
    assert event.bands == [b.as_event_data() for b in default_bands()]
    assert_carries(event, ctx)
    assert schedule.versions == [ScheduleVersion(1, APRIL_2024, default_bands())]
    assert schedule.version == 2


def test_each_publication_is_the_next_numbered_version() -> None:
    schedule = started()
    dearer = tuple(
        dataclasses.replace(b, annual_due=b.annual_due + gbp(1_000)) for b in default_bands()
    )

    schedule.publish(context(STAFF), APRIL_2024, default_bands())
    schedule.publish(context(STAFF), APRIL_2025, dearer)

    assert [(v.version, v.effective_from) for v in schedule.versions] == [
        (1, APRIL_2024),
        (2, APRIL_2025),
    ]
    assert schedule.bands_at(APRIL_2024) == default_bands()
    assert schedule.bands_at(APRIL_2025 - timedelta(seconds=1)) == default_bands()
    assert schedule.bands_at(APRIL_2025) == dearer
    assert band_for(schedule.bands_at(APRIL_2025), gbp(0)).annual_due == gbp(7_000)


@pytest.mark.parametrize("effective_from", [APRIL_2025, APRIL_2025 - timedelta(days=1)])
def test_a_new_version_must_take_effect_after_the_latest_one(effective_from: datetime) -> None:
    schedule = started()
    schedule.publish(context(STAFF), APRIL_2025, default_bands())
    schedule.collect_events()

    error = assert_forbidden(
        schedule,
        lambda: schedule.publish(context(STAFF), effective_from, TWO_BANDS),
        InvalidValue,
    )

    assert error.field == "effective_from"


def test_publishing_invalid_bands_records_nothing() -> None:
    schedule = started()

    error = assert_forbidden(
        schedule,
        lambda: schedule.publish(context(STAFF), APRIL_2024, [band("a", 100, 10)]),
        InvalidValue,
    )

    assert error.field == "bands[0].up_to"


def test_replaying_the_schedule_reproduces_its_versions() -> None:
    schedule = DuesSchedule.start(context(STAFF))
    schedule.publish(context(STAFF), APRIL_2024, default_bands())
    schedule.publish(context(STAFF), APRIL_2025, TWO_BANDS)

    replayed = replay(collected(schedule))

    assert state(replayed) == state(schedule)
    assert replayed.bands_at(APRIL_2025) == TWO_BANDS
