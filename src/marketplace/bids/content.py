"""What a bid says: its price, an answer to each quality criterion, social-value commitments,
its documents and its consortium. Value objects, parsed and checked; pure code."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from marketplace.tender_terms import TenderTerms
from sharedkernel.errors import InvalidValue
from sharedkernel.money import Money
from sharedkernel.reference import itl_regions

MAX_ANSWER = 8000
MAX_COMMITMENTS = 20
MAX_QUANTITY = 10**9
MAX_PARTNERS = 9  # and the lead: ten organisations at most
MAX_DOCUMENTS = 20
# A bid's price is bounded like a lot's estimate (minor units): ten billion pounds.
MAX_PRICE_MINOR = 10**12

# The social-value measures a bid may commit to, each in its one unit.
MEASURES: Mapping[str, str] = {
    "local_jobs": "jobs",
    "apprenticeships": "apprenticeships",
    "volunteering_hours": "hours",
    "local_social_enterprise_spend": "minor_units",
    "training_weeks": "weeks",
    "carbon_saving": "tonnes_co2e",
}


def is_whole_number(number: object) -> bool:
    """A whole number, not a bool or a float that happens to be whole."""
    return isinstance(number, int) and not isinstance(number, bool)


@dataclass(frozen=True)
class Commitment:
    measure: str
    quantity: int
    unit: str

    def as_data(self) -> dict[str, Any]:
        return {"measure": self.measure, "quantity": self.quantity, "unit": self.unit}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Commitment:
        return cls(str(data["measure"]), int(data["quantity"]), str(data["unit"]))


def parse_commitment(measure: str, quantity: int, unit: str | None, at: str) -> Commitment:
    if measure not in MEASURES:
        raise InvalidValue(f"{at}.measure", f"one of: {', '.join(sorted(MEASURES))}")
    expected = MEASURES[measure]
    if unit is not None and unit != expected:
        raise InvalidValue(f"{at}.unit", f"{measure} is counted in {expected}")
    if not is_whole_number(quantity) or not 0 < quantity <= MAX_QUANTITY:
        raise InvalidValue(f"{at}.quantity", f"a whole number from 1 to {MAX_QUANTITY}")
    return Commitment(measure, quantity, expected)


@dataclass(frozen=True)
class BidContent:
    """A bid's offer. A draft's content may be partial; a submitted one is complete."""

    price: Money | None
    answers: Mapping[str, str]  # quality criterion name -> answer
    commitments: tuple[Commitment, ...]

    def as_data(self) -> dict[str, Any]:
        return {
            "price_minor": None if self.price is None else self.price.minor,
            "currency": None if self.price is None else self.price.currency,
            "answers": dict(self.answers),
            "commitments": [c.as_data() for c in self.commitments],
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> BidContent:
        price = data.get("price_minor")
        return cls(
            price=None if price is None else Money(str(data["currency"]), int(price)),
            answers={str(k): str(v) for k, v in data["answers"].items()},
            commitments=tuple(Commitment.from_data(c) for c in data["commitments"]),
        )

    def missing(self, terms: TenderTerms) -> list[str]:
        """What a submission still lacks: the price, an answer to a quality criterion."""
        lacking = [] if self.price is not None else ["price_minor"]
        lacking += [
            f"answers.{c.name}" for c in terms.evaluation.quality if not self.answers.get(c.name)
        ]
        return lacking


EMPTY = BidContent(price=None, answers={}, commitments=())


def parse_content(
    terms: TenderTerms,
    currency: str,
    price_minor: int | None,
    answers: Mapping[str, str],
    commitments: Sequence[Commitment],
) -> BidContent:
    """Checked against the tender: the price in the lot's currency, answers only to its quality
    criteria, each commitment once."""
    price = None
    if price_minor is not None:
        if not is_whole_number(price_minor) or not 0 < price_minor <= MAX_PRICE_MINOR:
            raise InvalidValue(
                "price_minor", f"a whole number of minor units, 1 to {MAX_PRICE_MINOR}"
            )
        price = Money(currency, price_minor)
    criteria = {c.name for c in terms.evaluation.quality}
    checked: dict[str, str] = {}
    for name, answer in answers.items():
        if name not in criteria:
            raise InvalidValue(f"answers.{name}", "not a quality criterion of this tender")
        text = answer.strip()
        if len(text) > MAX_ANSWER:
            raise InvalidValue(f"answers.{name}", f"longer than {MAX_ANSWER} characters")
        if text:
            checked[name] = text
    if len(commitments) > MAX_COMMITMENTS:
        raise InvalidValue("commitments", f"at most {MAX_COMMITMENTS}")
    measures = [c.measure for c in commitments]
    if len(set(measures)) != len(measures):
        raise InvalidValue("commitments", "each measure once")
    return BidContent(price, checked, tuple(commitments))


@dataclass(frozen=True)
class BidDocument:
    name: str  # where the sealed file store keeps it: random, never a content hash
    sha256: str
    content_type: str
    size: int
    filename: str

    def as_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "content_type": self.content_type,
            "size": self.size,
            "filename": self.filename,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> BidDocument:
        return cls(
            str(data["name"]),
            str(data["sha256"]),
            str(data["content_type"]),
            int(data["size"]),
            str(data["filename"]),
        )


@dataclass(frozen=True)
class Share:
    organisation_id: UUID
    percent: int

    def as_data(self) -> dict[str, Any]:
        return {"organisation_id": str(self.organisation_id), "percent": self.percent}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Share:
        return cls(UUID(str(data["organisation_id"])), int(data["percent"]))


def parse_consortium(
    lead_id: UUID, lead_percent: int, partners: Sequence[Share]
) -> tuple[Share, ...]:
    """The lead's share first, then each partner's: whole percentages summing to 100."""
    if len(partners) > MAX_PARTNERS:
        raise InvalidValue("partners", f"at most {MAX_PARTNERS} partners")
    shares = (Share(lead_id, lead_percent), *partners)
    ids = [s.organisation_id for s in shares]
    if len(set(ids)) != len(ids):
        raise InvalidValue("partners", "each organisation once, and not the lead")
    for i, share in enumerate(shares):
        at = "lead_share" if i == 0 else f"partners[{i - 1}].share"
        if not is_whole_number(share.percent) or not 1 <= share.percent <= 100:
            raise InvalidValue(at, "a whole percentage from 1 to 100")
    if sum(s.percent for s in shares) != 100:
        raise InvalidValue("partners", "the shares sum to 100")
    return shares


@dataclass(frozen=True)
class SupplierFacts:
    """What a bid command needs to know of a supplier, asked of membership by the caller."""

    organisation_id: UUID
    registered: bool
    in_good_standing: bool
    holds_mark: bool
    regions: tuple[str, ...]


def ineligibility(terms: TenderTerms, buyer_id: UUID, supplier: SupplierFacts) -> str | None:
    """Why this supplier may not bid on the tender, or None."""
    rules = terms.eligibility
    who = supplier.organisation_id
    if who == buyer_id:
        return "the buyer's own organisation does not bid"
    if not supplier.registered:
        return f"organisation {who} is not registered"
    if rules.members_only and not supplier.in_good_standing:
        return f"organisation {who} is not a member in good standing"
    if rules.quality_mark_required and not supplier.holds_mark:
        return f"organisation {who} does not hold the quality mark"
    if rules.regions and not regions_overlap(rules.regions, supplier.regions):
        return f"organisation {who} serves none of the tender's regions"
    return None


def _with_ancestors(code: str) -> set[str]:
    known = itl_regions()
    found = set()
    current: str | None = code
    while current is not None and current not in found:
        found.add(current)
        region = known.get(current)
        current = region.parent if region is not None else None
    return found


def regions_overlap(wanted: Iterable[str], served: Iterable[str]) -> bool:
    """Whether a supplier serving `served` covers any of `wanted`: the same region, one within
    the other (serving all of the North West covers Cumbria, and serving Cumbria is within it)."""
    served_up = {code: _with_ancestors(code) for code in served}
    for want in wanted:
        want_up = _with_ancestors(want)
        for code, ancestors in served_up.items():
            if want in ancestors or code in want_up:
                return True
    return False


def digest(data: Mapping[str, Any]) -> str:
    """A receipt's digest: SHA-256 of the submission's canonical JSON."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(canonical.encode("ascii")).hexdigest()
