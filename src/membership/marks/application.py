"""The quality mark's Application: its commands, and the policy that follows the membership log
(ADR 23).

It is the library's ProcessApplication: `pull_and_process("membership")` reads the membership
status events and records each automatic step together with the position it has reached, in
one transaction, so a crash repeats nothing and misses nothing, and a second follower's write
of the same position fails and records nothing.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError
from eventsourcing.system import ProcessApplication
from eventsourcing.utils import EnvType, get_topic

from membership.domain import Organisation
from membership.marks.assessment import (
    DECIDED,
    EvidenceFile,
    MarkApplication,
    Review,
)
from membership.marks.criteria import Declarations, Finding, criteria_in_force
from membership.marks.mark import QualityMark, mark_id_for
from membership.standing import ENDED, GOOD_STANDING, MembershipStatus
from sharedkernel.errors import Conflict, NotFound
from sharedkernel.events import SYSTEM, Context, TradehallAggregate, as_it_stood
from sharedkernel.writing import Saved, Writes, saved

MEMBERSHIP_LOG = "membership"

# The membership events that set a status, and the status each leads to.
_STATUS_AFTER: dict[type[Any], MembershipStatus] = {
    Organisation.MembershipAdmitted: MembershipStatus.AWAITING_FIRST_PAYMENT,
    Organisation.Suspended: MembershipStatus.SUSPENDED,
    Organisation.Expelled: MembershipStatus.EXPELLED,
}
_STATUS_CARRIED: tuple[type[Any], ...] = (Organisation.StandingChanged, Organisation.Reinstated)


def status_after(event: object) -> MembershipStatus | None:
    """The membership status a membership event leads to, if it sets one."""
    for kind, status in _STATUS_AFTER.items():
        if isinstance(event, kind):
            return status
    if isinstance(event, _STATUS_CARRIED):
        return MembershipStatus(event.status)
    return None


@dataclass(frozen=True)
class MembershipStanding:
    """What the mark needs to know of the holder's membership when a command runs: its status
    and the organisation's version it was read at (None: given without one, as a test's or the
    demo's constant; any status the follower noted since is then newer)."""

    status: MembershipStatus
    version: int | None = None

    @classmethod
    def of(cls, organisation: Organisation, at: datetime) -> MembershipStanding:
        """The standing as the membership Application's organisation holds it, at `at` (the
        command's time: a lapse time has made due counts, though the clock has not recorded
        it yet)."""
        return cls(organisation.membership_status_at(at), organisation.version)

    @property
    def good(self) -> bool:
        return self.status in GOOD_STANDING

    def or_newer(self, noted: MembershipStanding | None) -> MembershipStanding:
        """This standing, or the noted one if it was read from a later version."""
        if noted is None or noted.version is None:
            return self
        if self.version is None or noted.version > self.version:
            return noted
        return self


class MarkApplicant(TradehallAggregate):
    """An organisation's standing with the scheme: which application of its is open (one at a
    time; two starting at once clash on this aggregate)."""

    class Opened(TradehallAggregate.Created):
        organisation_id: UUID

    class ApplicationStarted(TradehallAggregate.Event):
        application_id: UUID

        def apply(self, aggregate: MarkApplicant) -> None:
            aggregate.open_application = self.application_id
            aggregate.membership = None

    class ApplicationClosed(TradehallAggregate.Event):
        application_id: UUID

        def apply(self, aggregate: MarkApplicant) -> None:
            aggregate.open_application = None

    class MembershipNoted(TradehallAggregate.Event):
        """The follower's word, while an application is open, of a status the membership
        moved to: the award reads it, and recording it clashes with an award being saved, so
        neither misses the other (ADR 23)."""

        status: str  # a MembershipStatus
        membership_version: int  # the organisation's version after the membership event

        def apply(self, aggregate: MarkApplicant) -> None:
            noted = MembershipStanding(MembershipStatus(self.status), self.membership_version)
            aggregate.membership = noted.or_newer(aggregate.membership)

    def __init__(self, organisation_id: UUID) -> None:
        self.organisation_id = organisation_id
        self.open_application: UUID | None = None
        # The newest membership status the follower noted while this application was open.
        self.membership: MembershipStanding | None = None


def applicant_id_for(organisation_id: UUID) -> UUID:
    return uuid.uuid5(mark_id_for(organisation_id), "applicant")


class MarksApp(ProcessApplication[UUID], Writes):
    name = "marks"
    # Only the membership events that set a status are read from the membership log.
    topics: Sequence[str] = tuple(get_topic(kind) for kind in (*_STATUS_AFTER, *_STATUS_CARRIED))

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)
        self._init_writes()

    # Applying --------------------------------------------------------------------------------

    def start_application(
        self, context: Context, organisation_id: UUID, standing: MembershipStanding
    ) -> Saved:
        """A new application: a full assessment first and every third year, else a renewal."""
        if not standing.good:
            raise Conflict(
                f"only a member in good standing may apply (the membership is {standing.status})"
            )
        application_id = uuid.uuid4()

        def attempt() -> Saved:
            applicant = self._find(applicant_id_for(organisation_id), MarkApplicant)
            if applicant is None:
                applicant = MarkApplicant._create(
                    MarkApplicant.Opened,
                    id=applicant_id_for(organisation_id),
                    organisation_id=organisation_id,
                    **context.event_kwargs(),
                )
            if applicant.open_application is not None:
                raise Conflict(
                    f"the organisation has an open application: {applicant.open_application}"
                )
            mark = self.mark_of(organisation_id)
            review = Review.FULL
            if mark is not None:
                if mark.ended:
                    raise Conflict(f"the mark is {mark.status}: it cannot be renewed")
                if not mark.renewal_open(context.at):
                    raise Conflict("renewal opens 90 days before the mark expires")
                review = mark.next_review()
            application = MarkApplication.start(
                context, application_id, organisation_id, mark_id_for(organisation_id), review
            )
            applicant.trigger_event(
                MarkApplicant.ApplicationStarted,
                application_id=application_id,
                **context.event_kwargs(),
            )
            return saved(application, self.save(application, applicant))

        return self._retrying(
            applicant_id_for(organisation_id), attempt, "another application was starting"
        )

    def update_declarations(
        self,
        context: Context,
        application_id: UUID,
        declarations: Declarations,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_application(
            application_id,
            expected_version,
            lambda a: a.update_declarations(context, declarations),
        )

    def attach_evidence(
        self,
        context: Context,
        application_id: UUID,
        file: EvidenceFile,
        expected_version: int | None = None,
    ) -> Saved:
        criteria = criteria_in_force(context.at.date())
        return self._on_application(
            application_id,
            expected_version,
            lambda a: a.attach_evidence(context, a.criteria or criteria, file),
        )

    def submit(
        self, context: Context, application_id: UUID, expected_version: int | None = None
    ) -> Saved:
        criteria = criteria_in_force(context.at.date())
        return self._on_application(
            application_id, expected_version, lambda a: a.submit(context, criteria)
        )

    def provide_information(
        self,
        context: Context,
        application_id: UUID,
        reply: str,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_application(
            application_id, expected_version, lambda a: a.provide_information(context, reply)
        )

    def withdraw_application(
        self, context: Context, application_id: UUID, expected_version: int | None = None
    ) -> Saved:
        return self._closing(
            context, application_id, expected_version, lambda a, _applicant: a.withdraw(context)
        )

    # Assessment ------------------------------------------------------------------------------

    def assign_assessor(
        self,
        context: Context,
        application_id: UUID,
        assessor_id: UUID,
        assessor_organisation_id: UUID | None,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_application(
            application_id,
            expected_version,
            lambda a: a.assign_assessor(context, assessor_id, assessor_organisation_id),
        )

    def request_information(
        self,
        context: Context,
        application_id: UUID,
        assessor_id: UUID,
        question: str,
        reply_by: datetime,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_application(
            application_id,
            expected_version,
            lambda a: a.request_information(context, assessor_id, question, reply_by),
        )

    def refer_to_panel(
        self,
        context: Context,
        application_id: UUID,
        assessor_id: UUID,
        findings: dict[str, Finding],
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_application(
            application_id,
            expected_version,
            lambda a: a.refer_to_panel(context, assessor_id, findings),
        )

    def decide(
        self,
        context: Context,
        application_id: UUID,
        panel_member_id: UUID,
        award: bool,
        reasons: dict[str, str],
        standing: MembershipStanding,
        expected_version: int | None = None,
        *,
        panel_organisation_id: UUID | None = None,
    ) -> Saved:
        """The panel's decision. An award makes or renews the mark, as the membership stands:
        suspended while it is not in good standing (withdrawn if it has ended).

        `standing` was read before this command; the follower may have processed a later
        membership event since, before the mark was saved, and found no mark to act on. It
        noted that event's status on the applicant, which is saved here too: so either the note
        is read here (the newer of the two standings is applied), or recording it clashes with
        this save (and this decides again, reading it), or it comes after this save (and the
        follower finds the mark). ADR 23."""

        def decide(application: MarkApplication, applicant: MarkApplicant) -> list[Any]:
            application.decide(
                context,
                panel_member_id,
                award,
                reasons,
                panel_organisation_id=panel_organisation_id,
            )
            if not award:
                return []
            mark = self.mark_of(application.organisation_id)
            if mark is None:
                mark = QualityMark.award(context, application.organisation_id, application.id)
            else:
                mark.renew(context, application.id, application.review)
            now, caused_by = standing.or_newer(applicant.membership), f"award:{application.id}"
            if now.good or now.status in ENDED:
                mark.follow_membership(context, now.status, caused_by)
            else:  # lapsed, suspended, or (a caller's mistake) not a member at all
                mark.membership_not_in_good_standing(context, now.status.value, caused_by)
            return [mark]

        return self._closing(context, application_id, expected_version, decide)

    # The mark --------------------------------------------------------------------------------

    def suspend_mark(
        self,
        context: Context,
        organisation_id: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_mark(
            organisation_id, expected_version, lambda m: m.suspend(context, reason)
        )

    def reinstate_mark(
        self, context: Context, organisation_id: UUID, expected_version: int | None = None
    ) -> Saved:
        return self._on_mark(organisation_id, expected_version, lambda m: m.reinstate(context))

    def revoke_mark(
        self,
        context: Context,
        organisation_id: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_mark(organisation_id, expected_version, lambda m: m.revoke(context, reason))

    def observe_time(self, context: Context, mark_id: UUID) -> Saved | None:
        """The clock's command for one mark: renewal notices (none while the holder has an
        application open), then expiry; None when nothing was due (so ticking twice at one
        moment records nothing more)."""

        def attempt() -> Saved | None:
            mark = self._get(mark_id, QualityMark, "quality mark")
            # The applicant is read only when a renewal notice is due: none while one is open.
            renewing = False
            if mark.renewal_notice_due(context.at) is not None:
                applicant = self._find(applicant_id_for(mark.organisation_id), MarkApplicant)
                renewing = applicant is not None and applicant.open_application is not None
            mark.observe_time(context, renewal_under_way=renewing)
            if not mark.pending_events:
                return None
            return saved(mark, self.save(mark))

        return self._retrying(mark_id, attempt, "the mark kept changing; tick again")

    # Queries ---------------------------------------------------------------------------------

    def get_application(self, application_id: UUID) -> MarkApplication:
        return self._get(application_id, MarkApplication, "quality mark application")

    def mark_of(self, organisation_id: UUID) -> QualityMark | None:
        return self._find(mark_id_for(organisation_id), QualityMark)

    def mark_as_it_stood(self, organisation_id: UUID, at: datetime) -> QualityMark | None:
        """The organisation's mark as it stood at `at`, as we know it now (ADR 17): its events in
        effect by then (by effective time, not recording time) replayed in the order they were
        recorded. None if it held none then. An expiry, suspension or renewal the clock or
        staff recorded since is left out, whenever it was recorded."""
        mark = as_it_stood(list(self.events.get(mark_id_for(organisation_id))), at)
        assert mark is None or isinstance(mark, QualityMark)
        return mark

    def get_mark(self, organisation_id: UUID) -> QualityMark:
        mark = self.mark_of(organisation_id)
        if mark is None:
            raise NotFound(f"organisation {organisation_id} holds no quality mark")
        return mark

    # Following the membership log -------------------------------------------------------------

    def catch_up(self) -> int:
        """Process the membership events not yet processed; how many events the marks log
        gained meanwhile (the marks' steps and the statuses noted on applicants with an open
        application, with anything another writer recorded). A concurrent follower that
        recorded a position first, or an award saving the applicant first, makes this one stop
        (its next call goes on from there)."""
        before = self.recorder.max_notification_id() or 0
        with contextlib.suppress(IntegrityError):
            self.pull_and_process(MEMBERSHIP_LOG)
        return (self.recorder.max_notification_id() or 0) - before

    def policy(
        self,
        domain_event: DomainEventProtocol[UUID],
        processing_event: ProcessingEvent[UUID],
    ) -> None:
        status = status_after(domain_event)
        if status is None or not isinstance(domain_event, TradehallAggregate.Event):
            return
        organisation_id = domain_event.originator_id
        version = domain_event.originator_version
        # The applicant before the mark: an award saves both. Loaded after the award was saved,
        # the mark is found below; loaded before, with its application open, the note recorded
        # here clashes with the award's save, whichever comes second decides again.
        applicant = self._find(applicant_id_for(organisation_id), MarkApplicant)
        noting = applicant is not None and applicant.open_application is not None
        mark = self.mark_of(organisation_id)
        if mark is None and not noting:
            return  # nothing to act on: no mark, and no award can be under way
        tracking = processing_event.tracking
        position = tracking.notification_id if tracking else 0
        context = Context(
            actor=SYSTEM,
            request_id=f"{MEMBERSHIP_LOG}:{position}",
            at=domain_event.timestamp,
            effective_at=getattr(domain_event, "effective_at", None),
        )
        if noting:
            assert applicant is not None
            applicant.trigger_event(
                MarkApplicant.MembershipNoted,
                status=status.value,
                membership_version=version,
                **context.event_kwargs(),
            )
            processing_event.collect_events(applicant)
        if mark is not None:
            mark.follow_membership(context, status, f"{organisation_id}:{version}")
            processing_event.collect_events(mark)

    # Plumbing --------------------------------------------------------------------------------

    def _on_application(
        self, application_id: UUID, expected_version: int | None, decide: Any
    ) -> Saved:
        return self._change_alone(
            application_id,
            expected_version,
            lambda: self.get_application(application_id),
            decide,
            "the application kept changing; try again",
        )

    def _closing(
        self, context: Context, application_id: UUID, expected_version: int | None, decide: Any
    ) -> Saved:
        """A command that may decide the application (given it and its applicant): the
        applicant's open slot closes."""

        def run(application: MarkApplication) -> list[Any]:
            applicant = self._get(
                applicant_id_for(application.organisation_id), MarkApplicant, "applicant"
            )
            others: list[Any] = list(decide(application, applicant) or [])
            if application.stage in DECIDED:
                applicant.trigger_event(
                    MarkApplicant.ApplicationClosed,
                    application_id=application.id,
                    **context.event_kwargs(),
                )
                others.append(applicant)
            return others

        return self._change_one(
            application_id,
            expected_version,
            lambda: self.get_application(application_id),
            run,
            "the application kept changing; try again",
        )

    def _on_mark(self, organisation_id: UUID, expected_version: int | None, decide: Any) -> Saved:
        return self._change_alone(
            mark_id_for(organisation_id),
            expected_version,
            lambda: self.get_mark(organisation_id),
            decide,
            "the mark kept changing; try again",
        )
