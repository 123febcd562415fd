"""Saved searches (issue 17): the aggregate's events, criteria parsing and matching a tender's or
an outside opportunity's public facts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from marketplace.alerts.criteria import (
    OPPORTUNITY,
    TENDER,
    Criteria,
    Delivery,
    Facts,
    matches,
    opportunity_facts,
    tender_facts,
)
from marketplace.alerts.search import SavedSearch
from sharedkernel.errors import InvalidValue, NotFound
from sharedkernel.events import Context

AT = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _context() -> Context:
    return Context(f"user:{uuid4()}", "req", AT)


def _facts(**changes: Any) -> Facts:
    base: dict[str, Any] = {
        "kind": TENDER,
        "title": "Catering for the town hall",
        "description": "Hot lunches, locally sourced",
        "cpv_codes": ("55520000-1",),
        "regions": ("TLC3",),
        "somewhere_unknown": False,
        "value_minor": 5_000_000,
        "currency": "GBP",
        "vcse": False,
    }
    base.update(changes)
    return Facts(**base)


def test_a_search_is_saved_changed_and_deleted_with_its_user_id() -> None:
    organisation, user = uuid4(), uuid4()
    criteria = Criteria.parse(cpv_prefixes=["5552"], regions=["tlc"], keywords=[" Lunches "])
    search = SavedSearch.save(
        _context(), uuid4(), organisation, user, "  Catering  ", criteria, Delivery.DAILY
    )
    assert (search.organisation_id, search.user_id, search.name) == (organisation, user, "Catering")
    assert search.criteria.regions == ("TLC",)
    assert search.criteria.keywords == ("lunches",)
    assert search.delivery is Delivery.DAILY
    search.change(_context(), "Food", Criteria.parse(vcse_only=True), Delivery.IMMEDIATE)
    assert (search.name, search.criteria.vcse_only, search.delivery) == (
        "Food",
        True,
        Delivery.IMMEDIATE,
    )
    search.delete(_context())
    assert search.deleted
    with pytest.raises(NotFound):
        search.change(_context(), "Again", criteria, Delivery.DAILY)
    with pytest.raises(NotFound):
        search.delete(_context())
    names = [type(e).__qualname__ for e in search.collect_events()]
    assert names == ["SavedSearch.Saved", "SavedSearch.Changed", "SavedSearch.Deleted"]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"cpv_prefixes": ["5"]}, "cpv_prefixes"),
        ({"cpv_prefixes": ["55a"]}, "cpv_prefixes"),
        ({"regions": ["XX9"]}, "regions[0]"),
        ({"min_value_minor": -1}, "min_value_minor"),
        ({"min_value_minor": 10, "max_value_minor": 9}, "max_value_minor"),
        ({"keywords": ["  "]}, "keywords"),
        ({"keywords": ["x"] * 21}, "keywords"),
    ],
)
def test_bad_criteria_are_refused_by_field(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        Criteria.parse(**arguments)
    assert refused.value.field == field


def test_an_empty_name_and_an_unknown_delivery_are_refused() -> None:
    with pytest.raises(InvalidValue):
        SavedSearch.save(_context(), uuid4(), uuid4(), uuid4(), " ", Criteria(), Delivery.DAILY)
    with pytest.raises(InvalidValue):
        Delivery.parse("weekly")


def test_criteria_round_trip_through_event_data() -> None:
    criteria = Criteria.parse(
        cpv_prefixes=["55", "7981"],
        regions=["TLC"],
        min_value_minor=100,
        max_value_minor=200,
        keywords=["a b"],
        vcse_only=True,
        include_outside=False,
    )
    assert Criteria.from_data(criteria.as_data()) == criteria
    facts = _facts()
    assert Facts.from_data(facts.as_data()) == facts


def test_empty_criteria_match_everything() -> None:
    assert matches(Criteria(), _facts())
    assert matches(Criteria(), _facts(kind=OPPORTUNITY, value_minor=None, currency=None))


def test_cpv_prefixes() -> None:
    assert matches(Criteria.parse(cpv_prefixes=["79", "555"]), _facts())
    assert not matches(Criteria.parse(cpv_prefixes=["79", "556"]), _facts())


def test_regions_match_up_and_down_the_hierarchy_and_anywhere() -> None:
    assert matches(Criteria.parse(regions=["TLC"]), _facts())  # the tender's is inside
    assert matches(Criteria.parse(regions=["TLC31"]), _facts())  # the search's is inside
    assert not matches(Criteria.parse(regions=["TLD"]), _facts())
    assert matches(Criteria.parse(regions=["TLD"]), _facts(regions=()))  # open anywhere
    unknown = _facts(kind=OPPORTUNITY, regions=(), somewhere_unknown=True)
    assert not matches(Criteria.parse(regions=["TLD"]), unknown)
    assert matches(Criteria(), unknown)


def test_value_band_in_pounds_only() -> None:
    band = Criteria.parse(min_value_minor=5_000_000, max_value_minor=5_000_000)
    assert matches(band, _facts())
    assert not matches(Criteria.parse(min_value_minor=5_000_001), _facts())
    assert not matches(Criteria.parse(max_value_minor=4_999_999), _facts())
    assert not matches(band, _facts(currency="EUR"))
    assert not matches(band, _facts(value_minor=None))


def test_every_keyword_in_title_or_description_case_ignored() -> None:
    assert matches(Criteria.parse(keywords=["TOWN hall", "locally"]), _facts())
    assert not matches(Criteria.parse(keywords=["town hall", "cleaning"]), _facts())


def test_vcse_only_and_outside_opportunities_included_or_not() -> None:
    assert not matches(Criteria.parse(vcse_only=True), _facts())
    assert matches(Criteria.parse(vcse_only=True), _facts(vcse=True))
    outside = _facts(kind=OPPORTUNITY, vcse=None)
    assert not matches(Criteria.parse(vcse_only=True), outside)
    assert matches(Criteria.parse(include_outside=True), outside)
    assert not matches(Criteria.parse(include_outside=False), outside)
    assert matches(Criteria.parse(include_outside=False), _facts())


def test_facts_from_tender_terms_and_an_opportunity_summary() -> None:
    lot = {"cpv_codes": ["55520000-1"], "value_minor": 300, "currency": "GBP"}
    terms = {
        "title": "T",
        "description": "D",
        "lots": [lot, {**lot, "cpv_codes": ["79810000-5"], "value_minor": 700}],
        "eligibility": {"members_only": True, "regions": ["TLC"]},
    }
    facts = tender_facts(terms)
    assert facts.cpv_codes == ("55520000-1", "79810000-5")
    assert (facts.value_minor, facts.currency, facts.vcse) == (1000, "GBP", True)
    mixed = {**terms, "lots": [lot, {**lot, "currency": "EUR"}]}
    assert tender_facts(mixed).value_minor is None
    summary = {
        "title": "O",
        "description": "",
        "amount": "1234.5",
        "currency": "GBP",
        "cpv_codes": ["55520000-1"],
        "regions": [],
        "unresolved_regions": ["SW1A 1AA"],
        "vcse": True,
    }
    outside = opportunity_facts(summary)
    assert (outside.value_minor, outside.somewhere_unknown, outside.vcse) == (123450, True, True)
    assert opportunity_facts({**summary, "amount": "0.001"}).value_minor is None
    assert opportunity_facts({**summary, "amount": None}).value_minor is None
