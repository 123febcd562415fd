"""An organisation's quality mark: its certificate, validity, renewals, suspension and end
(ADR 23). One mark an organisation, made at its first award; its certificate number never
changes. Pure domain code.

A mark is suspended while either cause holds: staff suspended it, or the holder's membership
is not in good standing. Each cause is lifted on its own; the mark is valid again when neither
holds. Status, most final first: revoked, withdrawn (the membership ended), expired,
suspended, valid.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from membership.marks.assessment import Review
from membership.marks.certificate import certificate_number_for
from membership.standing import ENDED, GOOD_STANDING, MembershipStatus, add_months
from sharedkernel.errors import Conflict
from sharedkernel.events import Context, TradehallAggregate

_MARK_NAMESPACE = uuid5(NAMESPACE_URL, "https://tradehall.invalid/quality-mark")

VALID_MONTHS = 12
# A full reassessment every third year: after two lighter renewals.
RENEWALS_BETWEEN_FULL = 2
# Renewal may be applied for this long before expiry; notices go 60 and 30 days before.
RENEWAL_OPENS_DAYS = 90
RENEWAL_NOTICE_DAYS = (60, 30)


class MarkStatus(StrEnum):
    VALID = "valid"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"


class SuspensionCause(StrEnum):
    STAFF = "staff"
    MEMBERSHIP = "membership"


def mark_status(*, revoked: bool, withdrawn: bool, expired: bool, suspended: bool) -> MarkStatus:
    """A mark's status from its flags, most final first: the aggregate and the read side both
    derive it here."""
    if revoked:
        return MarkStatus.REVOKED
    if withdrawn:
        return MarkStatus.WITHDRAWN
    if expired:
        return MarkStatus.EXPIRED
    if suspended:
        return MarkStatus.SUSPENDED
    return MarkStatus.VALID


# A member's states the mark is suspended in (ended withdraws it; good standing lifts it).
_NOT_IN_GOOD_STANDING = frozenset({MembershipStatus.LAPSED, MembershipStatus.SUSPENDED})


def _membership_reason(status: str) -> str:
    return f"the holder's membership is {status.replace('_', ' ')}"


def mark_id_for(organisation_id: UUID) -> UUID:
    return uuid5(_MARK_NAMESPACE, str(organisation_id))


class QualityMark(TradehallAggregate):
    class Awarded(TradehallAggregate.Created):
        """The first award: the mark and its certificate number come to be."""

        organisation_id: UUID
        certificate_number: str
        application_id: UUID
        valid_from: datetime
        valid_until: datetime

    class Renewed(TradehallAggregate.Event):
        application_id: UUID
        review: str
        valid_from: datetime
        valid_until: datetime

        def apply(self, aggregate: QualityMark) -> None:
            aggregate.valid_from = self.valid_from
            aggregate.valid_until = self.valid_until
            aggregate.expired = False
            aggregate.renewal_notices = set()
            aggregate.renewals_since_full = (
                0 if self.review == Review.FULL else aggregate.renewals_since_full + 1
            )

    class RenewalDue(TradehallAggregate.Event):
        days_before: int
        valid_until: datetime

        def apply(self, aggregate: QualityMark) -> None:
            aggregate.renewal_notices.add(self.days_before)

    class Expired(TradehallAggregate.Event):
        valid_until: datetime

        def apply(self, aggregate: QualityMark) -> None:
            aggregate.expired = True

    class Suspended(TradehallAggregate.Event):
        cause: str  # a SuspensionCause
        reason: str
        # The event that caused an automatic step ("<originator id>:<version>"), else None.
        caused_by: str | None

        def apply(self, aggregate: QualityMark) -> None:
            aggregate.suspensions[SuspensionCause(self.cause)] = self.reason

    class SuspensionLifted(TradehallAggregate.Event):
        cause: str
        caused_by: str | None
        valid_again: bool  # no other cause holds (the holder is told it is reinstated)

        def apply(self, aggregate: QualityMark) -> None:
            aggregate.suspensions.pop(SuspensionCause(self.cause), None)

    class Withdrawn(TradehallAggregate.Event):
        """The holder's membership ended."""

        reason: str
        caused_by: str | None

        def apply(self, aggregate: QualityMark) -> None:
            aggregate.withdrawn = True

    class Revoked(TradehallAggregate.Event):
        reason: str

        def apply(self, aggregate: QualityMark) -> None:
            aggregate.revoked = True

    def __init__(
        self,
        organisation_id: UUID,
        certificate_number: str,
        application_id: UUID,
        valid_from: datetime,
        valid_until: datetime,
    ) -> None:
        self.organisation_id = organisation_id
        self.certificate_number = certificate_number
        self.valid_from = valid_from
        self.valid_until = valid_until
        self.renewals_since_full = 0
        self.renewal_notices: set[int] = set()
        self.expired = False
        self.suspensions: dict[SuspensionCause, str] = {}
        self.withdrawn = False
        self.revoked = False

    @classmethod
    def award(cls, context: Context, organisation_id: UUID, application_id: UUID) -> QualityMark:
        mark_id = mark_id_for(organisation_id)
        return cls._create(
            cls.Awarded,
            id=mark_id,
            organisation_id=organisation_id,
            certificate_number=certificate_number_for(mark_id),
            application_id=application_id,
            valid_from=context.at,
            valid_until=add_months(context.at, VALID_MONTHS),
            **context.event_kwargs(),
        )

    # Reads -----------------------------------------------------------------------------------

    @property
    def status(self) -> MarkStatus:
        return mark_status(
            revoked=self.revoked,
            withdrawn=self.withdrawn,
            expired=self.expired,
            suspended=bool(self.suspensions),
        )

    def status_at(self, now: datetime, membership: MembershipStatus | None = None) -> MarkStatus:
        """The status as it stands at `now`: expired from `valid_until` on, as the clock's
        next tick will record it (until then `status` still says what the log holds). Given
        the holder's membership status at `now`, also as the follower will leave the mark once
        the membership clock has recorded it: withdrawn once it has ended, suspended while it
        is lapsed or suspended (`suspensions_at`)."""
        return mark_status(
            revoked=self.revoked,
            withdrawn=self.withdrawn or membership in ENDED,
            expired=self.expired or now >= self.valid_until,
            suspended=bool(self.suspensions_at(membership)),
        )

    def suspensions_at(
        self, membership: MembershipStatus | None = None
    ) -> dict[SuspensionCause, str]:
        """The suspensions, with the membership's the follower will record for the holder's
        membership status given (lapsed or suspended), if it has not yet."""
        found = dict(self.suspensions)
        if membership in _NOT_IN_GOOD_STANDING and not self.ended:
            found.setdefault(SuspensionCause.MEMBERSHIP, _membership_reason(membership.value))
        return found

    @property
    def ended(self) -> bool:
        return self.revoked or self.withdrawn

    def next_review(self) -> Review:
        """What the next renewal is: a full reassessment every third year, else lighter; an
        expired mark starts again with a full one."""
        if self.expired or self.renewals_since_full >= RENEWALS_BETWEEN_FULL:
            return Review.FULL
        return Review.RENEWAL

    def renewal_open(self, now: datetime) -> bool:
        opens = self.valid_until.timestamp() - RENEWAL_OPENS_DAYS * 86_400
        return self.expired or now.timestamp() >= opens

    # Commands --------------------------------------------------------------------------------

    def renew(self, context: Context, application_id: UUID, review: Review) -> None:
        """A later award: the next twelve months, from expiry if renewed in time."""
        self._require_not_ended()
        start = context.at if self.expired or context.at > self.valid_until else self.valid_until
        self.trigger_event(
            self.Renewed,
            application_id=application_id,
            review=review.value,
            valid_from=start,
            valid_until=add_months(start, VALID_MONTHS),
            **context.event_kwargs(),
        )

    def renewal_notice_due(self, now: datetime) -> int | None:
        """The renewal notice (days before expiry) the clock would give at `now`, if any."""
        if self.ended or self.expired or now >= self.valid_until:
            return None
        days_left = (self.valid_until - now).total_seconds() / 86_400
        due = [d for d in RENEWAL_NOTICE_DAYS if days_left <= d]
        # Only the nearest notice: a mark found late does not get the 60-day one as well.
        if due and min(due) not in self.renewal_notices:
            return min(due)
        return None

    def observe_time(self, context: Context, *, renewal_under_way: bool = False) -> None:
        """The clock: renewal notices 60 and 30 days before expiry, then expiry; each once. No
        notice while a renewal is under way (an application open): it comes at a later tick
        if that application closes without one."""
        if self.ended or self.expired:
            return
        if context.at >= self.valid_until:
            self.trigger_event(self.Expired, valid_until=self.valid_until, **context.event_kwargs())
            return
        due = self.renewal_notice_due(context.at)
        if due is not None and not renewal_under_way:
            self.trigger_event(
                self.RenewalDue,
                days_before=due,
                valid_until=self.valid_until,
                **context.event_kwargs(),
            )

    def suspend(self, context: Context, reason: str) -> None:
        self._require_not_ended()
        if self.suspensions.get(SuspensionCause.STAFF) == reason:
            return
        if SuspensionCause.STAFF in self.suspensions:
            raise Conflict("the mark is already suspended by staff")
        self.trigger_event(
            self.Suspended,
            cause=SuspensionCause.STAFF.value,
            reason=reason,
            caused_by=None,
            **context.event_kwargs(),
        )

    def reinstate(self, context: Context) -> None:
        self._require_not_ended()
        if SuspensionCause.STAFF not in self.suspensions:
            raise Conflict("the mark is not suspended by staff")
        self._lift(context, SuspensionCause.STAFF, None)

    def revoke(self, context: Context, reason: str) -> None:
        if self.revoked:
            return
        self.trigger_event(self.Revoked, reason=reason, **context.event_kwargs())

    # Automatic steps, each idempotent on the membership event that caused it -----------------

    def follow_membership(self, context: Context, status: MembershipStatus, caused_by: str) -> None:
        """The mark as the holder's membership stands: withdrawn once it has ended, suspended
        while it is lapsed or suspended, that suspension lifted in good standing (a status
        before membership, which a follower behind the log may pass on, changes nothing).
        Idempotent on the mark's state, so the follower and an award may both apply one status,
        in either order (ADR 23)."""
        if status in ENDED:
            self.membership_ended(context, status.value, caused_by)
        elif status in GOOD_STANDING:
            self.membership_in_good_standing(context, caused_by)
        elif status in _NOT_IN_GOOD_STANDING:
            self.membership_not_in_good_standing(context, status.value, caused_by)

    def membership_not_in_good_standing(
        self, context: Context, status: str, caused_by: str
    ) -> None:
        if self.ended or SuspensionCause.MEMBERSHIP in self.suspensions:
            return
        self.trigger_event(
            self.Suspended,
            cause=SuspensionCause.MEMBERSHIP.value,
            reason=_membership_reason(status),
            caused_by=caused_by,
            **context.event_kwargs(),
        )

    def membership_in_good_standing(self, context: Context, caused_by: str) -> None:
        if self.ended or SuspensionCause.MEMBERSHIP not in self.suspensions:
            return
        self._lift(context, SuspensionCause.MEMBERSHIP, caused_by)

    def membership_ended(self, context: Context, status: str, caused_by: str) -> None:
        if self.ended:
            return
        self.trigger_event(
            self.Withdrawn,
            reason=f"the holder's membership {status}",
            caused_by=caused_by,
            **context.event_kwargs(),
        )

    def _lift(self, context: Context, cause: SuspensionCause, caused_by: str | None) -> None:
        others = set(self.suspensions) - {cause}
        self.trigger_event(
            self.SuspensionLifted,
            cause=cause.value,
            caused_by=caused_by,
            valid_again=not others and not self.expired,
            **context.event_kwargs(),
        )

    def _require_not_ended(self) -> None:
        if self.ended:
            raise Conflict(f"the mark is {self.status}")
