"""An application for the quality mark, from draft to the panel's decision (ADR 23).

draft -> submitted -> under assessment (staff assign an assessor) -> information requested <->
under assessment (any number of rounds, each with a reply deadline) -> panel review -> awarded
or rejected. The applicant may withdraw before the decision. Pure domain code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from membership.marks.criteria import (
    Basis,
    CriteriaSet,
    Declarations,
    Finding,
    criteria_version,
    evaluate,
)
from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.events import Context, TradehallAggregate


class Stage(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_ASSESSMENT = "under_assessment"
    INFORMATION_REQUESTED = "information_requested"
    PANEL_REVIEW = "panel_review"
    AWARDED = "awarded"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


DECIDED = frozenset({Stage.AWARDED, Stage.REJECTED, Stage.WITHDRAWN})
# Where the applicant may change declarations and evidence.
EDITABLE = frozenset({Stage.DRAFT, Stage.INFORMATION_REQUESTED})


class Review(StrEnum):
    """How much an application is reviewed."""

    FULL = "full"  # a first application, and every third year
    RENEWAL = "renewal"  # the lighter annual review: declarations updated, income recomputed


@dataclass(frozen=True)
class EvidenceFile:
    criterion: str
    sha256: str
    content_type: str
    size: int
    filename: str


@dataclass(frozen=True)
class InformationRound:
    number: int
    question: str
    reply_by: datetime
    asked_by: str
    reply: str | None = None


MAX_EVIDENCE_PER_CRITERION = 10


class MarkApplication(TradehallAggregate):
    class Started(TradehallAggregate.Created):
        organisation_id: UUID
        mark_id: UUID
        review: str

    class DeclarationsUpdated(TradehallAggregate.Event):
        declarations: dict[str, Any]

        def apply(self, aggregate: MarkApplication) -> None:
            aggregate.declarations = Declarations.from_data(self.declarations)

    class EvidenceAttached(TradehallAggregate.Event):
        criterion: str
        sha256: str
        content_type: str
        size: int
        filename: str

        def apply(self, aggregate: MarkApplication) -> None:
            aggregate.evidence.append(
                EvidenceFile(
                    self.criterion, self.sha256, self.content_type, self.size, self.filename
                )
            )

    class Submitted(TradehallAggregate.Event):
        criteria_version: str

        def apply(self, aggregate: MarkApplication) -> None:
            aggregate.stage = Stage.SUBMITTED
            aggregate.criteria_version = self.criteria_version
            aggregate.submitted_at = self.timestamp
            aggregate.waiting_since = self.timestamp

    class AssessorAssigned(TradehallAggregate.Event):
        assessor_id: UUID
        assessor_organisation_id: UUID | None

        def apply(self, aggregate: MarkApplication) -> None:
            if aggregate.stage is Stage.SUBMITTED:
                aggregate.stage = Stage.UNDER_ASSESSMENT
                aggregate.waiting_since = self.timestamp
            aggregate.assessor_id = self.assessor_id
            aggregate.assessor_organisation_id = self.assessor_organisation_id

    class InformationRequested(TradehallAggregate.Event):
        round: int
        question: str
        reply_by: datetime

        def apply(self, aggregate: MarkApplication) -> None:
            aggregate.stage = Stage.INFORMATION_REQUESTED
            aggregate.waiting_since = self.timestamp
            aggregate.rounds.append(
                InformationRound(self.round, self.question, self.reply_by, self.actor)
            )

    class InformationProvided(TradehallAggregate.Event):
        round: int
        reply: str

        def apply(self, aggregate: MarkApplication) -> None:
            aggregate.stage = Stage.UNDER_ASSESSMENT
            aggregate.waiting_since = self.timestamp
            last = aggregate.rounds[-1]
            aggregate.rounds[-1] = InformationRound(
                last.number, last.question, last.reply_by, last.asked_by, self.reply
            )

    class ReferredToPanel(TradehallAggregate.Event):
        # criterion -> {"met": bool, "note": str}: the assessor's findings
        findings: dict[str, dict[str, Any]]

        def apply(self, aggregate: MarkApplication) -> None:
            aggregate.stage = Stage.PANEL_REVIEW
            aggregate.waiting_since = self.timestamp
            aggregate.assessor_findings = {
                code: Finding(bool(f["met"]), str(f["note"])) for code, f in self.findings.items()
            }

    class Awarded(TradehallAggregate.Event):
        def apply(self, aggregate: MarkApplication) -> None:
            aggregate.stage = Stage.AWARDED
            aggregate.decided_at = self.timestamp
            aggregate.decided_by = self.actor

    class Rejected(TradehallAggregate.Event):
        reasons: dict[str, str]  # criterion failed -> why

        def apply(self, aggregate: MarkApplication) -> None:
            aggregate.stage = Stage.REJECTED
            aggregate.decided_at = self.timestamp
            aggregate.decided_by = self.actor
            aggregate.rejection_reasons = dict(self.reasons)

    class Withdrawn(TradehallAggregate.Event):
        def apply(self, aggregate: MarkApplication) -> None:
            aggregate.stage = Stage.WITHDRAWN
            aggregate.decided_at = self.timestamp

    def __init__(self, organisation_id: UUID, mark_id: UUID, review: str) -> None:
        self.organisation_id = organisation_id
        self.mark_id = mark_id
        self.review = Review(review)
        self.stage = Stage.DRAFT
        self.declarations = Declarations()
        self.evidence: list[EvidenceFile] = []
        self.criteria_version: str | None = None
        self.submitted_at: datetime | None = None
        self.waiting_since: datetime | None = None
        self.assessor_id: UUID | None = None
        self.assessor_organisation_id: UUID | None = None
        self.rounds: list[InformationRound] = []
        self.assessor_findings: dict[str, Finding] = {}
        self.decided_at: datetime | None = None
        self.decided_by: str | None = None
        self.rejection_reasons: dict[str, str] = {}

    @classmethod
    def start(
        cls,
        context: Context,
        application_id: UUID,
        organisation_id: UUID,
        mark_id: UUID,
        review: Review,
    ) -> MarkApplication:
        return cls._create(
            cls.Started,
            id=application_id,
            organisation_id=organisation_id,
            mark_id=mark_id,
            review=review.value,
            **context.event_kwargs(),
        )

    # Reads -----------------------------------------------------------------------------------

    @property
    def criteria(self) -> CriteriaSet | None:
        return criteria_version(self.criteria_version) if self.criteria_version else None

    def evidence_for(self, criterion: str) -> list[EvidenceFile]:
        return [e for e in self.evidence if e.criterion == criterion]

    def holds_evidence(self, sha256: str) -> bool:
        return any(e.sha256 == sha256 for e in self.evidence)

    # The applicant ---------------------------------------------------------------------------

    def update_declarations(self, context: Context, declarations: Declarations) -> None:
        self._require(EDITABLE, "declarations can change only in a draft or when asked")
        if declarations == self.declarations:
            return  # the same declarations again: nothing new
        self.trigger_event(
            self.DeclarationsUpdated,
            declarations=declarations.as_data(),
            **context.event_kwargs(),
        )

    def attach_evidence(self, context: Context, criteria: CriteriaSet, file: EvidenceFile) -> None:
        self._require(EDITABLE, "evidence can be added only to a draft or when asked")
        criteria.criterion(file.criterion)  # names a criterion, or InvalidValue
        held = self.evidence_for(file.criterion)
        if any(e.sha256 == file.sha256 for e in held):
            return  # the same document for the same criterion: once is enough
        if len(held) >= MAX_EVIDENCE_PER_CRITERION:
            raise Conflict(f"{file.criterion} already has {MAX_EVIDENCE_PER_CRITERION} documents")
        self.trigger_event(
            self.EvidenceAttached,
            criterion=file.criterion,
            sha256=file.sha256,
            content_type=file.content_type,
            size=file.size,
            filename=file.filename,
            **context.event_kwargs(),
        )

    def submit(self, context: Context, criteria: CriteriaSet) -> None:
        """Judged from now on against `criteria`, the version in force today."""
        self._require({Stage.DRAFT}, "only a draft can be submitted")
        missing = self.declarations.missing()
        if missing:
            raise InvalidValue(missing[0], f"declare {', '.join(missing)} before submitting")
        if self.review is Review.FULL:
            without = [c.code for c in criteria.criteria if not self.evidence_for(c.code)]
            if without:
                raise InvalidValue(
                    "evidence", f"a full assessment needs evidence for {', '.join(without)}"
                )
        self.trigger_event(
            self.Submitted, criteria_version=criteria.version, **context.event_kwargs()
        )

    def provide_information(self, context: Context, reply: str) -> None:
        self._require({Stage.INFORMATION_REQUESTED}, "no information was asked for")
        self.trigger_event(
            self.InformationProvided,
            round=self.rounds[-1].number,
            reply=reply,
            **context.event_kwargs(),
        )

    def withdraw(self, context: Context) -> None:
        if self.stage in DECIDED:
            raise Conflict(f"the application is already {self.stage}")
        self.trigger_event(self.Withdrawn, **context.event_kwargs())

    # Staff and the assessor ------------------------------------------------------------------

    def assign_assessor(
        self, context: Context, assessor_id: UUID, assessor_organisation_id: UUID | None
    ) -> None:
        self._require(
            {Stage.SUBMITTED, Stage.UNDER_ASSESSMENT, Stage.INFORMATION_REQUESTED},
            "an assessor is assigned once it is submitted and until it goes to the panel",
        )
        if assessor_organisation_id == self.organisation_id:
            raise Conflict("an assessor never assesses their own organisation")
        if assessor_id == self.assessor_id:
            return
        self.trigger_event(
            self.AssessorAssigned,
            assessor_id=assessor_id,
            assessor_organisation_id=assessor_organisation_id,
            **context.event_kwargs(),
        )

    def request_information(
        self, context: Context, assessor_id: UUID, question: str, reply_by: datetime
    ) -> None:
        self._require_assessor(assessor_id)
        self._require({Stage.UNDER_ASSESSMENT}, "information is asked for during assessment")
        if reply_by <= context.at:
            raise InvalidValue("reply_by", "the reply deadline is in the future")
        self.trigger_event(
            self.InformationRequested,
            round=len(self.rounds) + 1,
            question=question,
            reply_by=reply_by,
            **context.event_kwargs(),
        )

    def refer_to_panel(
        self, context: Context, assessor_id: UUID, findings: dict[str, Finding]
    ) -> None:
        """The assessor's finding on every criterion; a computed one cannot be found met when
        the figures say it is not. Under assessment, or asked for information and left
        unanswered past its reply deadline (else only the applicant could move it on)."""
        self._require_assessor(assessor_id)
        unanswered = (
            self.stage is Stage.INFORMATION_REQUESTED and context.at > self.rounds[-1].reply_by
        )
        if not unanswered:
            self._require(
                {Stage.UNDER_ASSESSMENT},
                "only an application under assessment, or asked for information and not "
                "answered by its deadline",
            )
        criteria = self._criteria()
        missing = [code for code in criteria.codes if code not in findings]
        if missing:
            raise InvalidValue("findings", f"a finding for every criterion: {', '.join(missing)}")
        unknown = sorted(set(findings) - set(criteria.codes))
        if unknown:
            raise InvalidValue("findings", f"not criteria of this version: {', '.join(unknown)}")
        computed = evaluate(criteria, self.declarations)
        for criterion in criteria.criteria:
            finding = findings[criterion.code]
            if finding.met is None:
                raise InvalidValue("findings", f"{criterion.code}: met or not met")
            figures = computed[criterion.code]
            if criterion.basis is Basis.COMPUTED and finding.met and not figures.met:
                raise InvalidValue(
                    "findings",
                    f"{criterion.code} is computed: {figures.note}, not met",
                )
        self.trigger_event(
            self.ReferredToPanel,
            findings={c: {"met": f.met, "note": f.note} for c, f in findings.items()},
            **context.event_kwargs(),
        )

    def failed_criteria(self) -> list[str]:
        """Criteria the assessor found not met, or whose figures fail."""
        criteria = self._criteria()
        computed = evaluate(criteria, self.declarations)
        return [
            code
            for code in criteria.codes
            if (code in self.assessor_findings and not self.assessor_findings[code].met)
            or (criteria.criterion(code).basis is Basis.COMPUTED and not computed[code].met)
        ]

    def decide(
        self,
        context: Context,
        panel_member_id: UUID,
        award: bool,
        reasons: dict[str, str],
        *,
        panel_organisation_id: UUID | None = None,
    ) -> None:
        """The panel's decision, by someone other than the assessor (four eyes) and never by
        the applicant's own users. An award needs every criterion met; a rejection names, with
        a reason, every criterion that failed."""
        self._require({Stage.PANEL_REVIEW}, "the panel decides after the assessor refers it")
        if panel_member_id == self.assessor_id:
            raise Conflict("the panel decision is made by someone other than the assessor")
        if panel_organisation_id == self.organisation_id:
            raise Conflict("the panel decision is never made by the applicant's own users")
        criteria = self._criteria()
        unknown = sorted(set(reasons) - set(criteria.codes))
        if unknown:
            raise InvalidValue("reasons", f"not criteria of this version: {', '.join(unknown)}")
        if award and reasons:
            raise InvalidValue("reasons", "an award gives no reasons: they name failed criteria")
        failed = set(self.failed_criteria()) | set(reasons)
        if award:
            if failed:
                raise Conflict(f"cannot award: not met: {', '.join(sorted(failed))}")
            self.trigger_event(self.Awarded, **context.event_kwargs())
            return
        if not failed:
            raise InvalidValue("reasons", "a rejection names the criteria failed and why")
        unexplained = sorted(failed - set(reasons))
        if unexplained:
            raise InvalidValue("reasons", f"a reason for each failed criterion: {unexplained}")
        self.trigger_event(
            self.Rejected,
            reasons={c: reasons[c] for c in sorted(reasons)},
            **context.event_kwargs(),
        )

    # Rules -----------------------------------------------------------------------------------

    def _criteria(self) -> CriteriaSet:
        criteria = self.criteria
        if criteria is None:
            raise Conflict("the application has not been submitted")
        return criteria

    def _require(self, stages: frozenset[Stage] | set[Stage], message: str) -> None:
        if self.stage not in stages:
            raise Conflict(f"{message} (the application is {self.stage})")

    def _require_assessor(self, assessor_id: UUID) -> None:
        if self.assessor_id is None or assessor_id != self.assessor_id:
            raise Conflict("only the assigned assessor")
