"""`tradehall demo` after the opening (issue 13): two Leeds tenders taken on from their bids.

One published about 200 days before the demo runs, evaluated, awarded and contracted: its first
lot's three valid bids (one from a consortium) scored with justifications, the lowest price
abnormally low by the tender's rule, so its bidder was asked, explained and was excluded; each
lot awarded, the assessment summaries sent, the award notice published, the standstill over, the
contract signed, and social value reported against the winning bid's commitments (one report
confirmed by the council, one waiting). Its second lot's contract (the cleaning) was amended, cut
short when the day centres moved to a new building, then completed, its last report made after.
The council linked the tender to a national portal's notice of it (an OCDS related process), so
the demo's OCDS output has every release tag of the mapping table. One whose deadline passed a
few days before: scored, awarded, its notice published the day before, so its standstill still
runs.

Every command is dated by the demo's clock, in the past. The award notice waits until every
summary has been sent: the summaries are queued by the award notice writer (a follower on the
read side) and sent by the mail sender, which `settle` runs (`read_side_and_mail`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID, uuid5

from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.application import MarketplaceApp
from marketplace.contracts import Delivered, contract_id_for
from marketplace.evaluation.application import Score
from marketplace.tender_terms import Period
from marketplace.tenders import Tender, ocid_for
from sharedkernel.errors import NotFound
from sharedkernel.events import Context, user_actor
from sharedkernel.money import Money
from tradehall.dev.demo import (
    _TENDER_IDS,
    BUYER_PASSWORD,
    BUYERS,
    MEMBER_PASSWORD,
    OPENED_TENDER,
    DemoBid,
    DemoTender,
    Settle,
    _member_email,
    _member_name,
    _seed_opened_tender,
)
from tradehall.mail.sender import send_pending
from tradehall.mail.smtp import Transport
from tradehall.marketplace.award_notices import summaries_sent
from tradehall.marketplace.bids.opening import OpeningParts
from tradehall.marketplace.bids.suppliers import facts_of
from tradehall.membership.registration import Registrar

if TYPE_CHECKING:
    from tradehall.services import Services

Members = dict[int, tuple[UUID, UUID, str]]  # n: (organisation, first user, name)
Buyers = dict[int, tuple[UUID, UUID]]  # n: (organisation, first user)

# Lunches are meal-serving (55320000-9), not catering (55520000-1): the board's filter the demo
# prints, TRY_TENDER_CPV, finds the active tender alone.
AWARDED_TENDER = DemoTender(
    "awarded", 0, "Lunches and cleaning at Leeds day centres",
    "Hot lunches and daily cleaning at four of the council's day centres for older people.",
    "services",
    (("Lunches at four day centres", "Hot lunches for about 120 people, five days a week.",
      ("55320000-9",), 8_000_000),
     ("Cleaning of four day centres", "Daily cleaning, with a deep clean each quarter.",
      ("90910000-9",), 3_000_000)),
    ("TLE",), timedelta(days=28), ago=timedelta(days=200),
)  # fmt: skip
STANDSTILL_TENDER = DemoTender(
    "standstill", 0, "Repairs and joinery at Leeds libraries",
    "Doors, shelving and small repairs in eight community libraries, called off as needed.",
    "services",
    (("Library repairs and joinery", "Repairs within two working days of a call.",
      ("45420000-7",), 2_500_000),),
    ("TLE",), timedelta(days=28), ago=timedelta(days=33),
)  # fmt: skip
AWARD_TENDERS = (AWARDED_TENDER, STANDSTILL_TENDER)
# The awarded tender as a national portal (Contracts Finder's ocid prefix) published it too: a
# made-up process id, fixed, so a second run names the same.
NATIONAL_OCID = f"ocds-b5fd17-{uuid5(_TENDER_IDS, 'national portal notice')}"

# Members serving Yorkshire and the Humber (TLE), as the other Leeds tenders' bidders:
# Sheffield Catering Co-operative leads a consortium with Leeds Bakery (40%); Sheffield
# Builders' price for the lunches is abnormally low; Hull Cleaning CIC and Hull Joinery.
LUNCH_LEAD, LUNCH_PARTNER, LOW_PRICED, CLEANER, JOINER, ACADEMY = 1, 32, 25, 18, 42, 8
AWARD_BIDS = [
    DemoBid(AWARDED_TENDER, "lot-1", LUNCH_LEAD, 7_600_000, True,
            partners=((LUNCH_PARTNER, 40, True),),
            commitments=(("apprenticeships", 4), ("local_jobs", 6))),
    DemoBid(AWARDED_TENDER, "lot-1", ACADEMY, 7_900_000, True,
            commitments=(("apprenticeships", 8),)),
    DemoBid(AWARDED_TENDER, "lot-1", LOW_PRICED, 4_800_000, True,
            commitments=(("local_jobs", 2),)),
    DemoBid(AWARDED_TENDER, "lot-2", CLEANER, 2_800_000, True,
            commitments=(("local_jobs", 3), ("volunteering_hours", 80))),
    DemoBid(AWARDED_TENDER, "lot-2", JOINER, 2_950_000, True,
            commitments=(("apprenticeships", 1),)),
    DemoBid(STANDSTILL_TENDER, "lot-1", JOINER, 2_300_000, True,
            commitments=(("apprenticeships", 2),)),
    DemoBid(STANDSTILL_TENDER, "lot-1", LOW_PRICED, 2_450_000, True,
            commitments=(("local_jobs", 1),)),
]  # fmt: skip

# The criteria the council scores by hand (the demo tenders' terms), in this order below.
CRITERIA = ("Delivery plan", "Staffing and training", "Social value")
# (tender key, lot, lead n): each criterion's score and the council's justification.
SCORES: dict[tuple[str, str, int], tuple[tuple[int, str], ...]] = {
    ("awarded", "lot-1", LUNCH_LEAD): (
        (
            4,
            "A week-by-week mobilisation plan and a named manager per centre; menus tested "
            "with the centres' users.",
        ),
        (5, "Cooks paid the real living wage; the bakery's trainees work alongside them."),
        (8, "Four apprenticeships and six local jobs, each with a date and a reporting plan."),
    ),
    ("awarded", "lot-1", ACADEMY): (
        (3, "A sound plan, but the hand-over from the current caterer is not covered."),
        (4, "Trainee cooks from its own academy, each with a mentor."),
        (7, "Eight apprenticeships; how they continue after the first year is not said."),
    ),
    ("awarded", "lot-1", LOW_PRICED): (
        (2, "The plan names no kitchen staff and no food supplier."),
        (2, "Staffing relies on volunteers; no training is described."),
        (3, "Two local jobs, not tied to the contract's sites."),
    ),
    ("awarded", "lot-2", CLEANER): (
        (4, "Daily rotas per centre and a quarterly deep clean scheduled in the holidays."),
        (4, "A settled team paid the real living wage, with a supervisor on call."),
        (7, "Three local jobs and 80 hours of volunteering with the centres' gardens."),
    ),
    ("awarded", "lot-2", JOINER): (
        (3, "A workable plan by a firm whose main trade is joinery, not cleaning."),
        (3, "Cleaners to be recruited after the award."),
        (4, "One apprenticeship, in joinery rather than in the contract's work."),
    ),
    ("standstill", "lot-1", JOINER): (
        (4, "Repairs logged and booked within a day; a joiner based in Leeds."),
        (4, "Qualified joiners, and an apprentice on every job."),
        (7, "Two apprenticeships in joinery, with the college named."),
    ),
    ("standstill", "lot-1", LOW_PRICED): (
        (3, "Reliable, but callouts are answered within five days, not two."),
        (3, "Subcontracted joiners; training is not described."),
        (5, "One local job."),
    ),
}
LOW_PRICE_EXPLANATION = (
    "We would cook at our builders' yard canteen and deliver, with volunteers serving at the "
    "centres; two paid cooks cover all four centres."
)
LOW_PRICE_REASON = (
    "The price depends on unpaid volunteers doing most of the serving and on two cooks for four "
    "centres: the lunches cannot be delivered at the standard and the real living wage the "
    "tender requires for this price."
)

# When each step was taken on the awarded tender, after its deadline.
SCORED_AFTER = timedelta(days=5)
QUERIED_AFTER = timedelta(days=6)
EXPLAINED_AFTER = timedelta(days=9)
EXCLUDED_AFTER = timedelta(days=12)
AWARDED_AFTER = timedelta(days=14)
NOTICE_AFTER = timedelta(days=15)
SIGNED_AFTER_STANDSTILL = timedelta(days=1)
# The tender in standstill, before the demo runs: scored, awarded, its notice the day before.
STANDSTILL_SCORED, STANDSTILL_AWARDED, STANDSTILL_NOTICE = (
    timedelta(days=3),
    timedelta(days=2),
    timedelta(days=1),
)

_REPORT_IDS = uuid5(_TENDER_IDS, "delivery reports")


def report_id(lot_id: str, number: int) -> UUID:
    return uuid5(_REPORT_IDS, f"{lot_id}:{number}")


# (lot, report number, days after the contract starts, days long, delivered, note, confirmed):
# each reported three days after its period, confirmed (if so) ten days after the report.
Report = tuple[str, int, int, int, tuple[tuple[str, int], ...], str, bool]
REPORTS: list[Report] = [
    ("lot-1", 1, 0, 30, (("apprenticeships", 1), ("local_jobs", 3)),
     "One apprentice cook started; three local people hired for the centres.", True),
    ("lot-1", 2, 30, 30, (("apprenticeships", 1), ("local_jobs", 2)),
     "A second apprentice started at the bakery; two more local hires.", False),
    ("lot-2", 1, 0, 30, (("local_jobs", 2), ("volunteering_hours", 24)),
     "Two cleaners hired locally; 24 hours in the centres' gardens.", True),
]  # fmt: skip
REPORTED_AFTER, CONFIRMED_AFTER = timedelta(days=3), timedelta(days=10)

# The cleaning contract (lot 2), cut short: the four day centres move into a new building whose
# own facilities contract cleans it. Amended this long after the contract's start, to end 13
# weeks after it at the weeks' share of the price; completed two days after that end. Its last
# report (the weeks after the first) is made after the completion, as the contract allows.
CUT_SHORT_LOT = "lot-2"
AMENDED_AFTER_START = timedelta(days=75)
CUT_SHORT_TO = timedelta(weeks=13)
CUT_SHORT_VALUE = 350_000  # pence: 13 of the 104 weeks of the 2,800,000 signed
COMPLETED_AFTER_END = timedelta(days=2)
AMENDMENT_REASON = (
    "The four day centres move into the new Armley community hub, cleaned under its own "
    "facilities contract: this contract ends 13 weeks after it started, when they move, and its "
    "value is cut to those 13 weeks."
)
COMPLETION_REASON = (
    "Delivered in full to the amended end: the four centres cleaned daily and deep cleaned "
    "before the move; the social-value commitments met."
)
LAST_REPORTS: list[Report] = [
    (CUT_SHORT_LOT, 2, 30, 61, (("local_jobs", 1), ("volunteering_hours", 56)),
     "A third cleaner hired locally; 56 hours in the centres' gardens before the move.", True),
]  # fmt: skip


def contract_of(lot_id: str) -> UUID:
    """The awarded tender's contract for this lot (one per lot: fixed by its ids)."""
    return contract_id_for(AWARDED_TENDER.id, lot_id)


async def seed_awards(
    registrar: Registrar,
    parts: OpeningParts,
    members: Members,
    buyers: Buyers,
    engine: AsyncEngine,
    settle: Settle,
) -> list[tuple[str, str]]:
    """Both tenders, from publication to where they stand; the report's lines."""
    for tender in AWARD_TENDERS:
        linked = NATIONAL_OCID if tender is AWARDED_TENDER else None
        await _seed_opened_tender(registrar, parts, members, buyers, tender, AWARD_BIDS, linked)
    now = registrar.clock.now().replace(second=0, microsecond=0)
    council_user = buyers[AWARDED_TENDER.buyer][1]
    awarded = await registrar.run(parts.marketplace.tender, AWARDED_TENDER.id)
    standstill = await registrar.run(parts.marketplace.tender, STANDSTILL_TENDER.id)
    deadline = awarded.terms.deadline

    scored = deadline + SCORED_AFTER
    await _evaluate(registrar, parts, members, council_user, awarded, "lot-1", scored, deadline)
    await _evaluate(registrar, parts, members, council_user, awarded, "lot-2", scored)
    scored = now - STANDSTILL_SCORED
    await _evaluate(registrar, parts, members, council_user, standstill, "lot-1", scored)
    for lot_id in ("lot-1", "lot-2"):
        await _award(registrar, parts, council_user, awarded, lot_id, deadline + AWARDED_AFTER)
    await _award(registrar, parts, council_user, standstill, "lot-1", now - STANDSTILL_AWARDED)
    # The summaries: queued by the award notice writer, then sent (written to data/mail).
    await settle()

    published = True
    for lot_id in ("lot-1", "lot-2"):
        at = deadline + NOTICE_AFTER
        published &= await _publish(registrar, parts, engine, council_user, awarded, lot_id, at)
    at = now - STANDSTILL_NOTICE
    published &= await _publish(registrar, parts, engine, council_user, standstill, "lot-1", at)
    if not published:
        return award_lines(awarded.ocid, notices_waiting=True)
    ends = (
        await registrar.run(parts.marketplace.lot_evaluation, standstill.id, "lot-1")
    ).standstill_ends
    if ends is None or ends <= now:
        raise RuntimeError("the demo's tender in standstill is out of its standstill already")

    for lot_id in ("lot-1", "lot-2"):
        await _contract(registrar, parts, council_user, awarded, lot_id, now)
    await _report_delivery(registrar, parts, members, buyers, now, REPORTS)
    await _cut_short(registrar, parts, council_user, now)
    await _report_delivery(registrar, parts, members, buyers, now, LAST_REPORTS)
    # The read side as the API will show it (the contracts), and any mail the last steps queued.
    await settle()
    return award_lines(awarded.ocid, standstill_ends=ends)


async def awarded_ocid(registrar: Registrar, marketplace: MarketplaceApp) -> str:
    """The awarded tender's ocid as drafted (by the prefix of the run that seeded it); by
    today's prefix if the demo never got as far as drafting it."""
    try:
        tender: Tender = await registrar.run(marketplace.tender, AWARDED_TENDER.id)
    except NotFound:
        return ocid_for(marketplace.policy.ocid_prefix, AWARDED_TENDER.id)
    return tender.ocid


def _as(user_id: UUID, at: datetime) -> Context:
    return Context(user_actor(user_id), "demo", at)


async def _evaluate(
    registrar: Registrar,
    parts: OpeningParts,
    members: Members,
    council_user: UUID,
    tender: Tender,
    lot_id: str,
    scored_at: datetime,
    low_price_after: datetime | None = None,
) -> None:
    """Every valid bid of the lot scored on each criterion with a justification; with
    `low_price_after` (the deadline), the abnormally low bid then queried, explained and
    excluded."""
    marketplace = parts.marketplace
    key = next(t.key for t in AWARD_TENDERS if t.id == tender.id)
    evaluation = await registrar.run(marketplace.lot_evaluation, tender.id, lot_id)
    bid_of = {bid.lead_id: bid.bid_id for bid in evaluation.bids.values()}
    for (tender_key, lot, n), given in SCORES.items():
        if (tender_key, lot) != (key, lot_id):
            continue
        scores = [
            Score(criterion, score, why)
            for criterion, (score, why) in zip(CRITERIA, given, strict=True)
        ]
        bid_id = bid_of[members[n][0]]
        await registrar.run(
            marketplace.score_bid, _as(council_user, scored_at), tender.id, lot_id, bid_id, scores
        )
    if low_price_after is None:
        return
    at = low_price_after
    low = bid_of[members[LOW_PRICED][0]]
    await registrar.run(
        marketplace.query_low_price, _as(council_user, at + QUERIED_AFTER), tender.id, lot_id, low
    )
    await registrar.run(
        marketplace.record_low_price_explanation,
        _as(council_user, at + EXPLAINED_AFTER),
        tender.id,
        lot_id,
        low,
        LOW_PRICE_EXPLANATION,
    )
    await registrar.run(
        marketplace.decide_low_price,
        _as(council_user, at + EXCLUDED_AFTER),
        tender.id,
        lot_id,
        low,
        False,
        LOW_PRICE_REASON,
    )


async def _award(
    registrar: Registrar,
    parts: OpeningParts,
    council_user: UUID,
    tender: Tender,
    lot_id: str,
    at: datetime,
) -> None:
    """Awarded to the best-ranked bid, every member's eligibility checked again (as the API's
    award does, from what membership and the mark say now)."""
    evaluation = await registrar.run(parts.marketplace.lot_evaluation, tender.id, lot_id)
    bidders = [member for bid in evaluation.bids.values() for member in bid.members]
    facts = await registrar.run(facts_of, parts.membership, parts.marks, bidders, at)
    await registrar.run(
        parts.marketplace.award_lot, _as(council_user, at), tender.id, lot_id, facts
    )


async def _publish(
    registrar: Registrar,
    parts: OpeningParts,
    engine: AsyncEngine,
    council_user: UUID,
    tender: Tender,
    lot_id: str,
    at: datetime,
) -> bool:
    """The award notice, if every summary has been sent (the outbox says, as for the API's
    publication); False, and nothing published, if not."""
    evaluation = await registrar.run(parts.marketplace.lot_evaluation, tender.id, lot_id)
    sent = await summaries_sent(engine, evaluation)
    if not sent(evaluation):
        return False
    await registrar.run(
        parts.marketplace.publish_award_notice,
        _as(council_user, at),
        tender.id,
        lot_id,
        sent,
    )
    return True


async def _contract(
    registrar: Registrar,
    parts: OpeningParts,
    council_user: UUID,
    tender: Tender,
    lot_id: str,
    now: datetime,
) -> None:
    """Signed the day after the standstill ended, at the winning price, for the tender's
    contract period."""
    evaluation = await registrar.run(parts.marketplace.lot_evaluation, tender.id, lot_id)
    assert evaluation.standstill_ends is not None
    assert evaluation.decision is not None
    assert evaluation.decision.winner is not None
    at = evaluation.standstill_ends + SIGNED_AFTER_STANDSTILL
    if at >= now:
        raise RuntimeError("the demo's awarded tender is still in its standstill")
    price = evaluation.bids[evaluation.decision.winner].price
    await registrar.run(
        parts.marketplace.sign_contract,
        _as(council_user, at),
        tender.id,
        lot_id,
        price,
        tender.terms.contract_period,
    )


async def _cut_short(
    registrar: Registrar, parts: OpeningParts, council_user: UUID, now: datetime
) -> None:
    """The cleaning contract amended to end early at a lower value, then completed."""
    marketplace = parts.marketplace
    contract = await registrar.run(marketplace.contract, contract_of(CUT_SHORT_LOT))
    start = contract.period.start
    amended_at = start + AMENDED_AFTER_START
    period = Period(start, start + CUT_SHORT_TO)
    completed_at = period.end + COMPLETED_AFTER_END
    if completed_at >= now:
        raise RuntimeError("the demo's cleaning contract would be completed after the demo ran")
    await registrar.run(
        marketplace.amend_contract,
        _as(council_user, amended_at),
        contract.id,
        Money(contract.value.currency, CUT_SHORT_VALUE),
        period,
        AMENDMENT_REASON,
    )
    await registrar.run(
        marketplace.complete_contract,
        _as(council_user, completed_at),
        contract.id,
        COMPLETION_REASON,
    )


async def _report_delivery(
    registrar: Registrar,
    parts: OpeningParts,
    members: Members,
    buyers: Buyers,
    now: datetime,
    reports: list[Report],
) -> None:
    """Winning leads' reports of what they delivered; the council confirms those so marked."""
    council_id, council_user = buyers[AWARDED_TENDER.buyer]
    marketplace = parts.marketplace
    for lot_id, number, after, days, delivered, note, confirmed in reports:
        contract = await registrar.run(marketplace.contract, contract_of(lot_id))
        start = contract.period.start + timedelta(days=after)
        period = Period(start, start + timedelta(days=days))
        reported_at = period.end + REPORTED_AFTER
        if reported_at + CONFIRMED_AFTER >= now:
            raise RuntimeError("the demo's delivery reports would be made after the demo ran")
        lead = next(b.lead for b in AWARD_BIDS if b.tender is AWARDED_TENDER and b.lot_id == lot_id)
        supplier_id, supplier_user, _ = members[lead]
        await registrar.run(
            marketplace.report_delivery,
            _as(supplier_user, reported_at),
            contract.id,
            report_id(lot_id, number),
            supplier_id,
            period,
            [Delivered(measure, quantity) for measure, quantity in delivered],
            note,
        )
        if confirmed:
            await registrar.run(
                marketplace.confirm_delivery,
                _as(council_user, reported_at + CONFIRMED_AFTER),
                contract.id,
                report_id(lot_id, number),
                council_id,
            )


def read_side_and_mail(services: Services, transport: Transport | None) -> Settle:
    """The demo's `settle`: the read side caught up (its followers queue the mail, the award
    notice writer the summaries among it), then the outbox sent by `transport` (None: the mail
    waits in the outbox, and so do the award notices)."""

    async def settle() -> None:
        readside = services.readside or await services.open_read_side_without_projector()
        await services.run(readside.projector.catch_up)
        if transport is None:
            return
        while await send_pending(services, transport):
            pass  # a batch at a time, until nothing is left to send

    return settle


# What the demo prints -------------------------------------------------------------------------


def award_tender_states() -> list[tuple[str, str, UUID, str]]:
    """(state, title, id, buyer name), as demo._tender_states gives the others'."""
    states = {
        AWARDED_TENDER.key: (
            f"complete, published {AWARDED_TENDER.ago.days} days before the demo ran: both lots "
            "evaluated, awarded and contracted; the cleaning contract amended and completed; "
            "linked to a national portal's notice"
        ),
        STANDSTILL_TENDER.key: (
            "complete, its deadline passed "
            f"{(STANDSTILL_TENDER.ago - STANDSTILL_TENDER.deadline).days} days before the demo "
            "ran: awarded, the award notice published the day before, in standstill"
        ),
    }
    return [(states[t.key], t.title, t.id, BUYERS[t.buyer].name) for t in AWARD_TENDERS]


def award_lines(
    ocid: str, standstill_ends: datetime | None = None, *, notices_waiting: bool = False
) -> list[tuple[str, str]]:
    """What to try with the evaluated tenders: (label, text) lines (`ocid`: the awarded
    tender's; `standstill_ends` known on the run that seeded them)."""
    council = f"{BUYERS[AWARDED_TENDER.buyer].email(AWARDED_TENDER.buyer)} / {BUYER_PASSWORD}"
    awarded, standstill = AWARDED_TENDER.id, STANDSTILL_TENDER.id
    lot_1 = f"/api/v1/tenders/{awarded}/lots/lot-1"
    until = f" until {standstill_ends:%Y-%m-%d %H:%M} UTC" if standstill_ends else ""
    shown = (
        "the tender so far"
        if notices_waiting
        else "the awards, the contracts, the cleaning contract's amendment and completion"
    )
    ocds = [
        (
            "try",
            "GET /api/v1/ocds/releases (every public tender event as OCDS release packages, "
            "oldest first; follow links.next)",
        ),
        (
            "try",
            f"GET /api/v1/ocds/records/{ocid} (the awarded tender's record, its releases compiled "
            f"and versioned: {shown}; the national portal's ocid {NATIONAL_OCID})",
        ),
    ]
    lines = [
        (
            "award",
            f"{awarded} lot-1: three valid bids scored with justifications; "
            f"{_member_name(LOW_PRICED)}'s price abnormally low (more than 30% under the others' "
            "mean): queried, explained, excluded with a reason; awarded to the consortium of "
            f"{_member_name(LUNCH_LEAD)} (lead, 60%) and {_member_name(LUNCH_PARTNER)} (40%); "
            f"award notice published, standstill over, contract {contract_of('lot-1')} signed; "
            "two delivery reports: one confirmed by the council, one waiting",
        ),
        (
            "award",
            f"{awarded} lot-2: two bids scored; awarded to {_member_name(CLEANER)}; contract "
            f"{contract_of('lot-2')} signed; a delivery report confirmed; amended (cut to "
            f"{CUT_SHORT_TO.days // 7} weeks: the day centres moved), then completed; its last "
            "report, made after the completion, confirmed",
        ),
        (
            "award",
            f"{standstill} lot-1: two bids scored; awarded to {_member_name(JOINER)}; award "
            f"notice published the day before the demo ran: in standstill{until} (8 working "
            "days, weekends and UK bank holidays excluded), so no contract yet",
        ),
        (
            "try",
            f"sign in as {council}, then GET {lot_1}/evaluation (the scores and justifications, "
            "the low-price procedure, the computed ranking, the decision)",
        ),
        (
            "try",
            f"sign in as {_member_email(LOW_PRICED)} / {MEMBER_PASSWORD}, then GET "
            f"{lot_1}/assessment-summary (its own scores, why it was excluded, the winner's "
            "scores; never another losing bid's)",
        ),
        (
            "try",
            f"GET /api/v1/tenders/{standstill}/lots/lot-1/award (the public award notice and "
            "when its standstill ends); the same for the awarded tender's lots",
        ),
        (
            "try",
            f"sign in as {_member_email(LUNCH_LEAD)} / {MEMBER_PASSWORD} or as {council}, then "
            f"GET /api/v1/contracts and GET /api/v1/contracts/{contract_of('lot-1')} (committed "
            "against delivered, the reports)",
        ),
        (
            "try",
            f"sign in as {council}, then POST /api/v1/contracts/{contract_of('lot-1')}"
            f"/delivery-reports/{report_id('lot-1', 2)}/confirmation (confirm the waiting report)",
        ),
        (
            "try",
            f"sign in as {council}, then score the bids of the opened tender {OPENED_TENDER.id}: "
            f"GET /api/v1/tenders/{OPENED_TENDER.id}/lots/lot-1/evaluation, then PUT its "
            "bids/{bid_id}/scores (left unscored for you)",
        ),
        *ocds,
        (
            "mail",
            "the assessment summaries and every other notice sent, as .eml files in the data "
            "directory's mail/ (TRADEHALL_MAIL_DIR)",
        ),
    ]
    if notices_waiting:
        # Stopped at the award: the lines from the notice on do not hold.
        waiting = (
            "note",
            "the evaluated tenders stopped at the award: no award notice is published and no "
            "contract signed, as the assessment summaries are not all sent (with neither "
            "TRADEHALL_SMTP_HOST nor TRADEHALL_MAIL_DIR set, mail waits in the outbox)",
        )
        return [waiting, *lines[3:5], *ocds]
    return lines


# Each lot's winning lead; the excluded bid's lead, by tender key and lot.
WINNERS = {
    ("awarded", "lot-1"): LUNCH_LEAD,
    ("awarded", "lot-2"): CLEANER,
    ("standstill", "lot-1"): JOINER,
}
EXCLUDED = {("awarded", "lot-1"): LOW_PRICED}


def _outcome(bid: DemoBid) -> str:
    lot = (bid.tender.key, bid.lot_id)
    if EXCLUDED.get(lot) == bid.lead:
        return "excluded (an abnormally low price, explained, not accepted)"
    if WINNERS[lot] != bid.lead:
        return "not successful"
    if bid.tender is STANDSTILL_TENDER:
        return "awarded, in standstill"
    if lot == (AWARDED_TENDER.key, CUT_SHORT_LOT):
        return "awarded, contracted, the contract cut short and completed"
    return "awarded, contracted"


def award_bids_of(n: int) -> list[str]:
    """Member n's bids in the evaluated tenders and their outcomes, as demo._bidder_logins
    describes its others."""
    held = []
    for bid in AWARD_BIDS:
        where = f"{bid.lot_id} of the {bid.tender.key} tender"
        if bid.lead == n:
            consortium = ", leading a consortium" if bid.partners else ""
            held.append(f"{where}{consortium}: {_outcome(bid)}")
        for partner, percent, _ in bid.partners:
            if partner == n:
                lead = _member_name(bid.lead)
                held.append(f"{where}, {percent}% partner of {lead} (accepted): {_outcome(bid)}")
    return held
