"""Builders shared by the bid unit tests: a published tender (its terms built as in the tender
domain tests), suppliers' facts, contexts at moments around the deadline, complete content, a
test implementation of the BidIds port, and an in-memory store that shows the side writes it
was given."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory

from marketplace.bids.bid import Bid
from marketplace.bids.content import (
    BidContent,
    BidDocument,
    Commitment,
    Share,
    SupplierFacts,
    parse_content,
)
from marketplace.tenders import Tender
from sharedkernel.events import Context, user_actor
from tests.unit.test_tender_domain import NOW, POLICY, terms

BUYER = UUID("00000000-0000-4000-8000-0000000000b1")
LEAD = UUID("00000000-0000-4000-8000-000000000011")
PARTNER = UUID("00000000-0000-4000-8000-000000000022")
SECOND = UUID("00000000-0000-4000-8000-000000000033")
THIRD = UUID("00000000-0000-4000-8000-000000000044")
OUTSIDER = UUID("00000000-0000-4000-8000-000000000099")
USER = user_actor(UUID("00000000-0000-4000-8000-0000000000a1"))
# Bidding happens a day after publication; the deadline is thirty days after it.
SOON = NOW + timedelta(days=1)
ONE_SECOND = timedelta(seconds=1)


def at(moment: datetime) -> Context:
    return Context(actor=USER, request_id="r", at=moment)


def facts(
    organisation_id: UUID,
    *,
    registered: bool = True,
    in_good_standing: bool = True,
    holds_mark: bool = True,
    regions: tuple[str, ...] = ("TLC4",),
) -> SupplierFacts:
    return SupplierFacts(organisation_id, registered, in_good_standing, holds_mark, regions)


def tender(*, planned: bool = False, **overrides: Any) -> Tender:
    """A published tender of two GBP lots (lot-1, lot-2), members only, in TLC4, with the quality
    criteria "method statement" and "experience"; its deadline 30 days after NOW."""
    drafted = Tender.draft(at(NOW), uuid4(), BUYER, "ocds-th01", terms(**overrides))
    drafted.publish(
        at(NOW), verified_buyer=True, buyer_kind="public_body", policy=POLICY, planned=planned
    )
    return drafted


def before_deadline(of: Tender) -> datetime:
    return of.terms.deadline - ONE_SECOND


def answers(of: Tender) -> dict[str, str]:
    return {c.name: f"Our answer on {c.name}" for c in of.terms.evaluation.quality}


def content(
    of: Tender,
    *,
    price_minor: int | None = 1_000_000,
    currency: str = "GBP",
    given: dict[str, str] | None = None,
    commitments: Sequence[Commitment] = (),
) -> BidContent:
    return parse_content(
        of.terms, currency, price_minor, answers(of) if given is None else given, commitments
    )


def document(name: str = "doc-1") -> BidDocument:
    return BidDocument(name, "ab" * 32, "application/pdf", 1234, "method.pdf")


def shares(*pairs: tuple[UUID, int]) -> tuple[Share, ...]:
    return tuple(Share(organisation_id, percent) for organisation_id, percent in pairs)


def drafted_bid(of: Tender, lead: UUID = LEAD, lot_id: str = "lot-1") -> Bid:
    return Bid.draft(at(SOON), uuid4(), of, lot_id, lead)


def ready_bid(of: Tender, lead: UUID = LEAD, lot_id: str = "lot-1") -> Bid:
    """A draft with a price and every answer: ready to submit."""
    bid = drafted_bid(of, lead, lot_id)
    bid.change_content(at(SOON), of, content(of))
    return bid


def submitted_bid(of: Tender, lead: UUID = LEAD, lot_id: str = "lot-1") -> Bid:
    bid = ready_bid(of, lead, lot_id)
    bid.submit(at(SOON), of)
    return bid


class Uuid5BidIds:
    """The BidIds port, for tests: ids derived without a secret (uuid5)."""

    namespace = uuid5(NAMESPACE_URL, "https://tradehall.invalid/test-bids")

    def bid_id(self, tender_id: UUID, lot_id: str, lead_id: UUID) -> UUID:
        return uuid5(self.namespace, f"bid:{tender_id}:{lot_id}:{lead_id}")

    def box_id(self, tender_id: UUID) -> UUID:
        return uuid5(self.namespace, f"box:{tender_id}")

    def index_id(self, organisation_id: UUID) -> UUID:
        return uuid5(self.namespace, f"index:{organisation_id}")

    def quote_id(self, request_id: UUID, supplier_id: UUID) -> UUID:
        return uuid5(self.namespace, f"quote:{request_id}:{supplier_id}")


class SideWritesSeen(POPOApplicationRecorder):
    """The in-memory store, keeping what each insert was given beside its events: the side
    writes a real store runs in the same transaction."""

    def __init__(self) -> None:
        super().__init__()
        self.inserts: list[tuple[list[UUID], list[Any]]] = []

    def insert_events(self, stored_events: Sequence[Any], **kwargs: Any) -> Sequence[int] | None:
        ids = super().insert_events(stored_events, **kwargs)
        self.inserts.append(
            (
                [UUID(str(e.originator_id)) for e in stored_events],
                list(kwargs.get("side_writes", ())),
            )
        )
        return ids


class SideWritesFactory(POPOFactory):
    def application_recorder(self) -> ApplicationRecorder:
        return SideWritesSeen()


SIDE_WRITES_STORE = {"PERSISTENCE_MODULE": "tests.unit.bid_builders:SideWritesFactory"}
