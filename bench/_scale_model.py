"""The seeded shape of the scale database (issue 19): who the organisations are, which codes and
regions they carry, what becomes of each tender. Pure: random choices from a seed, no I/O.

Shared by `bench.scale_data` (which loads it through the Applications) and `bench.scale_reads`
(which draws its query mix from the same reference data).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from sharedkernel.reference import cpv_codes, itl_regions

# Divisions (the CPV code's first two digits) weighted towards the busy trades of social
# enterprises and public buyers; every other division shares the long tail.
POPULAR_DIVISIONS: dict[str, float] = {
    "45": 14.0,  # construction work
    "90": 10.0,  # sewage, refuse, cleaning, environmental services
    "55": 8.0,  # hotel, restaurant and retail trade (catering)
    "85": 8.0,  # health and social work
    "80": 6.0,  # education and training
    "79": 5.0,  # business services
    "77": 4.0,  # agricultural, forestry, horticultural services (grounds)
    "50": 3.0,  # repair and maintenance
    "98": 3.0,  # other community, social and personal services
    "72": 2.0,  # IT services
    "15": 2.0,  # food products
    "60": 2.0,  # transport
}
TAIL_WEIGHT = 0.25  # each other division

# Turnover bands of social enterprises, in pence, with their weight (most are small).
TURNOVERS: tuple[tuple[int, float], ...] = (
    (5_000_000, 30.0),  # £50k
    (25_000_000, 30.0),  # £250k
    (90_000_000, 20.0),  # £900k
    (300_000_000, 12.0),  # £3m
    (1_500_000_000, 8.0),  # £15m
)

# Fates of a social enterprise (weights): most admitted and paid.
MEMBER_FATES: tuple[tuple[str, float], ...] = (
    ("current", 80.0),  # admitted and paid up: listed
    ("lapsed", 8.0),  # paid a year long gone, lapsed by the clock
    ("awaiting_payment", 4.0),  # admitted, first payment not yet made
    ("pending", 4.0),  # applied, waiting in staff's queue
    ("registered", 4.0),  # registered only
)
# Fates of a published tender (weights).
TENDER_FATES: tuple[tuple[str, float], ...] = (
    ("awarded", 50.0),  # opened, each lot scored, awarded, notice, contract, delivery reports
    ("open", 20.0),  # active, its deadline ahead
    ("cancelled", 15.0),
    ("unsuccessful", 15.0),  # closed after its deadline, no bid
)
BUYER_SHARE = 0.02  # of the organisations: public bodies that publish the tenders
LISTING_SHARE = 0.15  # of the current members: one published service listing each
MEASURES: tuple[tuple[str, int], ...] = (
    ("local_jobs", 6),
    ("apprenticeships", 4),
    ("volunteering_hours", 200),
    ("training_weeks", 20),
)


@dataclass(frozen=True)
class Reference:
    """CPV codes by division and ITL regions by level, from sharedkernel.reference (the lists
    in ../shared/data)."""

    divisions: tuple[str, ...]
    division_weights: tuple[float, ...]
    codes_by_division: dict[str, tuple[str, ...]]
    itl1: tuple[str, ...]
    children: dict[str, tuple[str, ...]]  # region -> its child regions

    def cpv(self, rng: random.Random) -> str:
        division = rng.choices(self.divisions, self.division_weights)[0]
        return rng.choice(self.codes_by_division[division])

    def cpv_set(self, rng: random.Random, low: int, high: int) -> list[str]:
        """`low` to `high` codes, most in one division (a trade), sometimes a second."""
        first = self.cpv(rng)
        codes = {first}
        division = first[:2]
        for _ in range(rng.randint(low, high) - 1):
            if rng.random() < 0.7:
                codes.add(rng.choice(self.codes_by_division[division]))
            else:
                codes.add(self.cpv(rng))
        return sorted(codes)

    def region(self, rng: random.Random) -> str:
        """Most serve an ITL2 or ITL3 area, some a whole ITL1 region."""
        top = rng.choice(self.itl1)
        roll = rng.random()
        if roll < 0.15 or not self.children.get(top):
            return top
        second = rng.choice(self.children[top])
        if roll < 0.55 or not self.children.get(second):
            return second
        return rng.choice(self.children[second])

    def regions(self, rng: random.Random) -> list[str]:
        count = rng.choices((1, 2, 3), (70, 22, 8))[0]
        return sorted({self.region(rng) for _ in range(count)})

    def itl1_of(self, code: str) -> str:
        return code[:3]


@cache
def reference() -> Reference:
    by_division: dict[str, list[str]] = {}
    for code in sorted(cpv_codes()):
        by_division.setdefault(code[:2], []).append(code)
    divisions = tuple(sorted(by_division))
    weights = tuple(POPULAR_DIVISIONS.get(d, TAIL_WEIGHT) for d in divisions)
    regions = itl_regions()
    children: dict[str, list[str]] = {}
    for code, region in sorted(regions.items()):
        if region.parent is not None:
            children.setdefault(region.parent, []).append(code)
    itl1 = tuple(code for code, r in sorted(regions.items()) if r.level == "ITL1")
    return Reference(
        divisions,
        weights,
        {d: tuple(codes) for d, codes in by_division.items()},
        itl1,
        {k: tuple(v) for k, v in children.items()},
    )


def pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def turnover(rng: random.Random) -> int:
    return rng.choices([t[0] for t in TURNOVERS], [t[1] for t in TURNOVERS])[0]
