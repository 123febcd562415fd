"""The bids' notices: a receipt at each submission, an invitation to each partner, word to
every bidder of a tender cancelled before opening. Each is queued in the outbox in the bid's own
transaction (a side write), sealed: a reader of the database learns no tender, bid or bidder
from a waiting or sent message (ADR 27)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any
from uuid import UUID, uuid5

from sqlalchemy import insert

from marketplace.bids.bid import Bid
from marketplace.tenders import Tender
from sharedkernel.events import TradehallAggregate
from tradehall.mail.outbox import MESSAGE_DOMAIN, MESSAGE_NAMESPACE
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.sealing.keys import SealingKeys
from tradehall.marketplace.sealing.outbox import sealed_outbox_row


def sealed_notice(
    keys: SealingKeys,
    aggregate: TradehallAggregate,
    template: str,
    to: UUID,
    subject: str,
    body: str,
) -> Any:
    """The statement queueing a sealed notice of the bid's (or quote's) decision, dated by it;
    its message id from the aggregate's version after the decision: one message per event and
    addressee, as elsewhere."""
    key = f"{aggregate.id}:{aggregate.version}:{template}:{to}"
    row = sealed_outbox_row(
        keys,
        message_id=f"<{uuid5(MESSAGE_NAMESPACE, key)}@{MESSAGE_DOMAIN}>",
        organisation_id=to,
        template=template,
        subject=subject,
        body=body,
        created_at=aggregate.modified_on,
    )
    return insert(outbox_messages).values(**row)


def _lot(tender: Tender, bid: Bid) -> str:
    lot = next((lot for lot in tender.terms.lots if lot.id == bid.lot_id), None)
    return f"{bid.lot_id} ({lot.title})" if lot is not None else bid.lot_id


def receipts(keys: SealingKeys, tender: Tender) -> Callable[[Bid], Sequence[Any]]:
    """The lead's receipt for a submission: when, and a digest of what was submitted."""

    def queue(bid: Bid) -> Sequence[Any]:
        body = (
            f"Your organisation's bid for {_lot(tender, bid)} of the tender "
            f"“{tender.terms.title}” was submitted at {bid.submitted_at:%Y-%m-%d %H:%M:%S} UTC.\n\n"
            f"Digest of what was submitted: {bid.digest}\n\n"
            "Keep this receipt. The bid stays sealed until the tender's bids are opened; "
            "you may withdraw it and submit again until the deadline."
        )
        return [sealed_notice(keys, bid, "bid_receipt", bid.lead_id, "Bid receipt", body)]

    return queue


def invitations(
    keys: SealingKeys, tender: Tender, lead_name: str, public_url: str
) -> Callable[[Bid], Sequence[Any]]:
    """Each partner asked to accept the consortium's (new) terms."""

    def queue(bid: Bid) -> Sequence[Any]:
        statements = []
        for share in bid.shares[1:]:
            body = (
                f"{lead_name} invites your organisation into a consortium bid for "
                f"{_lot(tender, bid)} of the tender “{tender.terms.title}”, with a "
                f"{share.percent}% share of the work.\n\n"
                f"Read the bid and accept at {public_url}/api/v1/bids/{bid.id} "
                f"(terms round {bid.consortium_round}). Every partner must accept before "
                "the deadline, and again after any change to the partners or shares."
            )
            statements.append(
                sealed_notice(
                    keys,
                    bid,
                    "bid_invitation",
                    share.organisation_id,
                    "Invitation to a consortium bid",
                    body,
                )
            )
        return statements

    return queue


def cancellations(
    keys: SealingKeys, tender: Tender, told: Collection[UUID] = ()
) -> Callable[[Bid], Sequence[Any]]:
    """Every member of a bid on a tender that ended before opening: the bid is never opened.
    Nothing more for a member in `told`, named by the ending's sealed batch
    (tradehall.marketplace.bids.amendment_notices): one message a bidder."""

    def queue(bid: Bid) -> Sequence[Any]:
        body = (
            f"The tender “{tender.terms.title}” was {tender.status} before its bids were "
            f"opened: {tender.end_reason or 'no reason given'}.\n\nYour organisation's bid for "
            f"{_lot(tender, bid)} will never be opened."
        )
        return [
            sealed_notice(keys, bid, "bid_tender_ended", member, "A tender you bid on ended", body)
            for member in bid.members
            if member not in told
        ]

    return queue
