"""The scoring arithmetic with worked examples checked by hand: points per criterion, the
price formula, one rounding (half up, two places), the tie-breaks, the abnormally low rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from marketplace.evaluation.scoring import (
    Candidate,
    abnormally_low,
    criterion_points,
    price_points,
    results,
    rounded,
)
from marketplace.tender_terms import Criterion, Evaluation, TieBreak

X = UUID("00000000-0000-4000-8000-00000000000a")
Y = UUID("00000000-0000-4000-8000-00000000000b")
Z = UUID("00000000-0000-4000-8000-00000000000c")
T0 = datetime(2027, 1, 4, 9, tzinfo=UTC)


def rules(
    price: int, quality: list[tuple[str, int, int]], social: tuple[int, int], tie: TieBreak
) -> Evaluation:
    return Evaluation(
        price=Criterion("price", price, 10),
        quality=tuple(Criterion(n, w, s) for n, w, s in quality),
        social_value=Criterion("social value", social[0], social[1]),
        tie_break=tie,
        abnormally_low_percent=20,
    )


def candidate(bid: UUID, price: int, minutes: int = 0, **scores: int) -> Candidate:
    named = {k.replace("_", " "): v for k, v in scores.items()}
    return Candidate(bid, price, T0 + timedelta(minutes=minutes), named)


def test_the_parts_of_a_total_are_exact_decimals() -> None:
    assert criterion_points(4, Criterion("a", 20, 5)) == Decimal(16)
    assert criterion_points(7, Criterion("b", 20, 10)) == Decimal(14)
    # 80,000 / 120,000 * 40 = 26.666...: kept to 28 digits, not a float.
    exact = price_points(8_000_000, 12_000_000, 40)
    assert isinstance(exact, Decimal)
    assert str(exact).startswith("26.66666666666666666666666")


def test_three_bids_worked_by_hand() -> None:
    # Price 40; quality "a" 20 on 0-5 and "b" 20 on 0-10; social value 20 on 0-5.
    # X: 100,000: price 80/100*40 = 32; a 4/5*20 = 16; b 7/10*20 = 14; sv 3/5*20 = 12 -> 74.00
    # Y:  80,000: price 40;            a 3/5*20 = 12; b 8/10*20 = 16; sv 5/5*20 = 20 -> 88.00
    # Z: 120,000: price 80/120*40 = 26.666..; a 20; b 20; sv 4/5*20 = 16 -> 82.666.. -> 82.67
    evaluation = rules(40, [("a", 20, 5), ("b", 20, 10)], (20, 5), TieBreak.HIGHEST_QUALITY)
    ranked = results(
        evaluation,
        [
            Candidate(X, 10_000_000, T0, {"a": 4, "b": 7, "social value": 3}),
            Candidate(Y, 8_000_000, T0, {"a": 3, "b": 8, "social value": 5}),
            Candidate(Z, 12_000_000, T0, {"a": 5, "b": 10, "social value": 4}),
        ],
    )
    assert [(r.bid_id, r.total, r.rank) for r in ranked] == [
        (Y, Decimal("88.00"), 1),
        (Z, Decimal("82.67"), 2),
        (X, Decimal("74.00"), 3),
    ]
    z = ranked[1]
    assert z.as_data()["price_points"] == "26.67"
    assert z.as_data()["quality_points"] == "40.00"
    assert z.as_data()["social_value_points"] == "16.00"


def test_rounding_is_half_up_once_at_the_end() -> None:
    # Price 45; quality 40 on 0-5; social value 15 on 0-5.
    # Cheap: 1.00 -> 45; q 2/5*40 = 16; sv 1/5*15 = 3 -> 64.00
    # Dear:  8.00 -> 1/8*45 = 5.625; q 5/5*40 = 40; sv 4/5*15 = 12 -> 57.625 -> 57.63
    # (half to even would give 57.62; rounding the price part first would give 57.63 too, but
    # 5.625 is shown as 5.63 and the total is not the sum of the rounded parts in general).
    evaluation = rules(45, [("q", 40, 5)], (15, 5), TieBreak.LOWEST_PRICE)
    ranked = results(
        evaluation,
        [
            Candidate(X, 100, T0, {"q": 2, "social value": 1}),
            Candidate(Y, 800, T0, {"q": 5, "social value": 4}),
        ],
    )
    assert [(r.bid_id, r.total) for r in ranked] == [(X, Decimal("64.00")), (Y, Decimal("57.63"))]
    assert rounded(Decimal("57.625")) == Decimal("57.63")
    assert rounded(Decimal("57.6249999")) == Decimal("57.62")


def test_the_total_rounds_the_exact_sum_not_the_rounded_parts() -> None:
    # Price 30; quality 35 on 0-10 twice... simpler: price 30, q 70 on 0-10.
    # A: lowest 3.00 -> 30; q 1/10*70 = 7 -> 37.00
    # B: 9.00 -> 3/9*30 = 10 (exact); q 0 -> 10.00
    # C: 7.00 -> 3/7*30 = 12.857142857..; q 1 -> 7 -> 19.857.. -> 19.86 (parts shown 12.86 + 7.00)
    evaluation = rules(30, [("q", 70, 10)], (0, 5), TieBreak.HIGHEST_QUALITY)
    ranked = results(
        evaluation,
        [
            Candidate(X, 300, T0, {"q": 1, "social value": 0}),
            Candidate(Y, 900, T0, {"q": 0, "social value": 0}),
            Candidate(Z, 700, T0, {"q": 1, "social value": 0}),
        ],
    )
    assert [(r.bid_id, r.total) for r in ranked] == [
        (X, Decimal("37.00")),
        (Z, Decimal("19.86")),
        (Y, Decimal("10.00")),
    ]


# Price 40; quality 40 on 0-5; social value 20 on 0-5. Equal prices (100 each):
# A: q 3 -> 24, sv 5 -> 20: 40 + 24 + 20 = 84.00
# B: q 4 -> 32, sv 3 -> 12: 40 + 32 + 12 = 84.00
TIED = [
    Candidate(X, 100, T0 + timedelta(minutes=5), {"q": 3, "social value": 5}),
    Candidate(Y, 100, T0, {"q": 4, "social value": 3}),
]


@pytest.mark.parametrize(
    ("tie", "first"),
    [
        (TieBreak.HIGHEST_QUALITY, Y),  # 32 > 24
        (TieBreak.HIGHEST_SOCIAL_VALUE, X),  # 20 > 12
        # Equal prices: the next rule in order is quality.
        (TieBreak.LOWEST_PRICE, Y),
    ],
)
def test_equal_totals_follow_the_tenders_tie_break(tie: TieBreak, first: UUID) -> None:
    ranked = results(rules(40, [("q", 40, 5)], (20, 5), tie), TIED)
    assert ranked[0].total == ranked[1].total == Decimal("84.00")
    assert ranked[0].bid_id == first


def test_lowest_price_breaks_a_tie_of_unequal_prices() -> None:
    # Price 50; quality 50 on 0-5. X: 100 -> 50, q 3 -> 30 = 80.00.
    # Y: 125 -> 100/125*50 = 40, q 4 -> 40 = 80.00. Lowest price: X; highest quality: Y.
    evaluation = rules(50, [("q", 50, 5)], (0, 5), TieBreak.LOWEST_PRICE)
    pair = [
        Candidate(X, 100, T0, {"q": 3, "social value": 0}),
        Candidate(Y, 125, T0, {"q": 4, "social value": 0}),
    ]
    assert [r.bid_id for r in results(evaluation, pair)] == [X, Y]
    by_quality = rules(50, [("q", 50, 5)], (0, 5), TieBreak.HIGHEST_QUALITY)
    assert [r.bid_id for r in results(by_quality, pair)] == [Y, X]


def test_a_tie_on_every_rule_goes_to_the_earlier_submission() -> None:
    same = [
        Candidate(X, 100, T0 + timedelta(minutes=1), {"q": 3, "social value": 3}),
        Candidate(Y, 100, T0, {"q": 3, "social value": 3}),
    ]
    ranked = results(rules(40, [("q", 40, 5)], (20, 5), TieBreak.HIGHEST_QUALITY), same)
    assert [r.bid_id for r in ranked] == [Y, X]


def test_abnormally_low_is_below_the_others_mean_by_the_published_percent() -> None:
    # 20%: 70 against the others' mean 100 -> threshold 80: flagged. Each 100 against
    # (100 + 100 + 70) / 3 = 90 -> threshold 72: not.
    prices = {X: 100, Y: 100, Z: 70}
    assert abnormally_low(prices, 20) == {Z}
    # Exactly at the threshold is not below it.
    assert abnormally_low({X: 100, Y: 80}, 20) == frozenset()
    assert abnormally_low({X: 100, Y: 79}, 20) == {Y}
    # Alone, a bid has nothing to be compared with.
    assert abnormally_low({X: 1}, 20) == frozenset()


def test_no_candidates_no_results() -> None:
    assert results(rules(40, [("q", 40, 5)], (20, 5), TieBreak.HIGHEST_QUALITY), []) == []
