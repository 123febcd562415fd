"""A bid for one lot of a tender, sealed until the tender's bids are opened. Pure domain code.

draft -> submitted -> withdrawn -> submitted ... until the deadline; then, at opening, a
submitted bid is opened (valid or invalid, with why) and any other is closed unopened; a bid on
a tender cancelled before opening is closed unopened too. Every event carries `tender_id`: the
sealed log encrypts each event under its tender's key (ADR 27).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from marketplace.bids.content import (
    EMPTY,
    MAX_DOCUMENTS,
    BidContent,
    BidDocument,
    Share,
    digest,
)
from marketplace.tenders import Tender
from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.events import Context, TradehallAggregate


class BidStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    OPENED = "opened"  # valid at opening
    INVALID = "invalid"  # opened and failed the checks: kept, with why
    CLOSED = "closed"  # never opened: not submitted at opening, or the tender cancelled


EDITABLE = frozenset({BidStatus.DRAFT, BidStatus.WITHDRAWN})
BEFORE_OPENING = frozenset({BidStatus.DRAFT, BidStatus.SUBMITTED, BidStatus.WITHDRAWN})
# What an opening made of a submitted bid, in the bids' own log (the marketplace records it next).
OPENED_UNRECORDED = frozenset({BidStatus.OPENED, BidStatus.INVALID})


def open_for_bids(tender: Tender, at: datetime) -> None:
    """Nothing about a bid changes from the deadline on, whether or not the clock has run."""
    if not tender.accepts_bids(at):
        if at >= tender.terms.deadline:
            raise Conflict("the tender's deadline has passed: bids are no longer accepted")
        raise Conflict(f"the tender is {tender.status}: it takes no bids")


class Bid(TradehallAggregate):
    class Drafted(TradehallAggregate.Created):
        tender_id: UUID
        lot_id: str
        lead_id: UUID
        currency: str

    class ContentChanged(TradehallAggregate.Event):
        tender_id: UUID
        content: dict[str, Any]

        def apply(self, aggregate: Bid) -> None:
            aggregate.content = BidContent.from_data(self.content)
            if aggregate.content.price is not None:  # the lot's currency when it was priced
                aggregate.currency = aggregate.content.price.currency

    class DocumentAttached(TradehallAggregate.Event):
        tender_id: UUID
        document: dict[str, Any]

        def apply(self, aggregate: Bid) -> None:
            aggregate.documents.append(BidDocument.from_data(self.document))

    class ConsortiumFormed(TradehallAggregate.Event):
        """The lead's and partners' shares; every partner must accept (again)."""

        tender_id: UUID
        shares: list[dict[str, Any]]

        def apply(self, aggregate: Bid) -> None:
            aggregate.shares = tuple(Share.from_data(s) for s in self.shares)
            aggregate.accepted = set()
            aggregate.consortium_round += 1

    class PartnershipAccepted(TradehallAggregate.Event):
        tender_id: UUID
        organisation_id: UUID
        consortium_round: int

        def apply(self, aggregate: Bid) -> None:
            aggregate.accepted.add(self.organisation_id)

    class Submitted(TradehallAggregate.Event):
        tender_id: UUID
        digest: str

        def apply(self, aggregate: Bid) -> None:
            aggregate.status = BidStatus.SUBMITTED
            aggregate.submitted_at = self.timestamp
            aggregate.digest = self.digest

    class Withdrawn(TradehallAggregate.Event):
        tender_id: UUID

        def apply(self, aggregate: Bid) -> None:
            aggregate.status = BidStatus.WITHDRAWN

    class Opened(TradehallAggregate.Event):
        tender_id: UUID
        valid: bool
        reason: str

        def apply(self, aggregate: Bid) -> None:
            aggregate.status = BidStatus.OPENED if self.valid else BidStatus.INVALID
            aggregate.invalid_reason = None if self.valid else self.reason

    class Closed(TradehallAggregate.Event):
        tender_id: UUID
        reason: str

        def apply(self, aggregate: Bid) -> None:
            aggregate.status = BidStatus.CLOSED
            aggregate.closed_reason = self.reason
            aggregate.invalid_reason = None  # never opened after all (see `close`)

    def __init__(self, tender_id: UUID, lot_id: str, lead_id: UUID, currency: str) -> None:
        self.tender_id = tender_id
        self.lot_id = lot_id
        self.lead_id = lead_id
        self.currency = currency
        self.status = BidStatus.DRAFT
        self.content: BidContent = EMPTY
        self.documents: list[BidDocument] = []
        self.shares: tuple[Share, ...] = (Share(lead_id, 100),)
        self.accepted: set[UUID] = set()
        self.consortium_round = 0
        self.submitted_at: datetime | None = None
        self.digest: str | None = None
        self.invalid_reason: str | None = None
        self.closed_reason: str | None = None

    @classmethod
    def draft(
        cls, context: Context, bid_id: UUID, tender: Tender, lot_id: str, lead_id: UUID
    ) -> Bid:
        open_for_bids(tender, context.at)
        lot = next((lot for lot in tender.terms.lots if lot.id == lot_id), None)
        if lot is None:
            raise InvalidValue("lot_id", "not a lot of this tender")
        return cls._create(
            cls.Drafted,
            id=bid_id,
            tender_id=tender.id,
            lot_id=lot_id,
            lead_id=lead_id,
            currency=lot.value.currency,
            **context.event_kwargs(),
        )

    # Reads -----------------------------------------------------------------------------------

    @property
    def partners(self) -> tuple[UUID, ...]:
        """The consortium's members other than the lead (invited, accepted or not)."""
        return tuple(s.organisation_id for s in self.shares[1:])

    @property
    def members(self) -> tuple[UUID, ...]:
        return (self.lead_id, *self.partners)

    @property
    def consortium_complete(self) -> bool:
        return set(self.partners) <= self.accepted

    def lot_currency(self, tender: Tender) -> str:
        """The currency the bid's lot is priced in now: an amendment may change it after the
        bid was drafted (lots are never removed, so the lot is there)."""
        lot = next((lot for lot in tender.terms.lots if lot.id == self.lot_id), None)
        return self.currency if lot is None else lot.value.currency

    def shown_currency(self, tender: Tender) -> str:
        """The currency the bid is shown in: its price's, once priced; else the one its next
        price is written in, its lot's now (an amendment may have changed it since the draft)."""
        price = self.content.price
        return self.lot_currency(tender) if price is None else price.currency

    def priced_otherwise(self, tender: Tender) -> str | None:
        """Why the bid's price is not in its lot's currency (amended since it was priced)."""
        price, currency = self.content.price, self.lot_currency(tender)
        if price is None or price.currency == currency:
            return None
        return f"priced in {price.currency}, but {self.lot_id} is priced in {currency}"

    def seen_by(self, organisation_id: UUID) -> bool:
        """Only the lead and its partners learn anything of a bid before opening."""
        return organisation_id in self.members

    def submission(self) -> dict[str, Any]:
        """What a submission's receipt digests: everything the buyer will see of the bid."""
        return {
            "bid_id": str(self.id),
            "tender_id": str(self.tender_id),
            "lot_id": self.lot_id,
            "lead_id": str(self.lead_id),
            "content": self.content.as_data(),
            "documents": [d.as_data() for d in self.documents],
            "shares": [s.as_data() for s in self.shares],
        }

    # The bidder ------------------------------------------------------------------------------

    def change_content(self, context: Context, tender: Tender, content: BidContent) -> None:
        self.ensure_editable(context, tender)
        currency = self.lot_currency(tender)
        if content.price is not None and content.price.currency != currency:
            raise InvalidValue("price_minor", f"the lot is priced in {currency}")
        if content == self.content:
            return
        self.trigger_event(
            self.ContentChanged,
            tender_id=self.tender_id,
            content=content.as_data(),
            **context.event_kwargs(),
        )

    def attach(self, context: Context, tender: Tender, document: BidDocument) -> None:
        self.ensure_editable(context, tender)
        if len(self.documents) >= MAX_DOCUMENTS:
            raise Conflict(f"a bid holds at most {MAX_DOCUMENTS} documents")
        self.trigger_event(
            self.DocumentAttached,
            tender_id=self.tender_id,
            document=document.as_data(),
            **context.event_kwargs(),
        )

    def form_consortium(self, context: Context, tender: Tender, shares: tuple[Share, ...]) -> None:
        """The lead names its partners and everyone's share (lead first); every partner must
        accept the new terms, even one who accepted the old ones."""
        self.ensure_editable(context, tender)
        if not shares or shares[0].organisation_id != self.lead_id:
            raise InvalidValue("partners", "the lead's share comes first")
        if tender.buyer_id in {s.organisation_id for s in shares}:
            raise InvalidValue("partners", "the buyer's own organisation is not a partner")
        if shares == self.shares:
            return
        self.trigger_event(
            self.ConsortiumFormed,
            tender_id=self.tender_id,
            shares=[s.as_data() for s in shares],
            **context.event_kwargs(),
        )

    def accept_partnership(
        self, context: Context, tender: Tender, organisation_id: UUID, consortium_round: int
    ) -> None:
        """A partner accepts the consortium's terms as of `consortium_round` (what it saw)."""
        if self.status not in BEFORE_OPENING:
            raise Conflict(f"the bid is {self.status}")
        open_for_bids(tender, context.at)
        if organisation_id not in self.partners:
            raise Conflict("only an invited partner accepts")
        if consortium_round != self.consortium_round:
            raise Conflict("the consortium's terms changed since: read them again and accept")
        if organisation_id in self.accepted:
            return
        self.trigger_event(
            self.PartnershipAccepted,
            tender_id=self.tender_id,
            organisation_id=organisation_id,
            consortium_round=consortium_round,
            **context.event_kwargs(),
        )

    def submit(self, context: Context, tender: Tender) -> None:
        self.ensure_editable(context, tender)
        lacking = self.content.missing(tender.terms)
        if lacking:
            raise InvalidValue(lacking[0], "a submitted bid needs a price and every answer")
        otherwise = self.priced_otherwise(tender)
        if otherwise is not None:
            raise InvalidValue("price_minor", f"{otherwise} since an amendment: price it again")
        self.trigger_event(
            self.Submitted,
            tender_id=self.tender_id,
            digest=digest(self.submission()),
            **context.event_kwargs(),
        )

    def withdraw(self, context: Context, tender: Tender) -> None:
        if self.status is not BidStatus.SUBMITTED:
            raise Conflict(f"only a submitted bid is withdrawn (this one is {self.status})")
        open_for_bids(tender, context.at)
        self.trigger_event(self.Withdrawn, tender_id=self.tender_id, **context.event_kwargs())

    # Opening ---------------------------------------------------------------------------------

    def open(self, context: Context, reason: str | None) -> None:
        """At opening: valid (no reason) or invalid with why. Only a submitted bid opens."""
        if self.status is not BidStatus.SUBMITTED:
            raise Conflict(f"a {self.status} bid is not opened")
        self.trigger_event(
            self.Opened,
            tender_id=self.tender_id,
            valid=reason is None,
            reason=reason or "",
            **context.event_kwargs(),
        )

    def close(self, context: Context, reason: str, *, opened_too: bool = False) -> None:
        """Never to be opened: not submitted at opening, or its tender cancelled. `opened_too`:
        also a bid opened by an opening its tender never recorded (the clock stopped between
        its steps, and the tender ended before it went on), which nobody but its bidders ever
        saw as opened."""
        if self.status not in (
            OPENED_UNRECORDED | BEFORE_OPENING if opened_too else BEFORE_OPENING
        ):
            return
        self.trigger_event(
            self.Closed, tender_id=self.tender_id, reason=reason, **context.event_kwargs()
        )

    def ensure_lead(self, organisation_id: UUID) -> None:
        """Partners read the bid; only its lead changes it."""
        if organisation_id != self.lead_id:
            raise Conflict("only the lead member changes the bid")

    def ensure_editable(self, context: Context, tender: Tender) -> None:
        """The bid may change now: a draft or withdrawn bid, before the deadline."""
        if self.status not in EDITABLE:
            raise Conflict(f"a {self.status} bid is not changed: withdraw it first")
        open_for_bids(tender, context.at)
