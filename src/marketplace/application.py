"""The marketplace's Application: one method per command, load -> decide -> save.

What it needs to know of another context (an organisation's kind, a member's standing) is
given by the caller at the moment of the command (the web layer asks membership).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import EnvType

from marketplace.buyers import BuyerVerification, buyer_id_for
from marketplace.listings import ListingDetails, ServiceListing
from sharedkernel.errors import Conflict, NotFound
from sharedkernel.events import Context
from sharedkernel.writing import Saved, Writes, saved


class MarketplaceApp(Application[UUID], Writes):
    name = "marketplace"

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)
        self._init_writes()

    # Buyers ----------------------------------------------------------------------------------

    def verify_buyer(
        self, context: Context, organisation_id: UUID, kind: str, evidence: str
    ) -> Saved:
        """Staff verify a public body, first or again after a withdrawal."""
        buyer_id = buyer_id_for(organisation_id)

        def attempt() -> Saved:
            buyer = self._find(buyer_id, BuyerVerification)
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

    # Plumbing --------------------------------------------------------------------------------

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
        def run(aggregate: Any) -> list[Any]:
            decide(aggregate)
            return []

        return self._change_one(
            aggregate_id, expected_version, load, run, "it kept changing; try again"
        )
