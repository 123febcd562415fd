"""The quality mark's criteria: versioned sets with effective dates, and how an application's
declarations are judged against them (ADR 23).

A criteria set is reference data released with the code: changing what the mark means is a
governance decision, reviewed like code, and an application records the version it was judged
against. Numeric criteria are computed from the declared amounts, never typed in. Pure code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from fractions import Fraction
from typing import Any

from sharedkernel.errors import InvalidValue, NotFound


class Basis(StrEnum):
    """How a criterion is judged."""

    DECLARED = "declared"  # the applicant declares it; the assessor checks the evidence
    COMPUTED = "computed"  # computed from declared amounts; the assessor checks the accounts


@dataclass(frozen=True)
class Criterion:
    code: str
    title: str
    evidence: str  # what evidence it needs, in words shown to applicants
    basis: Basis


@dataclass(frozen=True)
class CriteriaSet:
    version: str
    effective_from: date
    criteria: tuple[Criterion, ...]
    # Thresholds of the computed criteria.
    trading_share: Fraction = Fraction(1, 2)
    purpose_share: Fraction = Fraction(51, 100)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(criterion.code for criterion in self.criteria)

    def criterion(self, code: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.code == code:
                return criterion
        raise InvalidValue("criterion", f"{code!r} is not a criterion of version {self.version}")


SOCIAL_OBJECTS = "social_objects"
INDEPENDENCE = "independence"
TRADING_INCOME = "trading_income"
PROFITS_TO_PURPOSE = "profits_to_purpose"
ASSET_LOCK = "asset_lock"
IMPACT_STATEMENT = "impact_statement"

CRITERIA_2026 = CriteriaSet(
    version="2026.1",
    effective_from=date(2026, 1, 1),
    criteria=(
        Criterion(
            SOCIAL_OBJECTS,
            "Social or environmental objects in the governing documents",
            "The governing documents (articles, rules or constitution) with the objects clause",
            Basis.DECLARED,
        ),
        Criterion(
            INDEPENDENCE,
            "Independent: not controlled by a public body or a private company",
            "The register of members or shareholders, or a statement of who controls the board",
            Basis.DECLARED,
        ),
        Criterion(
            TRADING_INCOME,
            "At least 50% of income from trading",
            "The latest annual accounts, showing income by source",
            Basis.COMPUTED,
        ),
        Criterion(
            PROFITS_TO_PURPOSE,
            "At least 51% of profits committed to the social or environmental purpose",
            "The latest annual accounts, showing any distribution to owners",
            Basis.COMPUTED,
        ),
        Criterion(
            ASSET_LOCK,
            "An asset lock: residual assets go to another social purpose on dissolution",
            "The asset-lock clause of the governing documents",
            Basis.DECLARED,
        ),
        Criterion(
            IMPACT_STATEMENT,
            "A statement of the social impact the organisation makes",
            "The impact statement or report",
            Basis.DECLARED,
        ),
    ),
)

# Every version, oldest first. A new version is appended with a later effective date; old ones
# stay, because applications judged against them name them.
CRITERIA_SETS: tuple[CriteriaSet, ...] = (CRITERIA_2026,)


def criteria_in_force(on: date, sets: tuple[CriteriaSet, ...] = CRITERIA_SETS) -> CriteriaSet:
    """The version in force on a day: the latest whose effective date has come."""
    in_force = [s for s in sets if s.effective_from <= on]
    if not in_force:
        raise NotFound(f"no quality mark criteria are in force on {on.isoformat()}")
    return max(in_force, key=lambda s: s.effective_from)


def criteria_version(version: str, sets: tuple[CriteriaSet, ...] = CRITERIA_SETS) -> CriteriaSet:
    for criteria_set in sets:
        if criteria_set.version == version:
            return criteria_set
    raise NotFound(f"no quality mark criteria version {version!r}")


# Amounts are in minor units; a bound keeps arithmetic and storage sane (a trillion pounds).
MAX_AMOUNT_MINOR = 10**14


@dataclass(frozen=True)
class Declarations:
    """What an applicant declares. Amounts in minor units, for the last financial year."""

    objects_clause: str | None = None  # the objects, as the governing documents state them
    independent: bool | None = None
    trading_income_minor: int | None = None
    grant_income_minor: int | None = None
    donation_income_minor: int | None = None
    other_income_minor: int | None = None
    profit_minor: int | None = None  # the year's surplus (may be negative)
    distributed_minor: int | None = None  # paid out to owners or shareholders
    asset_lock: bool | None = None
    impact_statement: str | None = None

    def __post_init__(self) -> None:
        for name in (
            "trading_income_minor",
            "grant_income_minor",
            "donation_income_minor",
            "other_income_minor",
            "distributed_minor",
        ):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= MAX_AMOUNT_MINOR:
                raise InvalidValue(name, f"{name} is an amount from 0 to {MAX_AMOUNT_MINOR}")
        if self.profit_minor is not None and abs(self.profit_minor) > MAX_AMOUNT_MINOR:
            raise InvalidValue("profit_minor", f"profit_minor is at most {MAX_AMOUNT_MINOR}")

    def as_data(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Declarations:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def missing(self) -> list[str]:
        """The declarations a submission still needs."""
        return [name for name in self.__dataclass_fields__ if getattr(self, name) is None]

    @property
    def total_income_minor(self) -> int:
        parts = (
            self.trading_income_minor,
            self.grant_income_minor,
            self.donation_income_minor,
            self.other_income_minor,
        )
        return sum(part or 0 for part in parts)


@dataclass(frozen=True)
class Finding:
    """A criterion judged: met or not, and why (computed ones say what the figures give)."""

    met: bool | None  # None: for the assessor to judge
    note: str


def trading_share(declarations: Declarations) -> Fraction | None:
    total = declarations.total_income_minor
    if declarations.trading_income_minor is None or total == 0:
        return None
    return Fraction(declarations.trading_income_minor, total)


def purpose_share(declarations: Declarations) -> Fraction | None:
    """The share of the year's profit not distributed to owners; None without a profit."""
    profit, distributed = declarations.profit_minor, declarations.distributed_minor
    if profit is None or distributed is None or profit <= 0:
        return None
    return max(Fraction(0), Fraction(profit - distributed, profit))


def _percent(share: Fraction) -> str:
    return f"{float(share * 100):.1f}%"


def evaluate(criteria: CriteriaSet, declarations: Declarations) -> dict[str, Finding]:
    """What the declarations alone say of each criterion: computed ones are decided here,
    declared ones are not met when declared false and otherwise left to the assessor."""
    findings: dict[str, Finding] = {}
    for criterion in criteria.criteria:
        findings[criterion.code] = _finding(criteria, criterion.code, declarations)
    return findings


def _finding(criteria: CriteriaSet, code: str, d: Declarations) -> Finding:
    if code == TRADING_INCOME:
        share = trading_share(d)
        if share is None:
            return Finding(False, "no income declared")
        met = share >= criteria.trading_share
        return Finding(met, f"{_percent(share)} of income from trading")
    if code == PROFITS_TO_PURPOSE:
        if d.profit_minor is None or d.distributed_minor is None:
            return Finding(False, "profit and distribution not declared")
        share = purpose_share(d)
        if share is None:  # no profit this year: met when nothing was paid out
            met = d.distributed_minor == 0
            return Finding(met, "no profit; " + ("nothing" if met else "something") + " paid out")
        return Finding(share >= criteria.purpose_share, f"{_percent(share)} of profit retained")
    answer = {
        SOCIAL_OBJECTS: d.objects_clause,
        INDEPENDENCE: d.independent,
        ASSET_LOCK: d.asset_lock,
        IMPACT_STATEMENT: d.impact_statement,
    }.get(code)
    if answer is None or answer is False:
        return Finding(False, "declared not met" if answer is False else "not declared")
    return Finding(None, "declared; for the assessor to check against the evidence")
