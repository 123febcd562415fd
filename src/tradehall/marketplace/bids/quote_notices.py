"""The quotes' sealed notices: a receipt at each quote or revision, and word to every quoter of a
request cancelled before its quotes were opened. Queued in the outbox in the quote's own
transaction and sealed as the bids' are: a reader of the database learns no request, quote or
supplier from a waiting or sent message (ADR 27)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from uuid import UUID

from marketplace.quotes.quote import Quote
from marketplace.quotes.request import RequestForQuote
from marketplace.quotes.sealed import QuoteNotices
from tradehall.marketplace.bids.notices import sealed_notice
from tradehall.marketplace.sealing.keys import SealingKeys


def _price(quote: Quote) -> str:
    pounds, pence = divmod(quote.price_minor or 0, 100)
    return f"{quote.currency} {pounds:,}.{pence:02d}"


def quote_receipts(keys: SealingKeys, request: RequestForQuote) -> QuoteNotices:
    """The supplier's receipt: what it quoted, and when."""

    def queue(quote: Quote) -> Sequence[Any]:
        body = (
            f"Your organisation quoted {_price(quote)} for the request “{request.title}” at "
            f"{quote.modified_on:%Y-%m-%d %H:%M:%S} UTC.\n\n"
            "The quote stays sealed until the request's deadline; you may revise or withdraw "
            "it until then."
        )
        return [
            sealed_notice(keys, quote, "quote_receipt", quote.supplier_id, "Quote receipt", body)
        ]

    return queue


def quote_cancellations(
    keys: SealingKeys, request: RequestForQuote, told: Collection[UUID] = ()
) -> QuoteNotices:
    """A quoter of a request cancelled before its deadline: the quote is never opened. An
    invited quoter is told of the cancellation by the request's own notice writer, which tells
    every invited member: one message each, not two. Nothing either for a supplier in `told`,
    named by the cancellation's sealed batch (tradehall.marketplace.bids.amendment_notices)."""

    def queue(quote: Quote) -> Sequence[Any]:
        if quote.supplier_id in request.terms.invited:
            return []
        if quote.supplier_id in told:
            return []
        body = (
            f"The request for quote “{request.title}” was cancelled before its quotes were "
            f"opened: {request.reason or 'no reason given'}.\n\nYour organisation's quote will "
            "never be opened."
        )
        subject = "A request was cancelled"
        return [
            sealed_notice(keys, quote, "quote_request_cancelled", quote.supplier_id, subject, body)
        ]

    return queue
