"""What membership and the quality mark say of a supplier at a bid command or at opening.

Both are judged at a moment given, not as last recorded: a membership whose grace ran out is not
in good standing, though the membership clock records the lapse only at its next tick
(`Organisation.membership_status_at`), and a mark is expired from its `valid_until` on, though
the marks clock records `Expired` only at its next tick (`QualityMark.status_at`). A command is
judged at its own time (the injected clock's) from the organisation as it stands; the opening at
the deadline, from the facts in effect by then as we know them now (ADR 17), so its verdict is
the same whenever the opening clock runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from uuid import UUID

from marketplace.bids.content import SupplierFacts
from membership.application import MembershipApp
from membership.marks.application import MarksApp
from membership.marks.mark import MarkStatus
from membership.standing import GOOD_STANDING
from sharedkernel.errors import NotFound


def supplier_facts(
    membership: MembershipApp,
    marks: MarksApp,
    organisation_id: UUID,
    at: datetime,
    *,
    as_it_stood: bool = False,
) -> SupplierFacts:
    """What membership says of one organisation at `at`: its standing and its mark. A command
    asks at its own time, of the organisation as it stands; with `as_it_stood` (the opening,
    at the deadline), the standing and the mark are the ones the facts in effect at `at` give,
    whatever was recorded since (a lapse or an expiry a clock recorded after the deadline, a
    later suspension), so the verdict is the same whichever clock ran first. A mark
    is held only while its holder is in good standing then: the marks' follower suspends it
    once the lapse is recorded, which waits for the membership clock's tick (ADR 23)."""
    try:
        organisation = membership.get_organisation(organisation_id)
    except NotFound:
        return SupplierFacts(organisation_id, False, False, False, ())
    if as_it_stood:
        then = membership.standing_at(organisation_id, at)
        in_good_standing = then is not None and then.good_standing
        mark = marks.mark_as_it_stood(organisation_id, at)
    else:
        in_good_standing = organisation.membership_status_at(at) in GOOD_STANDING
        mark = marks.mark_of(organisation_id)
    return SupplierFacts(
        organisation_id=organisation_id,
        registered=True,
        in_good_standing=in_good_standing,
        holds_mark=in_good_standing and mark is not None and mark.status_at(at) is MarkStatus.VALID,
        regions=tuple(organisation.regions),
    )


def facts_of(
    membership: MembershipApp,
    marks: MarksApp,
    organisation_ids: Iterable[UUID],
    at: datetime,
    *,
    as_it_stood: bool = False,
) -> Mapping[UUID, SupplierFacts]:
    return {
        o: supplier_facts(membership, marks, o, at, as_it_stood=as_it_stood)
        for o in organisation_ids
    }
