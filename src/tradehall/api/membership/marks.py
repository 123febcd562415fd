"""The quality mark over HTTP: applying with evidence, assessment, the panel, the mark (ADR 23).

An application is seen only by its parties (`mark_commands`); anyone else gets a 404.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody

from membership.application import MembershipApp
from membership.marks.application import MarksApp, MembershipStanding
from membership.marks.assessment import (
    EDITABLE,
    MAX_EVIDENCE_PER_CRITERION,
    EvidenceFile,
    MarkApplication,
)
from membership.marks.criteria import Declarations, Finding, criteria_in_force, evaluate
from sharedkernel.errors import Conflict, InvalidValue, StaleVersion
from sharedkernel.moments import plausible_moment
from tradehall.api.access import (
    Access,
    own_organisation,
    own_organisation_or_staff,
    rule,
    staff_only,
)
from tradehall.api.commands import Commands, command_response, current_user, etag
from tradehall.api.files import FilenameParam, attachment, safe_filename, take_upload
from tradehall.api.membership.mark_commands import (
    MARK_APPLICATION,
    ORGANISATION_MARK,
    MarkApplicationCommands,
    MarkCommands,
)
from tradehall.api.membership.schemas.marks import (
    AssignAssessor,
    Decision,
    DeclarationsBody,
    EvidenceView,
    FindingView,
    InformationReply,
    InformationRequest,
    MarkApplicationView,
    MarkReason,
    MarkView,
    Referral,
    RoundView,
)
from tradehall.api.request_policy import UPLOAD_BODY
from tradehall.api.schemas.common import CommandResult
from tradehall.clock import Clock
from tradehall.identity.users import Role, UserDirectory
from tradehall.membership.evidence import (
    DirectoryFileStore,
    EvidenceIntake,
)
from tradehall.membership.marks import LOG

# Parties are checked in the handler against the application itself.
PARTIES = Access(
    "the applicant's users, its assigned assessor, or staff (others: 404)",
    roles=frozenset(Role),
)
APPLICANT = Access("users of the applying organisation (others: 404)", roles=frozenset(Role))
ASSESSOR = Access(
    "the application's assigned assessor (others: 404 or 409)",
    roles=frozenset({Role.ASSESSOR, Role.STAFF}),
)
PANEL = staff_only("staff other than the application's assessor (four eyes)")


def _finding_view(finding: Finding) -> FindingView:
    return FindingView(met=finding.met, note=finding.note)


def application_view(application: MarkApplication) -> MarkApplicationView:
    criteria = application.criteria or criteria_in_force(application.created_on.date())
    return MarkApplicationView(
        id=application.id,
        version=application.version,
        organisation_id=application.organisation_id,
        review=application.review.value,
        stage=application.stage.value,
        criteria_version=application.criteria_version,
        declarations=application.declarations.as_data(),
        computed={
            code: _finding_view(f)
            for code, f in evaluate(criteria, application.declarations).items()
        },
        evidence=[EvidenceView(**asdict(e)) for e in application.evidence],
        assessor_id=application.assessor_id,
        rounds=[
            RoundView(number=r.number, question=r.question, reply_by=r.reply_by, reply=r.reply)
            for r in application.rounds
        ],
        assessor_findings={
            code: _finding_view(f) for code, f in application.assessor_findings.items()
        },
        rejection_reasons=dict(application.rejection_reasons),
        submitted_at=application.submitted_at,
        decided_at=application.decided_at,
    )


async def standing_of(
    commands: Commands, membership: MembershipApp, organisation_id: UUID
) -> MembershipStanding:
    """The organisation's standing as the membership Application holds it at the command's
    time, with its version (an award compares it with what the marks' follower noted since:
    ADR 23)."""
    organisation = await commands.run(membership.get_organisation, organisation_id)
    return MembershipStanding.of(organisation, commands.clock.now())


class MarkApplicationsController(Controller):
    path = "/api/v1"
    tags = ["quality mark"]
    dependencies = MARK_APPLICATION

    @post(
        "/organisations/{organisation_id:uuid}/mark-applications",
        opt=rule(own_organisation()),
        status_code=201,
        summary="Apply for the quality mark, or renew it (members in good standing)",
    )
    async def start(
        self,
        commands: NamedDependency[Commands],
        marks: NamedDependency[MarksApp],
        membership: NamedDependency[MembershipApp],
        organisation_id: FromPath[UUID],
    ) -> Response[CommandResult]:
        standing = await standing_of(commands, membership, organisation_id)
        saved = await commands.record(marks.start_application, organisation_id, standing)
        return command_response(saved, LOG, status_code=201)

    @get(
        "/mark-applications/{application_id:uuid}",
        opt=rule(PARTIES),
        summary="An application for the quality mark, with its computed criteria",
    )
    async def application(
        self, mark_application: NamedDependency[MarkApplicationCommands]
    ) -> Response[MarkApplicationView]:
        application = await mark_application.for_parties()
        return Response(application_view(application), headers={"ETag": etag(application.version)})

    @put(
        "/mark-applications/{application_id:uuid}/declarations",
        opt=rule(APPLICANT),
        status_code=200,
        summary="Declare the figures and answers the criteria need (draft or when asked)",
    )
    async def declare(
        self,
        mark_application: NamedDependency[MarkApplicationCommands],
        data: JSONBody[DeclarationsBody],
    ) -> Response[CommandResult]:
        await mark_application.for_applicant()
        declarations = Declarations(**{f: getattr(data, f) for f in data.__struct_fields__})
        return await mark_application.execute(
            mark_application.marks.update_declarations, declarations
        )

    @post(
        "/mark-applications/{application_id:uuid}/evidence/{criterion:str}",
        opt=rule(APPLICANT) | {UPLOAD_BODY: True},
        status_code=201,
        summary="Upload a document as evidence for one criterion (the raw file as the body)",
        description=(
            "PDF, PNG, JPEG, GIF, WebP, OOXML/ODF office documents. The type is decided from "
            "the bytes; active content, macros, SVG and archives that expand far beyond their "
            "size are refused, and a refused upload stores nothing."
        ),
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        mark_application: NamedDependency[MarkApplicationCommands],
        evidence_intake: NamedDependency[EvidenceIntake],
        criterion: FromPath[str],
        filename: FilenameParam,
    ) -> Response[CommandResult]:
        application = await mark_application.for_applicant()
        # Refused before a byte is stored: a closed application, an unknown criterion, a full one.
        if application.stage not in EDITABLE:
            raise Conflict(
                f"evidence can be added only to a draft or when asked ({application.stage})"
            )
        at = mark_application.commands.context().at
        criteria = application.criteria or criteria_in_force(at.date())
        criteria.criterion(criterion)
        # Full, refused before storing (else each refused upload would stay on disk).
        if len(application.evidence_for(criterion)) >= MAX_EVIDENCE_PER_CRITERION:
            raise Conflict(f"{criterion} already has {MAX_EVIDENCE_PER_CRITERION} documents")
        # A stale If-Match too (decided again as the evidence is recorded), as a bid's document.
        expected = mark_application.commands.expected_version()
        if expected is not None and expected != application.version:
            raise StaleVersion(expected, application.version)
        stored = await take_upload(evidence_intake, request)
        file = EvidenceFile(
            criterion,
            stored.sha256,
            stored.content_type,
            stored.size,
            safe_filename(filename),
        )
        return await mark_application.execute(
            mark_application.marks.attach_evidence, file, status_code=201
        )

    @get(
        "/mark-applications/{application_id:uuid}/evidence/{sha256:str}",
        opt=rule(PARTIES),
        summary="Download one evidence document (as an attachment)",
    )
    async def download(
        self,
        mark_application: NamedDependency[MarkApplicationCommands],
        # The concrete class: Litestar cannot check a dependency typed by a Protocol.
        evidence_files: NamedDependency[DirectoryFileStore],
        sha256: FromPath[str],
    ) -> Response[bytes]:
        application = await mark_application.for_parties()
        held = [e for e in application.evidence if e.sha256 == sha256]
        if not held:
            raise NotFoundException("this application holds no such document")
        evidence = held[0]
        return await attachment(
            mark_application.commands,
            evidence_files,
            sha256,
            evidence.filename,
            evidence.content_type,
            "private, no-store",
        )

    @post(
        "/mark-applications/{application_id:uuid}/submission",
        opt=rule(APPLICANT),
        status_code=200,
        summary="Submit: judged against the criteria in force today",
    )
    async def submit(
        self, mark_application: NamedDependency[MarkApplicationCommands]
    ) -> Response[CommandResult]:
        await mark_application.for_applicant()
        return await mark_application.execute(mark_application.marks.submit)

    @post(
        "/mark-applications/{application_id:uuid}/withdrawal",
        opt=rule(APPLICANT),
        status_code=200,
        summary="Withdraw the application before the decision",
    )
    async def withdraw(
        self, mark_application: NamedDependency[MarkApplicationCommands]
    ) -> Response[CommandResult]:
        await mark_application.for_applicant()
        return await mark_application.execute(mark_application.marks.withdraw_application)

    @post(
        "/mark-applications/{application_id:uuid}/information-reply",
        opt=rule(APPLICANT),
        status_code=200,
        summary="Answer the assessor's request for information",
    )
    async def reply(
        self,
        mark_application: NamedDependency[MarkApplicationCommands],
        data: JSONBody[InformationReply],
    ) -> Response[CommandResult]:
        await mark_application.for_applicant()
        return await mark_application.execute(
            mark_application.marks.provide_information, data.reply
        )

    @post(
        "/mark-applications/{application_id:uuid}/assessor",
        opt=rule(staff_only()),
        status_code=200,
        summary="Assign an assessor (never one of the applicant's own users)",
    )
    async def assign(
        self,
        mark_application: NamedDependency[MarkApplicationCommands],
        users: NamedDependency[UserDirectory],
        data: JSONBody[AssignAssessor],
    ) -> Response[CommandResult]:
        assessor = await users.by_id(data.assessor_id)
        if assessor is None or not ({Role.ASSESSOR, Role.STAFF} & assessor.roles):
            raise InvalidValue("assessor_id", "not a user holding the assessor or staff role")
        return await mark_application.execute(
            mark_application.marks.assign_assessor, assessor.id, assessor.organisation_id
        )

    @post(
        "/mark-applications/{application_id:uuid}/information-requests",
        opt=rule(ASSESSOR),
        status_code=200,
        summary="Ask the applicant for more information, with a reply deadline (assessor)",
    )
    async def request_information(
        self,
        mark_application: NamedDependency[MarkApplicationCommands],
        data: JSONBody[InformationRequest],
    ) -> Response[CommandResult]:
        await mark_application.for_parties()
        reply_by = plausible_moment("reply_by", data.reply_by)
        user = current_user(mark_application.commands.request)
        return await mark_application.execute(
            mark_application.marks.request_information, user.id, data.question, reply_by
        )

    @post(
        "/mark-applications/{application_id:uuid}/referral",
        opt=rule(ASSESSOR),
        status_code=200,
        summary="Refer to the panel with a finding on every criterion (assessor)",
    )
    async def refer(
        self, mark_application: NamedDependency[MarkApplicationCommands], data: JSONBody[Referral]
    ) -> Response[CommandResult]:
        await mark_application.for_parties()
        findings = {code: Finding(f.met, f.note) for code, f in data.findings.items()}
        user = current_user(mark_application.commands.request)
        return await mark_application.execute(
            mark_application.marks.refer_to_panel, user.id, findings
        )

    @post(
        "/mark-applications/{application_id:uuid}/decision",
        opt=rule(PANEL),
        status_code=200,
        summary="The panel's decision: award, or reject with a reason per failed criterion",
    )
    async def decide(
        self,
        mark_application: NamedDependency[MarkApplicationCommands],
        membership: NamedDependency[MembershipApp],
        data: JSONBody[Decision],
    ) -> Response[CommandResult]:
        application = await mark_application.for_parties()
        commands = mark_application.commands
        user = current_user(commands.request)
        standing = await standing_of(commands, membership, application.organisation_id)
        return await mark_application.execute(
            mark_application.marks.decide,
            user.id,
            data.award,
            dict(data.reasons),
            standing,
            panel_organisation_id=user.organisation_id,
        )


class MarkController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}/mark"
    tags = ["quality mark"]
    dependencies = ORGANISATION_MARK

    @get("/", opt=rule(own_organisation_or_staff()), summary="The organisation's quality mark")
    async def mark(
        self,
        organisation_mark: NamedDependency[MarkCommands],
        membership: NamedDependency[MembershipApp],
        clock: NamedDependency[Clock],
    ) -> Response[MarkView]:
        mark = await organisation_mark.load()
        holder = await organisation_mark.commands.run(
            membership.get_organisation, mark.organisation_id
        )
        now = clock.now()
        # Expired from its end on, and as the holder's membership stands now (a lapse, a
        # resignation taking effect), before the clocks' ticks record them.
        standing = holder.membership_status_at(now)
        suspensions = mark.suspensions_at(standing)
        view = MarkView(
            organisation_id=mark.organisation_id,
            version=mark.version,
            certificate_number=mark.certificate_number,
            status=mark.status_at(now, standing).value,
            valid_from=mark.valid_from,
            valid_until=mark.valid_until,
            suspensions={cause.value: reason for cause, reason in suspensions.items()},
            next_review=mark.next_review().value,
        )
        return Response(view, headers={"ETag": etag(mark.version)})

    @post("/suspension", opt=rule(staff_only()), status_code=200, summary="Suspend the mark")
    async def suspend(
        self, organisation_mark: NamedDependency[MarkCommands], data: JSONBody[MarkReason]
    ) -> Response[CommandResult]:
        return await organisation_mark.execute(organisation_mark.marks.suspend_mark, data.reason)

    @post(
        "/reinstatement",
        opt=rule(staff_only()),
        status_code=200,
        summary="Lift staff's suspension (a membership suspension lifts with good standing)",
    )
    async def reinstate(
        self, organisation_mark: NamedDependency[MarkCommands]
    ) -> Response[CommandResult]:
        return await organisation_mark.execute(organisation_mark.marks.reinstate_mark)

    @post("/revocation", opt=rule(staff_only()), status_code=200, summary="Revoke the mark")
    async def revoke(
        self, organisation_mark: NamedDependency[MarkCommands], data: JSONBody[MarkReason]
    ) -> Response[CommandResult]:
        return await organisation_mark.execute(organisation_mark.marks.revoke_mark, data.reason)
