"""A request for quote: what a requester wants done, where, when, for about how much, and of
whom; its quotes sealed until the deadline, then one accepted (a contract) or none. Pure domain
code, in the marketplace's log (its events are read by the projections); what it asks, its
terms, are parsed and checked in terms.py.

open -> cancelled (before the deadline) | quotes_opened (by the clock, after it);
quotes_opened -> accepted (a contract signed with the quote's supplier) | closed (with why).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from marketplace.bids.content import SupplierFacts, is_whole_number
from marketplace.contracts import Contract, Party
from marketplace.quotes.terms import Audience, Budget, RequestTerms, upcast_posted_v1_v2
from marketplace.tender_terms import MAX_VALUE_MINOR, Period
from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.events import Context, TradehallAggregate
from sharedkernel.money import Money
from sharedkernel.text import domain_text

_NAMESPACE = uuid5(NAMESPACE_URL, "https://tradehall.invalid/request-for-quote")
MAX_REASON = 4000
# A request waits for quotes at most this long: a member's word on a price is for now.
LONGEST_WAIT = timedelta(days=90)
# The "lot" of an accepted quote's contract: one contract per request.
QUOTE_LOT = "quote"


class RequestStatus(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"
    QUOTES_OPENED = "quotes_opened"
    ACCEPTED = "accepted"
    CLOSED = "closed"


@dataclass(frozen=True)
class RequesterFacts:
    """What posting a request needs to know of the requester, asked by the caller of
    membership (standing, kind) and of buyer verification."""

    organisation_id: UUID
    registered: bool
    kind: str
    in_good_standing: bool
    verified_buyer: bool

    def refusal(self) -> str | None:
        """Why this organisation may not post a request, or None."""
        if not self.registered:
            return f"organisation {self.organisation_id} is not registered"
        if self.in_good_standing or self.kind == "business" or self.verified_buyer:
            return None
        return (
            "a request for quote is posted by a member in good standing, a registered business "
            "or a verified public-body buyer"
        )


@dataclass(frozen=True)
class OpenedQuote:
    """A quote as opened: what the requester sees and accepts from."""

    quote_id: UUID
    supplier_id: UUID
    price: Money
    note: str
    quoted_at: datetime

    def as_data(self) -> dict[str, Any]:
        return {
            "quote_id": str(self.quote_id),
            "supplier_id": str(self.supplier_id),
            "price_minor": self.price.minor,
            "currency": self.price.currency,
            "note": self.note,
            "quoted_at": self.quoted_at.isoformat(),
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> OpenedQuote:
        return cls(
            UUID(str(data["quote_id"])),
            UUID(str(data["supplier_id"])),
            Money(str(data["currency"]), int(data["price_minor"])),
            str(data["note"]),
            datetime.fromisoformat(str(data["quoted_at"])),
        )


@dataclass(frozen=True)
class Acceptance:
    quote_id: UUID
    supplier_id: UUID
    price_minor: int
    currency: str
    contract_id: UUID


class _Ended(TradehallAggregate.Event):
    """How a request ends with no contract (`RequestForQuote.Cancelled` before its deadline,
    `.Closed` after opening), with why: alike but for the status. Not an event itself: each
    keeps its own topic."""

    reason: str
    ends_as: ClassVar[RequestStatus]

    def apply(self, aggregate: RequestForQuote) -> None:
        aggregate.status = self.ends_as
        aggregate.reason = self.reason


class RequestForQuote(TradehallAggregate):
    class Posted(TradehallAggregate.Created):
        # Version 2: the request states the currency of its quotes (`currency`); version 1
        # stated none, and is read as in its budget's, or GBP (terms.upcast_posted_v1_v2).
        class_version = 2
        upcast_v1_v2 = staticmethod(upcast_posted_v1_v2)

        requester_id: UUID
        title: str
        description: str
        cpv_codes: list[str]
        regions: list[str]
        budget: dict[str, Any] | None
        deadline: datetime
        period: dict[str, Any]
        audience: str
        invited: list[str]
        currency: str

    class Cancelled(_Ended):
        ends_as = RequestStatus.CANCELLED

    class QuotesOpened(TradehallAggregate.Event):
        quotes: list[dict[str, Any]]
        declined: list[str]

        def apply(self, aggregate: RequestForQuote) -> None:
            aggregate.status = RequestStatus.QUOTES_OPENED
            aggregate.opened_quotes = [OpenedQuote.from_data(q) for q in self.quotes]
            aggregate.declined = [UUID(s) for s in self.declined]

    class Accepted(TradehallAggregate.Event):
        quote_id: UUID
        supplier_id: UUID
        price_minor: int
        currency: str
        contract_id: UUID

        def apply(self, aggregate: RequestForQuote) -> None:
            aggregate.status = RequestStatus.ACCEPTED
            aggregate.accepted = Acceptance(
                self.quote_id, self.supplier_id, self.price_minor, self.currency, self.contract_id
            )

    class Closed(_Ended):
        ends_as = RequestStatus.CLOSED

    def __init__(
        self,
        requester_id: UUID,
        title: str,
        description: str,
        cpv_codes: list[str],
        regions: list[str],
        budget: dict[str, Any] | None,
        deadline: datetime,
        period: dict[str, Any],
        audience: str,
        invited: list[str],
        currency: str,
    ) -> None:
        self.requester_id = requester_id
        self.terms = RequestTerms(
            title=title,
            description=description,
            cpv_codes=tuple(cpv_codes),
            regions=tuple(regions),
            budget=None if budget is None else Budget.from_data(budget),
            deadline=deadline,
            period=Period.from_data(period),
            audience=Audience(audience),
            invited=tuple(UUID(i) for i in invited),
            currency=currency,
        )
        self.status = RequestStatus.OPEN
        self.reason: str | None = None  # a cancellation's or closure's
        self.opened_quotes: list[OpenedQuote] | None = None  # None until opened (sealed)
        self.declined: list[UUID] = []
        self.accepted: Acceptance | None = None

    @staticmethod
    def id_for(requester_id: UUID, key: str) -> UUID:
        """A request's id from the requester and a client's key: a retried post is the same."""
        return uuid5(_NAMESPACE, f"{requester_id}:{key}")

    @staticmethod
    def check_post(at: datetime, requester: RequesterFacts, terms: RequestTerms) -> None:
        """Refuse a post at `at` (Conflict, or InvalidValue naming the field), or pass: the
        caller asks before it makes anything for the request (its sealing key)."""
        why = requester.refusal()
        if why is not None:
            raise Conflict(f"not allowed to request quotes: {why}")
        if terms.deadline <= at:
            raise InvalidValue("deadline", "the deadline has passed")
        if terms.deadline > at + LONGEST_WAIT:
            raise InvalidValue("deadline", f"at most {LONGEST_WAIT.days} days ahead")
        if requester.organisation_id in terms.invited:
            raise InvalidValue("invited", "the requester does not quote on its own request")

    @staticmethod
    def check_invitees(terms: RequestTerms, in_good_standing: Collection[UUID]) -> None:
        """Refuse an invitation to anyone but a member in good standing (InvalidValue naming
        `invited[i]`): only they quote, and a mistyped id would leave the request waiting for
        a quote nobody was asked for. One answer for an id that names nothing and one that
        names a lapsed member: the public directory already says no more than that."""
        for index, invitee in enumerate(terms.invited):
            if invitee not in in_good_standing:
                raise InvalidValue(
                    f"invited[{index}]", "names no member in good standing (only they quote)"
                )

    @classmethod
    def post(
        cls,
        context: Context,
        request_id: UUID,
        requester: RequesterFacts,
        terms: RequestTerms,
    ) -> RequestForQuote:
        cls.check_post(context.at, requester, terms)
        return cls._create(
            cls.Posted,
            id=request_id,
            requester_id=requester.organisation_id,
            **terms.as_posted(),
            **context.event_kwargs(),
        )

    # Reads -----------------------------------------------------------------------------------

    @property
    def title(self) -> str:
        return self.terms.title

    @property
    def posted_at(self) -> datetime:
        return self.created_on

    def accepts_quotes(self, now: datetime) -> bool:
        return self.status is RequestStatus.OPEN and now < self.terms.deadline

    def ensure_accepts_quotes(self, now: datetime) -> None:
        """Nothing about a quote changes from the deadline on, whether or not it is opened."""
        if not self.accepts_quotes(now):
            if now >= self.terms.deadline:
                raise Conflict("the request's deadline has passed: quotes are no longer accepted")
            raise Conflict(f"the request is {self.status}: it takes no quotes")

    def refusal_of(self, supplier: SupplierFacts, *, quoting: bool = True) -> str | None:
        """Why this supplier may not quote, or None; `quoting` False skips standing, for
        withdrawing a quote it has (a lapsed member may still withdraw)."""
        who = supplier.organisation_id
        if who == self.requester_id:
            return "the requester's own organisation does not quote"
        if not supplier.registered:
            return f"organisation {who} is not registered"
        if self.terms.audience is Audience.INVITED and who not in self.terms.invited:
            return "only the invited members quote on this request"
        if quoting and not supplier.in_good_standing:
            return f"organisation {who} is not a member in good standing"
        return None

    def check_price(self, price: Money) -> None:
        if not is_whole_number(price.minor) or not 1 <= price.minor <= MAX_VALUE_MINOR:
            raise InvalidValue(
                "price_minor", f"a whole number of minor units, 1 to {MAX_VALUE_MINOR}"
            )
        # One currency a request (its budget's, or the one it states): quotes are compared in
        # it. The rule is the request's, never drawn from the quotes (they are sealed).
        if price.currency != self.terms.currency:
            raise InvalidValue("currency", f"the request takes quotes in {self.terms.currency}")

    # The requester ---------------------------------------------------------------------------

    def cancel(self, context: Context, reason: str) -> None:
        if self.status is not RequestStatus.OPEN:
            raise Conflict(f"only an open request is cancelled (this one is {self.status})")
        if context.at >= self.terms.deadline:
            raise Conflict(
                "the request's deadline has passed: once its quotes are opened, accept one or "
                "close the request"
            )
        self.trigger_event(self.Cancelled, reason=_reason(reason), **context.event_kwargs())

    def accept(self, context: Context, quote_id: UUID) -> Contract:
        """The contract with the opened quote's supplier, at its price, for the request's
        period; signed as an award's contract is (it counts as one)."""
        if self.status is not RequestStatus.QUOTES_OPENED:
            raise Conflict(self._not_deciding())
        assert self.opened_quotes is not None
        quote = next((q for q in self.opened_quotes if q.quote_id == quote_id), None)
        if quote is None:
            raise InvalidValue("quote_id", "not an opened quote of this request")
        contract = Contract.sign(
            context,
            tender_id=self.id,
            lot_id=QUOTE_LOT,
            bid_id=quote.quote_id,
            buyer_id=self.requester_id,
            value=quote.price,
            period=self.terms.period,
            parties=[Party(quote.supplier_id, 100)],
            commitments=[],
        )
        self.trigger_event(
            self.Accepted,
            quote_id=quote.quote_id,
            supplier_id=quote.supplier_id,
            price_minor=quote.price.minor,
            currency=quote.price.currency,
            contract_id=contract.id,
            **context.event_kwargs(),
        )
        return contract

    def repeats_acceptance(self, quote_id: UUID, expected_version: int | None) -> bool:
        """Whether accepting `quote_id` on `expected_version` is the acceptance recorded: the
        same quote, on the version just before it (the If-Match the first named). An
        acceptance ends the request, so nothing follows it; a command naming no version is not
        taken for a retry."""
        return (
            expected_version is not None
            and self.status is RequestStatus.ACCEPTED
            and self.accepted is not None
            and self.accepted.quote_id == quote_id
            and expected_version == self.version - 1
        )

    def close(self, context: Context, reason: str) -> None:
        """No quote accepted, with why."""
        if self.status is not RequestStatus.QUOTES_OPENED:
            raise Conflict(self._not_deciding())
        self.trigger_event(self.Closed, reason=_reason(reason), **context.event_kwargs())

    # The clock -------------------------------------------------------------------------------

    def record_quotes_opened(
        self, context: Context, quotes: Sequence[OpenedQuote], declined: Sequence[UUID]
    ) -> None:
        if self.status is not RequestStatus.OPEN:
            raise Conflict(f"the request is {self.status}: its quotes are not opened (again)")
        if context.at < self.terms.deadline:
            raise Conflict("quotes are opened only after the request's deadline")
        self.trigger_event(
            self.QuotesOpened,
            quotes=[q.as_data() for q in quotes],
            declined=[str(s) for s in declined],
            **context.event_kwargs(),
        )

    def _not_deciding(self) -> str:
        if self.status is RequestStatus.OPEN:
            return "the quotes are sealed until the deadline: nothing is decided before opening"
        return f"the request is {self.status}: its quotes are decided already"


def _reason(reason: str) -> str:
    return domain_text(reason, "reason", MAX_REASON, required="say why")
