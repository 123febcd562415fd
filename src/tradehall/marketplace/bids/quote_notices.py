"""The quotes' sealed notices: a receipt at each quote or revision, and word to every quoter of a
request cancelled before its quotes were opened. Queued in the outbox in the quote's own
transaction and sealed as the bids' are: a reader of the database learns no request, quote or
supplier from a waiting or sent message (ADR 27)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import uuid5

from sqlalchemy import insert

from marketplace.quotes.quote import Quote
from marketplace.quotes.request import RequestForQuote
from tradehall.mail.outbox import MESSAGE_DOMAIN, MESSAGE_NAMESPACE
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.sealing.keys import SealingKeys
from tradehall.marketplace.sealing.outbox import sealed_outbox_row

QuoteNotices = Callable[[Quote], Sequence[Any]]


def _queued(keys: SealingKeys, quote: Quote, template: str, subject: str, body: str) -> Any:
    # The quote's version after the decision: one message per event, as the bids' notices.
    key = f"{quote.id}:{quote.version}:{template}:{quote.supplier_id}"
    row = sealed_outbox_row(
        keys,
        message_id=f"<{uuid5(MESSAGE_NAMESPACE, key)}@{MESSAGE_DOMAIN}>",
        organisation_id=quote.supplier_id,
        template=template,
        subject=subject,
        body=body,
        created_at=quote.modified_on,
    )
    return insert(outbox_messages).values(**row)


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
        return [_queued(keys, quote, "quote_receipt", "Quote receipt", body)]

    return queue


def quote_cancellations(keys: SealingKeys, request: RequestForQuote) -> QuoteNotices:
    """A quoter of a request cancelled before its deadline: the quote is never opened. An
    invited quoter is told of the cancellation by the request's own notice writer, which tells
    every invited member: one message each, not two."""

    def queue(quote: Quote) -> Sequence[Any]:
        if quote.supplier_id in request.terms.invited:
            return []
        body = (
            f"The request for quote “{request.title}” was cancelled before its quotes were "
            f"opened: {request.reason or 'no reason given'}.\n\nYour organisation's quote will "
            "never be opened."
        )
        return [_queued(keys, quote, "quote_request_cancelled", "A request was cancelled", body)]

    return queue
