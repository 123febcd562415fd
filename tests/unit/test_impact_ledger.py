"""The impact ledger's arithmetic, checked by hand on a worked example (issue 17): a single
supplier's contract amended after signing, a consortium's contract (60/40) with a partial
delivery, a contract in euros that overran its estimate; two proxy-value versions, the second
in effect from 1 July 2026."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from projections.impact_ledger import (
    Grouping,
    LedgerContract,
    LedgerDelivery,
    Totals,
    ledger,
    member_years,
    pence,
    quarter_of,
    split,
)

ASH, BIRCH, CEDAR = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
COUNCIL_X, COUNCIL_Y = uuid.uuid4(), uuid.uuid4()
A, B, C = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

CONTRACTS = [
    # Estimate £100,000, awarded £90,000, amended to £95,000; signed in 2026's first quarter.
    LedgerContract(
        A, COUNCIL_X, "GBP", 9_000_000, 9_500_000, 10_000_000, date(2026, 2, 10),
        ((ASH, 100),), {"local_jobs": 4, "volunteering_hours": 100},
    ),
    # A consortium: Birch leads with 60%, Cedar 40%. Estimate £50,000.01, awarded £40,000.01.
    LedgerContract(
        B, COUNCIL_Y, "GBP", 4_000_001, 4_000_001, 5_000_001, date(2026, 5, 1),
        ((BIRCH, 60), (CEDAR, 40)), {"local_jobs": 3, "apprenticeships": 1},
    ),
    # In euros, over its estimate by €1,000.
    LedgerContract(
        C, COUNCIL_X, "EUR", 2_100_000, 2_100_000, 2_000_000, date(2027, 1, 5),
        ((ASH, 100),), {},
    ),
]  # fmt: skip
DELIVERIES = [
    LedgerDelivery(A, ASH, date(2026, 6, 30), "local_jobs", 2),
    LedgerDelivery(A, ASH, date(2026, 6, 30), "volunteering_hours", 40),
    # Of the consortium's three jobs, one delivered (Cedar's report; Birch's was rejected).
    LedgerDelivery(B, CEDAR, date(2026, 9, 30), "local_jobs", 1),
]
# Pence per unit: a job £10,000 then £12,000; an hour £12.21 then £12.71; an apprenticeship
# £5,000 throughout.
FIRST = {"local_jobs": 1_000_000, "volunteering_hours": 1221, "apprenticeships": 500_000}
SECOND = {"local_jobs": 1_200_000, "volunteering_hours": 1271, "apprenticeships": 500_000}


def rate(measure: str, day: date) -> Decimal:
    table = SECOND if day >= date(2026, 7, 1) else FIRST
    return Decimal(table[measure])


def by(grouping: Grouping, **window: date) -> dict[str, Totals]:
    return dict(ledger(CONTRACTS, DELIVERIES, rate, grouping, **window))


def test_the_association_counts_each_contract_once_and_values_by_the_table_of_the_day() -> None:
    [whole] = by(Grouping.ASSOCIATION).values()
    assert whole.contracts == 3
    gbp, eur = whole.money["GBP"], whole.money["EUR"]
    assert gbp.value_won_minor == 9_500_000 + 4_000_001  # as amended
    assert (gbp.estimated_minor, gbp.awarded_minor) == (15_000_001, 13_000_001)
    assert gbp.estimate_less_awarded_minor == 2_000_000  # £20,000 under the estimates
    assert (eur.value_won_minor, eur.estimate_less_awarded_minor) == (2_100_000, -100_000)
    jobs = whole.measures["local_jobs"]
    assert (jobs.committed, jobs.delivered) == (7, 3)
    # Committed at signing (both before July: £10,000 a job); delivered on each period's end:
    # 2 in June at £10,000, 1 in September at £12,000.
    assert (pence(jobs.committed_value), pence(jobs.delivered_value)) == (7_000_000, 3_200_000)
    hours = whole.measures["volunteering_hours"]
    assert (hours.committed, hours.delivered) == (100, 40)
    assert (pence(hours.committed_value), pence(hours.delivered_value)) == (122_100, 48_840)
    apprentices = whole.measures["apprenticeships"]
    assert (apprentices.committed, apprentices.delivered) == (1, 0)
    assert whole.social_value_committed_minor == 7_000_000 + 122_100 + 500_000
    assert whole.social_value_delivered_minor == 3_200_000 + 48_840


def test_a_consortium_s_contract_is_split_by_share_and_a_delivery_counts_for_its_reporter() -> None:
    members = by(Grouping.MEMBER)
    ash, birch, cedar = (members[str(o)] for o in (ASH, BIRCH, CEDAR))
    assert (ash.contracts, birch.contracts, cedar.contracts) == (2, 1, 1)
    # £40,000.01 at 60/40: £24,000.006 and £16,000.004; the odd penny to the larger remainder.
    assert birch.money["GBP"].value_won_minor == 2_400_001
    assert cedar.money["GBP"].value_won_minor == 1_600_000
    assert birch.money["GBP"].estimated_minor == 3_000_001
    assert cedar.money["GBP"].estimated_minor == 2_000_000
    # Three jobs at 60/40: 1.8 and 1.2, so 2 and 1; one apprenticeship: Birch's.
    assert birch.measures["local_jobs"].committed == 2
    assert cedar.measures["local_jobs"].committed == 1
    assert birch.measures["apprenticeships"].committed == 1
    assert cedar.measures["apprenticeships"].committed == 0
    # Cedar reported the one job delivered, valued at September's £12,000.
    assert cedar.measures["local_jobs"].delivered == 1
    assert birch.measures["local_jobs"].delivered == 0
    assert cedar.social_value_delivered_minor == 1_200_000
    assert ash.money["GBP"].value_won_minor == 9_500_000
    assert ash.money["EUR"].value_won_minor == 2_100_000
    # The parties' parts add up to the association's whole.
    whole = by(Grouping.ASSOCIATION)["all"]
    assert sum(m.money["GBP"].value_won_minor for m in members.values() if "GBP" in m.money) == (
        whole.money["GBP"].value_won_minor
    )


def test_buyers_quarters_and_years() -> None:
    buyers = by(Grouping.BUYER)
    assert buyers[str(COUNCIL_X)].contracts == 2
    assert buyers[str(COUNCIL_Y)].measures["local_jobs"].delivered == 1
    quarters = by(Grouping.QUARTER)
    assert sorted(quarters) == ["2026-Q1", "2026-Q2", "2026-Q3", "2027-Q1"]
    assert quarters["2026-Q1"].contracts == 1
    # Q2: B signed; A's June delivery.
    assert quarters["2026-Q2"].contracts == 1
    assert quarters["2026-Q2"].measures["local_jobs"].delivered == 2
    assert quarters["2026-Q3"].contracts == 0
    assert quarters["2026-Q3"].social_value_delivered_minor == 1_200_000
    years = by(Grouping.YEAR)
    assert (years["2026"].contracts, years["2027"].contracts) == (2, 1)


def test_a_window_counts_contracts_by_signing_and_deliveries_by_their_period_s_end() -> None:
    [q2] = by(Grouping.ASSOCIATION, since=date(2026, 4, 1), until=date(2026, 7, 1)).values()
    assert q2.contracts == 1  # B only
    assert q2.money["GBP"].value_won_minor == 4_000_001
    # A (signed in February) delivered in June: counted; Cedar's September delivery is not.
    assert q2.measures["local_jobs"].delivered == 2
    assert q2.measures["local_jobs"].committed == 3


def test_split_adds_up_and_quarters_are_named() -> None:
    assert split(4_000_001, [60, 40]) == [2_400_001, 1_600_000]
    assert split(1, [50, 50]) == [1, 0]  # a tie: the earlier share
    assert split(10, [33, 33, 34]) == [3, 3, 4]
    assert split(7, [0, 0]) == [0, 0]
    assert all(sum(split(n, [17, 29, 54])) == n for n in range(0, 500))
    assert [quarter_of(date(2026, m, 1)) for m in (1, 3, 4, 7, 12)] == [
        "2026-Q1", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4",
    ]  # fmt: skip


def _same(one: Totals, other: Totals) -> None:
    assert (one.contracts, one.money, one.measures) == (
        other.contracts,
        other.money,
        other.measures,
    )


def test_a_member_s_years_in_one_pass_are_the_ledger_s_year_by_year() -> None:
    """`member_years` (a member's report: one pass) gives what the ledger by member gives over
    the window and over each year's part of it, for a lead, a partner and a sole supplier, with
    and without a window (issue 17's left-over: the report ran the ledger once a year)."""
    late = LedgerDelivery(B, BIRCH, date(2027, 3, 31), "apprenticeships", 1)  # Birch's, 2027
    deliveries = [*DELIVERIES, late]
    windows = [(None, None), (date(2026, 3, 1), None), (None, date(2027, 1, 1))]
    windows.append((date(2026, 6, 30), date(2027, 2, 1)))
    for member in (ASH, BIRCH, CEDAR, uuid.uuid4()):
        key = str(member)
        for since, until in windows:
            whole, years = member_years(
                CONTRACTS, deliveries, rate, member, since=since, until=until
            )
            wanted = ledger(CONTRACTS, deliveries, rate, Grouping.MEMBER, since=since, until=until)
            _same(whole, wanted.get(key) or Totals(key))
            for year in (2025, 2026, 2027):
                first, last = date(year, 1, 1), date(year + 1, 1, 1)
                start = max(first, since) if since else first
                end = min(last, until) if until else last
                part = (
                    ledger(CONTRACTS, deliveries, rate, Grouping.MEMBER, since=start, until=end)
                    if start < end
                    else {}
                )
                _same(years.get(year) or Totals(key), part.get(key) or Totals(key))
    whole, years = member_years(CONTRACTS, deliveries, rate, BIRCH)
    assert whole.contracts == 1
    assert sorted(years) == [2026, 2027]
    assert years[2027].measures["apprenticeships"].delivered == 1
