"""The quality mark's register, read from its projections: public verification (JSON, a page,
a badge), the published criteria, the staff queue and assessors' assignments (ADR 23).

A certificate number that is unknown, or not a number at all, is the same 404; one with a wrong
check symbol is a 404 that says it was mistyped (it reveals nothing about any mark).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from membership.marks.certificate import CertificateNumber, Mistyped, read_certificate_number
from membership.marks.criteria import criteria_in_force
from membership.marks.mark import mark_status
from projections.tables import directory_members, mark_applications, quality_marks
from tradehall.api.access import PUBLIC, Access, rule, staff_only
from tradehall.api.commands import Commands, current_user
from tradehall.api.membership.mark_pages import (
    BADGE_HEADERS,
    BADGE_MEDIA_TYPE,
    PAGE_HEADERS,
    PAGE_MEDIA_TYPE,
    MarkView,
    etag_for,
    render_badge,
    render_page,
    render_unknown_page,
)
from tradehall.api.membership.schemas.marks import (
    CriteriaView,
    CriterionView,
    PublicMark,
    QueueEntry,
    QueuePage,
)
from tradehall.api.public_limits import MARK_LOOKUPS, THROTTLED_RESPONSE, limited_per_address
from tradehall.clock import Clock
from tradehall.identity.users import Role
from tradehall.settings import Settings

NumberParam = Annotated[str, FromPath]
StageParam = Annotated[
    Literal[
        "submitted",
        "under_assessment",
        "information_requested",
        "panel_review",
        "awarded",
        "rejected",
        "withdrawn",
        "draft",
    ],
    QueryParameter(name="stage", description="which applications"),
]
ASSESSORS = Access("assessors and staff", roles=frozenset({Role.ASSESSOR, Role.STAFF}))
# Asked for text/html (a buyer following a badge): the page; else JSON.
_HTML = "text/html"


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept", "")
    return _HTML in accept and "application/json" not in accept


async def _view(engine: AsyncEngine, number: CertificateNumber, now: datetime) -> MarkView | None:
    holder = directory_members.c
    query = (
        select(quality_marks, holder.name, holder.listed, holder.lapses_at, holder.resigns_at)
        .join_from(
            quality_marks,
            directory_members,
            directory_members.c.organisation_id == quality_marks.c.organisation_id,
            isouter=True,
        )
        .where(quality_marks.c.certificate_number == str(number))
    )
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    if row is None:
        return None
    found = row._mapping
    valid_until: datetime = found["valid_until"]
    # The holder's membership as it stands now, as the marks' follower will leave the mark
    # once the membership clock's tick has recorded it: withdrawn from a resignation's date,
    # suspended once the grace has run out (projections.standing_query's dates).
    resigned = found["resigns_at"] is not None and now >= found["resigns_at"]
    lapsed = bool(found["listed"]) and found["lapses_at"] is not None and now >= found["lapses_at"]
    withdrawn = found["withdrawn"] or resigned
    return MarkView(
        certificate_number=found["certificate_number"],
        # Expired from its end on, though the clock's tick has not yet recorded it: the
        # public answer never says valid (or suspended) for a mark past its validity.
        status=mark_status(
            revoked=found["revoked"],
            withdrawn=withdrawn,
            expired=found["expired"] or now >= valid_until,
            suspended=found["staff_suspended"] or found["membership_suspended"] or lapsed,
        ).value,
        # A mark withdrawn went with its holder's membership: the association no longer names
        # a former member (a sole trader's name is a person's) on its public register.
        holder_name=(
            "A former member of the association"
            if withdrawn
            else found["name"] or "A member of the association"
        ),
        valid_from=found["valid_from"].date(),
        valid_until=valid_until.date(),
    )


def _unknown(request: Request[Any, Any, Any], mistyped: bool) -> Response[Any]:
    if _wants_html(request):
        return Response(
            render_unknown_page(mistyped),
            status_code=404,
            media_type=PAGE_MEDIA_TYPE,
            headers={**PAGE_HEADERS, "Vary": "Accept"},
        )
    detail = (
        "no such certificate: the check character does not match, so it was probably mistyped"
        if mistyped
        else "no such certificate"
    )
    raise NotFoundException(detail)


class MarkRegisterController(Controller):
    path = "/api/v1"
    tags = ["quality mark"]

    @get(
        "/marks/{certificate_number:str}",
        opt=rule(PUBLIC),
        guards=[limited_per_address(MARK_LOOKUPS)],
        responses=THROTTLED_RESPONSE,
        summary="Verify a quality mark certificate (JSON, or a page when asked for text/html)",
        media_type="application/json",
    )
    async def verify(
        self,
        request: Request[Any, Any, Any],
        engine: NamedDependency[AsyncEngine],
        settings: NamedDependency[Settings],
        clock: NamedDependency[Clock],
        certificate_number: NumberParam,
    ) -> Response[Any]:
        read = read_certificate_number(certificate_number)
        if not isinstance(read, CertificateNumber):
            return _unknown(request, isinstance(read, Mistyped))
        view = await _view(engine, read, clock.now())
        if view is None:
            return _unknown(request, False)
        if _wants_html(request):
            url = f"{settings.public_url.rstrip('/')}/api/v1/marks/{view.certificate_number}"
            page = render_page(view, url)
            headers = {**PAGE_HEADERS, "Vary": "Accept"}
            return Response(page, media_type=PAGE_MEDIA_TYPE, headers=headers)
        body = PublicMark(
            certificate_number=view.certificate_number,
            status=view.status,
            holder_name=view.holder_name,
            valid_from=str(view.valid_from),
            valid_until=str(view.valid_until),
        )
        return Response(body, headers={"Cache-Control": "public, max-age=60", "Vary": "Accept"})

    @get(
        "/marks/{certificate_number:str}/badge.svg",
        opt=rule(PUBLIC),
        summary="The holder's badge: the mark's current status, cached at most 5 minutes",
        media_type=BADGE_MEDIA_TYPE,
    )
    async def badge(
        self,
        request: Request[Any, Any, Any],
        engine: NamedDependency[AsyncEngine],
        clock: NamedDependency[Clock],
        certificate_number: NumberParam,
    ) -> Response[Any]:
        read = read_certificate_number(certificate_number)
        number = read if isinstance(read, CertificateNumber) else None
        view = await _view(engine, number, clock.now()) if number is not None else None
        if view is None:
            raise NotFoundException("no such certificate")
        svg = render_badge(view)
        tag = etag_for(svg)
        headers = {**BADGE_HEADERS, "ETag": tag}
        if tag in request.headers.get("if-none-match", ""):
            return Response(b"", status_code=304, headers=headers, media_type=BADGE_MEDIA_TYPE)
        return Response(svg, media_type=BADGE_MEDIA_TYPE, headers=headers)

    @get("/mark-criteria", opt=rule(PUBLIC), summary="The quality mark's criteria in force")
    async def criteria(self, commands: NamedDependency[Commands]) -> CriteriaView:
        current = criteria_in_force(commands.clock.now().date())
        return CriteriaView(
            version=current.version,
            effective_from=current.effective_from.isoformat(),
            criteria=[
                CriterionView(code=c.code, title=c.title, evidence=c.evidence, basis=c.basis.value)
                for c in current.criteria
            ],
        )

    @get(
        "/mark-applications",
        opt=rule(staff_only()),
        summary="The queue of quality mark applications by stage, the longest-waiting first",
    )
    async def queue(
        self,
        engine: NamedDependency[AsyncEngine],
        commands: NamedDependency[Commands],
        stage: StageParam = "submitted",
    ) -> QueuePage:
        query = mark_applications.c.stage == stage
        return await _queue(engine, commands.clock.now(), query)

    @get(
        "/mark-assignments",
        opt=rule(ASSESSORS),
        summary="The applications assigned to the caller to assess, the longest-waiting first",
    )
    async def assignments(
        self,
        engine: NamedDependency[AsyncEngine],
        commands: NamedDependency[Commands],
    ) -> QueuePage:
        user = current_user(commands.request)
        open_stages = ("under_assessment", "information_requested")
        query = (mark_applications.c.assessor_id == user.id) & (
            mark_applications.c.stage.in_(open_stages)
        )
        return await _queue(engine, commands.clock.now(), query)


QUEUE_LIMIT = 500


async def _queue(engine: AsyncEngine, now: datetime, where: Any) -> QueuePage:
    query = (
        select(mark_applications)
        .where(where)
        .order_by(mark_applications.c.waiting_since.asc(), mark_applications.c.application_id)
        .limit(QUEUE_LIMIT)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    items = []
    for row in rows:
        found = row._mapping
        since = found["waiting_since"]
        items.append(
            QueueEntry(
                application_id=found["application_id"],
                organisation_id=found["organisation_id"],
                review=found["review"],
                stage=found["stage"],
                waiting_since=since,
                waiting_days=(now - since).days if since is not None else None,
                assessor_id=found["assessor_id"],
                reply_by=found["reply_by"],
            )
        )
    return QueuePage(items=items)
