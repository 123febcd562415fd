"""What membership and buyer verification say of a requester at a request for quote's posting."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from marketplace.application import MarketplaceApp
from marketplace.quotes.request import RequesterFacts
from membership.application import MembershipApp
from sharedkernel.errors import NotFound


def requester_facts(
    membership: MembershipApp, marketplace: MarketplaceApp, organisation_id: UUID, at: datetime
) -> RequesterFacts:
    """What is known of a requester at `at` (the command's time): its standing as it stands
    then, whether or not the membership clock has recorded a lapse due since."""
    try:
        organisation = membership.get_organisation(organisation_id)
    except NotFound:
        return RequesterFacts(organisation_id, False, "", False, False)
    return RequesterFacts(
        organisation_id=organisation_id,
        registered=True,
        kind=organisation.kind.value,
        in_good_standing=organisation.in_good_standing_at(at),
        verified_buyer=marketplace.is_verified(organisation_id),
    )
