"""A tender, from a private draft through OCDS `tender.status`; its amendments, documents,
clarifications and suppliers' interest. Pure domain code.

draft (private to the buyer) -> planned | active; planned -> active | withdrawn;
active -> cancelled | unsuccessful (after the deadline) | complete (after an award, later).
Once published, the deadline may be extended and never shortened, and the evaluation rules
change only together with a longer deadline. Every amendment says what changed and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from marketplace.tender_terms import SocialValuePolicy, TenderTerms
from sharedkernel.errors import Conflict, InvalidValue, NotFound
from sharedkernel.events import Context, TradehallAggregate

_NAMESPACE = uuid5(NAMESPACE_URL, "https://tradehall.invalid/tender")
# An ocid another publisher issued (a national portal's): `ocds-`, a registered prefix, `-`, its
# own id.
_NATIONAL_OCID = re.compile(r"ocds-[a-z0-9]{6}-[A-Za-z0-9][A-Za-z0-9._/-]{0,119}")
MAX_DOCUMENTS = 50
MAX_QUESTION = 4000
# An aggregate, and the OCDS record that lists them, stay a bounded size.
MAX_AMENDMENTS = 50


class TenderStatus(StrEnum):
    DRAFT = "draft"  # ours, not OCDS: never published anywhere
    PLANNED = "planned"
    ACTIVE = "active"
    CANCELLED = "cancelled"
    UNSUCCESSFUL = "unsuccessful"
    COMPLETE = "complete"
    WITHDRAWN = "withdrawn"


PUBLISHED = frozenset(
    {
        TenderStatus.PLANNED,
        TenderStatus.ACTIVE,
        TenderStatus.CANCELLED,
        TenderStatus.UNSUCCESSFUL,
        TenderStatus.COMPLETE,
        TenderStatus.WITHDRAWN,
    }
)
OPEN = frozenset({TenderStatus.PLANNED, TenderStatus.ACTIVE})
_ENDED = frozenset({TenderStatus.CANCELLED, TenderStatus.WITHDRAWN, TenderStatus.UNSUCCESSFUL})
# A lot's outcomes (OCDS lot status: complete when awarded, else unsuccessful).
LOT_AWARDED = "awarded"
LOT_NOT_AWARDED = "not_awarded"
LOT_UNSUCCESSFUL = "unsuccessful"


def ocid_for(prefix: str, tender_id: UUID) -> str:
    """An OCDS ocid: the publisher's registered prefix and an id stable from the first draft."""
    return f"{prefix}-{tender_id}"


@dataclass(frozen=True)
class TenderDocument:
    sha256: str
    content_type: str
    size: int
    filename: str
    kind: str  # OCDS documentType: tenderNotice, technicalSpecifications, contractDraft, ...


DOCUMENT_KINDS = frozenset(
    {
        "tenderNotice",
        "technicalSpecifications",
        "evaluationCriteria",
        "contractDraft",
        "eligibilityCriteria",
        "clarifications",
        "other",
    }
)


class Tender(TradehallAggregate):
    class Drafted(TradehallAggregate.Created):
        buyer_id: UUID  # the buyer organisation
        ocid: str
        terms: dict[str, Any]

    class DraftRevised(TradehallAggregate.Event):
        terms: dict[str, Any]

        def apply(self, aggregate: Tender) -> None:
            aggregate.terms = TenderTerms.from_data(self.terms)

    class Published(TradehallAggregate.Event):
        status: str  # planned or active

        def apply(self, aggregate: Tender) -> None:
            aggregate.status = TenderStatus(self.status)
            aggregate.published_at = self.timestamp

    class Activated(TradehallAggregate.Event):
        def apply(self, aggregate: Tender) -> None:
            aggregate.status = TenderStatus.ACTIVE

    class Amended(TradehallAggregate.Event):
        terms: dict[str, Any]
        changed: list[str]
        rationale: str

        def apply(self, aggregate: Tender) -> None:
            aggregate.terms = TenderTerms.from_data(self.terms)
            aggregate.amendments += 1
            aggregate.amended_at.append(self.timestamp)

    class DocumentAdded(TradehallAggregate.Event):
        sha256: str
        content_type: str
        size: int
        filename: str
        kind: str

        def apply(self, aggregate: Tender) -> None:
            aggregate.documents.append(
                TenderDocument(self.sha256, self.content_type, self.size, self.filename, self.kind)
            )

    class Ended(TradehallAggregate.Event):
        """Cancelled, withdrawn or unsuccessful; with why."""

        status: str
        reason: str

        def apply(self, aggregate: Tender) -> None:
            aggregate.status = TenderStatus(self.status)
            aggregate.end_reason = self.reason

    class BidsOpened(TradehallAggregate.Event):
        """Its bids are opened: from now on each lot is decided by its evaluation (awarded or
        not), and the tender is neither cancelled nor closed as a whole."""

        def apply(self, aggregate: Tender) -> None:
            aggregate.bids_opened = True

    class LotDecided(TradehallAggregate.Event):
        """A lot's evaluation ended: awarded, not awarded or unsuccessful (no valid bid). When
        every lot is decided the tender follows: complete if any lot was awarded, else
        unsuccessful."""

        lot_id: str
        outcome: str

        def apply(self, aggregate: Tender) -> None:
            aggregate.lot_outcomes[self.lot_id] = self.outcome
            if all(lot.id in aggregate.lot_outcomes for lot in aggregate.terms.lots):
                awarded = LOT_AWARDED in aggregate.lot_outcomes.values()
                aggregate.status = TenderStatus.COMPLETE if awarded else TenderStatus.UNSUCCESSFUL

    class NationalOcidLinked(TradehallAggregate.Event):
        """The ocid a national portal issued for the same process (OCDS: a related process)."""

        ocid: str

        def apply(self, aggregate: Tender) -> None:
            aggregate.national_ocid = self.ocid

    def __init__(self, buyer_id: UUID, ocid: str, terms: dict[str, Any]) -> None:
        self.buyer_id = buyer_id
        self.ocid = ocid
        self.terms = TenderTerms.from_data(terms)
        self.status = TenderStatus.DRAFT
        self.published_at: datetime | None = None
        self.amendments = 0
        self.amended_at: list[datetime] = []
        self.documents: list[TenderDocument] = []
        self.end_reason: str | None = None
        self.lot_outcomes: dict[str, str] = {}
        self.bids_opened = False
        self.national_ocid: str | None = None

    @staticmethod
    def id_for(buyer_id: UUID, draft_key: str) -> UUID:
        """A draft's id from the buyer and a client's key: a retried draft is the same one."""
        return uuid5(_NAMESPACE, f"{buyer_id}:{draft_key}")

    @classmethod
    def draft(
        cls,
        context: Context,
        tender_id: UUID,
        buyer_id: UUID,
        ocid_prefix: str,
        terms: TenderTerms,
    ) -> Tender:
        return cls._create(
            cls.Drafted,
            id=tender_id,
            buyer_id=buyer_id,
            ocid=ocid_for(ocid_prefix, tender_id),
            terms=terms.as_data(),
            **context.event_kwargs(),
        )

    # Reads -----------------------------------------------------------------------------------

    @property
    def published(self) -> bool:
        return self.status in PUBLISHED

    def accepts_questions(self, now: datetime) -> bool:
        period = self.terms.enquiry_period
        return self.status is TenderStatus.ACTIVE and period.start <= now < period.end

    @property
    def ended_unopened(self) -> bool:
        """Cancelled, withdrawn or closed unsuccessful before its bids were opened: they never
        will be."""
        return self.status in _ENDED and not self.bids_opened

    def accepts_bids(self, now: datetime) -> bool:
        return self.status is TenderStatus.ACTIVE and now < self.terms.deadline

    def amendments_since(self, moment: datetime) -> int:
        """How many times the tender was amended since `moment` (a bid's drafting): what its
        bidder must read again before submitting. One made at that very moment counts."""
        return sum(1 for at in self.amended_at if at >= moment)

    # The buyer -------------------------------------------------------------------------------

    def revise_draft(self, context: Context, terms: TenderTerms) -> None:
        if self.status is not TenderStatus.DRAFT:
            raise Conflict("only a draft is revised; a published tender is amended")
        if terms == self.terms:
            return
        self.trigger_event(self.DraftRevised, terms=terms.as_data(), **context.event_kwargs())

    def publish(
        self,
        context: Context,
        *,
        verified_buyer: bool,
        buyer_kind: str,
        policy: SocialValuePolicy,
        planned: bool = False,
    ) -> None:
        """Published as active (open for tendering) or planned (announced ahead)."""
        if self.status is not TenderStatus.DRAFT:
            raise Conflict(f"the tender is already {self.status}")
        if buyer_kind == "public_body" and not verified_buyer:
            raise Conflict("a public body publishes tenders once staff have verified it")
        policy.check(buyer_kind, self.terms.evaluation)
        if not planned and self.terms.deadline <= context.at:
            raise InvalidValue("tender_period.end", "the deadline has passed")
        status = TenderStatus.PLANNED if planned else TenderStatus.ACTIVE
        self.trigger_event(self.Published, status=status.value, **context.event_kwargs())

    def activate(self, context: Context) -> None:
        if self.status is not TenderStatus.PLANNED:
            raise Conflict(f"only a planned tender opens (this one is {self.status})")
        if self.terms.deadline <= context.at:
            raise InvalidValue("tender_period.end", "the deadline has passed: amend it first")
        self.trigger_event(self.Activated, **context.event_kwargs())

    def amend(
        self,
        context: Context,
        terms: TenderTerms,
        rationale: str,
        *,
        buyer_kind: str,
        policy: SocialValuePolicy,
    ) -> None:
        """A published tender's change, with why, before its deadline (a planned one's, after
        it too: it takes no bids yet). The deadline may move later, never earlier; the
        evaluation rules change only with a later deadline."""
        if self.status not in OPEN:
            raise Conflict(f"a {self.status} tender is not amended")
        self._not_opened()
        if self.status is TenderStatus.ACTIVE and context.at >= self.terms.deadline:
            # Nothing about a bid changes from the deadline on, whether or not the clock has
            # opened them: a later deadline now would reopen a competition that has closed.
            raise Conflict(
                "the tender's deadline has passed: its bids wait for their opening, and it is "
                "no longer amended"
            )
        if not rationale.strip():
            raise InvalidValue("rationale", "say why the tender changes")
        if self.amendments >= MAX_AMENDMENTS:
            raise Conflict(f"a tender is amended at most {MAX_AMENDMENTS} times")
        if len(terms.lots) < len(self.terms.lots):
            # Lots are named by their place (lot-1, lot-2, ...): bids, evaluations and the OCDS
            # releases refer to them so. Removing one would give its name to the next.
            raise InvalidValue(
                "lots",
                "a published tender's lots are never removed (each keeps its id); change a lot, "
                "add lots after the last, or leave a lot unawarded",
            )
        changed = self.terms.changed_fields(terms)
        if not changed:
            raise InvalidValue("terms", "the amendment changes nothing")
        old, new = self.terms.deadline, terms.deadline
        if new < old:
            raise InvalidValue("tender_period.end", "a published deadline is never shortened")
        if "evaluation" in changed and not new > old:
            raise InvalidValue(
                "evaluation",
                "the published evaluation rules change only with a later deadline",
            )
        if new <= context.at and self.status is TenderStatus.ACTIVE:
            raise InvalidValue("tender_period.end", "the deadline has passed")
        policy.check(buyer_kind, terms.evaluation)
        self.trigger_event(
            self.Amended,
            terms=terms.as_data(),
            changed=changed,
            rationale=rationale.strip(),
            **context.event_kwargs(),
        )

    def add_document(self, context: Context, document: TenderDocument) -> None:
        if self.status not in {TenderStatus.DRAFT, *OPEN}:
            raise Conflict(f"documents are not added to a {self.status} tender")
        self._not_opened()
        if document.kind not in DOCUMENT_KINDS:
            raise InvalidValue("kind", f"one of: {', '.join(sorted(DOCUMENT_KINDS))}")
        if any(d.sha256 == document.sha256 for d in self.documents):
            return  # the same document again
        if len(self.documents) >= MAX_DOCUMENTS:
            raise Conflict(f"a tender holds at most {MAX_DOCUMENTS} documents")
        self.trigger_event(
            self.DocumentAdded,
            sha256=document.sha256,
            content_type=document.content_type,
            size=document.size,
            filename=document.filename,
            kind=document.kind,
            **context.event_kwargs(),
        )

    def link_national_ocid(self, context: Context, ocid: str) -> None:
        """Name the ocid a national portal (Find a Tender, Contracts Finder) issued for this
        process; given again, the same one changes nothing."""
        clean = ocid.strip()
        if not _NATIONAL_OCID.fullmatch(clean):
            raise InvalidValue(
                "ocid", "an ocid: ocds-, a six-character prefix, a hyphen, then the process id"
            )
        if clean == self.ocid:
            raise InvalidValue("ocid", "that is this tender's own ocid")
        if clean == self.national_ocid:
            return
        self.trigger_event(self.NationalOcidLinked, ocid=clean, **context.event_kwargs())

    def cancel(self, context: Context, reason: str) -> None:
        if self.status is not TenderStatus.ACTIVE:
            raise Conflict(f"only an active tender is cancelled (this one is {self.status})")
        self._not_opened()
        self._end(context, TenderStatus.CANCELLED, reason)

    def withdraw(self, context: Context, reason: str) -> None:
        if self.status is not TenderStatus.PLANNED:
            raise Conflict(f"only a planned tender is withdrawn (this one is {self.status})")
        self._end(context, TenderStatus.WITHDRAWN, reason)

    def close_unsuccessful(self, context: Context, reason: str) -> None:
        if self.status is not TenderStatus.ACTIVE:
            raise Conflict(f"only an active tender closes (this one is {self.status})")
        if context.at < self.terms.deadline:
            raise Conflict("a tender closes unsuccessful only after its deadline")
        self._not_opened()
        self._end(context, TenderStatus.UNSUCCESSFUL, reason)

    def record_bids_opened(self, context: Context) -> None:
        if self.status is not TenderStatus.ACTIVE or context.at < self.terms.deadline:
            raise Conflict("bids are opened only after the deadline of an active tender")
        if self.bids_opened:
            raise Conflict("the tender's bids are opened already")
        self.trigger_event(self.BidsOpened, **context.event_kwargs())

    def decide_lot(self, context: Context, lot_id: str, outcome: str) -> None:
        """Record a lot's outcome (its evaluation decides; this keeps the tender's status)."""
        if self.status is not TenderStatus.ACTIVE or context.at < self.terms.deadline:
            raise Conflict("a lot is decided only after the deadline of an active tender")
        if lot_id not in {lot.id for lot in self.terms.lots}:
            raise NotFound(f"the tender has no {lot_id}")
        if lot_id in self.lot_outcomes:
            raise Conflict(f"{lot_id} is decided already ({self.lot_outcomes[lot_id]})")
        self.trigger_event(
            self.LotDecided, lot_id=lot_id, outcome=outcome, **context.event_kwargs()
        )

    def _not_opened(self) -> None:
        if self.bids_opened:
            raise Conflict(
                "the tender's bids are opened: each lot is decided by its evaluation (award it, "
                "or decide not to award it, with a reason)"
            )

    def _end(self, context: Context, status: TenderStatus, reason: str) -> None:
        if not reason.strip():
            raise InvalidValue("reason", "say why")
        self.trigger_event(
            self.Ended, status=status.value, reason=reason.strip(), **context.event_kwargs()
        )


class Clarification(TradehallAggregate):
    """A supplier's question on a tender and the buyer's answer, published to all. The asker
    is recorded for staff only: no public or buyer view shows it."""

    class Asked(TradehallAggregate.Created):
        tender_id: UUID
        asker_id: UUID  # the supplier organisation
        question: str

    class Answered(TradehallAggregate.Event):
        answer: str

        def apply(self, aggregate: Clarification) -> None:
            aggregate.answer = self.answer
            aggregate.answered_at = self.timestamp

    def __init__(self, tender_id: UUID, asker_id: UUID, question: str) -> None:
        self.tender_id = tender_id
        self.asker_id = asker_id
        self.question = question
        self.answer: str | None = None
        self.answered_at: datetime | None = None

    @classmethod
    def ask(
        cls,
        context: Context,
        clarification_id: UUID,
        tender: Tender,
        asker_id: UUID,
        question: str,
    ) -> Clarification:
        if asker_id == tender.buyer_id:
            raise Conflict("the buyer answers questions; it does not ask them")
        if not tender.accepts_questions(context.at):
            raise Conflict("questions are taken only during the tender's enquiry period")
        text = question.strip()
        if not text:
            raise InvalidValue("question", "ask something")
        if len(text) > MAX_QUESTION:
            raise InvalidValue("question", f"longer than {MAX_QUESTION} characters")
        return cls._create(
            cls.Asked,
            id=clarification_id,
            tender_id=tender.id,
            asker_id=asker_id,
            question=text,
            **context.event_kwargs(),
        )

    def answer_with(self, context: Context, answer: str) -> None:
        if self.answer is not None:
            raise Conflict("the question is answered already")
        text = answer.strip()
        if not text:
            raise InvalidValue("answer", "answer something")
        self.trigger_event(self.Answered, answer=text, **context.event_kwargs())

    def repeats_answer(self, answer: str, expected_version: int | None) -> bool:
        """Whether answering `answer` on `expected_version` is the answer recorded: the same
        text, on the version just before it (the If-Match the first named). An answer is the
        question's last change; a command naming no version is not taken for a retry."""
        return (
            expected_version is not None
            and self.answer is not None
            and self.answer == answer.strip()
            and expected_version == self.version - 1
        )


def interest_id_for(tender_id: UUID, supplier_id: UUID) -> UUID:
    return uuid5(_NAMESPACE, f"interest:{tender_id}:{supplier_id}")


class Interest(TradehallAggregate):
    """A supplier registered interest in a tender: it is told of amendments and answers. No
    buyer ever sees who (it would name likely bidders)."""

    class Registered(TradehallAggregate.Created):
        tender_id: UUID
        supplier_id: UUID

    def __init__(self, tender_id: UUID, supplier_id: UUID) -> None:
        self.tender_id = tender_id
        self.supplier_id = supplier_id

    @classmethod
    def register(cls, context: Context, tender: Tender, supplier_id: UUID) -> Interest:
        if tender.status not in OPEN:
            raise Conflict(
                f"interest is registered in an open tender (this one is {tender.status})"
            )
        if supplier_id == tender.buyer_id:
            raise Conflict("the buyer does not register interest in its own tender")
        return cls._create(
            cls.Registered,
            id=interest_id_for(tender.id, supplier_id),
            tender_id=tender.id,
            supplier_id=supplier_id,
            **context.event_kwargs(),
        )
