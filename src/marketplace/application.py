"""The marketplace's Application: one method per command, load -> decide -> save.

What it needs to know of another context (an organisation's kind, a member's standing) is
given by the caller at the moment of the command (the web layer asks membership).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import EnvType

from marketplace.alerts.application import SavedSearchCommands
from marketplace.buyers import BuyerVerification, buyer_id_for
from marketplace.evaluation.application import AwardCommands, StandstillPolicy
from marketplace.impact.application import ProxyValueCommands
from marketplace.listings import ListingDetails, ServiceListing
from marketplace.openings import BidOpening, opening_id_for
from marketplace.outside.opportunity import Opportunity, opportunity_id_for
from marketplace.outside.releases import parse_release
from marketplace.quotes.application import QuoteRequestCommands
from marketplace.tender_terms import SocialValuePolicy, TenderTerms
from marketplace.tenders import (
    Clarification,
    Interest,
    Tender,
    TenderDocument,
    interest_id_for,
)
from sharedkernel.errors import Conflict, NotFound, StaleVersion
from sharedkernel.events import Context
from sharedkernel.writing import Saved, saved


@dataclass(frozen=True)
class TenderPolicy:
    """The association's settings for tenders: its OCDS ocid prefix, social value policy and
    standstill."""

    ocid_prefix: str = "ocds-thdemo"
    social_value: SocialValuePolicy = field(default_factory=SocialValuePolicy)
    standstill: StandstillPolicy = field(default_factory=StandstillPolicy)


@dataclass(frozen=True)
class Imported:
    """What importing a release did: `imported` (a new opportunity), `updated` or
    `unchanged` (seen before)."""

    outcome: str
    saved: Saved


@dataclass(frozen=True)
class BuyerFacts:
    """What a tender command needs to know of the buyer, asked of membership by the caller."""

    kind: str


class MarketplaceApp(
    Application[UUID],
    AwardCommands,
    SavedSearchCommands,
    ProxyValueCommands,
    QuoteRequestCommands,
):
    name = "marketplace"

    def __init__(self, env: EnvType | None = None, policy: TenderPolicy | None = None) -> None:
        super().__init__(env)
        self._init_writes()
        self.policy = policy or TenderPolicy()
        self.standstill = self.policy.standstill

    # Buyers ----------------------------------------------------------------------------------

    def verify_buyer(
        self,
        context: Context,
        organisation_id: UUID,
        kind: str,
        evidence: str,
        expected_version: int | None = None,
    ) -> Saved:
        """Staff verify a public body, first or again after a withdrawal; `expected_version`,
        the verification's (one never verified has none: any named is stale)."""
        buyer_id = buyer_id_for(organisation_id)

        def attempt() -> Saved:
            buyer = self._find(buyer_id, BuyerVerification)
            current = 0 if buyer is None else buyer.version
            if expected_version is not None and (buyer is None or expected_version != current):
                raise StaleVersion(expected_version, current)
            if buyer is None:
                buyer = BuyerVerification.verify(context, organisation_id, kind, evidence)
            else:
                buyer.reverify(context, kind, evidence)
            return saved(buyer, self.save(buyer))

        return self._retrying(buyer_id, attempt, "the verification kept changing; try again")

    def withdraw_verification(
        self,
        context: Context,
        organisation_id: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on(
            buyer_id_for(organisation_id),
            expected_version,
            lambda: self.buyer(organisation_id),
            lambda b: b.withdraw(context, reason),
        )

    def buyer(self, organisation_id: UUID) -> BuyerVerification:
        buyer = self._find(buyer_id_for(organisation_id), BuyerVerification)
        if buyer is None:
            raise NotFound(f"organisation {organisation_id} has never been verified")
        return buyer

    def is_verified(self, organisation_id: UUID) -> bool:
        buyer = self._find(buyer_id_for(organisation_id), BuyerVerification)
        return buyer is not None and buyer.verified

    # Listings --------------------------------------------------------------------------------

    def publish_listing(
        self,
        context: Context,
        listing_id: UUID,
        organisation_id: UUID,
        details: ListingDetails,
        in_good_standing: bool,
    ) -> Saved:
        listing = ServiceListing.publish(
            context, listing_id, organisation_id, details, in_good_standing
        )
        try:
            return saved(listing, self.save(listing))
        except IntegrityError as error:  # the same id twice (a retried request)
            raise Conflict(f"listing {listing_id} exists already") from error

    def update_listing(
        self,
        context: Context,
        listing_id: UUID,
        details: ListingDetails,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_listing(
            listing_id, expected_version, lambda listing: listing.update(context, details)
        )

    def withdraw_listing(
        self, context: Context, listing_id: UUID, expected_version: int | None = None
    ) -> Saved:
        return self._on_listing(
            listing_id, expected_version, lambda listing: listing.withdraw(context)
        )

    def republish_listing(
        self,
        context: Context,
        listing_id: UUID,
        in_good_standing: bool,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_listing(
            listing_id,
            expected_version,
            lambda listing: listing.republish(context, in_good_standing),
        )

    def listing(self, listing_id: UUID) -> ServiceListing:
        return self._get(listing_id, ServiceListing, "service listing")

    # Tenders ---------------------------------------------------------------------------------

    def draft_tender(
        self, context: Context, tender_id: UUID, buyer_id: UUID, terms: TenderTerms
    ) -> Saved:
        tender = Tender.draft(context, tender_id, buyer_id, self.policy.ocid_prefix, terms)
        try:
            return saved(tender, self.save(tender))
        except IntegrityError as error:
            raise Conflict(f"tender {tender_id} exists already") from error

    def revise_draft(
        self,
        context: Context,
        tender_id: UUID,
        terms: TenderTerms,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_tender(
            tender_id, expected_version, lambda t: t.revise_draft(context, terms)
        )

    def publish_tender(
        self,
        context: Context,
        tender_id: UUID,
        buyer: BuyerFacts,
        planned: bool = False,
        expected_version: int | None = None,
        before_save: Callable[[], None] | None = None,
    ) -> Saved:
        """`before_save` runs once the tender has taken the publication and before it is saved
        (again if the save is retried): what must exist of a published tender before it is one
        (its sealing key, ADR 27), made only for a publication the domain takes."""
        verified = self.is_verified(self.tender(tender_id).buyer_id)

        def decide(tender: Tender) -> None:
            tender.publish(
                context,
                verified_buyer=verified,
                buyer_kind=buyer.kind,
                policy=self.policy.social_value,
                planned=planned,
            )
            if before_save is not None:
                before_save()

        return self._on_tender(tender_id, expected_version, decide)

    def activate_tender(
        self, context: Context, tender_id: UUID, expected_version: int | None = None
    ) -> Saved:
        return self._on_tender(tender_id, expected_version, lambda t: t.activate(context))

    def amend_tender(
        self,
        context: Context,
        tender_id: UUID,
        terms: TenderTerms,
        rationale: str,
        buyer: BuyerFacts,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_tender(
            tender_id,
            expected_version,
            lambda t: t.amend(
                context, terms, rationale, buyer_kind=buyer.kind, policy=self.policy.social_value
            ),
        )

    def add_tender_document(
        self,
        context: Context,
        tender_id: UUID,
        document: TenderDocument,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_tender(
            tender_id, expected_version, lambda t: t.add_document(context, document)
        )

    def cancel_tender(
        self, context: Context, tender_id: UUID, reason: str, expected_version: int | None = None
    ) -> Saved:
        return self._on_tender(tender_id, expected_version, lambda t: t.cancel(context, reason))

    def link_national_ocid(
        self, context: Context, tender_id: UUID, ocid: str, expected_version: int | None = None
    ) -> Saved:
        return self._on_tender(
            tender_id, expected_version, lambda t: t.link_national_ocid(context, ocid)
        )

    def withdraw_tender(
        self, context: Context, tender_id: UUID, reason: str, expected_version: int | None = None
    ) -> Saved:
        return self._on_tender(tender_id, expected_version, lambda t: t.withdraw(context, reason))

    def close_unsuccessful(
        self, context: Context, tender_id: UUID, reason: str, expected_version: int | None = None
    ) -> Saved:
        return self._on_tender(
            tender_id, expected_version, lambda t: t.close_unsuccessful(context, reason)
        )

    def tender(self, tender_id: UUID) -> Tender:
        return self._get(tender_id, Tender, "tender")

    def tender_as_drafted(self, tender_id: UUID) -> Tender:
        """The tender as its first event made it (what a retried draft request is compared
        with, whatever was revised since)."""
        drafted: object = self.repository.get(tender_id, version=1)
        if not isinstance(drafted, Tender):
            raise NotFound(f"no tender {tender_id}")
        return drafted

    # Clarifications and interest ------------------------------------------------------------

    def ask_question(
        self,
        context: Context,
        clarification_id: UUID,
        tender_id: UUID,
        asker_id: UUID,
        question: str,
    ) -> Saved:
        """Asked once: the same id asked again (a client's retry under its key) with the same
        tender, asker and question answers that question and records nothing, even past the
        enquiry period; anything else under the id is refused."""
        if self._find(clarification_id, Clarification) is not None:
            return self._asked_again(clarification_id, tender_id, asker_id, question)
        clarification = Clarification.ask(
            context, clarification_id, self.tender(tender_id), asker_id, question
        )
        try:
            return saved(clarification, self.save(clarification))
        except IntegrityError as error:  # asked at the same moment (a retry), or not a question
            if self._find(clarification_id, Clarification) is None:
                raise Conflict(f"question {clarification_id} exists already") from error
            return self._asked_again(clarification_id, tender_id, asker_id, question)

    def _asked_again(
        self, clarification_id: UUID, tender_id: UUID, asker_id: UUID, question: str
    ) -> Saved:
        found = self.clarification(clarification_id)
        if (found.tender_id, found.asker_id, found.question) != (
            tender_id,
            asker_id,
            question.strip(),
        ):
            raise Conflict(f"question {clarification_id} exists already, with another question")
        return Saved(found.id, found.version, None)

    def answer_question(
        self,
        context: Context,
        clarification_id: UUID,
        answer: str,
        expected_version: int | None = None,
    ) -> Saved:
        """Answered once. The same answer retried once its answer was lost, naming the If-Match
        the first named, answers the question as it stands and records nothing (ADR 43)."""
        try:
            return self._on(
                clarification_id,
                expected_version,
                lambda: self.clarification(clarification_id),
                lambda c: c.answer_with(context, answer),
            )
        except StaleVersion:
            # Checked once the version is found stale, not before: a retry sent while the
            # first was still being saved finds it saved only then (as a delivery report's).
            question = self.clarification(clarification_id)
            if not question.repeats_answer(answer, expected_version):
                raise
            return Saved(question.id, question.version, None)

    def clarification(self, clarification_id: UUID) -> Clarification:
        return self._get(clarification_id, Clarification, "question")

    def register_interest(self, context: Context, tender_id: UUID, supplier_id: UUID) -> Saved:
        """Once per supplier and tender: registering again changes nothing."""
        existing = self._find(interest_id_for(tender_id, supplier_id), Interest)
        if existing is not None:
            return Saved(existing.id, existing.version, None)
        interest = Interest.register(context, self.tender(tender_id), supplier_id)
        try:
            return saved(interest, self.save(interest))
        except IntegrityError:  # registered at the same moment by a colleague: the same
            found = self._get(interest.id, Interest, "interest")
            return Saved(found.id, found.version, None)

    # Opened bids -----------------------------------------------------------------------------

    def record_opening(
        self, context: Context, tender_id: UUID, bids: list[dict[str, Any]]
    ) -> Saved:
        """The clock records what it opened, once: again, it answers the first record. Each
        lot's evaluation starts in the same transaction (and a lot with no valid bid is
        decided unsuccessful on the tender)."""

        def attempt() -> Saved:
            existing = self.opening(tender_id)
            if existing is not None:
                return Saved(existing.id, existing.version, None)
            tender = self.tender(tender_id)
            opening = BidOpening.record(context, tender_id, bids)
            tender.record_bids_opened(context)
            evaluations = self._evaluations_at_opening(context, tender, bids)
            return saved(opening, self.save(opening, *evaluations, tender))

        # A clash is another clock recording it, or the tender changing: the next attempt sees.
        return self._retrying(opening_id_for(tender_id), attempt, "the opening kept clashing")

    # Outside opportunities (issue 16) ----------------------------------------------------------

    def import_outside_release(self, context: Context, source: str, raw: Any) -> Imported:
        """One release of a national portal's feed: its ocid's opportunity made, or changed by
        the standard's merge; a release seen before changes nothing. InvalidValue (naming what)
        if it does not identify itself, or its ocid is under our own prefix."""
        incoming = parse_release(raw, own_prefix=self.policy.ocid_prefix)
        opportunity_id = opportunity_id_for(incoming.ocid)

        def attempt() -> Imported:
            opportunity = self._find(opportunity_id, Opportunity)
            if opportunity is None:
                made = Opportunity.bring_in(context, source, incoming)
                return Imported("imported", saved(made, self.save(made)))
            if not opportunity.merge(context, incoming):
                unchanged = Saved(opportunity.id, opportunity.version, None)
                return Imported("unchanged", unchanged)
            return Imported("updated", saved(opportunity, self.save(opportunity)))

        return self._retrying(opportunity_id, attempt, "the opportunity kept changing")

    def outside_opportunity(self, opportunity_id: UUID) -> Opportunity:
        return self._get(opportunity_id, Opportunity, "opportunity")

    def opening(self, tender_id: UUID) -> BidOpening | None:
        return self._find(opening_id_for(tender_id), BidOpening)

    # Plumbing --------------------------------------------------------------------------------

    def _on_tender(
        self, tender_id: UUID, expected_version: int | None, decide: Callable[[Any], None]
    ) -> Saved:
        return self._on(tender_id, expected_version, lambda: self.tender(tender_id), decide)

    def _on_listing(
        self, listing_id: UUID, expected_version: int | None, decide: Callable[[Any], None]
    ) -> Saved:
        return self._on(listing_id, expected_version, lambda: self.listing(listing_id), decide)

    def _on(
        self,
        aggregate_id: UUID,
        expected_version: int | None,
        load: Callable[[], Any],
        decide: Callable[[Any], None],
    ) -> Saved:
        return self._change_alone(
            aggregate_id, expected_version, load, decide, "it kept changing; try again"
        )
