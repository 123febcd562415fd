"""What a request for quote asks: the work, where, a budget band, the currency its quotes are
in, the deadline, the period of the work and whom it asks (every member, or those invited).
Value objects, parsed and checked; pure code (as tender_terms.py is to tenders.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from marketplace.bids.content import is_whole_number
from marketplace.tender_terms import MAX_TITLE, MAX_VALUE_MINOR, Period, tender_currencies
from sharedkernel.errors import InvalidValue
from sharedkernel.reference import canonical_cpv_codes, canonical_regions
from sharedkernel.text import domain_text

MAX_DESCRIPTION = 4000
MAX_CODES = 20
MAX_INVITED = 50
# The currency of a request that names none (and has no budget): quotes are compared, cheapest
# first, only in one currency, so every request has one. Requests posted before a request
# stated its currency are read as in their budget's, or in this one (`upcast_posted_v1_v2`).
DEFAULT_CURRENCY = "GBP"


class Audience(StrEnum):
    OPEN = "open"  # any member in good standing
    INVITED = "invited"  # only the members named


@dataclass(frozen=True)
class Budget:
    """A budget band in one currency; either bound may be left open."""

    currency: str
    min_minor: int | None
    max_minor: int | None

    def as_data(self) -> dict[str, Any]:
        return {"currency": self.currency, "min_minor": self.min_minor, "max_minor": self.max_minor}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Budget:
        low, high = data.get("min_minor"), data.get("max_minor")
        return cls(
            str(data["currency"]),
            None if low is None else int(low),
            None if high is None else int(high),
        )

    @classmethod
    def parse(cls, given: Budget | Mapping[str, Any]) -> Budget:
        data = given.as_data() if isinstance(given, Budget) else given
        currency = str(data.get("currency") or "").strip().upper()
        if currency not in tender_currencies():
            raise InvalidValue(
                "budget.currency",
                f"{currency!r} is not a currency in use counted in hundredths (ISO 4217)",
            )
        bounds = {}
        for name in ("min_minor", "max_minor"):
            value = data.get(name)
            if value is not None and (
                not is_whole_number(value) or not 1 <= value <= MAX_VALUE_MINOR
            ):
                raise InvalidValue(
                    f"budget.{name}", f"a whole number of minor units, 1 to {MAX_VALUE_MINOR}"
                )
            bounds[name] = value
        low, high = bounds["min_minor"], bounds["max_minor"]
        if low is not None and high is not None and low > high:
            raise InvalidValue("budget.max_minor", "the budget's maximum is at least its minimum")
        return cls(currency, low, high)


@dataclass(frozen=True)
class RequestTerms:
    """What a request asks, parsed and checked (`parse`)."""

    title: str
    description: str
    cpv_codes: tuple[str, ...]
    regions: tuple[str, ...]  # ITL codes; none: anywhere
    budget: Budget | None
    deadline: datetime  # UTC
    period: Period  # when the work is done
    audience: Audience
    invited: tuple[UUID, ...]  # empty when the audience is open
    currency: str  # every quote's: the budget's, where there is one

    @classmethod
    def parse(
        cls,
        *,
        title: str,
        description: str,
        cpv_codes: Sequence[str],
        regions: Sequence[str],
        budget: Budget | Mapping[str, Any] | None,
        deadline: datetime,
        period: Period,
        audience: str,
        invited: Sequence[UUID | str],
        currency: str | None = None,
    ) -> RequestTerms:
        """The terms, or InvalidValue naming the first field that breaks a rule. `currency`
        None: the budget's, or without one DEFAULT_CURRENCY."""
        if not 1 <= len(cpv_codes) <= MAX_CODES:
            raise InvalidValue("cpv_codes", f"1 to {MAX_CODES} CPV codes")
        if len(regions) > MAX_CODES:
            raise InvalidValue("regions", f"at most {MAX_CODES} regions")
        if deadline.tzinfo is None:
            raise InvalidValue("deadline", "in UTC or with an offset")
        if period.end < deadline:
            raise InvalidValue("period.end", "the work ends no earlier than the deadline")
        # As a tender's contract starts after its deadline (tender_terms): the supplier is
        # chosen from the quotes opened at the deadline, not before.
        if period.start < deadline:
            raise InvalidValue(
                "period.start",
                "the work starts no earlier than the deadline: the supplier is chosen from the "
                "quotes opened then",
            )
        try:
            kind = Audience(audience)
        except ValueError:
            raise InvalidValue("audience", "one of: open, invited") from None
        if currency is not None:
            # Checked before the budget's: a budget naming none is given the stated one, and
            # the field at fault is the one sent.
            _counted_in_hundredths(currency.strip().upper())
        parsed_budget = None if budget is None else Budget.parse(budget)
        return cls(
            title=domain_text(title, "title", MAX_TITLE, required="it is empty", multiline=False),
            description=domain_text(
                description, "description", MAX_DESCRIPTION, required="it is empty"
            ),
            cpv_codes=canonical_cpv_codes(cpv_codes, field="cpv_codes"),
            regions=canonical_regions(regions, field="regions"),
            budget=parsed_budget,
            deadline=deadline.astimezone(UTC),
            period=period,
            audience=kind,
            invited=_invited(kind, invited),
            currency=_currency(currency, parsed_budget),
        )

    def as_posted(self) -> dict[str, Any]:
        """The Posted event's fields (but the requester's)."""
        return {
            "title": self.title,
            "description": self.description,
            "cpv_codes": list(self.cpv_codes),
            "regions": list(self.regions),
            "budget": None if self.budget is None else self.budget.as_data(),
            "deadline": self.deadline,
            "period": self.period.as_data(),
            "audience": self.audience.value,
            "invited": [str(i) for i in self.invited],
            "currency": self.currency,
        }


def upcast_posted_v1_v2(state: dict[str, Any]) -> None:
    """A request posted before requests stated their currency (a `Posted` event of version 1),
    as version 2 (in place: the event class's `upcast_v1_v2`): in its budget's currency, or
    without a budget in DEFAULT_CURRENCY. What is stored is never rewritten (ADR 22)."""
    budget = state.get("budget")
    given = budget.get("currency") if isinstance(budget, Mapping) else None
    state["currency"] = given or DEFAULT_CURRENCY


def _currency(given: str | None, budget: Budget | None) -> str:
    """The request's currency: the budget's (a different one named is refused), else the one
    given, else DEFAULT_CURRENCY; one counted in hundredths (as a tender's)."""
    named = None if given is None else given.strip().upper()
    if budget is not None:
        if named is not None and named != budget.currency:
            raise InvalidValue(
                "currency", f"the budget is in {budget.currency}: a request has one currency"
            )
        return budget.currency
    return _counted_in_hundredths(DEFAULT_CURRENCY if named is None else named)


def _counted_in_hundredths(currency: str) -> str:
    if currency not in tender_currencies():
        raise InvalidValue(
            "currency", f"{currency!r} is not a currency in use counted in hundredths (ISO 4217)"
        )
    return currency


def _invited(audience: Audience, invited: Sequence[UUID | str]) -> tuple[UUID, ...]:
    if len(invited) > MAX_INVITED:
        raise InvalidValue("invited", f"at most {MAX_INVITED} members")
    ids = []
    for i, given in enumerate(invited):
        try:
            ids.append(given if isinstance(given, UUID) else UUID(str(given)))
        except ValueError:
            raise InvalidValue(f"invited[{i}]", "an organisation id") from None
    if len(set(ids)) != len(ids):
        raise InvalidValue("invited", "each organisation once")
    if audience is Audience.INVITED and not ids:
        raise InvalidValue("invited", "name at least one member to invite")
    if audience is Audience.OPEN and ids:
        raise InvalidValue("invited", "an open request names no one: any member may quote")
    return tuple(ids)
