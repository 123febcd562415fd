"""Builders shared by the quote unit tests: a request's terms (parsed as the API parses them), a
requester's and suppliers' facts, contexts around the deadline, a posted request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from marketplace.bids.content import SupplierFacts
from marketplace.quotes.request import RequesterFacts, RequestForQuote
from marketplace.quotes.terms import RequestTerms
from marketplace.tender_terms import Period
from sharedkernel.events import Context, user_actor
from sharedkernel.money import Money

REQUESTER = UUID("00000000-0000-4000-8000-0000000000c1")
SUPPLIER = UUID("00000000-0000-4000-8000-0000000000d1")
OTHER = UUID("00000000-0000-4000-8000-0000000000d2")
THIRD = UUID("00000000-0000-4000-8000-0000000000d3")
OUTSIDER = UUID("00000000-0000-4000-8000-0000000000d9")
USER = user_actor(UUID("00000000-0000-4000-8000-0000000000a2"))
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
# Quotes come in a day after posting; the deadline is ten days after it.
SOON = NOW + timedelta(days=1)
DEADLINE = NOW + timedelta(days=10)
ONE_SECOND = timedelta(seconds=1)
WORK = Period(DEADLINE + timedelta(days=7), DEADLINE + timedelta(days=37))
CPV = "45442110-1"  # painting work
BUDGET = {"currency": "GBP", "min_minor": 50_000, "max_minor": 200_000}


def at(moment: datetime) -> Context:
    return Context(actor=USER, request_id="r", at=moment)


def terms(**overrides: Any) -> RequestTerms:
    """Paint a hall in TLC4, in GBP, open to any member, deadline ten days after NOW."""
    given: dict[str, Any] = {
        "title": "Repaint the community hall",
        "description": "Two coats, walls and ceiling, about 300 square metres.",
        "cpv_codes": [CPV],
        "regions": ["TLC4"],
        "budget": dict(BUDGET),
        "deadline": DEADLINE,
        "period": WORK,
        "audience": "open",
        "invited": [],
    }
    given.update(overrides)
    return RequestTerms.parse(**given)


def invited_terms(*invited: UUID) -> RequestTerms:
    return terms(audience="invited", invited=list(invited))


def requester(
    organisation_id: UUID = REQUESTER,
    *,
    registered: bool = True,
    kind: str = "charity",
    in_good_standing: bool = True,
    verified_buyer: bool = False,
) -> RequesterFacts:
    return RequesterFacts(organisation_id, registered, kind, in_good_standing, verified_buyer)


def supplier(
    organisation_id: UUID = SUPPLIER,
    *,
    registered: bool = True,
    in_good_standing: bool = True,
) -> SupplierFacts:
    return SupplierFacts(organisation_id, registered, in_good_standing, False, ("TLC4",))


def posted(
    request_terms: RequestTerms | None = None, request_id: UUID | None = None
) -> RequestForQuote:
    return RequestForQuote.post(
        at(NOW), request_id or uuid4(), requester(), request_terms or terms()
    )


def gbp(minor: int) -> Money:
    return Money("GBP", minor)
