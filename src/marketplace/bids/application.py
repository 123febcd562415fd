"""The bids' Application, on the sealed log (ADR 27): one method per command, load -> decide
-> save, every aggregate a command touches saved in one transaction.

Its caller supplies what it cannot know: the tender (the marketplace's Application), what
membership says of each supplier, the secret-keyed ids, how events are sealed (the mapper) and
the sealed notices a command queues in its own transaction (receipts, invitations).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, Transcoder
from eventsourcing.utils import EnvType

from marketplace.bids.bid import BEFORE_OPENING, OPENED_UNRECORDED, Bid
from marketplace.bids.boxes import BidBox, BidderIndex
from marketplace.bids.content import (
    BidContent,
    BidDocument,
    Share,
    SupplierFacts,
    ineligibility,
)
from marketplace.bids.opening import verdicts
from marketplace.bids.ports import BidIds
from marketplace.bids.sealed_boxes import SealedBoxes
from marketplace.quotes.sealed import QuoteCommands
from marketplace.tenders import Tender
from sharedkernel.errors import Conflict, NotFound
from sharedkernel.events import Context
from sharedkernel.writing import Decision, Saved, Writes, saved

MapperFactory = Callable[[Transcoder], Mapper[UUID]]
# A decided bid -> the statements queueing its notices, run in the bid's own transaction.
Notices = Callable[[Bid], Sequence[Any]]
# The members of a tender's bids -> what membership says of each, at opening.
FactsOf = Callable[[set[UUID]], Mapping[UUID, SupplierFacts]]


def _none(bid: Bid) -> Sequence[Any]:
    return ()


class BidsApp(Application[UUID], QuoteCommands, SealedBoxes, Writes):
    name = "bids"

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        ids: BidIds,
        mapper_factory: MapperFactory | None = None,
    ) -> None:
        # Set before the library's __init__, which constructs the mapper.
        self.ids = ids
        self._mapper_factory = mapper_factory
        super().__init__(env)
        self._init_writes()

    def construct_mapper(self) -> Mapper[UUID]:
        if self._mapper_factory is None:
            return super().construct_mapper()
        return self._mapper_factory(self.construct_transcoder())

    # The bidder ------------------------------------------------------------------------------

    def draft_bid(
        self, context: Context, tender: Tender, lot_id: str, lead: SupplierFacts
    ) -> Saved:
        """The lead's one bid for the lot: drafting it again answers the same bid."""
        why = ineligibility(tender.terms, tender.buyer_id, lead)
        if why is not None:
            raise Conflict(f"not eligible to bid: {why}")
        bid_id = self.ids.bid_id(tender.id, lot_id, lead.organisation_id)

        def attempt() -> Saved:
            existing = self._find(bid_id, Bid)
            if existing is not None:
                if existing.status not in BEFORE_OPENING:
                    raise Conflict(f"your bid for {lot_id} is {existing.status}")
                return Saved(existing.id, existing.version, None)
            bid = Bid.draft(context, bid_id, tender, lot_id, lead.organisation_id)
            box = self._box_to_lodge(context, tender.id)
            box.lodge(context, bid_id)
            index = self._index_listing(context, lead.organisation_id, tender.id, bid_id)
            return saved(bid, self.save(bid, box, index))

        # Every new bid writes the tender's box: drafts for one tender take turns on the box's
        # lock (the bid's alone let several leads at once clash until one was refused, and a
        # refusal that comes only when others are drafting tells of their bids).
        return self._retrying(
            self.ids.box_id(tender.id), attempt, "the bid kept changing; try again"
        )

    def change_content(
        self,
        context: Context,
        tender: Tender,
        bid_id: UUID,
        organisation_id: UUID,
        content: BidContent,
        expected_version: int | None = None,
    ) -> Saved:
        return self._as_lead(
            bid_id,
            organisation_id,
            expected_version,
            lambda bid: bid.change_content(context, tender, content),
        )

    def attach_document(
        self,
        context: Context,
        tender: Tender,
        bid_id: UUID,
        organisation_id: UUID,
        document: BidDocument,
        expected_version: int | None = None,
    ) -> Saved:
        return self._as_lead(
            bid_id,
            organisation_id,
            expected_version,
            lambda bid: bid.attach(context, tender, document),
        )

    def form_consortium(
        self,
        context: Context,
        tender: Tender,
        bid_id: UUID,
        organisation_id: UUID,
        shares: tuple[Share, ...],
        partners: Mapping[UUID, SupplierFacts],
        invitations: Notices = _none,
        expected_version: int | None = None,
    ) -> Saved:
        """The lead names partners and shares (lead first); each partner must be eligible, is
        listed in its own index and is asked (again) to accept."""
        for share in shares[1:]:
            facts = partners.get(share.organisation_id)
            why = (
                f"organisation {share.organisation_id} is not registered"
                if facts is None
                else ineligibility(tender.terms, tender.buyer_id, facts)
            )
            if why is not None:
                raise Conflict(f"that partner may not bid: {why}")

        def decide(bid: Bid) -> Decision:
            before = bid.version
            bid.form_consortium(context, tender, shares)
            if bid.version == before:
                return Decision()
            indexes = [
                self._index_listing(context, partner, bid.tender_id, bid.id)
                for partner in bid.partners
            ]
            return Decision(indexes, invitations(bid))

        return self._write_as_lead(bid_id, organisation_id, expected_version, decide)

    def accept_partnership(
        self,
        context: Context,
        tender: Tender,
        bid_id: UUID,
        organisation_id: UUID,
        consortium_round: int,
        expected_version: int | None = None,
    ) -> Saved:
        return self._change_alone(
            bid_id,
            expected_version,
            lambda: self.bid_for(bid_id, organisation_id),
            lambda bid: bid.accept_partnership(context, tender, organisation_id, consortium_round),
            "the bid kept changing; try again",
        )

    def submit(
        self,
        context: Context,
        tender: Tender,
        bid_id: UUID,
        organisation_id: UUID,
        lead: SupplierFacts,
        receipts: Notices = _none,
        expected_version: int | None = None,
    ) -> Saved:
        """Submitted (again, after a withdrawal); the receipt queued in the same transaction."""
        why = ineligibility(tender.terms, tender.buyer_id, lead)
        if why is not None:
            raise Conflict(f"not eligible to bid: {why}")

        def decide(bid: Bid) -> Decision:
            bid.submit(context, tender)
            return Decision(side_writes=receipts(bid))

        return self._write_as_lead(bid_id, organisation_id, expected_version, decide)

    def withdraw(
        self,
        context: Context,
        tender: Tender,
        bid_id: UUID,
        organisation_id: UUID,
        expected_version: int | None = None,
    ) -> Saved:
        return self._as_lead(
            bid_id, organisation_id, expected_version, lambda bid: bid.withdraw(context, tender)
        )

    # Reads -----------------------------------------------------------------------------------

    def bid_for(self, bid_id: UUID, organisation_id: UUID, version: int | None = None) -> Bid:
        """The bid (as of `version`, if given), to its lead or a partner; to anyone else it
        does not exist."""
        bid = self._find(bid_id, Bid)
        if bid is not None and version is not None and version < bid.version:
            bid = self.repository.get(bid_id, version=version)
        if bid is None or not bid.seen_by(organisation_id):
            raise NotFound(f"no bid {bid_id}")
        return bid

    def bids_of(self, organisation_id: UUID) -> list[Bid]:
        index = self._find(self.ids.index_id(organisation_id), BidderIndex)
        if index is None:
            return []
        found = (self._find(bid_id, Bid) for bid_id in index.bids)
        return [bid for bid in found if bid is not None and bid.seen_by(organisation_id)]

    def box(self, tender_id: UUID) -> BidBox | None:
        return self._find(self.ids.box_id(tender_id), BidBox)

    def bids_in(self, box: BidBox) -> list[Bid]:
        return self._lodged_in(box, Bid)

    # The clock -------------------------------------------------------------------------------

    def open_bids(self, context: Context, tender: Tender, facts_of: FactsOf) -> list[Bid]:
        """Close the box and open every submitted bid (valid or invalid, with why) in one
        transaction; a bid written meanwhile makes this attempt clash and start again. Opening
        an opened box answers its bids as they were opened."""
        if tender.ended_unopened:
            raise Conflict(f"the tender was {tender.status}: its bids are never opened")
        if context.at < tender.terms.deadline:
            raise Conflict("bids are opened only after the tender's deadline")

        def open_each(bids: list[Bid]) -> Sequence[Any]:
            members = {member for bid in bids for member in bid.members}
            for verdict in verdicts(tender, bids, facts_of(members)):
                next(b for b in bids if b.id == verdict.bid_id).open(context, verdict.reason)
            for bid in bids:
                bid.close(context, "not submitted by the deadline")
            return ()

        return self._close_box(context, tender.id, Bid, "opened", open_each, "the tender's bids")

    def discard_bids(
        self, context: Context, tender: Tender, reason: str, told: Notices = _none
    ) -> list[Bid]:
        """The tender ended before opening (cancelled, withdrawn, closed unsuccessful): its
        bids are never opened, and each bidder is told, in the same transaction. A box the
        clock opened without the tender recording it (the clock stopped between its steps, and
        the buyer ended the tender meanwhile) is discarded over that opening: its bids were
        seen as opened by nobody but their bidders. Not before the tender's deadline: what
        discarding writes (an event per bid, a notice per bid member) would tell how many bids
        a live tender had, right after its public ending (ADR 27)."""
        if context.at < tender.terms.deadline:
            raise Conflict(
                "an ended tender's bids are discarded from its deadline on, as they would have "
                "been opened: until then even their number is sealed"
            )
        told_of = BEFORE_OPENING | OPENED_UNRECORDED

        def close_each(bids: list[Bid]) -> Sequence[Any]:
            notices = [n for bid in bids if bid.status in told_of for n in told(bid)]
            for bid in bids:
                bid.close(context, reason, opened_too=True)
            return notices

        return self._close_box(
            context, tender.id, Bid, "discarded", close_each, "the tender's bids", over="opened"
        )

    # Plumbing --------------------------------------------------------------------------------

    def _as_lead(
        self,
        bid_id: UUID,
        organisation_id: UUID,
        expected_version: int | None,
        decide: Callable[[Bid], None],
    ) -> Saved:
        def alone(bid: Bid) -> Decision:
            decide(bid)
            return Decision()

        return self._write_as_lead(bid_id, organisation_id, expected_version, alone)

    def _write_as_lead(
        self,
        bid_id: UUID,
        organisation_id: UUID,
        expected_version: int | None,
        decide: Callable[[Bid], Decision],
    ) -> Saved:
        """Load the bid as its lead (a partner reads, the lead writes), decide, save together."""

        def load() -> Bid:
            bid = self.bid_for(bid_id, organisation_id)
            bid.ensure_lead(organisation_id)
            return bid

        return self._change_one(
            bid_id, expected_version, load, decide, "the bid kept changing; try again"
        )
