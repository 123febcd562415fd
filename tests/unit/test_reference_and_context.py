"""Reference code lists (CPV 2008, ITL 2025) and the command `Context` events are stamped from."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from sharedkernel.errors import InvalidValue
from sharedkernel.events import CLOCK, SYSTEM, Context, actor_user_id, user_actor
from sharedkernel.reference import canonical_cpv, canonical_region, cpv_codes, itl_regions

# CPV 2008


def test_there_are_9454_cpv_codes() -> None:
    assert len(cpv_codes()) == 9454


def test_every_cpv_code_has_eight_digits_and_a_check_digit() -> None:
    malformed = [code for code in cpv_codes() if not re.fullmatch(r"\d{8}-\d", code)]

    assert malformed == []


def test_no_two_cpv_codes_share_a_stem() -> None:
    stems = Counter(code.split("-")[0] for code in cpv_codes())

    assert [stem for stem, count in stems.items() if count > 1] == []


def test_every_cpv_code_has_an_english_label() -> None:
    assert cpv_codes()["77314000-4"] == "Grounds maintenance services"
    assert all(label.strip() for label in cpv_codes().values())


@pytest.mark.parametrize("code", ["77314000-4", "77314000", " 77314000-4 ", "\t77314000\n"])
def test_a_cpv_code_is_returned_in_official_form_with_its_check_digit(code: str) -> None:
    assert canonical_cpv(code) == "77314000-4"


def test_the_official_check_digit_is_looked_up_not_computed() -> None:
    assert canonical_cpv("45000000") == "45000000-7"
    assert canonical_cpv("03000000") == "03000000-1"


@pytest.mark.parametrize(
    "code",
    [
        "77314000-5",  # wrong check digit
        "77314000-44",
        "77314001",  # no such code
        "7731400",  # too short
        "773140000",
        "",
        "   ",
        "-4",
        "77314000 -4",
        "services",
    ],
)
def test_an_unknown_cpv_code_is_invalid(code: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        canonical_cpv(code)

    assert caught.value.field == "cpv_codes"


def test_an_unknown_cpv_code_names_the_field_it_is_given() -> None:
    with pytest.raises(InvalidValue) as caught:
        canonical_cpv("77314000-5", field="cpv_codes[3]")

    assert caught.value.field == "cpv_codes[3]"
    assert "77314000-5" in caught.value.message


# ITL 2025


def test_there_are_240_itl_regions_in_three_levels() -> None:
    levels = Counter(region.level for region in itl_regions().values())

    assert len(itl_regions()) == 240
    assert levels == {"ITL1": 12, "ITL2": 46, "ITL3": 182}


def test_each_itl_region_sits_under_a_region_one_level_up() -> None:
    regions = itl_regions()
    parent_level = {"ITL2": "ITL1", "ITL3": "ITL2"}

    for region in regions.values():
        if region.level == "ITL1":
            assert region.parent is None, region
        else:
            assert region.parent is not None
            assert regions[region.parent].level == parent_level[region.level], region


def test_itl_regions_are_keyed_by_their_own_upper_case_code() -> None:
    for code, region in itl_regions().items():
        assert code == region.code == code.upper()
        assert code.startswith("TL")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("TLC", "TLC"),
        ("tlc", "TLC"),
        ("Tlc3", "TLC3"),
        (" tld ", "TLD"),
        ("TLN", "TLN"),
    ],
)
def test_a_region_code_is_accepted_in_any_case_and_returned_upper_case(
    code: str, expected: str
) -> None:
    assert canonical_region(code) == expected


@pytest.mark.parametrize("code", ["", "  ", "XX", "TLA", "UKC", "TL", "TLC 3", "North East"])
def test_an_unknown_region_is_invalid(code: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        canonical_region(code)

    assert caught.value.field == "regions"


def test_an_unknown_region_names_the_field_it_is_given() -> None:
    with pytest.raises(InvalidValue) as caught:
        canonical_region("UKC", field="regions[1]")

    assert caught.value.field == "regions[1]"
    assert "UKC" in caught.value.message


# Context

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_a_context_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Context(actor=SYSTEM, request_id="req-1", at=datetime(2026, 3, 2, 9, 30))


def test_a_context_refuses_a_naive_effective_time() -> None:
    with pytest.raises(ValueError, match="effective_at"):
        Context(
            actor=SYSTEM,
            request_id="req-1",
            at=AT,
            effective_at=datetime(2020, 1, 1),
        )


def test_a_context_accepts_an_aware_time_in_another_offset() -> None:
    paris = timezone(timedelta(hours=1))

    context = Context(actor=SYSTEM, request_id="req-1", at=AT.astimezone(paris))

    assert context.at == AT


def test_event_kwargs_take_the_effective_time_from_now_when_none_is_given() -> None:
    context = Context(actor=CLOCK, request_id="req-1", at=AT)

    assert context.event_kwargs() == {
        "actor": CLOCK,
        "request_id": "req-1",
        "effective_at": AT,
        "timestamp": AT,
    }


def test_event_kwargs_use_the_effective_time_when_given() -> None:
    joined = datetime(2015, 6, 1, tzinfo=UTC)
    context = Context(actor=SYSTEM, request_id="req-2", at=AT, effective_at=joined)

    kwargs = context.event_kwargs()

    assert kwargs["effective_at"] == joined
    assert kwargs["timestamp"] == AT


def test_a_context_is_immutable() -> None:
    context = Context(actor=SYSTEM, request_id="req-1", at=AT)

    with pytest.raises(dataclasses.FrozenInstanceError):
        context.at = AT + timedelta(days=1)  # type: ignore[misc]


# Actors


def test_a_user_actor_names_the_user_and_gives_the_id_back() -> None:
    user_id = UUID("00000000-0000-4000-8000-0000000000a1")

    actor = user_actor(user_id)

    assert actor == f"user:{user_id}"
    assert actor_user_id(actor) == user_id


@pytest.mark.parametrize("actor", [CLOCK, SYSTEM])
def test_the_clock_and_the_system_are_no_user(actor: str) -> None:
    assert actor_user_id(actor) is None
