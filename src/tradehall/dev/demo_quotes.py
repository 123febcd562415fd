"""The demo's requests for quote (issue 18): two closed ones (one accepted, now a small contract;
one closed with no acceptance, saying why) and two open ones (an open one the demo member's
"Food and catering" search alerts on, an invited one), each with quotes, a revision and a
decline. The closed ones were posted `CLOSED_AGO` and opened by the opening clock's own tick at
their deadline plus the margin, as the service opens them (ADR 35); the open ones' quotes stay
sealed until their deadlines."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from marketplace.quotes.terms import RequestTerms
from marketplace.tender_terms import Period
from sharedkernel.events import Context, user_actor
from sharedkernel.money import Money
from tradehall.clock import ManualClock
from tradehall.marketplace.bids.opening import OpeningParts, open_due_bids
from tradehall.marketplace.bids.quote_notices import quote_receipts
from tradehall.marketplace.bids.requesters import requester_facts
from tradehall.marketplace.bids.suppliers import supplier_facts
from tradehall.membership.registration import Registrar

_IDS = uuid5(NAMESPACE_URL, "https://tradehall.invalid/demo-request-for-quote")
CLOSED_AGO = timedelta(days=12)
CLOSED_DEADLINE = timedelta(days=5)  # after posting
OPEN_POSTED_AGO = timedelta(hours=2)

Members = dict[int, tuple[UUID, UUID, str]]  # n: (organisation, first user, name)
Buyers = dict[int, tuple[UUID, UUID]]  # n: (organisation, first user)


@dataclass(frozen=True)
class DemoQuote:
    member: int  # the demo's member number
    prices: tuple[int, ...] = ()  # pence: the quote, then each revision; none: it declines
    note: str = ""


@dataclass(frozen=True)
class DemoRequest:
    key: str
    title: str
    description: str
    cpv: str
    region: str
    requester: tuple[str, int]  # ("buyer" | "member", its number)
    invited: tuple[int, ...]  # members; none: the audience is open
    budget: tuple[int, int] | None
    quotes: tuple[DemoQuote, ...]
    outcome: str  # "accepted" | "closed" | "open"
    closing_reason: str = ""

    @property
    def id(self) -> UUID:
        return uuid5(_IDS, self.key)


ACCEPTED = DemoRequest(
    "open-day-catering",
    "Catering for a community open day",
    "Hot lunch and refreshments for about 120 visitors at our depot's open day, served from "
    "11:00 to 15:00; at least one vegan and one halal option.",
    "55520000-1",
    "TLD3",
    ("buyer", 3),  # Northgate Facilities Ltd, a business
    (1, 17, 33),
    (80_000, 150_000),
    (
        DemoQuote(1, (135_000, 118_000), "Two hot mains, salads and cakes; staff on site."),
        DemoQuote(17, (126_500,), "Buffet lunch and drinks; we bring tables and urns."),
        DemoQuote(33),
    ),
    "accepted",
)
CLOSED = DemoRequest(
    "one-off-window-clean",
    "One-off window cleaning after refurbishment",
    "External and internal windows of a two-storey office after building work, "
    "including frames and sills.",
    "90910000-9",
    "TLD3",
    ("buyer", 3),
    (18, 34),
    None,
    (DemoQuote(18, (42_000,), "Two operatives, one day, water-fed poles."),),
    "closed",
    "The landlord's own contractor will clean the windows after all; no quote is accepted.",
)
OPEN_TO_ALL = DemoRequest(
    "tenants-meeting-platters",
    "Sandwich platters for a tenants' meeting",
    "Platters for 40 people at our Wallsend office, delivered by 12:30; fruit and a vegan "
    "option included.",
    "55520000-1",
    "TLC4",
    ("buyer", 2),  # Tyneside Homes Housing Association, a verified public body
    (),
    (20_000, 40_000),
    (DemoQuote(17, (32_000,), "Six platters, fruit bowls and juice; delivered and collected."),),
    "open",
)
INVITED = DemoRequest(
    "community-hub-shelving",
    "Fitted shelving for a community hub",
    "Design, make and fit oak-veneer shelving along one 6 m wall of our community hub, with "
    "two lockable cupboards.",
    "45420000-7",
    "TLE4",
    ("member", 9),  # a builders' co-operative, a member in good standing
    (10, 26),
    None,
    (DemoQuote(10, (260_000,), "Shop-made carcasses, fitted in two days."), DemoQuote(26)),
    "open",
)
CLOSED_REQUESTS = (ACCEPTED, CLOSED)
OPEN_REQUESTS = (OPEN_TO_ALL, INVITED)


def _requester(request: DemoRequest, members: Members, buyers: Buyers) -> tuple[UUID, UUID]:
    kind, n = request.requester
    if kind == "buyer":
        return buyers[n]
    organisation_id, user_id, _ = members[n]
    return organisation_id, user_id


async def _post_and_quote(
    registrar: Registrar,
    parts: OpeningParts,
    request: DemoRequest,
    members: Members,
    buyers: Buyers,
    posted_at: datetime,
    deadline: datetime,
) -> None:
    """Posted at `posted_at` (its key made first, as the API does), then quoted, revised and
    declined an hour apart each."""
    organisation_id, user_id = _requester(request, members, buyers)
    requester = Context(user_actor(user_id), "demo", posted_at)
    facts = await registrar.run(
        requester_facts, parts.membership, parts.marketplace, organisation_id, posted_at
    )
    budget = None
    if request.budget is not None:
        low, high = request.budget
        budget = {"currency": "GBP", "min_minor": low, "max_minor": high}
    terms = RequestTerms.parse(
        title=request.title,
        description=request.description,
        cpv_codes=[request.cpv],
        regions=[request.region],
        budget=budget,
        deadline=deadline,
        period=Period(deadline + timedelta(days=2), deadline + timedelta(days=3)),
        audience="invited" if request.invited else "open",
        invited=[members[n][0] for n in request.invited],
    )
    await registrar.run(parts.keys.ensure_tender_key, request.id, posted_at)
    await registrar.run(parts.marketplace.post_request, requester, request.id, facts, terms)
    posted = await registrar.run(parts.marketplace.request_for_quote, request.id)
    at = posted_at
    for quote in request.quotes:
        supplier_id, supplier_user, _ = members[quote.member]
        supplier = await registrar.run(
            supplier_facts, parts.membership, parts.marks, supplier_id, at
        )
        receipts = quote_receipts(parts.keys, posted)
        if not quote.prices:
            at += timedelta(hours=1)
            context = Context(user_actor(supplier_user), "demo", at)
            await registrar.run(
                parts.bids.decline_quote, context, posted, supplier, "Fully booked that week."
            )
        for price in quote.prices:
            at += timedelta(hours=1)
            context = Context(user_actor(supplier_user), "demo", at)
            await registrar.run(
                parts.bids.submit_quote,
                context,
                posted,
                supplier,
                Money("GBP", price),
                quote.note,
                receipts,
            )


async def seed_closed_requests(
    registrar: Registrar, parts: OpeningParts, members: Members, buyers: Buyers
) -> None:
    """Posted `CLOSED_AGO`, opened by the opening clock's tick at their deadline plus the
    margin (it must find no other key unsettled), then one accepted, the other closed."""
    posted_at = registrar.clock.now().replace(second=0, microsecond=0) - CLOSED_AGO
    deadline = posted_at + CLOSED_DEADLINE
    for request in CLOSED_REQUESTS:
        await _post_and_quote(registrar, parts, request, members, buyers, posted_at, deadline)
    opened_at = deadline + parts.margin
    at_opening = replace(parts, clock=ManualClock(opened_at))
    if await registrar.run(open_due_bids, at_opening) != (len(CLOSED_REQUESTS), 0):
        raise RuntimeError("the demo's closed requests for quote were not opened alone")
    for request in CLOSED_REQUESTS:
        organisation_id, user_id = _requester(request, members, buyers)
        decided = Context(user_actor(user_id), "demo", opened_at + timedelta(hours=3))
        if request.outcome == "accepted":
            opened = await registrar.run(parts.marketplace.request_for_quote, request.id)
            assert opened.opened_quotes is not None
            cheapest = min(opened.opened_quotes, key=lambda q: q.price.minor)
            await registrar.run(
                parts.marketplace.accept_quote,
                decided,
                request.id,
                organisation_id,
                cheapest.quote_id,
            )
        else:
            await registrar.run(
                parts.marketplace.close_request,
                decided,
                request.id,
                organisation_id,
                request.closing_reason,
            )


async def seed_open_requests(
    registrar: Registrar, parts: OpeningParts, members: Members, buyers: Buyers
) -> None:
    """Posted `OPEN_POSTED_AGO`, their deadlines days ahead: quotes sealed until then."""
    posted_at = registrar.clock.now().replace(second=0, microsecond=0) - OPEN_POSTED_AGO
    for days, request in enumerate(OPEN_REQUESTS, start=4):
        deadline = posted_at + timedelta(days=days)
        await _post_and_quote(registrar, parts, request, members, buyers, posted_at, deadline)


def quote_lines(accepted_name: str, buyer_email: str) -> list[tuple[str, str]]:
    """`accepted_name`: the member whose quote was accepted (the cheaper, after its revision)."""
    return [
        (
            "quotes",
            f'requests for quote: "{ACCEPTED.title}" (accepted: the cheaper quote, '
            f'{accepted_name}\'s, is now a contract), "{CLOSED.title}" (closed, no quote '
            f'accepted), "{OPEN_TO_ALL.title}" (open to every member: the demo member\'s '
            f'catering search alerted on it) and "{INVITED.title}" (invited members only); '
            "the open ones' quotes stay sealed until their deadlines",
        ),
        (
            "try",
            f"sign in as {buyer_email}, then GET /api/v1/requests-for-quote and "
            f"/api/v1/requests-for-quote/{ACCEPTED.id}/quotes (opened: every quote, a revision "
            "and a decline)",
        ),
        (
            "try",
            f"GET /api/v1/requests-for-quote/{OPEN_TO_ALL.id}/quotes as Tyneside Homes' "
            "user: a 409, the same whether anyone quoted or not",
        ),
    ]
