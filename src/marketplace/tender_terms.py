"""What a tender says: lots, periods, eligibility, award criteria and how bids will be evaluated
(OCDS 1.1 `tender`). Value objects, parsed and checked; pure code.

The evaluation rules (criteria, weights, scales, tie-break, abnormally low price) are published
with the tender and frozen: changing them later needs a longer deadline (tenders.Tender).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

from sharedkernel.errors import InvalidValue
from sharedkernel.money import NOT_IN_HUNDREDTHS, Money
from sharedkernel.reference import canonical_cpv_codes, canonical_regions
from sharedkernel.reference.ocds import current_currencies

MAX_TITLE = 200
MAX_TEXT = 8000
MAX_LOTS = 20
MAX_CRITERIA = 10
# A lot's estimated value is bounded (minor units): ten billion pounds.
MAX_VALUE_MINOR = 10**12


class Method(StrEnum):
    """OCDS `method`: open is run end to end; the others are recorded."""

    OPEN = "open"
    SELECTIVE = "selective"
    LIMITED = "limited"
    DIRECT = "direct"


class Category(StrEnum):
    """OCDS `mainProcurementCategory`."""

    GOODS = "goods"
    WORKS = "works"
    SERVICES = "services"


class TieBreak(StrEnum):
    HIGHEST_QUALITY = "highest_quality"
    HIGHEST_SOCIAL_VALUE = "highest_social_value"
    LOWEST_PRICE = "lowest_price"


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidValue("period", "periods are in UTC or with an offset")

    @classmethod
    def parse(cls, start: datetime, end: datetime, field: str) -> Period:
        if end <= start:
            raise InvalidValue(f"{field}.end", "a period ends after it starts")
        return cls(start, end)

    def as_data(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Period:
        return cls(datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"]))


@dataclass(frozen=True)
class Lot:
    id: str  # "lot-1", ... in the order given
    title: str
    description: str
    cpv_codes: tuple[str, ...]
    value: Money  # estimated

    def as_data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "cpv_codes": list(self.cpv_codes),
            "value_minor": self.value.minor,
            "currency": self.value.currency,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Lot:
        return cls(
            id=str(data["id"]),
            title=str(data["title"]),
            description=str(data["description"]),
            cpv_codes=tuple(data["cpv_codes"]),
            value=Money(str(data["currency"]), int(data["value_minor"])),
        )


@dataclass(frozen=True)
class Criterion:
    """One award criterion: its weight (a whole percentage) and its scoring scale (0 to 5 or 0 to
    10)."""

    name: str
    weight: int
    scale: int


@dataclass(frozen=True)
class Evaluation:
    """How bids will be scored: price, named quality sub-criteria, social value; weights summing
    to 100; the tie-break; a bid priced this many percent below the mean of the others is
    abnormally low (to be explained before award)."""

    price: Criterion
    quality: tuple[Criterion, ...]
    social_value: Criterion
    tie_break: TieBreak
    abnormally_low_percent: int

    @property
    def criteria(self) -> tuple[Criterion, ...]:
        return (self.price, *self.quality, self.social_value)

    def as_data(self) -> dict[str, Any]:
        return {
            "price": _criterion_data(self.price),
            "quality": [_criterion_data(c) for c in self.quality],
            "social_value": _criterion_data(self.social_value),
            "tie_break": self.tie_break.value,
            "abnormally_low_percent": self.abnormally_low_percent,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Evaluation:
        return cls(
            price=_criterion(data["price"]),
            quality=tuple(_criterion(c) for c in data["quality"]),
            social_value=_criterion(data["social_value"]),
            tie_break=TieBreak(data["tie_break"]),
            abnormally_low_percent=int(data["abnormally_low_percent"]),
        )


def _criterion_data(criterion: Criterion) -> dict[str, Any]:
    return {"name": criterion.name, "weight": criterion.weight, "scale": criterion.scale}


def _criterion(data: dict[str, Any]) -> Criterion:
    return Criterion(str(data["name"]), int(data["weight"]), int(data["scale"]))


@dataclass(frozen=True)
class Eligibility:
    members_only: bool
    quality_mark_required: bool
    regions: tuple[str, ...]  # served; empty: anywhere

    def as_data(self) -> dict[str, Any]:
        return {
            "members_only": self.members_only,
            "quality_mark_required": self.quality_mark_required,
            "regions": list(self.regions),
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Eligibility:
        return cls(
            bool(data["members_only"]), bool(data["quality_mark_required"]), tuple(data["regions"])
        )


@dataclass(frozen=True)
class TenderTerms:
    title: str
    description: str
    method: Method
    category: Category
    lots: tuple[Lot, ...]
    enquiry_period: Period
    tender_period: Period  # its end is the deadline
    contract_period: Period
    eligibility: Eligibility
    evaluation: Evaluation

    @property
    def deadline(self) -> datetime:
        return self.tender_period.end

    @property
    def cpv_codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(code for lot in self.lots for code in lot.cpv_codes))

    def as_data(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "description": self.description,
            "method": self.method.value,
            "category": self.category.value,
            "lots": [lot.as_data() for lot in self.lots],
            "enquiry_period": self.enquiry_period.as_data(),
            "tender_period": self.tender_period.as_data(),
            "contract_period": self.contract_period.as_data(),
            "eligibility": self.eligibility.as_data(),
            "evaluation": self.evaluation.as_data(),
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TenderTerms:
        return cls(
            title=str(data["title"]),
            description=str(data["description"]),
            method=Method(data["method"]),
            category=Category(data["category"]),
            lots=tuple(Lot.from_data(lot) for lot in data["lots"]),
            enquiry_period=Period.from_data(data["enquiry_period"]),
            tender_period=Period.from_data(data["tender_period"]),
            contract_period=Period.from_data(data["contract_period"]),
            eligibility=Eligibility.from_data(data["eligibility"]),
            evaluation=Evaluation.from_data(data["evaluation"]),
        )

    def changed_fields(self, other: TenderTerms) -> list[str]:
        """The top-level parts that differ (what an amendment records as changed)."""
        mine, theirs = self.as_data(), other.as_data()
        return [name for name in mine if mine[name] != theirs[name]]


# Parsing ------------------------------------------------------------------------------------


def _text(value: str, field: str, limit: int) -> str:
    clean = value.strip()
    if not clean:
        raise InvalidValue(field, "it is empty")
    if len(clean) > limit:
        raise InvalidValue(field, f"longer than {limit} characters")
    return clean


def _enum(kind: type[StrEnum], value: str, field: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidValue(field, f"one of: {allowed}") from None


@dataclass(frozen=True)
class CriterionInput:
    name: str
    weight: int
    scale: int


def parse_criterion(given: CriterionInput, field: str) -> Criterion:
    name = _text(given.name, f"{field}.name", 200)
    if not 0 <= given.weight <= 100:
        raise InvalidValue(f"{field}.weight", "a whole percentage, 0 to 100")
    if given.scale not in (5, 10):
        raise InvalidValue(f"{field}.scale", "scored 0 to 5 or 0 to 10")
    return Criterion(name, given.weight, given.scale)


def parse_evaluation(
    price: CriterionInput,
    quality: list[CriterionInput],
    social_value: CriterionInput,
    tie_break: str,
    abnormally_low_percent: int,
) -> Evaluation:
    if not 1 <= len(quality) <= MAX_CRITERIA:
        raise InvalidValue("evaluation.quality", f"1 to {MAX_CRITERIA} quality sub-criteria")
    parsed = Evaluation(
        price=parse_criterion(price, "evaluation.price"),
        quality=tuple(
            parse_criterion(c, f"evaluation.quality[{i}]") for i, c in enumerate(quality)
        ),
        social_value=parse_criterion(social_value, "evaluation.social_value"),
        tie_break=_enum(TieBreak, tie_break, "evaluation.tie_break"),
        abnormally_low_percent=abnormally_low_percent,
    )
    names = [c.name.casefold() for c in parsed.quality]
    if len(set(names)) != len(names):
        raise InvalidValue("evaluation.quality", "each quality sub-criterion has its own name")
    if parsed.social_value.name.casefold() in names:
        # Bids are scored per criterion name: social value needs a name of its own.
        raise InvalidValue("evaluation.social_value.name", "not the name of a quality criterion")
    total = sum(c.weight for c in parsed.criteria)
    if total != 100:
        raise InvalidValue("evaluation", f"the weights sum to 100, not {total}")
    if not 1 <= abnormally_low_percent <= 90:
        raise InvalidValue(
            "evaluation.abnormally_low_percent", "a percentage below the mean, 1 to 90"
        )
    return parsed


@cache
def tender_currencies() -> frozenset[str]:
    """Currencies a lot may be in: ISO 4217's in use, counted in hundredths as Money is, and
    not a precious metal, a fund or a testing code (X..., but for the East Caribbean dollar)."""
    return frozenset(
        code
        for code in current_currencies() - NOT_IN_HUNDREDTHS
        if not code.startswith("X") or code == "XCD"
    )


@dataclass(frozen=True)
class LotInput:
    title: str
    description: str
    cpv_codes: list[str]
    value_minor: int
    currency: str = "GBP"


def parse_lots(lots: list[LotInput]) -> tuple[Lot, ...]:
    if not 1 <= len(lots) <= MAX_LOTS:
        raise InvalidValue("lots", f"1 to {MAX_LOTS} lots")
    parsed = []
    for i, lot in enumerate(lots):
        at = f"lots[{i}]"
        if not lot.cpv_codes:
            raise InvalidValue(f"{at}.cpv_codes", "name at least one CPV code")
        if not 1 <= lot.value_minor <= MAX_VALUE_MINOR:
            raise InvalidValue(f"{at}.value_minor", f"an estimate from 1 to {MAX_VALUE_MINOR}")
        if lot.currency.strip().upper() not in tender_currencies():
            raise InvalidValue(
                f"{at}.currency",
                f"{lot.currency!r} is not a currency in use counted in hundredths (ISO 4217)",
            )
        parsed.append(
            Lot(
                id=f"lot-{i + 1}",
                title=_text(lot.title, f"{at}.title", MAX_TITLE),
                description=lot.description.strip()[:MAX_TEXT],
                cpv_codes=canonical_cpv_codes(lot.cpv_codes, field=f"{at}.cpv_codes"),
                value=Money.of(lot.value_minor, lot.currency, field=f"{at}.currency"),
            )
        )
    if len({lot.value.currency for lot in parsed}) > 1:
        raise InvalidValue("lots", "every lot is in one currency")
    return tuple(parsed)


def parse_terms(
    *,
    title: str,
    description: str,
    method: str,
    category: str,
    lots: list[LotInput],
    enquiry_period: tuple[datetime, datetime],
    tender_period: tuple[datetime, datetime],
    contract_period: tuple[datetime, datetime],
    members_only: bool,
    quality_mark_required: bool,
    regions: list[str],
    evaluation: Evaluation,
) -> TenderTerms:
    enquiry = Period.parse(*enquiry_period, "enquiry_period")
    tendering = Period.parse(*tender_period, "tender_period")
    contract = Period.parse(*contract_period, "contract_period")
    if enquiry.end > tendering.end:
        raise InvalidValue("enquiry_period.end", "questions close no later than the deadline")
    if contract.start < tendering.end:
        raise InvalidValue("contract_period.start", "the contract starts after the deadline")
    return TenderTerms(
        title=_text(title, "title", MAX_TITLE),
        description=_text(description, "description", MAX_TEXT),
        method=_enum(Method, method, "method"),
        category=_enum(Category, category, "category"),
        lots=parse_lots(lots),
        enquiry_period=enquiry,
        tender_period=tendering,
        contract_period=contract,
        eligibility=Eligibility(
            members_only=members_only,
            quality_mark_required=quality_mark_required,
            regions=canonical_regions(regions),
        ),
        evaluation=evaluation,
    )


@dataclass(frozen=True)
class SocialValuePolicy:
    """The least weight social value carries, by buyer kind (after PPN 06/20 for public
    bodies). Configurable: the composition root gives the association's."""

    minimum_percent: dict[str, int] = field(
        default_factory=lambda: {"public_body": 10, "business": 0}
    )

    def check(self, buyer_kind: str, evaluation: Evaluation) -> None:
        least = self.minimum_percent.get(buyer_kind, 0)
        if evaluation.social_value.weight < least:
            raise InvalidValue(
                "evaluation.social_value.weight",
                f"social value carries at least {least}% for a {buyer_kind.replace('_', ' ')} "
                f"(social value policy, after PPN 06/20); this tender gives it "
                f"{evaluation.social_value.weight}%",
            )
