"""What a saved search asks for, and whether a tender's, an outside opportunity's or an
open-audience request for quote's public facts answer it. Pure: no I/O, no clock.

Rules (each part given narrows the search; a part left empty asks nothing):
- CPV prefixes: 2 to 8 digits; a fact matches when any of its codes starts with any prefix.
- ITL regions: a fact matches when one of its regions is the region, inside it or contains it;
  a fact open anywhere (no region named) matches every region; an outside opportunity that
  names only places not read as ITL is somewhere unknown and is found by no region (as on its
  board, ADR 32).
- Value band, in minor units of pounds: only a known value in GBP falls in a band (a request
  for quote's value is its budget's upper bound, if it states one).
- Keywords: every keyword appears in the title or the description (case ignored).
- VCSE-suitable only: an outside opportunity flagged suitable by its publisher; one of our own
  tenders reserved to the association's members (whose members are VCSEs), as is a request
  for quote (only members in good standing quote).
- Outside opportunities are considered only when the search includes them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sharedkernel.errors import InvalidValue
from sharedkernel.reference import canonical_regions
from sharedkernel.text import domain_text

MAX_PREFIXES = 50
MAX_REGIONS = 50
MAX_KEYWORDS = 20
MAX_KEYWORD = 60
MAX_NAME = 120
# The largest value a band may name (minor units): ten billion pounds, as listings' capacity.
MAX_VALUE_MINOR = 10**12
_PREFIX = re.compile(r"^[0-9]{2,8}$")
TENDER = "tender"
OPPORTUNITY = "opportunity"
REQUEST = "request"


class Delivery(StrEnum):
    IMMEDIATE = "immediate"
    DAILY = "daily"

    @classmethod
    def parse(cls, value: str) -> Delivery:
        try:
            return cls(value)
        except ValueError:
            raise InvalidValue("delivery", "immediate or daily") from None


@dataclass(frozen=True)
class Criteria:
    cpv_prefixes: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    min_value_minor: int | None = None
    max_value_minor: int | None = None
    keywords: tuple[str, ...] = ()
    vcse_only: bool = False
    include_outside: bool = True

    @classmethod
    def parse(
        cls,
        *,
        cpv_prefixes: Sequence[str] = (),
        regions: Sequence[str] = (),
        min_value_minor: int | None = None,
        max_value_minor: int | None = None,
        keywords: Sequence[str] = (),
        vcse_only: bool = False,
        include_outside: bool = True,
    ) -> Criteria:
        if len(cpv_prefixes) > MAX_PREFIXES:
            raise InvalidValue("cpv_prefixes", f"at most {MAX_PREFIXES}")
        prefixes = []
        for prefix in cpv_prefixes:
            clean = prefix.strip()
            if not _PREFIX.match(clean):
                raise InvalidValue("cpv_prefixes", "each a CPV code's first 2 to 8 digits")
            prefixes.append(clean)
        if len(regions) > MAX_REGIONS:
            raise InvalidValue("regions", f"at most {MAX_REGIONS}")
        for name, bound in (
            ("min_value_minor", min_value_minor),
            ("max_value_minor", max_value_minor),
        ):
            if bound is not None and not 0 <= bound <= MAX_VALUE_MINOR:
                raise InvalidValue(name, f"0 to {MAX_VALUE_MINOR} (pence)")
        if (
            min_value_minor is not None
            and max_value_minor is not None
            and min_value_minor > max_value_minor
        ):
            raise InvalidValue("max_value_minor", "at least min_value_minor")
        if len(keywords) > MAX_KEYWORDS:
            raise InvalidValue("keywords", f"at most {MAX_KEYWORDS}")
        words = []
        for keyword in keywords:
            word = domain_text(
                keyword, "keywords", MAX_KEYWORD, required="a keyword is empty", multiline=False
            )
            words.append(" ".join(word.split()).casefold())
        return cls(
            cpv_prefixes=tuple(dict.fromkeys(prefixes)),
            regions=canonical_regions(regions),
            min_value_minor=min_value_minor,
            max_value_minor=max_value_minor,
            keywords=tuple(dict.fromkeys(words)),
            vcse_only=bool(vcse_only),
            include_outside=bool(include_outside),
        )

    def as_data(self) -> dict[str, Any]:
        return {
            "cpv_prefixes": list(self.cpv_prefixes),
            "regions": list(self.regions),
            "min_value_minor": self.min_value_minor,
            "max_value_minor": self.max_value_minor,
            "keywords": list(self.keywords),
            "vcse_only": self.vcse_only,
            "include_outside": self.include_outside,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Criteria:
        """Criteria as `as_data` wrote them; TypeError/KeyError for anything else (an event
        another writer stored: a text where a list belongs would match letter by letter)."""

        def bound(value: Any) -> int | None:
            if value is None:
                return None
            if type(value) is not int:
                raise TypeError("a value bound is not a whole number")
            return value

        def texts(value: Any) -> tuple[str, ...]:
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise TypeError("not a list of texts")
            return tuple(value)

        return cls(
            cpv_prefixes=texts(data["cpv_prefixes"]),
            regions=texts(data["regions"]),
            min_value_minor=bound(data["min_value_minor"]),
            max_value_minor=bound(data["max_value_minor"]),
            keywords=texts(data["keywords"]),
            vcse_only=bool(data["vcse_only"]),
            include_outside=bool(data["include_outside"]),
        )


@dataclass(frozen=True)
class Facts:
    """A tender's, an opportunity's or a request for quote's public facts, as matching reads
    them."""

    kind: str  # TENDER, OPPORTUNITY or REQUEST
    title: str
    description: str
    cpv_codes: tuple[str, ...]
    regions: tuple[str, ...]  # ITL codes; none: anywhere (unless `somewhere_unknown`)
    somewhere_unknown: bool  # names only places not read as ITL
    value_minor: int | None
    currency: str | None
    vcse: bool | None

    def as_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "description": self.description,
            "cpv_codes": list(self.cpv_codes),
            "regions": list(self.regions),
            "somewhere_unknown": self.somewhere_unknown,
            "value_minor": self.value_minor,
            "currency": self.currency,
            "vcse": self.vcse,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Facts:
        value = data.get("value_minor")
        return cls(
            kind=str(data["kind"]),
            title=str(data["title"]),
            description=str(data["description"]),
            cpv_codes=tuple(data["cpv_codes"]),
            regions=tuple(data["regions"]),
            somewhere_unknown=bool(data["somewhere_unknown"]),
            value_minor=None if value is None else int(value),
            currency=data.get("currency"),
            vcse=data.get("vcse"),
        )


def tender_facts(terms: dict[str, Any]) -> Facts:
    """A tender's facts from its terms as its events hold them (`TenderTerms.as_data`): its
    lots' codes, the regions it is open to, its lots' total value when in one currency, and
    whether it is reserved to members. KeyError/TypeError/ValueError when not terms."""
    lots = terms["lots"]
    codes = tuple(dict.fromkeys(str(code) for lot in lots for code in lot["cpv_codes"]))
    currencies = {str(lot["currency"]) for lot in lots}
    value = sum(int(lot["value_minor"]) for lot in lots) if len(currencies) == 1 else None
    eligibility = terms["eligibility"]
    return Facts(
        kind=TENDER,
        title=str(terms["title"]),
        description=str(terms["description"]),
        cpv_codes=codes,
        regions=tuple(str(r) for r in eligibility["regions"]),
        somewhere_unknown=False,
        value_minor=value,
        currency=currencies.pop() if len(currencies) == 1 else None,
        vcse=bool(eligibility["members_only"]),
    )


def opportunity_facts(summary: dict[str, Any]) -> Facts:
    """An outside opportunity's facts from its summary (`Summary.as_data`): its amount in minor
    units when it is a whole number of pence."""
    value: int | None = None
    amount = summary.get("amount")
    if amount is not None:
        try:
            minor = Decimal(str(amount)) * 100
            value = int(minor) if minor == minor.to_integral_value() else None
        except (InvalidOperation, ValueError):
            value = None
    regions = tuple(str(r) for r in summary.get("regions") or ())
    unresolved = summary.get("unresolved_regions") or ()
    vcse = summary.get("vcse")
    return Facts(
        kind=OPPORTUNITY,
        title=str(summary.get("title") or ""),
        description=str(summary.get("description") or ""),
        cpv_codes=tuple(str(c) for c in summary.get("cpv_codes") or ()),
        regions=regions,
        somewhere_unknown=not regions and bool(unresolved),
        value_minor=value,
        currency=summary.get("currency"),
        vcse=vcse if isinstance(vcse, bool) else None,
    )


def request_facts(posted: dict[str, Any]) -> Facts:
    """A request for quote's facts from its Posted event's payload: its codes, the regions the
    work is in, and its budget's upper bound as its value. KeyError/TypeError/ValueError when
    not a posting."""
    budget = posted["budget"]
    value: int | None = None
    currency: str | None = None
    if budget is not None:
        bound = budget["max_minor"]
        if bound is not None and type(bound) is not int:
            raise TypeError("a budget bound is not a whole number")
        value, currency = bound, str(budget["currency"])
    codes, regions = posted["cpv_codes"], posted["regions"]
    if not isinstance(codes, list) or not isinstance(regions, list):
        raise TypeError("its codes or regions are not lists")
    return Facts(
        kind=REQUEST,
        title=str(posted["title"]),
        description=str(posted["description"]),
        cpv_codes=tuple(str(c) for c in codes),
        regions=tuple(str(r) for r in regions),
        somewhere_unknown=False,
        value_minor=value,
        currency=currency,
        vcse=True,
    )


def matches(criteria: Criteria, facts: Facts) -> bool:
    """Whether the facts answer every part of the criteria (see the module's rules)."""
    if facts.kind == OPPORTUNITY and not criteria.include_outside:
        return False
    if criteria.cpv_prefixes and not any(
        code.startswith(prefix) for code in facts.cpv_codes for prefix in criteria.cpv_prefixes
    ):
        return False
    if criteria.regions:
        if facts.somewhere_unknown:
            return False
        if facts.regions and not any(
            mine.startswith(theirs) or theirs.startswith(mine)
            for mine in criteria.regions
            for theirs in facts.regions
        ):
            return False
    if criteria.min_value_minor is not None or criteria.max_value_minor is not None:
        if facts.value_minor is None or facts.currency != "GBP":
            return False
        if criteria.min_value_minor is not None and facts.value_minor < criteria.min_value_minor:
            return False
        if criteria.max_value_minor is not None and facts.value_minor > criteria.max_value_minor:
            return False
    if criteria.keywords:
        # NFC, as our own text is kept: an imported title may come decomposed ("cafe" + accent).
        text = unicodedata.normalize("NFC", f"{facts.title}\n{facts.description}").casefold()
        if not all(keyword in text for keyword in criteria.keywords):
            return False
    return not (criteria.vcse_only and facts.vcse is not True)


def search_name(name: str) -> str:
    return domain_text(name, "name", MAX_NAME, required="name the search", multiline=False)
