"""Tenders over HTTP: a buyer drafts, revises, publishes, amends, adds documents to, cancels,
withdraws and closes its tenders; anyone browses the tender board and reads a published tender
with its lots, criteria, documents, amendments and published answers (issue 11).

A tender is acted on only by users of its buyer organisation: anyone else, staff included,
gets the same 404 as for a tender that does not exist. A draft is private to the buyer's
organisation: the public routes answer 404 for it, and the buyer reads it through its own
organisation's routes. Public routes are never signed in (their rule excludes the token), so a
route that shows drafts to their buyer is a route of the organisation.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, QueryParameter

from marketplace.application import BuyerFacts, MarketplaceApp
from marketplace.buyers import BUYER_KINDS
from marketplace.tender_terms import (
    CriterionInput,
    LotInput,
    TenderTerms,
    parse_evaluation,
    parse_terms,
)
from marketplace.tenders import DOCUMENT_KINDS, OPEN, Tender, TenderDocument, TenderStatus
from membership.application import MembershipApp
from projections.clarifications import published_clarifications
from projections.tenders import (
    TenderDetail,
    TenderEntry,
    buyer_tenders,
    tender_board,
    tender_detail,
)
from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.moments import plausible_moment
from sharedkernel.writing import Saved
from tradehall.api.access import PUBLIC, Access, own_organisation, rule
from tradehall.api.commands import Commands, command_response, etag, idempotency_key
from tradehall.api.files import FilenameParam, attachment, safe_filename, take_upload
from tradehall.api.marketplace.reason_routes import ReasonRoutes
from tradehall.api.marketplace.schemas.tenders import (
    AmendmentBody,
    AmendmentView,
    BoardPage,
    BoardTender,
    ClarificationView,
    CriterionBody,
    DocumentView,
    EligibilityView,
    EvaluationView,
    LotView,
    NationalOcidBody,
    PeriodBody,
    PeriodView,
    PublicationBody,
    ReasonBody,
    TenderBody,
    TendersPage,
    TenderSummary,
    TenderView,
)
from tradehall.api.ownership import load_or_404, owned_by_caller
from tradehall.api.read_models import Paging, ReadModel, read_model
from tradehall.api.reads import (
    CpvParam,
    PageParam,
    PerPageParam,
    PositionParam,
    RegionParam,
    parse_position,
    place_filter,
    with_consistency,
)
from tradehall.api.request_policy import UPLOAD_BODY
from tradehall.api.schemas.common import CommandResult
from tradehall.api.text_query import TextQueryParam, query_terms
from tradehall.identity.users import Role
from tradehall.marketplace import LOG
from tradehall.marketplace.sealing.keys import SealingKeys
from tradehall.membership.evidence import (
    DirectoryFileStore,
    EvidenceIntake,
)

# The projection whose tables these reads use (read-your-writes waits on it).
PROJECTION = "tenders"
# Checked in the handler against the tender itself.
TENDER_BUYER = Access(
    "users of the tender's buyer organisation (others: 404)", roles=frozenset(Role)
)


ValueMinParam = Annotated[
    int | None,
    QueryParameter(
        name="value_min", ge=0, le=2**62, description="total estimated value at least (minor units)"
    ),
]
ValueMaxParam = Annotated[
    int | None,
    QueryParameter(
        name="value_max", ge=0, le=2**62, description="total estimated value at most (minor units)"
    ),
]
DeadlineFromParam = Annotated[
    datetime | None, QueryParameter(name="deadline_from", description="deadline at or after")
]
DeadlineToParam = Annotated[
    datetime | None, QueryParameter(name="deadline_to", description="deadline at or before")
]
QualityMarkParam = Annotated[
    bool | None,
    QueryParameter(
        name="quality_mark_required", description="only tenders that require (or not) the mark"
    ),
]
StatusParam = Annotated[
    Literal["planned", "active", "cancelled", "unsuccessful", "complete", "withdrawn"] | None,
    QueryParameter(name="status", description="OCDS tender status"),
]


# Requests to the domain's terms ----------------------------------------------------------------


def _criterion(body: CriterionBody) -> CriterionInput:
    return CriterionInput(body.name, body.weight, body.scale)


def _period(body: PeriodBody, field: str) -> tuple[datetime, datetime]:
    return (
        plausible_moment(f"{field}.start", body.start),
        plausible_moment(f"{field}.end", body.end),
    )


def _terms(data: TenderBody) -> TenderTerms:
    given = data.evaluation
    evaluation = parse_evaluation(
        _criterion(given.price),
        [_criterion(c) for c in given.quality],
        _criterion(given.social_value),
        given.tie_break,
        given.abnormally_low_percent,
    )
    return parse_terms(
        title=data.title,
        description=data.description,
        method=data.method.value,
        category=data.category.value,
        lots=[
            LotInput(lot.title, lot.description, list(lot.cpv_codes), lot.value_minor, lot.currency)
            for lot in data.lots
        ],
        enquiry_period=_period(data.enquiry_period, "enquiry_period"),
        tender_period=_period(data.tender_period, "tender_period"),
        contract_period=_period(data.contract_period, "contract_period"),
        members_only=data.eligibility.members_only,
        quality_mark_required=data.eligibility.quality_mark_required,
        regions=list(data.eligibility.regions),
        evaluation=evaluation,
    )


# Who acts ---------------------------------------------------------------------------------------


def _not_found(tender_id: UUID) -> NotFoundException:
    return NotFoundException(f"no tender {tender_id}")


async def _load(commands: Commands, marketplace: MarketplaceApp, tender_id: UUID) -> Tender:
    return await load_or_404(commands, marketplace.tender, tender_id, _not_found)


def buyer_of(tender: Tender) -> UUID:
    return tender.buyer_id


async def _own_tender(commands: Commands, marketplace: MarketplaceApp, tender_id: UUID) -> Tender:
    """The tender, if the caller is one of its buyer organisation's users; else 404."""
    return await owned_by_caller(commands, marketplace.tender, tender_id, buyer_of, _not_found)


async def _buyer(
    commands: Commands, membership: MembershipApp, organisation_id: UUID
) -> BuyerFacts:
    """What the tender commands need of the buyer: its kind, which must be a buyer's (409)."""
    organisation = await commands.run(membership.get_organisation, organisation_id)
    kind = organisation.kind.value
    if kind not in BUYER_KINDS:
        raise Conflict(
            f"only a public body or a business buys through tenders (this organisation is a "
            f"{kind.replace('_', ' ')})"
        )
    return BuyerFacts(kind)


# Views ------------------------------------------------------------------------------------------


def summary_of(entry: TenderEntry) -> TenderSummary:
    return TenderSummary(
        id=entry.tender_id,
        ocid=entry.ocid,
        buyer_id=entry.buyer_id,
        buyer_name=entry.buyer_name,
        title=entry.title,
        status=entry.status,
        method=entry.method,
        category=entry.category,
        value_minor=entry.value_minor,
        currency=entry.currency,
        deadline=entry.deadline,
        members_only=entry.members_only,
        quality_mark_required=entry.quality_mark_required,
        cpv_codes=entry.cpv_codes,
        regions=entry.regions,
        version=entry.version,
        published_at=entry.published_at,
        updated_at=entry.updated_at,
    )


def view_of(detail: TenderDetail, clarifications: list[ClarificationView]) -> TenderView:
    terms = detail.terms
    return TenderView(
        **msgspec.structs.asdict(summary_of(detail.entry)),
        description=terms.description,
        lots=lots_of(detail),
        enquiry_period=PeriodView(start=terms.enquiry_period.start, end=terms.enquiry_period.end),
        tender_period=PeriodView(start=terms.tender_period.start, end=terms.tender_period.end),
        contract_period=PeriodView(
            start=terms.contract_period.start, end=terms.contract_period.end
        ),
        eligibility=msgspec.convert(msgspec.to_builtins(terms.eligibility), EligibilityView),
        evaluation=msgspec.convert(msgspec.to_builtins(terms.evaluation), EvaluationView),
        end_reason=detail.end_reason,
        documents=msgspec.convert(detail.documents, list[DocumentView], from_attributes=True),
        amendments=msgspec.convert(detail.amendments, list[AmendmentView], from_attributes=True),
        clarifications=clarifications,
    )


def lots_of(detail: TenderDetail) -> list[LotView]:
    """The tender's lots, each with its outcome once decided."""
    lots = msgspec.convert(msgspec.to_builtins(detail.terms.lots), list[LotView])
    for lot in lots:
        decided = detail.lot_outcomes.get(lot.id)
        if decided is not None:
            lot.outcome, lot.decided_at = decided.outcome, decided.decided_at
    return lots


async def _tender_response(
    read_model: ReadModel, position: str | None, tender_id: UUID, buyer_id: UUID | None
) -> Response[TenderView]:
    """The tender's view: published ones for anyone (`buyer_id` None), or any of the buyer's."""
    reads = read_model.reads
    consistent = await read_model.consistent(position)
    marketplace_at = parse_position(position, reads.logs).get(LOG.name)
    if marketplace_at is not None:  # the answers' projection follows the marketplace log only
        consistent &= await reads.after("clarifications", f"{LOG.name}:{marketplace_at}")
    async with read_model.engine.connect() as connection:
        detail = await tender_detail(connection, tender_id)
        if detail is None:
            raise _not_found(tender_id)
        if buyer_id is None and detail.entry.status == TenderStatus.DRAFT.value:
            raise _not_found(tender_id)
        if buyer_id is not None and detail.entry.buyer_id != buyer_id:
            raise _not_found(tender_id)
        answered = await published_clarifications(connection, tender_id)
    clarifications = [
        ClarificationView(question=c.question, answer=c.answer, answered_at=c.answered_at)
        for c in answered
    ]
    response = with_consistency(view_of(detail, clarifications), consistent)
    response.headers["ETag"] = etag(detail.entry.version)
    return response


async def _document(
    commands: Commands, files: DirectoryFileStore, tender: Tender, sha256: str
) -> Response[bytes]:
    held = [d for d in tender.documents if d.sha256 == sha256]
    if not held:
        raise NotFoundException("this tender holds no such document")
    document = held[0]
    cache = "no-cache" if tender.published else "private, no-store"
    return await attachment(
        commands, files, sha256, document.filename, document.content_type, cache
    )


async def _buyer_ends(
    commands: Commands, marketplace: MarketplaceApp, tender_id: UUID
) -> tuple[UUID]:
    """A buyer's reason route's check: its own tender (else 404); the command takes its id."""
    await _own_tender(commands, marketplace, tender_id)
    return (tender_id,)


# A buyer's commands that end its tender with only a reason (cancel, withdraw, close).
_ENDINGS = ReasonRoutes(
    "/tenders/{tender_id:uuid}",
    "tender_id",
    TENDER_BUYER,
    ReasonBody,
    _buyer_ends,
)


class TendersController(Controller):
    path = "/api/v1"
    tags = ["tenders"]
    dependencies = {"read_model": read_model(PROJECTION)}

    # The buyer ----------------------------------------------------------------------------

    @post(
        "/organisations/{organisation_id:uuid}/tenders",
        opt=rule(own_organisation()),
        status_code=201,
        summary="Draft a tender (a public body or a business), private to the organisation",
        description=(
            "With an `Idempotency-Key`, the draft's id follows from the organisation and the key: "
            "a retried request answers the same draft and records nothing more; the same key "
            "with other terms is a 409. An organisation "
            "that is not a buyer (a social enterprise) is a 409."
        ),
    )
    async def draft(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        membership: NamedDependency[MembershipApp],
        organisation_id: FromPath[UUID],
        data: JSONBody[TenderBody],
    ) -> Response[CommandResult]:
        key = idempotency_key(commands.request)
        await _buyer(commands, membership, organisation_id)
        terms = _terms(data)
        tender_id = Tender.id_for(organisation_id, key) if key is not None else uuid4()
        try:
            saved = await commands.record(
                marketplace.draft_tender, tender_id, organisation_id, terms
            )
        except Conflict:
            if key is None:
                raise
            existing = await _load(commands, marketplace, tender_id)
            if existing.buyer_id != organisation_id:
                raise
            first = await commands.run(marketplace.tender_as_drafted, tender_id)
            if first.terms != terms:
                raise Conflict(
                    "this Idempotency-Key was used for a draft with other terms: "
                    "use a new key for a new draft"
                ) from None
            saved = Saved(existing.id, existing.version, None)
        return command_response(saved, LOG, status_code=201)

    @put(
        "/tenders/{tender_id:uuid}",
        opt=rule(TENDER_BUYER),
        status_code=200,
        summary="Revise a draft's terms (its buyer's users; a published tender is amended)",
    )
    async def revise(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        tender_id: FromPath[UUID],
        data: JSONBody[TenderBody],
    ) -> Response[CommandResult]:
        await _own_tender(commands, marketplace, tender_id)
        terms = _terms(data)
        return await commands.execute(LOG, marketplace.revise_draft, tender_id, terms)

    @post(
        "/tenders/{tender_id:uuid}/publication",
        opt=rule(TENDER_BUYER),
        status_code=200,
        summary="Publish a draft: active (open for tendering) or planned (announced ahead)",
        description=(
            "A public body publishes once staff have verified it (else 409). Social value "
            "carries at least the policy's weight for the buyer's kind (else 422 naming "
            "`evaluation.social_value.weight`)."
        ),
    )
    async def publish(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        membership: NamedDependency[MembershipApp],
        sealing: NamedDependency[SealingKeys],
        tender_id: FromPath[UUID],
        data: JSONBody[PublicationBody],
    ) -> Response[CommandResult]:
        tender = await _own_tender(commands, marketplace, tender_id)
        buyer = await _buyer(commands, membership, tender.buyer_id)
        # The key its bids are sealed under, made once the domain has taken the publication
        # (one refused, or naming a stale version, makes none) and before it is saved: the
        # opening clock finds the tenders to open from these keys, so a published tender always
        # has one, a crash between the two leaving a key and a draft (ADR 27).
        at = commands.context().at
        return await commands.execute(
            LOG,
            marketplace.publish_tender,
            tender_id,
            buyer,
            data.planned,
            before_save=partial(sealing.ensure_tender_key, tender_id, at),
        )

    @post(
        "/tenders/{tender_id:uuid}/activation",
        opt=rule(TENDER_BUYER),
        status_code=200,
        summary="Open a planned tender for tendering",
    )
    async def activate(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        tender_id: FromPath[UUID],
    ) -> Response[CommandResult]:
        await _own_tender(commands, marketplace, tender_id)
        return await commands.execute(LOG, marketplace.activate_tender, tender_id)

    @post(
        "/tenders/{tender_id:uuid}/amendments",
        opt=rule(TENDER_BUYER),
        status_code=200,
        summary="Amend a published tender's terms, saying why",
        description=(
            "The deadline may move later, never earlier; the evaluation rules (criteria, "
            "weights, scales, tie-break, abnormally low price) change only with a later deadline."
        ),
    )
    async def amend(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        membership: NamedDependency[MembershipApp],
        tender_id: FromPath[UUID],
        data: JSONBody[AmendmentBody],
    ) -> Response[CommandResult]:
        tender = await _own_tender(commands, marketplace, tender_id)
        buyer = await _buyer(commands, membership, tender.buyer_id)
        terms = _terms(data)
        return await commands.execute(
            LOG, marketplace.amend_tender, tender_id, terms, data.rationale, buyer
        )

    @put(
        "/tenders/{tender_id:uuid}/national-ocid",
        opt=rule(TENDER_BUYER),
        status_code=200,
        summary="Name the ocid a national portal issued for this tender (OCDS related process)",
    )
    async def link_national_ocid(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        tender_id: FromPath[UUID],
        data: JSONBody[NationalOcidBody],
    ) -> Response[CommandResult]:
        await _own_tender(commands, marketplace, tender_id)
        return await commands.execute(LOG, marketplace.link_national_ocid, tender_id, data.ocid)

    cancel = _ENDINGS.route(
        "cancellation",
        "Cancel an active tender, with a reason",
        MarketplaceApp.cancel_tender,
    )
    withdraw = _ENDINGS.route(
        "withdrawal",
        "Withdraw a planned tender, with a reason",
        MarketplaceApp.withdraw_tender,
    )
    close = _ENDINGS.route(
        "closure",
        "Close an active tender as unsuccessful after its deadline, with a reason",
        MarketplaceApp.close_unsuccessful,
    )

    @post(
        "/tenders/{tender_id:uuid}/documents/{kind:str}",
        opt=rule(TENDER_BUYER) | {UPLOAD_BODY: True},
        status_code=201,
        summary="Upload a tender document of an OCDS kind (the raw file as the body)",
        description=(
            "Kinds: " + ", ".join(sorted(DOCUMENT_KINDS)) + ". The same checks as the quality "
            "mark's evidence: the type is decided from the bytes; active content, macros, SVG "
            "and archives that expand far beyond their size are refused, and a refused upload "
            "stores nothing. Public once the tender is published."
        ),
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        tender_documents: NamedDependency[EvidenceIntake],
        tender_id: FromPath[UUID],
        kind: FromPath[str],
        filename: FilenameParam,
    ) -> Response[CommandResult]:
        tender = await _own_tender(commands, marketplace, tender_id)
        # Refused before a byte is stored: an unknown kind, a tender that takes no documents.
        if kind not in DOCUMENT_KINDS:
            raise InvalidValue("kind", f"one of: {', '.join(sorted(DOCUMENT_KINDS))}")
        if tender.status is not TenderStatus.DRAFT and tender.status not in OPEN:
            raise Conflict(f"documents are not added to a {tender.status} tender")
        stored = await take_upload(tender_documents, request)
        document = TenderDocument(
            stored.sha256,
            stored.content_type,
            stored.size,
            safe_filename(filename),
            kind,
        )
        return await commands.execute(
            LOG, marketplace.add_tender_document, tender_id, document, status_code=201
        )

    @get(
        "/organisations/{organisation_id:uuid}/tenders",
        opt=rule(own_organisation()),
        summary="The organisation's own tenders, drafts too, by deadline",
    )
    async def own(
        self,
        read_model: NamedDependency[ReadModel],
        organisation_id: FromPath[UUID],
        page: PageParam = 1,
        per_page: PerPageParam = 20,
        position: PositionParam = None,
    ) -> Response[TendersPage]:
        paging = Paging(page, per_page)
        found, consistent = await read_model.query(
            position, buyer_tenders, organisation_id, limit=paging.limit, offset=paging.offset
        )
        items = [summary_of(entry) for entry in found.entries]
        return paging.response(TendersPage, items, found.total, consistent)

    @get(
        "/organisations/{organisation_id:uuid}/tenders/{tender_id:uuid}",
        opt=rule(own_organisation()),
        summary="One of the organisation's own tenders, a draft too, `ETag`",
    )
    async def own_tender(
        self,
        read_model: NamedDependency[ReadModel],
        organisation_id: FromPath[UUID],
        tender_id: FromPath[UUID],
        position: PositionParam = None,
    ) -> Response[TenderView]:
        return await _tender_response(read_model, position, tender_id, organisation_id)

    @get(
        "/organisations/{organisation_id:uuid}/tenders/{tender_id:uuid}/documents/{sha256:str}",
        opt=rule(own_organisation()),
        summary="Download one of the organisation's own tenders' documents, a draft's too",
    )
    async def own_document(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        tender_files: NamedDependency[DirectoryFileStore],
        organisation_id: FromPath[UUID],
        tender_id: FromPath[UUID],
        sha256: FromPath[str],
    ) -> Response[bytes]:
        tender = await _load(commands, marketplace, tender_id)
        if tender.buyer_id != organisation_id:
            raise _not_found(tender_id)
        return await _document(commands, tender_files, tender, sha256)

    # The public ---------------------------------------------------------------------------

    @get(
        "/tenders",
        opt=rule(PUBLIC),
        summary="The tender board: published tenders by deadline (closed ones too)",
        description=(
            "Never drafts. `cpv` and `region` match up and down their hierarchies (a region: the "
            "tenders whose eligibility names it); `value_min`/`value_max` bound the total "
            "estimated value; `deadline_from`/`deadline_to` the deadline. With `q`, the "
            "tenders whose title, description or lots' titles and descriptions hold every word "
            "of it, best first by `rank` (a word in the title counts most, then the description, "
            "then a lot; the rank depends only on the tender and the query), then by deadline."
        ),
    )
    async def board(
        self,
        read_model: NamedDependency[ReadModel],
        q: TextQueryParam = None,
        cpv: CpvParam = None,
        region: RegionParam = None,
        value_min: ValueMinParam = None,
        value_max: ValueMaxParam = None,
        deadline_from: DeadlineFromParam = None,
        deadline_to: DeadlineToParam = None,
        quality_mark_required: QualityMarkParam = None,
        status: StatusParam = None,
        buyer_id: Annotated[
            UUID | None, QueryParameter(name="buyer_id", description="this buyer's tenders")
        ] = None,
        page: PageParam = 1,
        per_page: PerPageParam = 20,
        position: PositionParam = None,
    ) -> Response[BoardPage]:
        paging = Paging(page, per_page)
        place = place_filter(cpv, region)
        since = plausible_moment("deadline_from", deadline_from) if deadline_from else None
        until = plausible_moment("deadline_to", deadline_to) if deadline_to else None
        found, consistent = await read_model.query(
            position,
            tender_board,
            cpv_code=place.cpv_code,
            region=place.region,
            region_parents=place.region_parents,
            value_min=value_min,
            value_max=value_max,
            deadline_from=since,
            deadline_to=until,
            quality_mark_required=quality_mark_required,
            status=status,
            buyer_id=buyer_id,
            terms=query_terms(q),
            limit=paging.limit,
            offset=paging.offset,
        )
        items = [
            BoardTender(**msgspec.structs.asdict(summary_of(entry)), rank=entry.rank)
            for entry in found.entries
        ]
        return paging.response(BoardPage, items, found.total, consistent)

    @get(
        "/tenders/{tender_id:uuid}",
        opt=rule(PUBLIC),
        summary="A published tender: lots, criteria and scales, documents, amendments, answers",
        description="A draft is a 404 here: its buyer reads it under its organisation.",
    )
    async def tender(
        self,
        read_model: NamedDependency[ReadModel],
        tender_id: FromPath[UUID],
        position: PositionParam = None,
    ) -> Response[TenderView]:
        return await _tender_response(read_model, position, tender_id, None)

    @get(
        "/tenders/{tender_id:uuid}/documents/{sha256:str}",
        opt=rule(PUBLIC),
        summary="Download a published tender's document (as an attachment)",
    )
    async def document(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        tender_files: NamedDependency[DirectoryFileStore],
        tender_id: FromPath[UUID],
        sha256: FromPath[str],
    ) -> Response[bytes]:
        tender = await _load(commands, marketplace, tender_id)
        if not tender.published:
            raise _not_found(tender_id)
        return await _document(commands, tender_files, tender, sha256)


# The controllers the marketplace declaration serves.
CONTROLLERS = (TendersController,)
