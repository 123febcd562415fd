"""The quotes' commands on the sealed log, mixed into the bids' Application (`BidsApp`): quotes
are sealed exactly as bids are, lodged in the request's ballot box (`BidBox`, its tender the
request) and listed in the supplier's index (`BidderIndex`); the opening clock closes the box.

Every command's aggregates are saved in one transaction; a quote decided before the deadline
and saved after opening clashes with the opening (which writes every quote in the box) and is
decided again, then refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from marketplace.bids.boxes import BidBox, BidderIndex
from marketplace.bids.content import SupplierFacts
from marketplace.bids.sealed_boxes import SealedBoxes
from marketplace.quotes.quote import (
    DECLINED_AT_OPENING,
    OUT_OF_STANDING_AT_OPENING,
    Quote,
    QuoteStatus,
)
from marketplace.quotes.request import OpenedQuote, RequestForQuote, RequestStatus
from sharedkernel.errors import Conflict, NotFound, StaleVersion
from sharedkernel.events import Context
from sharedkernel.money import Money
from sharedkernel.writing import Saved, saved

__all__ = ["OpenedQuote", "QuoteCommands", "QuoteNotices", "as_opened", "declined_by"]

# A decided quote -> the statements queueing its notices, run in the quote's own transaction.
QuoteNotices = Callable[[Quote], Sequence[Any]]
# The suppliers of a request's quotes -> what membership says of each, at opening.
FactsOf = Callable[[set[UUID]], Mapping[UUID, SupplierFacts]]
_CLOSED_BOX = "the request's deadline has passed: quotes are no longer accepted"


def _none(quote: Quote) -> Sequence[Any]:
    return ()


def _stands(facts: SupplierFacts | None) -> bool:
    return facts is not None and facts.registered and facts.in_good_standing


def as_opened(quote: Quote) -> OpenedQuote:
    """An opened quote as the marketplace records it (`record_quotes_opened`)."""
    price, quoted_at = quote.price, quote.quoted_at
    if quote.status is not QuoteStatus.OPENED or price is None or quoted_at is None:
        raise ValueError(f"quote {quote.id} is {quote.status}, not opened")
    return OpenedQuote(quote.id, quote.supplier_id, price, quote.note, quoted_at)


def declined_by(quotes: Sequence[Quote]) -> list[UUID]:
    """The suppliers whose last word before the deadline was a decline."""
    return [q.supplier_id for q in quotes if q.status is QuoteStatus.DECLINED]


def _takes_part(request: RequestForQuote, supplier: SupplierFacts, *, quoting: bool) -> bool:
    """Whether the supplier may still quote (or, `quoting` False, withdraw) on the request as
    far as the request's status and its audience and standing say: the deadline aside, which
    a retried command may have met after its first success."""
    return (
        request.status is RequestStatus.OPEN
        and request.refusal_of(supplier, quoting=quoting) is None
    )


class QuoteCommands(SealedBoxes):
    """Quote, revise, decline, read; open or discard a request's quotes (the clock)."""

    def quotes_in(self, box: BidBox) -> list[Quote]:
        """The quotes lodged in a request's box (its quoters, told of a cancellation)."""
        return self._lodged_in(box, Quote)

    # The supplier ----------------------------------------------------------------------------

    def submit_quote(
        self,
        context: Context,
        request: RequestForQuote,
        supplier: SupplierFacts,
        price: Money,
        note: str,
        receipts: QuoteNotices = _none,
        expected_version: int | None = None,
    ) -> Saved:
        """The supplier's quote: the first call quotes (the quote lodged in the request's box
        and listed in the supplier's index, in one save), later ones revise (or quote again
        after a decline); each change's receipt queued in the same transaction."""

        def first() -> Quote:
            return Quote.quote(
                context, self._quote_id(request, supplier), request, supplier, price, note
            )

        def again(quote: Quote) -> None:
            quote.revise(context, request, supplier, price, note)

        def as_asked(quote: Quote) -> bool:
            takes_part = _takes_part(request, supplier, quoting=True)
            return takes_part and quote.stands_as_quoted(price, note)

        return self._write_quote(
            context, request, supplier, expected_version, first, again, as_asked, receipts
        )

    def decline_quote(
        self,
        context: Context,
        request: RequestForQuote,
        supplier: SupplierFacts,
        reason: str | None,
        expected_version: int | None = None,
    ) -> Saved:
        """Decline to quote, or withdraw a quote, until the deadline; quoting again is allowed."""

        def first() -> Quote:
            quote_id = self._quote_id(request, supplier)
            return Quote.decline_unquoted(context, quote_id, request, supplier, reason)

        def again(quote: Quote) -> None:
            quote.decline(context, request, supplier, reason)

        def as_asked(quote: Quote) -> bool:
            takes_part = _takes_part(request, supplier, quoting=False)
            return takes_part and quote.stands_as_declined(reason)

        return self._write_quote(
            context, request, supplier, expected_version, first, again, as_asked, _none
        )

    # Reads -----------------------------------------------------------------------------------

    def quote_of(self, request_id: UUID, organisation_id: UUID) -> Quote:
        """The organisation's quote for the request; to anyone else it does not exist."""
        quote = self._find(self.ids.quote_id(request_id, organisation_id), Quote)
        if quote is None or quote.supplier_id != organisation_id:
            raise NotFound(f"your organisation has no quote for request {request_id}")
        return quote

    def quotes_of(self, organisation_id: UUID) -> list[Quote]:
        index = self._find(self.ids.index_id(organisation_id), BidderIndex)
        if index is None:
            return []
        found = (self._find(quote_id, Quote) for quote_id in index.bids)
        return [q for q in found if q is not None and q.supplier_id == organisation_id]

    # The clock -------------------------------------------------------------------------------

    def open_quotes(
        self, context: Context, request: RequestForQuote, facts_of: FactsOf | None = None
    ) -> list[Quote]:
        """Close the request's box and open every quoted quote whose supplier is (by
        `facts_of`, at opening) still a member in good standing; the others, and the declined
        (still declined), are closed; in one transaction. Opening an opened box answers its
        quotes as they were opened."""
        if request.status is RequestStatus.CANCELLED:
            raise Conflict("the request was cancelled: its quotes are never opened")
        if context.at < request.terms.deadline:
            raise Conflict("quotes are opened only after the request's deadline")

        def open_each(quotes: list[Quote]) -> Sequence[Any]:
            quoted = [q for q in quotes if q.status is QuoteStatus.QUOTED]
            facts = facts_of({q.supplier_id for q in quoted}) if facts_of is not None else None
            for quote in quotes:
                if quote.status is not QuoteStatus.QUOTED:
                    quote.close(context, DECLINED_AT_OPENING)
                elif facts is not None and not _stands(facts.get(quote.supplier_id)):
                    quote.close(context, OUT_OF_STANDING_AT_OPENING)
                else:
                    quote.open(context)
            return ()

        return self._close_box(
            context, request.id, Quote, "opened", open_each, "the request's quotes"
        )

    def discard_quotes(
        self,
        context: Context,
        request: RequestForQuote,
        reason: str,
        told: QuoteNotices = _none,
    ) -> list[Quote]:
        """The request was cancelled: its quotes are never opened, and each supplier with a
        standing quote is told, in the same transaction; not before the request's deadline,
        as for a tender's bids (`BidsApp.discard_bids`)."""
        if request.status is not RequestStatus.CANCELLED:
            raise Conflict(f"the request is {request.status}: its quotes are not discarded")
        if context.at < request.terms.deadline:
            raise Conflict(
                "a cancelled request's quotes are discarded from its deadline on, as they would "
                "have been opened: until then even their number is sealed"
            )

        def close_each(quotes: list[Quote]) -> Sequence[Any]:
            notices = [
                n
                for q in quotes
                if q.status is QuoteStatus.QUOTED and not q.settled
                for n in told(q)
            ]
            for quote in quotes:
                quote.close(context, reason)
            return notices

        return self._close_box(
            context, request.id, Quote, "discarded", close_each, "the request's quotes"
        )

    # Plumbing --------------------------------------------------------------------------------

    def _quote_id(self, request: RequestForQuote, supplier: SupplierFacts) -> UUID:
        return self.ids.quote_id(request.id, supplier.organisation_id)

    def _write_quote(
        self,
        context: Context,
        request: RequestForQuote,
        supplier: SupplierFacts,
        expected_version: int | None,
        first: Callable[[], Quote],
        again: Callable[[Quote], None],
        as_asked: Callable[[Quote], bool],
        notices: QuoteNotices,
    ) -> Saved:
        quote_id = self._quote_id(request, supplier)
        box_id = self.ids.box_id(request.id)

        def attempt() -> Saved:
            quote = self._find(quote_id, Quote)
            if quote is None:
                if expected_version is not None:
                    raise StaleVersion(expected_version, 0)
                quote = first()
                box = self._box_to_lodge(context, request.id)
                if box.closed:
                    raise Conflict(_CLOSED_BOX)
                box.lodge(context, quote_id)
                index = self._index_listing(context, supplier.organisation_id, request.id, quote_id)
                return self._save_quote(quote, [box, index], notices(quote))
            if quote.supplier_id == supplier.organisation_id and as_asked(quote):
                # The quote stands as asked already: a command retried once its answer was
                # lost (the same body, the If-Match it named first, even past the deadline)
                # answers the quote as it stands and records nothing (RFC 9110 §13.1.1 lets a
                # change already made answer 2xx; ADR 43). Only the quoter's own quote.
                return Saved(quote.id, quote.version, None)
            if expected_version is not None and expected_version != quote.version:
                raise StaleVersion(expected_version, quote.version)
            before = quote.version
            again(quote)
            if quote.version == before:
                return Saved(quote.id, quote.version, None)
            return self._save_quote(quote, [], notices(quote))

        # A new quote writes the request's box: first quotes for one request take turns on the
        # box's lock, as new bids do; a later change takes the quote's own. A clash is decided
        # again (with a named version, it is then stale).
        exists = self._find(quote_id, Quote) is not None
        return self._retrying(
            quote_id if exists else box_id, attempt, "the quote kept changing; try again"
        )

    def _save_quote(self, quote: Quote, others: list[Any], side_writes: Sequence[Any]) -> Saved:
        assert isinstance(self, Application)
        extra = {"side_writes": side_writes} if side_writes else {}
        return saved(quote, self.save(quote, *others, **extra))
