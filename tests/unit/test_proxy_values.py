"""The social-value proxy-value table (issue 17): parsing a version (every measure once, rates,
sources, named fields), versions applied by date (boundaries on the effective day), the
ProxyValues aggregate (unique dates, replay), the shipped default table, and MarketplaceApp's
add_proxy_table / proxy_tables (in memory; both stores are the API tests')."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from marketplace.application import MarketplaceApp
from marketplace.bids.content import MEASURES
from marketplace.impact.application import shipped_proxy_table
from marketplace.impact.proxies import (
    DEFAULT_EFFECTIVE_FROM,
    MAX_SOURCE,
    PROXY_VALUES_ID,
    ProxyTable,
    ProxyValues,
    default_table,
    parse_effective_from,
    parse_pence,
    parse_table,
    table_on,
)
from sharedkernel.errors import Conflict, InvalidValue, StaleVersion
from sharedkernel.events import Context
from sharedkernel.reference.proxy_values import default_proxy_rows

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
SOURCE = "Example source, https://example.org/figures"


def ctx() -> Context:
    return Context("user:staff", "r", NOW)


def rows(**rates: str) -> list[tuple[object, object, object]]:
    """Every measure at 100 pence, but those given."""
    return [(m, rates.get(m, "100"), SOURCE) for m in MEASURES]


def swap(index: int, row: tuple[object, object, object]) -> list[tuple[object, object, object]]:
    given = rows()
    given[index] = row
    return given


def table(day: date, **rates: str) -> ProxyTable:
    return parse_table(day, rows(**rates), "")


def replay(events: Sequence[Any]) -> Any:
    return functools.reduce(lambda aggregate, event: event.mutate(aggregate), events, None)


def field_of(error: pytest.ExceptionInfo[InvalidValue]) -> str:
    return error.value.field


# Parsing ---------------------------------------------------------------------------------------


def test_a_version_has_every_measure_in_order_and_values_quantities() -> None:
    given = list(reversed(rows(volunteering_hours="12.21", carbon_saving="0.0005")))
    parsed = parse_table(date(2026, 4, 1), given, "  Wage rise  ")
    assert list(parsed.values) == list(MEASURES)
    assert parsed.note == "Wage rise"
    assert parsed.values["volunteering_hours"].pence_per_unit == Decimal("12.21")
    assert parsed.values["volunteering_hours"].unit == "hours"
    assert parsed.value_of("volunteering_hours", 10) == Decimal("122.1")
    assert parsed.value_of("carbon_saving", 3) == Decimal("0.0015")
    assert parsed.value_of("local_jobs", 0) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", "0"),
        ("1221", "1221"),
        ("12.50", "12.5"),
        ("12.0000", "12"),
        ("0.0001", "0.0001"),
        ("1000000000", "1000000000"),
        ("1000000000.0000", "1000000000"),
        (1221, "1221"),
        (" 7 ", "7"),
    ],
)
def test_rates_parse_to_one_form(text: object, expected: str) -> None:
    assert str(parse_pence(text, "rate")) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-1",
        "1e3",
        "NaN",
        "Infinity",
        "1.00001",
        "1000000000.0001",
        "1000000001",
        ".5",
        "5.",
        "1.2.3",
        "1,000",
        "١٢",  # Arabic-Indic digits: not ASCII
        12.5,
        True,
        None,
        "9" * 21,
    ],
)
def test_odd_rates_are_refused_naming_the_field(text: object) -> None:
    with pytest.raises(InvalidValue) as refused:
        parse_pence(text, "values[2].pence_per_unit")
    assert field_of(refused) == "values[2].pence_per_unit"


def test_bad_rows_name_their_field() -> None:
    cases: list[tuple[list[tuple[object, object, object]], str]] = [
        ([*rows()[:5], ("seagulls", "1", SOURCE)], "values[5].measure"),
        ([*rows(), ("local_jobs", "1", SOURCE)], "values[6].measure"),  # twice
        (rows()[:5], "values"),  # carbon_saving missing
        ([], "values"),
        (
            [*rows()[:2], ("volunteering_hours", "-3", SOURCE), *rows()[3:]],
            "values[2].pence_per_unit",
        ),
        (
            [*rows()[:3], ("local_social_enterprise_spend", "1", "   "), *rows()[4:]],
            "values[3].source",
        ),
        (
            [*rows()[:3], ("local_social_enterprise_spend", "1", None), *rows()[4:]],
            "values[3].source",
        ),
        (
            [*rows()[:1], ("apprenticeships", "1", "x" * (MAX_SOURCE + 1)), *rows()[2:]],
            "values[1].source",
        ),
        ([*rows()[:1], ("apprenticeships", "1", "two\nlines"), *rows()[2:]], "values[1].source"),
        ([(None, "1", SOURCE), *rows()[1:]], "values[0].measure"),
    ]
    for given, field in cases:
        with pytest.raises(InvalidValue) as refused:
            parse_table(date(2026, 4, 1), given, "")
        assert field_of(refused) == field, (given, refused.value)


def test_effective_dates_parse_as_iso_calendar_dates_only() -> None:
    assert parse_effective_from("2026-04-01") == date(2026, 4, 1)
    assert parse_effective_from(date(2026, 4, 1)) == date(2026, 4, 1)
    fullwidth = "\uff12\uff10\uff12\uff16-04-01"
    for odd in ("2026-02-30", "20260401", "2026-W14-3", "tomorrow", "", fullwidth, None):
        with pytest.raises(InvalidValue) as refused:
            parse_effective_from(odd)
        assert field_of(refused) == "effective_from"
    with pytest.raises(InvalidValue):
        parse_effective_from(datetime(2026, 4, 1, tzinfo=UTC))


def test_a_recorded_version_comes_back_from_its_payload_and_odd_payloads_are_value_errors() -> None:
    version = table(date(2026, 4, 1), volunteering_hours="12.21")
    assert ProxyTable.from_data(version.as_data()) == version
    assert version.as_data()["values"][2] == {
        "measure": "volunteering_hours",
        "pence_per_unit": "12.21",
        "source": SOURCE,
    }
    for odd in (
        {},
        {"effective_from": 20260401, "values": [], "note": ""},
        {"effective_from": "2026-04-01", "values": "x", "note": ""},
        {"effective_from": "2026-04-01", "values": [1, 2], "note": ""},
        {"effective_from": "not a date", "values": version.as_data()["values"], "note": ""},
        {"effective_from": "2026-04-01", "values": version.as_data()["values"][:3], "note": ""},
        {"effective_from": "2026-04-01", "values": version.as_data()["values"], "note": 3},
    ):
        with pytest.raises(ValueError, match=r".+"):
            ProxyTable.from_data(odd)


# Versions applied by date ----------------------------------------------------------------------


def test_the_version_in_effect_is_the_latest_on_or_before_the_day() -> None:
    default = table(DEFAULT_EFFECTIVE_FROM, volunteering_hours="1")
    april = table(date(2026, 4, 1), volunteering_hours="2")
    july = table(date(2026, 7, 1), volunteering_hours="3")
    tables = [default, april, july]
    assert table_on(tables, date(2026, 3, 31)) is default
    assert table_on(tables, date(2026, 4, 1)) is april  # from its effective day
    assert table_on(tables, date(2026, 6, 30)) is april  # to the day before the next
    assert table_on(tables, date(2026, 7, 1)) is july
    assert table_on(tables, date(9999, 12, 31)) is july
    assert table_on(list(reversed(tables)), date(2026, 5, 1)) is april  # whatever the order
    # Before every version: the earliest one.
    assert table_on([april, july], date(2026, 1, 1)) is april
    assert table_on(tables, date(1999, 12, 31)) is default
    with pytest.raises(ValueError, match="no proxy-value table"):
        table_on([], date(2026, 1, 1))
    # A quantity's value on a day uses that day's version.
    assert table_on(tables, date(2026, 4, 1)).value_of("volunteering_hours", 5) == 10
    assert table_on(tables, date(2026, 3, 31)).value_of("volunteering_hours", 5) == 5


# The aggregate ---------------------------------------------------------------------------------


def test_versions_are_recorded_with_unique_dates_and_replay() -> None:
    values = ProxyValues.start(ctx())
    assert values.id == PROXY_VALUES_ID
    future = table(date(2031, 1, 1), local_jobs="999")
    past = table(date(2010, 6, 1))
    values.add(ctx(), future)
    values.add(ctx(), past)  # past or future: recorded as given
    assert [t.effective_from for t in values.tables] == [date(2010, 6, 1), date(2031, 1, 1)]
    with pytest.raises(Conflict):
        values.add(ctx(), table(date(2031, 1, 1)))
    with pytest.raises(Conflict):
        values.add(ctx(), table(DEFAULT_EFFECTIVE_FROM))  # the shipped table's date
    with pytest.raises(InvalidValue) as refused:
        values.add(ctx(), table(date(1999, 12, 31)))
    assert field_of(refused) == "effective_from"
    events = values.collect_events()
    assert len(events) == 3
    added = events[1]
    assert added.effective_from == "2031-01-01"
    assert added.values[0] == {"measure": "local_jobs", "pence_per_unit": "999", "source": SOURCE}
    assert replay(events).tables == values.tables


# The shipped default table ---------------------------------------------------------------------


def test_the_shipped_table_covers_every_measure_with_a_public_source() -> None:
    shipped = shipped_proxy_table()
    assert shipped.effective_from == DEFAULT_EFFECTIVE_FROM == date(2000, 1, 1)
    assert list(shipped.values) == list(MEASURES)
    assert [(r.measure, r.unit) for r in default_proxy_rows()] == list(MEASURES.items())
    for value in shipped.values.values():
        # Face value is a rule, not a figure from elsewhere; every figure names a public page.
        if value.measure != "local_social_enterprise_spend":
            assert "https://" in value.source, value
    assert shipped.values["local_social_enterprise_spend"].pence_per_unit == 1  # face value
    assert shipped.values["volunteering_hours"].pence_per_unit == Decimal("1221")
    assert "gov.uk" in shipped.values["volunteering_hours"].source
    assert "TOMs" not in "".join(v.source for v in shipped.values.values())


def test_a_default_row_in_the_wrong_unit_is_refused() -> None:
    good = [(r.measure, r.unit, r.pence_per_unit, r.source) for r in default_proxy_rows()]
    bad = [("carbon_saving", "kg", "1", SOURCE), *good[:-1]]
    with pytest.raises(ValueError, match="carbon_saving"):
        default_table(bad)


# The application -------------------------------------------------------------------------------


def test_the_app_lists_the_shipped_table_first_then_versions_by_date() -> None:
    market = MarketplaceApp(IN_MEMORY)
    assert market.proxy_tables() == (shipped_proxy_table(),)
    assert market.proxy_values_version() == 0
    first = market.add_proxy_table(ctx(), table(date(2027, 1, 1)))
    assert (first.aggregate_id, first.version) == (PROXY_VALUES_ID, 2)
    market.add_proxy_table(ctx(), table(date(2026, 4, 1)), expected_version=2)
    tables = market.proxy_tables()
    assert tables[0] == shipped_proxy_table()
    assert [t.effective_from for t in tables[1:]] == [date(2026, 4, 1), date(2027, 1, 1)]
    assert market.proxy_values_version() == 3


def test_the_app_refuses_a_stale_version_and_a_taken_date_changing_nothing() -> None:
    market = MarketplaceApp(IN_MEMORY)
    with pytest.raises(StaleVersion):
        market.add_proxy_table(ctx(), table(date(2027, 1, 1)), expected_version=1)
    assert market.proxy_values() is None
    market.add_proxy_table(ctx(), table(date(2027, 1, 1)), expected_version=0)
    with pytest.raises(StaleVersion):
        market.add_proxy_table(ctx(), table(date(2028, 1, 1)), expected_version=0)
    with pytest.raises(Conflict):
        market.add_proxy_table(ctx(), table(date(2027, 1, 1)))
    assert [t.effective_from for t in market.proxy_tables()] == [
        DEFAULT_EFFECTIVE_FROM,
        date(2027, 1, 1),
    ]
