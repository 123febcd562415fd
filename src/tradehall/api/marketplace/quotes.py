"""Requests for quote over HTTP (issue 18): an organisation posts a request (what, where, a
budget band, a deadline, to invited members or to every member in good standing); suppliers
quote a price and a note under their own organisation, revise and decline until the deadline;
after the opening clock has opened the quotes the requester reads them and accepts one (a
contract) or closes the request saying why.

Quotes are sealed as bids are (ADR 27): before opening only the quoting organisation learns
anything of its quote. A request's quotes read before opening are one and the same 409 whether
there are none or many; a request a caller may not see is the same 404 as one that does not
exist; a quote command answers no read-your-writes position (nothing follows the bids log).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.application import MarketplaceApp
from marketplace.bids.application import BidsApp
from marketplace.bids.content import SupplierFacts
from marketplace.quotes.quote import Quote
from marketplace.quotes.request import OpenedQuote, RequestForQuote, RequestStatus
from marketplace.quotes.terms import DEFAULT_CURRENCY, Audience, RequestTerms
from marketplace.tender_terms import Period
from membership.application import MembershipApp
from projections.quote_request_query import QuoteRequestEntry, Viewer, quote_requests_for
from sharedkernel.errors import Conflict, NotFound
from sharedkernel.moments import plausible_moment
from sharedkernel.money import Money
from sharedkernel.writing import Saved
from tradehall.api.access import SIGNED_IN, Access, own_organisation, rule
from tradehall.api.commands import (
    Commands,
    command_response,
    current_user,
    etag,
    idempotency_key,
)
from tradehall.api.identity.auth import THROTTLED_RESPONSE
from tradehall.api.marketplace.contracts import contract_signed
from tradehall.api.marketplace.reason_routes import ReasonRoutes
from tradehall.api.marketplace.schemas.quotes import (
    AcceptedView,
    BudgetView,
    DeclineBody,
    OpenedQuotesView,
    OpenedQuoteView,
    QuoteAcceptanceBody,
    QuoteBody,
    QuotesList,
    QuoteView,
    RequestForQuoteBody,
    RequestForQuoteView,
    RequestReasonBody,
    RequestsPage,
    RequestSummary,
    WorkPeriodView,
)
from tradehall.api.marketplace.suppliers import SUPPLIERS, Suppliers
from tradehall.api.ownership import caller_organisation
from tradehall.api.read_models import Paging, ReadModel, read_model
from tradehall.api.reads import (
    CpvParam,
    PageParam,
    PerPageParam,
    PositionParam,
    RegionParam,
    place_filter,
)
from tradehall.api.schemas.common import CommandResult
from tradehall.identity import throttle
from tradehall.identity.users import Role
from tradehall.marketplace import LOG
from tradehall.marketplace.bids import LOG as SEALED_LOG
from tradehall.marketplace.bids.quote_notices import quote_receipts
from tradehall.marketplace.bids.requesters import requester_facts
from tradehall.marketplace.sealing.keys import SealingKeys

REQUESTS = "/requests-for-quote"
# Posts per requesting organisation: each may e-mail up to 50 invited members (or alert every
# matching search), so a burst of 20, then one an hour (docs/adr/0014's throttles).
POSTING = throttle.Policy(free=20, base_seconds=3600, max_seconds=3600, decay_seconds=3600)
REQUEST = REQUESTS + "/{request_id:uuid}"
QUOTES = "/organisations/{organisation_id:uuid}/quotes"
QUOTE = QUOTES + "/{request_id:uuid}"
NO_CACHE = "private, no-store"
# The projection whose tables the list reads (read-your-writes waits on it).
PROJECTION = "quote_requests"
RequestStatusParam = Annotated[
    Literal["open", "cancelled", "quotes_opened", "accepted", "closed"] | None,
    QueryParameter(name="status", description="the request's status"),
]
# Checked in the handler against the request itself.
REQUESTER = Access(
    "users of the request's requesting organisation (others: 404)", roles=frozenset(Role)
)
REQUEST_READERS = Access(
    "the requester's users, the suppliers it is open to, staff (others: 404)",
    roles=frozenset(Role),
)
OPENED_QUOTES = Access(
    "the requester's users and staff, once the quotes are opened (before: 409; others: 404)",
    roles=frozenset(Role),
)


# Who may see what ------------------------------------------------------------------------------


def _no_request(request_id: UUID) -> NotFoundException:
    return NotFoundException(f"no request for quote {request_id}")


def _is_staff(commands: Commands) -> bool:
    return Role.STAFF in current_user(commands.request).roles


def _open_to(request: RequestForQuote, organisation_id: UUID | None) -> bool:
    """Whether the organisation may see (and quote on) the request: its requester, an invited
    member, or anyone where the audience is open."""
    if organisation_id is None:
        return False
    return (
        organisation_id == request.requester_id
        or request.terms.audience is Audience.OPEN
        or organisation_id in request.terms.invited
    )


async def _load(
    commands: Commands, marketplace: MarketplaceApp, request_id: UUID
) -> RequestForQuote:
    try:
        return await commands.run(marketplace.request_for_quote, request_id)
    except NotFound:
        raise _no_request(request_id) from None


async def _visible(
    commands: Commands, marketplace: MarketplaceApp, request_id: UUID
) -> RequestForQuote:
    """The request, to staff and those it is open to; else the 404 of one that does not exist."""
    request = await _load(commands, marketplace, request_id)
    if not (_is_staff(commands) or _open_to(request, caller_organisation(commands))):
        raise _no_request(request_id)
    return request


async def _requested_by_caller(
    commands: Commands, marketplace: MarketplaceApp, request_id: UUID, staff_reads: bool = False
) -> RequestForQuote:
    """The request, to its requester's users (and staff, where they read); else 404."""
    request = await _load(commands, marketplace, request_id)
    mine = caller_organisation(commands) == request.requester_id
    if not (mine or (staff_reads and _is_staff(commands))):
        raise _no_request(request_id)
    return request


@dataclass(frozen=True)
class _Quoter:
    """A supplier's quote route, as the `quoter` dependency: the organisation and the request
    its path names, and the applications that decide on a quote. Only bundled (no I/O): the
    handler looks the request up, and checks it is open to the organisation, in its body."""

    organisation_id: UUID
    request_id: UUID
    marketplace: MarketplaceApp
    bids: BidsApp
    suppliers: Suppliers


def _quoter(
    organisation_id: FromPath[UUID],
    request_id: FromPath[UUID],
    marketplace: NamedDependency[MarketplaceApp],
    bids: NamedDependency[BidsApp],
    suppliers: NamedDependency[Suppliers],
) -> _Quoter:
    return _Quoter(organisation_id, request_id, marketplace, bids, suppliers)


async def _quoting(commands: Commands, quoter: _Quoter) -> tuple[RequestForQuote, SupplierFacts]:
    """The request, if open to the organisation (else 404), and what membership says of it:
    what a quote or decline is decided on."""
    request = await _load(commands, quoter.marketplace, quoter.request_id)
    if not _open_to(request, quoter.organisation_id):
        raise _no_request(quoter.request_id)
    supplier = await quoter.suppliers.facts(commands, quoter.organisation_id)
    return request, supplier


# Views ----------------------------------------------------------------------------------------


def request_view(request: RequestForQuote, insider: bool) -> RequestForQuoteView:
    """The request as a caller sees it: `insider` (its requester's users, staff) also sees whom
    it invited and what was accepted."""
    terms = request.terms
    opened = request.opened_quotes
    accepted = request.accepted
    return RequestForQuoteView(
        id=request.id,
        version=request.version,
        requester_id=request.requester_id,
        title=terms.title,
        description=terms.description,
        cpv_codes=list(terms.cpv_codes),
        regions=list(terms.regions),
        budget=_budget_view(terms.budget),
        currency=terms.currency,
        deadline=terms.deadline,
        period=WorkPeriodView(start=terms.period.start, end=terms.period.end),
        audience=terms.audience.value,
        invited=sorted(terms.invited, key=str) if insider else None,
        status=request.status.value,
        reason=request.reason,
        quotes_count=None if opened is None else len(opened),
        declined_count=None if opened is None else len(request.declined),
        accepted=None
        if accepted is None or not insider
        else AcceptedView(
            quote_id=accepted.quote_id,
            supplier_id=accepted.supplier_id,
            price_minor=accepted.price_minor,
            currency=accepted.currency,
            contract_id=accepted.contract_id,
        ),
        posted_at=request.posted_at,
    )


def _budget_view(budget: Any) -> BudgetView | None:
    if budget is None:
        return None
    return BudgetView(
        currency=budget.currency, min_minor=budget.min_minor, max_minor=budget.max_minor
    )


def summary_of(entry: QuoteRequestEntry) -> RequestSummary:
    return RequestSummary(
        id=entry.request_id,
        version=entry.version,
        requester_id=entry.requester_id,
        requester_name=entry.requester_name,
        title=entry.title,
        cpv_codes=entry.cpv_codes,
        regions=entry.regions,
        budget=_budget_view(entry.budget),
        currency=entry.currency,
        deadline=entry.deadline,
        audience=entry.audience,
        status=entry.status,
        posted_at=entry.posted_at,
    )


def quote_view(quote: Quote) -> QuoteView:
    return QuoteView(
        id=quote.id,
        version=quote.version,
        request_id=quote.tender_id,
        supplier_id=quote.supplier_id,
        status=quote.status.value,
        price_minor=quote.price_minor,
        currency=quote.currency,
        note=quote.note,
        quoted_at=quote.quoted_at,
        decline_reason=quote.decline_reason,
        closed_reason=quote.closed_reason,
    )


def _terms(data: RequestForQuoteBody) -> RequestTerms:
    budget = data.budget
    return RequestTerms.parse(
        title=data.title,
        description=data.description,
        cpv_codes=data.cpv_codes,
        regions=data.regions,
        budget=None
        if budget is None
        else {
            # A budget naming no currency is in the request's.
            "currency": budget.currency or data.currency or DEFAULT_CURRENCY,
            "min_minor": budget.min_minor,
            "max_minor": budget.max_minor,
        },
        currency=data.currency,
        deadline=plausible_moment("deadline", data.deadline),
        period=Period.parse(
            plausible_moment("period.start", data.period.start),
            plausible_moment("period.end", data.period.end),
            "period",
        ),
        audience=data.audience,
        invited=data.invited,
    )


def _in_good_standing(
    membership: MembershipApp, invited: Sequence[UUID], at: datetime
) -> frozenset[UUID]:
    return frozenset(i for i in invited if membership.is_in_good_standing(i, at))


def _posted(marketplace: MarketplaceApp, request_id: UUID) -> bool:
    try:
        marketplace.request_for_quote(request_id)
    except NotFound:
        return False
    return True


def _settle_unposted(
    marketplace: MarketplaceApp, sealing: SealingKeys, request_id: UUID, at: datetime
) -> None:
    """A refused post's key settled at once, so the opening clock does not look for its request
    at every tick for ever; never the key of a request that exists (a retry with other terms)."""
    if not _posted(marketplace, request_id):
        sealing.settle(request_id, at)


def _cheapest_first(request: RequestForQuote, quote: OpenedQuote) -> tuple[bool, str, int, str]:
    currency = quote.price.currency
    return (currency != request.terms.currency, currency, quote.price.minor, str(quote.quote_id))


# The requester ---------------------------------------------------------------------------------


async def _requester_ends(
    commands: Commands, marketplace: MarketplaceApp, request_id: UUID
) -> tuple[UUID, UUID]:
    """A requester's reason route's check: its own request (else 404); the command takes the
    request's id and its requester's."""
    request = await _requested_by_caller(commands, marketplace, request_id)
    return (request_id, request.requester_id)


# A requester's commands that end its request with only a reason (cancel, close).
_ENDINGS = ReasonRoutes(
    REQUEST,
    "request_id",
    REQUESTER,
    RequestReasonBody,
    _requester_ends,
)


class RequestsForQuoteController(Controller):
    path = "/api/v1"
    tags = ["requests for quote"]
    dependencies = {"read_model": read_model(PROJECTION)}

    @post(
        REQUESTS,
        opt=rule(SIGNED_IN),
        status_code=201,
        summary="Post a request for quote for your organisation",
        description=(
            "The body names the requesting organisation: the caller's own (else 403). A "
            "member in good standing, a registered business or a verified public-body buyer "
            "posts (else 409). `audience`: `open` (any member in good standing may quote; "
            "matching members are alerted) or `invited` (only the members named in "
            "`invited`, who are told directly; each a member in good standing, else 422 "
            "naming its place). `currency` is every quote's: the budget's (another is a 422), "
            "or without a budget the one named, GBP if none. The work's `period` starts no "
            "earlier than the deadline (else 422). Quotes are sealed until the deadline. With "
            "an `Idempotency-Key`, the request's id follows from the organisation and the "
            "key: a retried request answers the same request and records nothing more; the "
            "same key with other terms is a 409; without one, each request is a new one. An "
            "organisation posts 20 requests at once, then one an hour (else 429, "
            "`Retry-After`): each may ask 50 members by e-mail."
        ),
        responses=THROTTLED_RESPONSE,
    )
    async def post_request(
        self,
        commands: NamedDependency[Commands],
        engine: NamedDependency[AsyncEngine],
        marketplace: NamedDependency[MarketplaceApp],
        membership: NamedDependency[MembershipApp],
        sealing: NamedDependency[SealingKeys],
        data: JSONBody[RequestForQuoteBody],
    ) -> Response[CommandResult]:
        key = idempotency_key(commands.request)
        requester_id = data.organisation_id
        if caller_organisation(commands) != requester_id:
            raise PermissionDeniedException(
                "only users of the requesting organisation post its requests for quote"
            )
        terms = _terms(data)
        # Standing, the requester's and each invitee's, as it stands at the command's time.
        at = commands.context().at
        requester = await commands.run(requester_facts, membership, marketplace, requester_id, at)
        request_id = RequestForQuote.id_for(requester_id, key) if key is not None else uuid4()
        # The key its quotes are sealed under, made before the request exists (the opening
        # clock finds the requests to open from these keys, ADR 27), and only for a post the
        # domain takes: a refused one makes none, so its retry is opened like any other.
        if not await commands.run(_posted, marketplace, request_id):
            RequestForQuote.check_post(at, requester, terms)
            quoting = await commands.run(_in_good_standing, membership, terms.invited, at)
            RequestForQuote.check_invitees(terms, quoting)
            # Counted once the domain would take it (a replay or a refusal is not a post).
            await throttle.count_attempt(engine, f"quote-requests:{requester_id}", POSTING, at)
            await commands.run(sealing.ensure_tender_key, request_id, at)
        try:
            saved = await commands.record(marketplace.post_request, request_id, requester, terms)
        except Exception:
            if key is None:  # a fresh id is never retried: its key is settled, never looked at
                await commands.run(_settle_unposted, marketplace, sealing, request_id, at)
            raise
        return command_response(saved, LOG, status_code=201)

    @get(
        REQUESTS,
        opt=rule(SIGNED_IN),
        summary="The requests for quote your organisation may see (staff: all), by deadline",
        description=(
            "Its own, those inviting it, those it quoted on once opened, and every open "
            "request for all members while it takes quotes. `status`, `cpv` and `region` (up "
            "and down their trees; a request naming no region is found from every region) "
            "filter; `requester_id` for one requester's."
        ),
    )
    async def listed(
        self,
        commands: NamedDependency[Commands],
        read_model: NamedDependency[ReadModel],
        status: RequestStatusParam = None,
        cpv: CpvParam = None,
        region: RegionParam = None,
        requester_id: Annotated[
            UUID | None, QueryParameter(name="requester_id", description="this requester's")
        ] = None,
        page: PageParam = 1,
        per_page: PerPageParam = 20,
        position: PositionParam = None,
    ) -> Response[RequestsPage]:
        paging = Paging(page, per_page)
        place = place_filter(cpv, region)
        viewer = Viewer(caller_organisation(commands), _is_staff(commands))
        found, consistent = await read_model.query(
            position,
            quote_requests_for,
            viewer,
            status=status,
            cpv_code=place.cpv_code,
            region=place.region,
            region_parents=place.region_parents,
            requester_id=requester_id,
            limit=paging.limit,
            offset=paging.offset,
        )
        items = [summary_of(entry) for entry in found.entries]
        response = paging.response(RequestsPage, items, found.total, consistent)
        response.headers["Cache-Control"] = NO_CACHE
        return response

    @get(
        REQUEST,
        opt=rule(REQUEST_READERS),
        summary="A request for quote: to its requester, those it is open to, and staff",
        description=(
            "A request open to every member is shown to any organisation's users whatever "
            "its status, so that one following an alert's link sees what became of it (the "
            "list shows it only while open); an invited one to its requester and those "
            "invited. Whom it invited and what was accepted are shown to the requester's "
            "users and staff only; how many quoted and declined only once the quotes are "
            "opened."
        ),
    )
    async def read(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        request_id: FromPath[UUID],
    ) -> Response[RequestForQuoteView]:
        request = await _visible(commands, marketplace, request_id)
        insider = _is_staff(commands) or caller_organisation(commands) == request.requester_id
        return Response(
            request_view(request, insider),
            headers={"ETag": etag(request.version), "Cache-Control": NO_CACHE},
        )

    cancel = _ENDINGS.route(
        "cancellation",
        "Cancel a request before its deadline, with a reason (its requester)",
        MarketplaceApp.cancel_request,
        description="Its quotes are never opened; every quoter is told.",
    )

    @get(
        f"{REQUEST}/quotes",
        opt=rule(OPENED_QUOTES),
        summary="The request's quotes as opened (its requester's users, staff)",
        description=(
            "Before the opening clock has opened them (the deadline and a margin), a 409 that "
            "is the same whether or not anyone quoted."
        ),
    )
    async def opened(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        request_id: FromPath[UUID],
    ) -> Response[OpenedQuotesView]:
        request = await _requested_by_caller(commands, marketplace, request_id, staff_reads=True)
        opened = request.opened_quotes
        # Said from the request's own status alone: the same whatever was quoted.
        if request.status is RequestStatus.CANCELLED:
            raise Conflict("the request was cancelled: its quotes are never opened")
        if opened is None:
            raise Conflict(
                "the quotes are sealed until the request's deadline has passed and they are opened"
            )
        quotes = [
            OpenedQuoteView(
                quote_id=q.quote_id,
                supplier_id=q.supplier_id,
                price_minor=q.price.minor,
                currency=q.price.currency,
                note=q.note,
                quoted_at=q.quoted_at,
            )
            # Cheapest first, as a requester compares them: in the request's currency (a
            # request posted before it stated one may have others: each after, by currency).
            for q in sorted(opened, key=lambda q: _cheapest_first(request, q))
        ]
        return Response(
            OpenedQuotesView(
                request_id=request.id,
                status=request.status.value,
                quotes=quotes,
                declined=sorted(request.declined, key=str),
            ),
            headers={"Cache-Control": NO_CACHE},
        )

    @post(
        f"{REQUEST}/acceptance",
        opt=rule(REQUESTER),
        status_code=201,
        summary="Accept an opened quote: a contract with its supplier (the requester)",
        description=(
            "Once the quotes are opened, one quote, once. The contract counts as an award's: "
            "in the supplier's track record, matching and the impact ledger. 201 with the "
            "contract's id, `Location: /api/v1/contracts/{id}`."
        ),
    )
    async def accept(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        request_id: FromPath[UUID],
        data: JSONBody[QuoteAcceptanceBody],
    ) -> Response[CommandResult]:
        request = await _requested_by_caller(commands, marketplace, request_id)
        saved = await commands.save(
            marketplace.accept_quote, request_id, request.requester_id, data.quote_id
        )
        return contract_signed(saved)

    close = _ENDINGS.route(
        "closure",
        "Close an opened request with no acceptance, saying why (the requester)",
        MarketplaceApp.close_request,
    )


# The supplier ----------------------------------------------------------------------------------


def _no_quote(request_id: UUID) -> NotFoundException:
    return NotFoundException(f"your organisation has no quote for request {request_id}")


def _sealed_result(saved: Saved) -> Response[CommandResult]:
    """A quote command's result: no position (nothing follows the sealed log), never cached."""
    response = command_response(saved, SEALED_LOG)
    response.headers["Cache-Control"] = NO_CACHE
    return response


class QuotesController(Controller):
    path = "/api/v1"
    tags = ["requests for quote"]
    dependencies = {"quoter": Provide(_quoter, sync_to_thread=False), "suppliers": SUPPLIERS}

    @put(
        QUOTE,
        opt=rule(own_organisation()),
        status_code=200,
        summary="Quote for a request, or revise the quote, until the deadline",
        description=(
            "A price (minor units, in the request's `currency`: another is a 422; left out, "
            "the request's) and a note. Members in good standing, never the requester's own "
            "organisation; where the request is for invited members, only they. Nothing is "
            "taken from the deadline on. Sealed: a receipt is e-mailed, and nobody else learns "
            "of the quote before the deadline; no position is answered."
        ),
    )
    async def quote(
        self,
        commands: NamedDependency[Commands],
        sealing: NamedDependency[SealingKeys],
        quoter: NamedDependency[_Quoter],
        data: JSONBody[QuoteBody],
    ) -> Response[CommandResult]:
        request, supplier = await _quoting(commands, quoter)
        currency = data.currency or request.terms.currency
        price = Money.of(data.price_minor, currency, field="price_minor")
        saved = await commands.save(
            quoter.bids.submit_quote,
            request,
            supplier,
            price,
            data.note,
            quote_receipts(sealing, request),
        )
        return _sealed_result(saved)

    @get(
        QUOTE,
        opt=rule(own_organisation()),
        summary="Your organisation's quote for a request (`ETag`)",
    )
    async def own(
        self, commands: NamedDependency[Commands], quoter: NamedDependency[_Quoter]
    ) -> Response[QuoteView]:
        request_id = quoter.request_id
        # The request first: a quote's id is keyed by the request's sealing key, which reading
        # must never make (an id naming no request would leave a key the clock visits for ever).
        if not await commands.run(_posted, quoter.marketplace, request_id):
            raise _no_quote(request_id)
        try:
            quote = await commands.run(quoter.bids.quote_of, request_id, quoter.organisation_id)
        except NotFound:
            raise _no_quote(request_id) from None
        return Response(
            quote_view(quote),
            headers={"ETag": etag(quote.version), "Cache-Control": NO_CACHE},
        )

    @post(
        f"{QUOTE}/decline",
        opt=rule(own_organisation()),
        status_code=200,
        summary="Decline to quote, or withdraw a quote, before the deadline",
        description="An optional `reason`; the organisation may quote again until the deadline.",
    )
    async def decline(
        self,
        commands: NamedDependency[Commands],
        quoter: NamedDependency[_Quoter],
        data: JSONBody[DeclineBody],
    ) -> Response[CommandResult]:
        request, supplier = await _quoting(commands, quoter)
        saved = await commands.save(quoter.bids.decline_quote, request, supplier, data.reason)
        return _sealed_result(saved)

    @get(
        QUOTES,
        opt=rule(own_organisation()),
        summary="Your organisation's quotes, by request",
    )
    async def mine(
        self,
        commands: NamedDependency[Commands],
        bids: NamedDependency[BidsApp],
        organisation_id: FromPath[UUID],
    ) -> Response[QuotesList]:
        found = await commands.run(bids.quotes_of, organisation_id)
        found.sort(key=lambda quote: str(quote.tender_id))
        return Response(
            QuotesList(items=[quote_view(quote) for quote in found]),
            headers={"Cache-Control": NO_CACHE},
        )


CONTROLLERS = (RequestsForQuoteController, QuotesController)
