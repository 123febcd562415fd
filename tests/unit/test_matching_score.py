"""The matching score's pure rules (ADR 29): CPV levels, region fit up and down the ITL
hierarchy, capacity, track record and listings points, and their explanations."""

from __future__ import annotations

from projections.matching_score import (
    capacity_points,
    code_prefixes,
    cpv_detail,
    divisions_of,
    listing_points,
    member_region_points,
    money,
    region_detail,
    region_fit,
    tender_region_points,
    track_points,
)
from sharedkernel.reference import itl_regions

PARENTS = {code: region.parent for code, region in itl_regions().items()}


def test_a_codes_prefixes_are_its_division_group_class_category_and_itself() -> None:
    assert code_prefixes("45214000-0") == ["45", "452", "4521", "45214", "45214000"]
    assert code_prefixes("bad") == []
    assert code_prefixes("4521400A-0") == []
    assert divisions_of(["45214000-0", "71000000-8", "x"]) == {"45", "71"}


def test_the_deepest_common_prefix_gives_the_cpv_level() -> None:
    mine = code_prefixes("45210000-2")
    assert cpv_detail(mine, ["45214000-0"]) == (3, "same class (4521) as 45214000-0")
    assert cpv_detail(code_prefixes("45214000-0"), ["45214000-0"])[0] == 5
    assert cpv_detail(code_prefixes("45000000-7"), ["45214000-0"]) == (
        1,
        "same division (45) as 45214000-0",
    )
    assert cpv_detail(code_prefixes("71000000-8"), ["45214000-0"]) == (0, "no CPV code in common")


def test_region_fit_up_and_down_the_hierarchy() -> None:
    assert region_fit("TLE42", "TLE42", PARENTS) == 20
    assert region_fit("TLE42", "TLE4", PARENTS) == 16  # the parent
    assert region_fit("TLE42", "TLE", PARENTS) == 12  # further up
    assert region_fit("TLE4", "TLE42", PARENTS) == 8  # inside it
    assert region_fit("TLE", "TLE42", PARENTS) == 8
    assert region_fit("TLE42", "TLE41", PARENTS) == 0  # a sibling
    assert region_fit("TLE42", "TLC3", PARENTS) == 0


def test_the_region_tables_given_to_sql_agree_with_the_fit() -> None:
    for_tender = member_region_points(["TLE42", "TLC3"], PARENTS)
    assert (for_tender["TLE42"], for_tender["TLE4"], for_tender["TLE"]) == (20, 16, 12)
    assert for_tender["TLC"] == 16
    assert "TLE41" not in for_tender
    for_member = tender_region_points(["TLE4"], PARENTS)
    assert (for_member["TLE42"], for_member["TLE4"], for_member["TLE"]) == (16, 20, 8)
    assert "TLC3" not in for_member
    assert region_detail([], ["TLC3"], PARENTS) == (20, "the tender is open to suppliers anywhere")
    assert region_detail(["TLE42"], ["TLE4"], PARENTS) == (16, "serves TLE4, the parent of TLE42")
    assert region_detail(["TLE4"], ["TLE42"], PARENTS) == (8, "serves TLE42, part of TLE4")
    assert region_detail(["TLE42"], ["TLC3"], PARENTS) == (0, "serves none of TLE42")


def test_capacity_track_record_and_listings_points() -> None:
    assert capacity_points(5_000_000, 8_000_000) == 6  # floor(6.25)
    assert capacity_points(9_000_000, 8_000_000) == 10
    assert capacity_points(0, 8_000_000) == 0
    assert (capacity_points(1, 0), capacity_points(0, 0)) == (10, 0)
    assert (track_points(1, 1), track_points(3, 0), track_points(3, 1)) == (5, 9, 10)
    assert (listing_points(2), listing_points(9)) == (2, 5)
    assert money(5_000_000, "GBP") == "£50,000.00"
    assert money(105, "EUR") == "EUR 1.05"
