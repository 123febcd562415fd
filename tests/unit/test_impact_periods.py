"""impact_ledger.period_ledgers, pure: the ledger summed by day gives `ledgers`' totals by
period on seeded, varied rows, and no answer where those sums could not be the same."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest

from projections.impact_ledger import (
    PERIODS,
    Grouping,
    LedgerContract,
    LedgerDelivery,
    MeasuredOn,
    SignedOn,
    Totals,
    ledgers,
    period_ledgers,
)

MEASURES = ("local_jobs", "apprenticeships", "volunteering_hours")
START = date(2025, 12, 1)


def rate(measure: str, day: date) -> Decimal:
    places = {"local_jobs": "2380000", "apprenticeships": "499999.9999"}
    return Decimal(places.get(measure, "12.21")) + (1 if day >= date(2026, 4, 1) else 0)


def seeded(seed: int) -> tuple[list[LedgerContract], list[LedgerDelivery]]:
    rng = random.Random(seed)
    contracts = [
        LedgerContract(
            uuid.uuid4(),
            uuid.uuid4(),
            rng.choice(["GBP", "GBP", "EUR"]),
            rng.randrange(10**8),
            rng.randrange(10**8),
            rng.choice([None, rng.randrange(10**8)]),
            START + timedelta(days=rng.randrange(400)),
            tuple((uuid.uuid4(), s) for s in rng.choice([[100], [60, 40], [30, 20]])),
            {m: rng.randrange(10**6) for m in rng.sample(MEASURES, rng.randrange(4))},
        )
        for _ in range(80)
    ]
    deliveries = [
        LedgerDelivery(
            rng.choice(contracts).contract_id if rng.random() < 0.9 else uuid.uuid4(),
            uuid.uuid4(),
            START + timedelta(days=rng.randrange(400)),
            rng.choice(MEASURES),
            rng.randrange(10**5),
        )
        for _ in range(150)
    ]
    return contracts, deliveries


def summed(
    contracts: list[LedgerContract], deliveries: list[LedgerDelivery]
) -> tuple[list[SignedOn], list[MeasuredOn], list[MeasuredOn]]:
    """What impact_query.period_rows reads for these rows."""
    signed: dict[tuple[date, str], list[int]] = {}
    committed: dict[tuple[date, str], int] = {}
    delivered: dict[tuple[date, str], int] = {}
    for c in contracts:
        found = signed.setdefault((c.signed_on, c.currency), [0, 0, 0, 0])
        found[0] += 1
        found[1] += c.value_minor
        if c.estimated_minor is not None:
            found[2] += c.estimated_minor
            found[3] += c.awarded_minor
        for measure, quantity in c.committed.items():
            committed[c.signed_on, measure] = committed.get((c.signed_on, measure), 0) + quantity
    stored = {c.contract_id for c in contracts}
    for d in deliveries:
        if d.contract_id in stored:
            delivered[d.on, d.measure] = delivered.get((d.on, d.measure), 0) + d.quantity
    return (
        [SignedOn(on, currency, *figures) for (on, currency), figures in signed.items()],
        [MeasuredOn(on, m, q) for (on, m), q in committed.items()],
        [MeasuredOn(on, m, q) for (on, m), q in delivered.items()],
    )


def figures(found: dict[Grouping, dict[str, Totals]]) -> dict[object, object]:
    return {
        (g, key): (
            t.contracts,
            {c: vars(m) for c, m in t.money.items()},
            {name: vars(m) for name, m in t.measures.items()},
            t.social_value_committed_minor,
            t.social_value_delivered_minor,
        )
        for g, groups in found.items()
        for key, t in groups.items()
    }


@pytest.mark.parametrize("seed", range(5))
def test_sums_by_day_give_the_row_by_row_totals(seed: int) -> None:
    contracts, deliveries = seeded(seed)
    every = tuple(sorted(PERIODS))
    for since, until in [(None, None), (date(2026, 1, 1), None), (None, date(2026, 4, 1))]:
        window = {"since": since, "until": until}
        signed, committed, delivered = summed(contracts, deliveries)
        found = period_ledgers(signed, committed, delivered, rate, every, **window)
        assert found is not None
        assert figures(found) == figures(ledgers(contracts, deliveries, rate, every, **window))


def test_a_rate_of_more_than_four_places_gives_no_answer() -> None:
    rows = summed(*seeded(1))
    assert period_ledgers(*rows, lambda m, d: Decimal("0.00001"), (Grouping.YEAR,)) is None


def test_sums_past_28_digits_give_no_answer() -> None:
    """10**24 local jobs at 2,380,000 pence: past 10**28 ten-thousandths of a penny, where the
    row-by-row ledger's Decimal sums could round."""
    committed = [MeasuredOn(START, "local_jobs", 10**24)]
    assert period_ledgers([], committed, [], rate, (Grouping.ASSOCIATION,)) is None
    assert period_ledgers([], committed[:0], [], rate, (Grouping.ASSOCIATION,)) == {
        Grouping.ASSOCIATION: {}
    }


def test_only_periods() -> None:
    with pytest.raises(ValueError, match="not a period"):
        period_ledgers([], [], [], rate, (Grouping.MEMBER,))
