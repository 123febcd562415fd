"""A member's quote for a request: a price and a note, sealed until the request's deadline.
Pure domain code, in the sealed bids log.

quoted <-> declined (revised, declined, quoted again) until the deadline; then, at opening, a
quoted quote is opened and a declined one stays declined, closed; a request cancelled before
opening closes its quotes unopened. A member may decline before ever quoting.

Every event carries `tender_id`, which is the REQUEST's id: the sealed log seals each event under
the key of its `tender_id`, so a quote is sealed under its request's key.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from marketplace.bids.content import SupplierFacts
from marketplace.quotes.request import RequestForQuote
from sharedkernel.errors import Conflict
from sharedkernel.events import Context, TradehallAggregate
from sharedkernel.money import Money
from sharedkernel.text import domain_text

MAX_NOTE = 4000
MAX_REASON = 4000
DECLINED_AT_OPENING = "declined before the deadline: never opened"
# As a bid is checked again at opening: a quote stands only while its supplier is a member in
# good standing (it may have lapsed since quoting), so the requester never accepts a lapsed one.
OUT_OF_STANDING_AT_OPENING = "its supplier was not a member in good standing at opening"


class QuoteStatus(StrEnum):
    QUOTED = "quoted"
    DECLINED = "declined"  # by its supplier; stays so after opening (closed, never opened)
    OPENED = "opened"
    CLOSED = "closed"  # never opened: its request cancelled


class _SaysNo:
    """The supplier's no, before quoting (`Quote.DeclinedUnquoted`) or after (`Quote.Declined`):
    the quote stands declined, with the reason if one was given. Each event declares the field
    itself (a mixin's annotations are not the event's fields)."""

    reason: str | None

    def apply(self, aggregate: Quote) -> None:
        aggregate.status = QuoteStatus.DECLINED
        aggregate.decline_reason = self.reason


class Quote(TradehallAggregate):
    class Quoted(TradehallAggregate.Created):
        tender_id: UUID  # the request's id (the sealed log seals under its key)
        supplier_id: UUID
        price_minor: int
        currency: str
        note: str

        def apply(self, aggregate: Quote) -> None:
            aggregate.quoted_at = self.timestamp

    class DeclinedUnquoted(_SaysNo, TradehallAggregate.Created):
        """Declined before ever quoting (an invited member saying no)."""

        tender_id: UUID
        supplier_id: UUID
        reason: str | None

    class Revised(TradehallAggregate.Event):
        tender_id: UUID
        price_minor: int
        currency: str
        note: str

        def apply(self, aggregate: Quote) -> None:
            aggregate.status = QuoteStatus.QUOTED
            aggregate.price_minor = self.price_minor
            aggregate.currency = self.currency
            aggregate.note = self.note
            aggregate.quoted_at = self.timestamp
            aggregate.decline_reason = None

    class Declined(_SaysNo, TradehallAggregate.Event):
        tender_id: UUID
        reason: str | None

    class Opened(TradehallAggregate.Event):
        tender_id: UUID

        def apply(self, aggregate: Quote) -> None:
            aggregate.status = QuoteStatus.OPENED

    class Closed(TradehallAggregate.Event):
        tender_id: UUID
        reason: str

        def apply(self, aggregate: Quote) -> None:
            # A declined quote stays declined: that is what its supplier said.
            if aggregate.status is not QuoteStatus.DECLINED:
                aggregate.status = QuoteStatus.CLOSED
            aggregate.closed_reason = self.reason

    def __init__(
        self,
        tender_id: UUID,
        supplier_id: UUID,
        price_minor: int | None = None,
        currency: str | None = None,
        note: str = "",
    ) -> None:
        self.tender_id = tender_id
        self.supplier_id = supplier_id
        self.price_minor = price_minor
        self.currency = currency
        self.note = note
        self.status = QuoteStatus.QUOTED
        self.quoted_at: datetime | None = None  # the last quote's or revision's time
        self.decline_reason: str | None = None
        self.closed_reason: str | None = None  # set at opening or discarding: settled

    @classmethod
    def quote(
        cls,
        context: Context,
        quote_id: UUID,
        request: RequestForQuote,
        supplier: SupplierFacts,
        price: Money,
        note: str,
    ) -> Quote:
        _may_quote(context, request, supplier, price)
        return cls._create(
            cls.Quoted,
            id=quote_id,
            tender_id=request.id,
            supplier_id=supplier.organisation_id,
            price_minor=price.minor,
            currency=price.currency,
            note=_note(note),
            **context.event_kwargs(),
        )

    @classmethod
    def decline_unquoted(
        cls,
        context: Context,
        quote_id: UUID,
        request: RequestForQuote,
        supplier: SupplierFacts,
        reason: str | None,
    ) -> Quote:
        _may_decline(context, request, supplier, withdrawing=False)
        return cls._create(
            cls.DeclinedUnquoted,
            id=quote_id,
            tender_id=request.id,
            supplier_id=supplier.organisation_id,
            reason=_decline_reason(reason),
            **context.event_kwargs(),
        )

    # Reads -----------------------------------------------------------------------------------

    @property
    def request_id(self) -> UUID:
        return self.tender_id

    @property
    def price(self) -> Money | None:
        if self.price_minor is None or self.currency is None:
            return None
        return Money(self.currency, self.price_minor)

    def stands_as_quoted(self, price: Money, note: str) -> bool:
        """Whether quoting `price` and `note` would leave the quote as it stands: quoted so,
        and not settled."""
        return (
            self.status is QuoteStatus.QUOTED
            and not self.settled
            and (self.price, self.note) == (price, _note(note))
        )

    def stands_as_declined(self, reason: str | None) -> bool:
        """Whether declining with `reason` would leave the quote as it stands: declined with
        that reason, and not settled."""
        return (
            self.status is QuoteStatus.DECLINED
            and not self.settled
            and self.decline_reason == _decline_reason(reason)
        )

    @property
    def settled(self) -> bool:
        """Opened, or closed unopened: nothing changes any more."""
        return self.status is QuoteStatus.OPENED or self.closed_reason is not None

    # The supplier ----------------------------------------------------------------------------

    def revise(
        self,
        context: Context,
        request: RequestForQuote,
        supplier: SupplierFacts,
        price: Money,
        note: str,
    ) -> None:
        """A new price or note, or a quote again after declining; the same again is nothing."""
        self._ensure_supplier(supplier)
        # Past the deadline that is the answer, whether or not the quote is opened yet.
        request.ensure_accepts_quotes(context.at)
        self._ensure_unsettled()
        _may_quote(context, request, supplier, price)
        clean = _note(note)
        unchanged = (self.price, self.note) == (price, clean)
        if self.status is QuoteStatus.QUOTED and unchanged:
            return
        self.trigger_event(
            self.Revised,
            tender_id=self.tender_id,
            price_minor=price.minor,
            currency=price.currency,
            note=clean,
            **context.event_kwargs(),
        )

    def decline(
        self,
        context: Context,
        request: RequestForQuote,
        supplier: SupplierFacts,
        reason: str | None,
    ) -> None:
        """Withdraw the quote (or decline again, with another reason) before the deadline."""
        self._ensure_supplier(supplier)
        request.ensure_accepts_quotes(context.at)
        self._ensure_unsettled()
        _may_decline(context, request, supplier, withdrawing=True)
        clean = _decline_reason(reason)
        if self.status is QuoteStatus.DECLINED and clean == self.decline_reason:
            return
        self.trigger_event(
            self.Declined, tender_id=self.tender_id, reason=clean, **context.event_kwargs()
        )

    # The clock -------------------------------------------------------------------------------

    def open(self, context: Context) -> None:
        if self.status is not QuoteStatus.QUOTED or self.settled:
            raise Conflict(f"a {self.status} quote is not opened")
        self.trigger_event(self.Opened, tender_id=self.tender_id, **context.event_kwargs())

    def close(self, context: Context, reason: str) -> None:
        """Never to be opened: declined at opening, or its request cancelled. Once only."""
        if self.settled:
            return
        self.trigger_event(
            self.Closed, tender_id=self.tender_id, reason=reason, **context.event_kwargs()
        )

    def _ensure_supplier(self, supplier: SupplierFacts) -> None:
        if supplier.organisation_id != self.supplier_id:
            raise Conflict("only the quoting organisation changes its quote")

    def _ensure_unsettled(self) -> None:
        if self.settled:
            raise Conflict(f"the quote is {self.status} and settled: it no longer changes")


def _may_quote(
    context: Context, request: RequestForQuote, supplier: SupplierFacts, price: Money
) -> None:
    why = request.refusal_of(supplier)
    if why is not None:
        raise Conflict(f"not allowed to quote: {why}")
    request.ensure_accepts_quotes(context.at)
    request.check_price(price)


def _may_decline(
    context: Context, request: RequestForQuote, supplier: SupplierFacts, *, withdrawing: bool
) -> None:
    # Withdrawing a quote one has is never refused for standing (a lapsed member still may);
    # declining unquoted is for those who could quote, else any registered organisation
    # would stand in the requester's declined list.
    why = request.refusal_of(supplier, quoting=not withdrawing)
    if why is not None:
        raise Conflict(f"not allowed to decline: {why}")
    request.ensure_accepts_quotes(context.at)


def _note(note: str) -> str:
    return domain_text(note, "note", MAX_NOTE, required=None)


def _decline_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    return domain_text(reason, "reason", MAX_REASON, required=None) or None
