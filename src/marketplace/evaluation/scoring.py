"""The scoring arithmetic: each bid's points and total, the ranking with its tie-breaks, and
the abnormally low price rule. Pure code, Decimal throughout, never a float.

The total is sum of (score / scale maximum * criterion weight) over the quality and social-value
criteria, plus lowest valid price / this price * price weight. It is computed at 28
significant digits and rounded once, half up, to two decimal places (`PLACES`); each part is
shown rounded the same way, so the parts shown may differ from the total by a hundredth. Bids
rank on the rounded total; equal totals are separated by the tender's tie-break rule, then by
the other two rules in the order quality, social value, price, then by the earlier submission.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from uuid import UUID

from marketplace.tender_terms import Criterion, Evaluation, TieBreak

PLACES = Decimal("0.01")
_ARITHMETIC = Context(prec=28, rounding=ROUND_HALF_UP)


def rounded(value: Decimal) -> Decimal:
    """Half up, to two decimal places: the published rounding rule."""
    return value.quantize(PLACES, rounding=ROUND_HALF_UP, context=_ARITHMETIC)


def criterion_points(score: int, criterion: Criterion) -> Decimal:
    """score / scale maximum * weight."""
    ratio = _ARITHMETIC.divide(Decimal(score), Decimal(criterion.scale))
    return _ARITHMETIC.multiply(ratio, Decimal(criterion.weight))


def price_points(lowest_minor: int, price_minor: int, weight: int) -> Decimal:
    """lowest valid price / this price * price weight."""
    ratio = _ARITHMETIC.divide(Decimal(lowest_minor), Decimal(price_minor))
    return _ARITHMETIC.multiply(ratio, Decimal(weight))


@dataclass(frozen=True)
class Candidate:
    """A bid as scoring sees it: its price, when it was submitted, a score per criterion."""

    bid_id: UUID
    price_minor: int
    submitted_at: datetime
    scores: Mapping[str, int]  # criterion name -> score


@dataclass(frozen=True)
class Result:
    """A bid's points (unrounded) and its rounded total, with its place in the ranking."""

    bid_id: UUID
    price_minor: int
    price: Decimal
    quality: Decimal
    social_value: Decimal
    total: Decimal  # rounded
    rank: int

    def as_data(self) -> dict[str, object]:
        return {
            "bid_id": str(self.bid_id),
            "price_minor": self.price_minor,
            "price_points": str(rounded(self.price)),
            "quality_points": str(rounded(self.quality)),
            "social_value_points": str(rounded(self.social_value)),
            "total": str(self.total),
            "rank": self.rank,
        }


def _points(rules: Evaluation, candidate: Candidate) -> tuple[Decimal, Decimal]:
    quality = sum(
        (criterion_points(candidate.scores[c.name], c) for c in rules.quality), Decimal(0)
    )
    social = criterion_points(candidate.scores[rules.social_value.name], rules.social_value)
    return quality, social


def results(rules: Evaluation, candidates: Sequence[Candidate]) -> list[Result]:
    """Every candidate's points and total, best first. Each must be scored on every quality
    and social-value criterion (the caller checks)."""
    if not candidates:
        return []
    lowest = min(c.price_minor for c in candidates)
    unranked = []
    for candidate in candidates:
        quality, social = _points(rules, candidate)
        price = price_points(lowest, candidate.price_minor, rules.price.weight)
        total = rounded(_ARITHMETIC.add(_ARITHMETIC.add(price, quality), social))
        unranked.append((candidate, price, quality, social, total))

    def order(entry: tuple[Candidate, Decimal, Decimal, Decimal, Decimal]) -> tuple[object, ...]:
        candidate, _, quality, social, total = entry
        keys = {
            TieBreak.HIGHEST_QUALITY: -rounded(quality),
            TieBreak.HIGHEST_SOCIAL_VALUE: -rounded(social),
            TieBreak.LOWEST_PRICE: Decimal(candidate.price_minor),
        }
        rules_in_order = [rules.tie_break, *(rule for rule in TieBreak if rule != rules.tie_break)]
        return (
            -total,
            *(keys[rule] for rule in rules_in_order),
            candidate.submitted_at,
            str(candidate.bid_id),
        )

    ranked = sorted(unranked, key=order)
    return [
        Result(c.bid_id, c.price_minor, price, quality, social, total, rank)
        for rank, (c, price, quality, social, total) in enumerate(ranked, start=1)
    ]


def abnormally_low(prices: Mapping[UUID, int], percent: int) -> frozenset[UUID]:
    """The bids priced more than `percent` below the mean of the others' prices (the rule the
    tender published). A bid alone has no others: never flagged."""
    flagged = set()
    total = sum(prices.values())
    for bid_id, price in prices.items():
        others = len(prices) - 1
        if others == 0:
            continue
        mean = _ARITHMETIC.divide(Decimal(total - price), Decimal(others))
        threshold = _ARITHMETIC.multiply(
            mean, _ARITHMETIC.divide(Decimal(100 - percent), Decimal(100))
        )
        if Decimal(price) < threshold:
            flagged.add(bid_id)
    return frozenset(flagged)


def scored_criteria(rules: Evaluation) -> tuple[Criterion, ...]:
    """What the buyer scores by hand: each quality criterion and social value (price is
    computed)."""
    return (*rules.quality, rules.social_value)


def unscored(rules: Evaluation, scores: Mapping[str, int]) -> list[str]:
    return [c.name for c in scored_criteria(rules) if c.name not in scores]


def criterion_named(rules: Evaluation, name: str) -> Criterion | None:
    found: Iterable[Criterion] = (c for c in scored_criteria(rules) if c.name == name)
    return next(iter(found), None)
