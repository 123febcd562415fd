"""The impact ledger's arithmetic probed (issue 17), by hand: a consortium of three (33/33/34)
with odd pence splits every figure so the partners' parts add up to the association's; an
amended and a terminated contract; a delivery confirmed in a quarter after the signing's; a
period ending at London's midnight in summer time counts on the day before."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from marketplace.working_days import london_date
from projections.impact_ledger import (
    Grouping,
    LedgerContract,
    LedgerDelivery,
    Totals,
    ledger,
    quarter_of,
    split,
)

A, B, C, BUYER = (uuid.UUID(int=n) for n in (1, 2, 3, 9))
SIGNED_ON = date(2026, 3, 30)


def rate(measure: str, day: date) -> Decimal:
    return {"local_jobs": Decimal("2380000"), "volunteering_hours": Decimal("1221.5")}.get(
        measure, Decimal(0)
    )


def consortium(value: int = 1_000_001, **changes: object) -> LedgerContract:
    fields: dict[str, object] = {
        "contract_id": uuid.UUID(int=100),
        "buyer_id": BUYER,
        "currency": "GBP",
        "awarded_minor": value,
        "value_minor": value,
        "estimated_minor": 1_200_001,
        "signed_on": SIGNED_ON,
        "parties": ((C, 34), (A, 33), (B, 33)),
        "committed": {"local_jobs": 5, "volunteering_hours": 101},
    }
    return LedgerContract(**(fields | changes))  # type: ignore[arg-type]


def test_split_adds_up_and_ties_go_to_the_earlier_share() -> None:
    assert split(1_000_001, [34, 33, 33]) == [340_001, 330_000, 330_000]
    assert split(1_000_002, [34, 33, 33]) == [340_001, 330_001, 330_000]
    assert split(5, [34, 33, 33]) == [2, 2, 1]
    assert split(1, [33, 33, 34]) == [0, 0, 1]
    assert split(7, [0, 0]) == [0, 0]
    for total in (0, 1, 2, 99, 100, 101, 2**63 - 1):
        assert sum(split(total, [34, 33, 33])) == total
        assert sum(split(total, [30, 20])) == total  # shares adding to 50


def test_the_partners_parts_add_up_to_the_association_s() -> None:
    contracts = [consortium()]
    whole = ledger(contracts, [], rate, Grouping.ASSOCIATION)["all"]
    parts = ledger(contracts, [], rate, Grouping.MEMBER)
    assert set(parts) == {str(A), str(B), str(C)}
    gbp = whole.money["GBP"]
    assert (gbp.value_won_minor, gbp.estimated_minor, gbp.awarded_minor) == (
        1_000_001,
        1_200_001,
        1_000_001,
    )
    for field in ("value_won_minor", "estimated_minor", "awarded_minor"):
        assert sum(getattr(p.money["GBP"], field) for p in parts.values()) == getattr(gbp, field)
    # C (34%): 340,001 of the value, 408,001 of the estimate (34% of 1,200,001 = 408,000.34,
    # and the odd penny goes by largest remainder: .34 against .33 and .33).
    assert parts[str(C)].money["GBP"].value_won_minor == 340_001
    assert parts[str(C)].money["GBP"].estimated_minor == 408_001
    # 5 jobs: 1.70, 1.65, 1.65 -> 2, 2, 1; 101 hours: 34.34, 33.33, 33.33 -> 35, 33, 33.
    assert [parts[str(o)].measures["local_jobs"].committed for o in (C, A, B)] == [2, 2, 1]
    assert [parts[str(o)].measures["volunteering_hours"].committed for o in (C, A, B)] == [
        35,
        33,
        33,
    ]
    for measure in ("local_jobs", "volunteering_hours"):
        assert sum(p.measures[measure].committed for p in parts.values()) == (
            whole.measures[measure].committed
        )
    # Their social value, unrounded, adds up too: 5 jobs and 101 hours at 1,221.5 pence.
    assert whole.social_value_committed_minor == 5 * 2_380_000 + 123_372  # 123,371.5 -> up
    assert sum(
        (m.committed_value for p in parts.values() for m in p.measures.values()), Decimal(0)
    ) == Decimal(5 * 2_380_000) + Decimal("123371.5")


def test_an_amended_and_a_terminated_contract() -> None:
    # Amended up to 1,100,000: won counts the value it stands at; the estimate is compared with
    # the value it was awarded at. A terminated contract still counts as won (the ledger keeps
    # no status).
    amended = consortium(awarded_minor=1_000_001, value_minor=1_100_000)
    whole = ledger([amended], [], rate, Grouping.ASSOCIATION)["all"].money["GBP"]
    assert whole.value_won_minor == 1_100_000
    assert whole.estimate_less_awarded_minor == 200_000


def test_a_delivery_counts_in_the_quarter_its_period_ends_in_not_the_signing_s() -> None:
    contract = consortium()
    late = LedgerDelivery(contract.contract_id, A, date(2026, 7, 1), "local_jobs", 2)
    by_quarter = ledger([contract], [late], rate, Grouping.QUARTER)
    assert by_quarter["2026-Q1"].contracts == 1
    assert by_quarter["2026-Q1"].measures["local_jobs"].committed == 5
    assert by_quarter["2026-Q1"].measures["local_jobs"].delivered == 0
    assert by_quarter["2026-Q3"].contracts == 0
    assert by_quarter["2026-Q3"].measures["local_jobs"].delivered == 2
    assert by_quarter["2026-Q3"].social_value_delivered_minor == 2 * 2_380_000
    # The member's: A's report counts for A in full; none for C and B.
    by_member = ledger([contract], [late], rate, Grouping.MEMBER)
    assert by_member[str(A)].measures["local_jobs"].delivered == 2
    assert by_member[str(C)].measures["local_jobs"].delivered == 0
    # A window that holds the delivery but not the signing.
    window = ledger([contract], [late], rate, Grouping.ASSOCIATION, since=date(2026, 4, 1))["all"]
    assert (window.contracts, window.measures["local_jobs"].delivered) == (0, 2)
    assert window.money == {}


def test_a_period_ending_at_london_s_midnight_in_summer_time_counts_on_the_day_before() -> None:
    # 00:00 BST on 1 July 2026 is 23:00 UTC on 30 June: the period's last day is 30 June (Q2),
    # as impact_query reads it (the end less a microsecond, in London).
    end = datetime(2026, 6, 30, 23, 0, tzinfo=UTC)
    last_day = london_date(end - timedelta(microseconds=1))
    assert last_day == date(2026, 6, 30)
    assert quarter_of(last_day) == "2026-Q2"
    # One second later it is 1 July in London: Q3.
    assert quarter_of(london_date(end + timedelta(seconds=1) - timedelta(microseconds=1))) == (
        "2026-Q3"
    )
    # Midnight GMT at the year's end: 31 December's.
    assert london_date(datetime(2027, 1, 1, tzinfo=UTC) - timedelta(microseconds=1)) == date(
        2026, 12, 31
    )


def test_huge_quantities_total_without_error_in_the_ledger() -> None:
    """The ledger's sums are Python ints; the pence are Decimals. A ledger of figures the
    projections accept (each <= 2**63 - 1) must give its totals in pence."""
    contract = consortium(committed={"local_jobs": 2**63 - 1})
    found = ledger([contract], [], rate, Grouping.ASSOCIATION)["all"]
    assert found.measures["local_jobs"].committed == 2**63 - 1
    assert isinstance(Totals("x").social_value_committed_minor, int)
