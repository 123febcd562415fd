"""What membership and the quality mark say of a supplier at a bid command or at opening.

Both are judged at a moment given (the command's or the opening's time, from the injected
clock), not as last recorded: a membership whose grace ran out is not in good standing, though
the membership clock records the lapse only at its next tick (`Organisation.membership_status_at`),
and a mark is expired from its `valid_until` on, though the marks clock records `Expired` only at
its next tick (`QualityMark.status_at`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from uuid import UUID

from marketplace.bids.content import SupplierFacts
from membership.application import MembershipApp
from membership.marks.application import MarksApp
from membership.marks.mark import MarkStatus
from sharedkernel.errors import NotFound


def supplier_facts(
    membership: MembershipApp,
    marks: MarksApp,
    organisation_id: UUID,
    at: datetime,
    mark_at: datetime | None = None,
) -> SupplierFacts:
    """What membership says of one organisation: its standing as it stands `at`, its mark as
    it stands `mark_at` (None: `at` too; the opening judges the mark at the deadline)."""
    try:
        organisation = membership.get_organisation(organisation_id)
    except NotFound:
        return SupplierFacts(organisation_id, False, False, False, ())
    mark = marks.mark_of(organisation_id)
    return SupplierFacts(
        organisation_id=organisation_id,
        registered=True,
        in_good_standing=organisation.in_good_standing_at(at),
        holds_mark=mark is not None
        and mark.status_at(at if mark_at is None else mark_at) is MarkStatus.VALID,
        regions=tuple(organisation.regions),
    )


def facts_of(
    membership: MembershipApp,
    marks: MarksApp,
    organisation_ids: Iterable[UUID],
    at: datetime,
    mark_at: datetime | None = None,
) -> Mapping[UUID, SupplierFacts]:
    return {o: supplier_facts(membership, marks, o, at, mark_at) for o in organisation_ids}
