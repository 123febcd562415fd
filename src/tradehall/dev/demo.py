"""`tradehall demo`: a believable association to try the service with.

Dozens of social enterprises across the UK's ITL regions and CPV divisions, some admitted, some
waiting, some rejected or withdrawn; five buyers (verified and not); a dozen service listings;
the verified councils' tenders in every state (with interest, a question answered and an
amendment); sealed bids on the active tender (drafts, submissions, one from a consortium) and a
tender whose deadline has passed, its bids opened by the opening clock; a staff user.
Deterministic (seeded random; fixed tender ids), and idempotent: a second run finds the demo
staff user and adds nothing.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.application import BuyerFacts, MarketplaceApp
from marketplace.bids.application import BidsApp
from marketplace.bids.content import Share, parse_commitment, parse_consortium, parse_content
from marketplace.listings import ListingDetails
from marketplace.tender_terms import (
    CriterionInput,
    LotInput,
    TenderTerms,
    parse_evaluation,
    parse_terms,
)
from membership.contacts import ContactPoint, check_contact_points
from membership.details import Profile
from membership.dues import DUES_CURRENCY
from membership.marks.application import MarksApp, MembershipStanding
from membership.marks.assessment import EvidenceFile
from membership.marks.criteria import Declarations, Finding, criteria_in_force
from membership.marks.mark import mark_id_for
from membership.standing import MembershipStatus, grace_ends
from sharedkernel.events import CLOCK, Context, user_actor
from sharedkernel.money import Money
from tradehall.clock import ManualClock
from tradehall.dev.demo_alerts import alert_lines, seed_alerts
from tradehall.dev.demo_impact import impact_lines, seed_impact
from tradehall.dev.demo_outside import outside_lines, seed_outside
from tradehall.dev.demo_quotes import (
    ACCEPTED,
    quote_lines,
    seed_closed_requests,
    seed_open_requests,
)
from tradehall.identity.users import Role, insert_user
from tradehall.marketplace.bids.notices import invitations, receipts
from tradehall.marketplace.bids.opening import OpeningParts, open_due_bids
from tradehall.marketplace.bids.suppliers import facts_of, supplier_facts
from tradehall.marketplace.sealing.keys import SealingKeys
from tradehall.membership.contacts import replace_contact_points
from tradehall.membership.evidence import DirectoryFileStore
from tradehall.membership.registration import NewOrganisation, Registrar, register_organisation

STAFF_EMAIL = "staff@demo.tradehall.example"
STAFF_PASSWORD = "demo-staff-password"  # noqa: S105 (demo data, printed for the person trying it)
MEMBER_PASSWORD = "demo-member-password"  # noqa: S105
ORGANISATIONS = 48
# Declared annual turnovers, in pence: from a £40k micro enterprise to a £12m one.
TURNOVERS = [4_000_000, 25_000_000, 80_000_000, 350_000_000, 1_200_000_000, 9_000_000]

# What the enterprises do, with the CPV code of what they supply.
TRADES = [
    ("Bakery", "15810000-9", "Bread, cakes and catering trays"),
    ("Catering Co-operative", "55520000-1", "Event and workplace catering"),
    ("Cleaning CIC", "90910000-9", "Office and school cleaning"),
    ("Grounds Team", "77314000-4", "Parks and grounds maintenance"),
    ("Green Spaces", "77310000-6", "Planting and green-space care"),
    ("Furniture Reuse", "39100000-3", "Refurbished office furniture"),
    ("Print Works", "79800000-2", "Printing and finishing"),
    ("Digital", "72000000-5", "Websites, software and IT support"),
    ("Skills Academy", "80500000-9", "Training and apprenticeships"),
    ("Builders", "45000000-7", "Building repairs and retrofit"),
    ("Joinery", "45420000-7", "Joinery and carpentry"),
    ("Recycling", "90514000-3", "Collection and recycling of waste"),
    ("Community Transport", "60100000-9", "Accessible road transport"),
    ("Care Co-operative", "85300000-2", "Home care and support"),
    ("Events", "79952000-2", "Community events"),
    ("Marketing Collective", "79340000-9", "Design and marketing"),
]
PLACES = [
    ("Tees Valley", "TLC3"), ("Tyneside", "TLC4"), ("Cumbria", "TLD1"),
    ("Manchester", "TLD3"), ("Lancashire", "TLD4"), ("Merseyside", "TLD7"),
    ("Hull", "TLE1"), ("Sheffield", "TLE3"), ("Leeds", "TLE4"), ("Derby", "TLF1"),
    ("Leicester", "TLF2"), ("Birmingham", "TLG3"), ("Norfolk", "TLH5"), ("Hackney", "TLI4"),
    ("Croydon", "TLI6"), ("Oxford", "TLJ1"), ("Brighton", "TLJ2"), ("Kent", "TLJ4"),
    ("Cornwall", "TLK3"), ("Bristol", "TLK5"), ("Cardiff", "TLL5"), ("Glasgow", "TLM3"),
    ("Edinburgh", "TLM1"), ("Belfast", "TLN0"),
]  # fmt: skip
FORMS = [
    ("CIC", "cic", "GB-COH"),
    ("Co-operative", "co_operative_society", "GB-MPR"),
    ("Community Benefit Society", "community_benefit_society", "GB-MPR"),
    ("Trust", "charitable_incorporated_organisation", "GB-CHC"),
    ("Ltd", "company_limited_by_guarantee", "GB-COH"),
]
BUYER_PASSWORD = MEMBER_PASSWORD


@dataclass(frozen=True)
class DemoBuyer:
    name: str
    kind: str
    legal_form: str
    registry_scheme: str
    registry_id: str
    region: str
    # What staff checked when they verified it; None: not verified (awaiting, or a business,
    # which is never verified: only a public body is).
    evidence: str | None
    state: str

    def email(self, n: int) -> str:
        return f"buyer{n + 1}@demo.tradehall.example"


BUYERS = [
    DemoBuyer(
        "Leeds City Council", "public_body", "other", "GB-LAE", "DEMO1", "TLE4",
        "Listed in the register of local authorities in England; procurement officer's "
        "council e-mail confirmed.",
        "public body, verified",
    ),
    DemoBuyer(
        "Bristol City Council", "public_body", "other", "GB-LAE", "DEMO2", "TLK5",
        "Listed in the register of local authorities in England; head of procurement "
        "confirmed by telephone.",
        "public body, verified",
    ),
    DemoBuyer(
        "Tyneside Homes Housing Association", "public_body", "community_benefit_society",
        "GB-MPR", "7421R", "TLC4",
        "Registered provider of social housing (Regulator of Social Housing); society "
        "number checked on the FCA Mutuals Public Register.",
        "housing association registered as a public body, verified",
    ),
    DemoBuyer(
        "Northgate Facilities Ltd", "business", "company_limited_by_shares", "GB-COH",
        "09876543", "TLD3", None,
        "business (not verifiable: only a public body is verified)",
    ),
    DemoBuyer(
        "NHS Bristol Integrated Care Board", "public_body", "other", "GB-GOR", "DEMO3",
        "TLK5", None,
        "public body awaiting verification by staff",
    ),
]  # fmt: skip

# Service listings of paid-up members in good standing (the member demo lapses, 2, has none):
# (member n, title, description, CPV codes, ITL regions, price basis, capacity in pence).
LISTINGS = [
    (0, "Sandwich platters for meetings and events",
     "Freshly baked bread and sandwich platters, delivered by 9am; vegan and gluten-free trays.",
     ["15810000-9", "55520000-1"], ["TLC3", "TLC4"], "fixed", 2_500_000),
    (1, "Workplace canteen catering",
     "Run a staff canteen five days a week, with trainees from our kitchen academy.",
     ["55520000-1"], ["TLE3", "TLE4"], "on_quotation", 25_000_000),
    (3, "Grounds maintenance for housing estates",
     "Grass cutting, hedges and litter picks on estates, by a crew recruited locally.",
     ["77314000-4"], ["TLM3"], "day_rate", 12_000_000),
    (8, "Construction apprenticeship training",
     "Level 2 and 3 apprenticeships in bricklaying and carpentry, on your sites or ours.",
     ["80500000-9"], ["TLE4", "TLE"], "fixed", 6_000_000),
    (9, "Retrofit insulation for social housing",
     "Loft, cavity and external wall insulation to PAS 2035, with a retrofit coordinator.",
     ["45000000-7"], ["TLJ1", "TLJ"], "on_quotation", 200_000_000),
    (10, "Bespoke joinery and fitted furniture",
     "Doors, shelving and fitted furniture for schools, libraries and offices.",
     ["45420000-7", "39100000-3"], ["TLM1"], "day_rate", 8_000_000),
    (11, "Office waste and recycling collection",
     "Weekly collection of mixed recycling, paper and food waste, with a yearly report.",
     ["90514000-3"], ["TLD7", "TLD"], "fixed", 4_500_000),
    (17, "Community event catering",
     "Catering and event running for consultations, fun days and conferences.",
     ["55520000-1", "79952000-2"], ["TLN0"], "on_quotation", 3_000_000),
    (18, "School and office cleaning",
     "Daily cleaning of schools and offices by a team who are paid the real living wage.",
     ["90910000-9"], ["TLE1"], "fixed", 15_000_000),
    (19, "Parks and green-space maintenance",
     "Planting, pruning and upkeep of parks, with volunteer days for local residents.",
     ["77314000-4", "77310000-6"], ["TLI4", "TLI"], "day_rate", 9_000_000),
    (24, "Digital skills courses for adults",
     "Short courses in everyday digital skills, in libraries and community centres.",
     ["80500000-9"], ["TLC3"], "day_rate", 2_000_000),
    (42, "Kitchen and door replacement for housing stock",
     "Replacement kitchens and internal doors in occupied homes, with a resident liaison.",
     ["45420000-7"], ["TLE1", "TLE4"], "on_quotation", 50_000_000),
]  # fmt: skip
WITHDRAWN_LISTING = 10  # the 11th listing: published, then withdrawn by its member
# The member everyone signs in as keeps a website and two contact points (fictional people).
WEBSITE = "https://tees-valley-bakery.example.org/"
CONTACT_POINTS = [
    ("Tenders", "Jo Example", "tenders@tees-valley-bakery.example.org", "01642 496000"),
    ("Accounts", "Sam Example", "accounts@tees-valley-bakery.example.org", None),
]
# A CPV code three shown listings name (event and workplace catering), to try the filter.
TRY_CPV = "55520000-1"
PURPOSES = [
    "Jobs and training for people furthest from work",
    "Profits fund local youth work",
    "Employment for people with learning disabilities",
    "Keeping furniture and food out of landfill",
    "Affordable services owned by the people who use them",
]


# Tenders of the two verified councils (BUYERS[0] and [1]), one in each state. Their ids are
# fixed (the demo runs once per store), so a second run names them too.
_TENDER_IDS = uuid5(NAMESPACE_URL, "https://demo.tradehall.example/tenders")
TENDER_BUYERS = (0, 1)  # Leeds City Council, Bristol City Council: verified public bodies
# The active two-lot tender's CPV code (canteen catering), to try the board's filter; members
# 0 (the bakery everyone signs in as) and 1 (a catering co-operative) register interest in it,
# and member 1 asks a question the council answers before it extends the deadline.
TRY_TENDER_CPV = "55520000-1"
INTERESTED = (0, 1)
ASKER = 1


@dataclass(frozen=True)
class DemoTender:
    key: str  # its state in the demo, and what its fixed id is made from
    buyer: int  # in BUYERS
    title: str
    description: str
    category: str
    # (title, description, CPV codes, estimated value in pence)
    lots: tuple[tuple[str, str, tuple[str, ...], int], ...]
    regions: tuple[str, ...]
    deadline: timedelta  # from now
    social_value: int = 10  # percent
    opens: timedelta = timedelta(0)  # from now: when its enquiry and tender periods start
    # How long before the demo runs it was drafted and published (its "now"): a tender whose
    # deadline has passed is published in the past, as one already past cannot be published.
    ago: timedelta = timedelta(0)

    @property
    def id(self) -> UUID:
        return uuid5(_TENDER_IDS, self.key)


TENDERS = [
    DemoTender(
        "draft", 0, "Digital skills courses in Leeds libraries",
        "Short courses in everyday digital skills for adults, in eight community libraries.",
        "services",
        (("Digital skills courses", "Forty courses a year, with devices to borrow.",
          ("80500000-9",), 6_000_000),),
        ("TLE4",), timedelta(days=42), social_value=15,
    ),
    DemoTender(
        "planned", 1, "Retrofit insulation of council homes",
        "Loft, cavity and external wall insulation of 300 council homes, to PAS 2035.",
        "works",
        (("Insulation works", "Surveys, installation and a retrofit coordinator.",
          ("45000000-7",), 150_000_000),),
        ("TLK5",), timedelta(days=75), social_value=20, opens=timedelta(days=21),
    ),
    DemoTender(
        "active", 0, "Catering for Leeds civic buildings",
        "Staff canteen catering at the Civic Hall, and sandwich platters for meetings and "
        "events across the council's buildings.",
        "services",
        (("Staff canteen, Civic Hall", "Breakfast and lunch five days a week, about 400 staff.",
          ("55520000-1",), 18_000_000),
         ("Meeting and event platters", "Sandwich, bread and cake platters, delivered by 9am.",
          ("15810000-9", "55520000-1"), 4_000_000)),
        ("TLE4", "TLE"), timedelta(days=28),
    ),
    DemoTender(
        "active, second", 1, "Parks and green-space maintenance",
        "Grass cutting, planting and upkeep of twelve parks, with volunteer days for residents.",
        "services",
        (("Parks maintenance", "Twelve parks in south Bristol.",
          ("77314000-4", "77310000-6"), 24_000_000),),
        ("TLK5",), timedelta(days=35), social_value=15,
    ),
    DemoTender(
        "cancelled", 1, "Office cleaning at City Hall",
        "Daily cleaning of City Hall's offices and meeting rooms.",
        "services",
        (("Office cleaning", "Daily cleaning, with a deep clean each quarter.",
          ("90910000-9",), 9_000_000),),
        ("TLK5",), timedelta(days=30),
    ),
    DemoTender(
        "withdrawn", 0, "Refurbished furniture for the office move",
        "Refurbished desks, chairs and storage for 600 staff moving offices.",
        "goods",
        (("Refurbished office furniture", "Delivered and installed over six weekends.",
          ("39100000-3",), 7_500_000),),
        ("TLE4",), timedelta(days=60), opens=timedelta(days=14),
    ),
    DemoTender(
        "unsuccessful", 0, "Accessible transport to day centres",
        "Wheelchair-accessible minibuses taking people to four day centres, five days a week.",
        "services",
        (("Accessible transport", "Door-to-door journeys with trained passenger assistants.",
          ("60100000-9",), 12_000_000),),
        ("TLE4",), timedelta(hours=2),
    ),
    DemoTender(
        "active, opened", 0, "Cleaning and minor repairs of Leeds community hubs",
        "Daily cleaning of six community hubs, and minor repairs and joinery called off as "
        "needed.",
        "services",
        (("Cleaning of community hubs", "Daily cleaning, with a deep clean each school term.",
          ("90910000-9",), 6_000_000),
         ("Minor repairs and joinery", "Doors, shelving and small repairs, within two days.",
          ("45420000-7",), 3_000_000)),
        ("TLE",), timedelta(days=28), ago=timedelta(days=40),
    ),
]  # fmt: skip
ACTIVE_TENDER = next(t for t in TENDERS if t.key == "active")
# Published 40 days before the demo runs, its deadline 12 days before: its bids were opened by
# the opening clock (run by the demo at the deadline plus the opening margin).
OPENED_TENDER = next(t for t in TENDERS if t.key == "active, opened")
AMENDED_DEADLINE = timedelta(days=42)  # the active tender's deadline, after its amendment
AMENDMENT_RATIONALE = (
    "Suppliers asked for time to visit the Civic Hall kitchen; the deadline moves two weeks later."
)
QUESTION = "Is the Civic Hall kitchen equipment provided, or does the caterer bring its own?"
ANSWER = "The kitchen is fully equipped and maintained by the council; the caterer brings none."
QUESTION_ID = uuid5(_TENDER_IDS, "question")
CANCEL_REASON = "City Hall closes for refurbishment; cleaning will be tendered with the reopening."
WITHDRAW_REASON = "The office move is postponed to next year."
UNSUCCESSFUL_REASON = "No bids were received by the deadline."
# The unsuccessful tender closes this long after its deadline (which is soon after the demo
# runs: a deadline already past cannot be published), by a command at that future time.
CLOSED_AFTER = timedelta(days=1)
# How long ago the demo's organisations registered and were admitted: before every opening the
# demo seeds in the past whose bidders or quoters must have stood as members at its deadline.
JOINED_AGO = timedelta(days=30)


@dataclass(frozen=True)
class DemoBid:
    """A sealed bid (issue 12) by members in good standing who serve the tender's region (TLE)."""

    tender: DemoTender
    lot_id: str
    lead: int  # the member (n) leading it
    price_minor: int | None  # pence; None: not written yet
    submitted: bool  # else a draft, answering the first quality criterion only
    # (member n, percent, accepted) of each consortium partner; the lead has the rest.
    partners: tuple[tuple[int, int, bool], ...] = ()
    commitments: tuple[tuple[str, int], ...] = ()  # (social-value measure, quantity)


BID_ANSWERS = {
    "Delivery plan": (
        "A named manager from day one, a four-week mobilisation plan, and a monthly review "
        "with the council's contract officer."
    ),
    "Staffing and training": (
        "Everyone paid the real living wage; trainees from our own programmes, each with a "
        "mentor, and a route into a permanent job."
    ),
}
# Sheffield Catering Co-operative, Leeds Skills Academy, Hull Cleaning CIC, Sheffield Builders,
# Leeds Bakery, Hull Joinery: paid-up members in Yorkshire and the Humber (TLE).
CONSORTIUM_LEAD, CONSORTIUM_PARTNER = 1, 8
BIDS = [
    # The active catering tender, bids sealed until its opening: two submitted, two drafts.
    DemoBid(ACTIVE_TENDER, "lot-1", CONSORTIUM_LEAD, 16_800_000, True,
            partners=((CONSORTIUM_PARTNER, 30, True),),
            commitments=(("apprenticeships", 6), ("local_jobs", 10))),
    DemoBid(ACTIVE_TENDER, "lot-2", 32, 3_650_000, True,
            commitments=(("local_social_enterprise_spend", 40_000_00),)),
    DemoBid(ACTIVE_TENDER, "lot-1", 32, None, False),
    DemoBid(ACTIVE_TENDER, "lot-2", CONSORTIUM_LEAD, 3_900_000, False),
    # The opened tender: two valid, one invalid (its partner never accepted), a draft never
    # submitted (closed unopened, seen by its bidder alone).
    DemoBid(OPENED_TENDER, "lot-1", 18, 5_400_000, True,
            commitments=(("local_jobs", 4), ("volunteering_hours", 120))),
    DemoBid(OPENED_TENDER, "lot-2", 42, 2_750_000, True, commitments=(("apprenticeships", 2),)),
    DemoBid(OPENED_TENDER, "lot-2", 25, 2_600_000, True, partners=((8, 20, False),)),
    DemoBid(OPENED_TENDER, "lot-1", 8, 5_100_000, False),
]  # fmt: skip
OPENED_BIDS_AFTER = timedelta(days=10)  # after the opened tender's publication, bids came in
# A national portal's ocid is linked this long after publication (before any bid came in).
NATIONAL_OCID_AFTER = timedelta(days=1)
# Catches the read side up and sends the outbox (the CLI's: demo_awards.read_side_and_mail).
Settle = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class DemoReport:
    created: bool
    organisations: int
    staff_email: str
    staff_password: str
    member_email: str
    member_password: str
    # (state, organisation name, certificate number or application id) of each demo mark.
    marks: list[tuple[str, str, str]] = field(default_factory=list)
    # (organisation name, sign-in e-mail, what it is) of each demo buyer.
    buyers: list[tuple[str, str, str]] = field(default_factory=list)
    buyer_password: str = BUYER_PASSWORD
    listings: int = 0
    try_cpv: str = TRY_CPV
    # (state, tender title, tender id, buyer name) of each demo tender.
    tenders: list[tuple[str, str, UUID, str]] = field(default_factory=list)
    try_tender_cpv: str = TRY_TENDER_CPV
    active_tender: UUID = ACTIVE_TENDER.id
    # (sign-in e-mail, organisation id: None on a run that found the demo present) of the
    # council whose tenders include the draft.
    tender_buyer: tuple[str, UUID | None] = (BUYERS[0].email(0), None)
    # (sign-in e-mail, organisation name, organisation id or None, its bids) of each bidder.
    bidders: list[tuple[str, str, UUID | None, str]] = field(default_factory=list)
    opened_tender: UUID = OPENED_TENDER.id
    # (label, text) lines of the tenders evaluated, awarded and contracted (demo_awards).
    awards: list[tuple[str, str]] = field(default_factory=list)


def _tender_states() -> list[tuple[str, str, UUID, str]]:
    states = {
        "draft": "draft (private to its buyer: not on the board)",
        "unsuccessful": (
            "unsuccessful (its deadline is soon after the demo ran, as one already past cannot be "
            f"published; closed by a command dated {CLOSED_AFTER.days} day after it: demo data "
            "runs ahead of time)"
        ),
        "active": (
            "active (two lots; two members interested; a question answered; amended; sealed "
            "bids: two submitted, one from a consortium, and two drafts)"
        ),
        "active, second": "active",
        "withdrawn": "withdrawn (planned, then withdrawn)",
        "active, opened": (
            f"active, its deadline passed {(OPENED_TENDER.ago - OPENED_TENDER.deadline).days} "
            "days before the demo ran (published then: a deadline already past cannot be "
            "published); its bids opened by the clock: two valid, one invalid (a consortium "
            "partner never accepted)"
        ),
    }
    return [(states.get(t.key, t.key), t.title, t.id, BUYERS[t.buyer].name) for t in TENDERS]


def _buyer_logins() -> list[tuple[str, str, str]]:
    return [(buyer.name, buyer.email(n), buyer.state) for n, buyer in enumerate(BUYERS)]


def _member_name(n: int) -> str:
    trade = TRADES[n % len(TRADES)][0]
    place = PLACES[(n * 7) % len(PLACES)][0]
    return f"{place} {trade} {FORMS[n % len(FORMS)][0]}"


def _member_email(n: int) -> str:
    return (
        "member@demo.tradehall.example" if n == 0 else f"enterprise{n:02d}@demo.tradehall.example"
    )


def _bid_state(bid: DemoBid) -> str:
    if bid.tender is not OPENED_TENDER:
        return "submitted" if bid.submitted else "draft"
    if not bid.submitted:
        return "closed unopened (never submitted)"
    if all(accepted for _, _, accepted in bid.partners):
        return "opened"
    return "invalid at opening (a partner never accepted)"


def _bidder_logins(
    members: dict[int, tuple[UUID, UUID, str]] | None = None,
    also: Callable[[int], list[str]] = lambda n: [],
) -> list[tuple[str, str, UUID | None, str]]:
    """Each bidder's sign-in and what it sees at GET /api/v1/bids (organisation ids on the
    run that seeded them); `also`: its bids in the evaluated tenders (demo_awards)."""
    bidders = sorted({bid.lead for bid in BIDS} | {p for bid in BIDS for p, _, _ in bid.partners})
    found = []
    for n in bidders:
        held = []
        for bid in BIDS:
            tender = "active" if bid.tender is ACTIVE_TENDER else "opened"
            where = f"{bid.lot_id} of the {tender} tender"
            if bid.lead == n:
                consortium = ", leading a consortium" if bid.partners else ""
                held.append(f"{where}{consortium}: {_bid_state(bid)}")
            for partner, percent, accepted in bid.partners:
                if partner == n:
                    answer = "accepted" if accepted else "never accepted"
                    held.append(
                        f"{where}, {percent}% partner of {_member_name(bid.lead)} ({answer}): "
                        f"{_bid_state(bid)}"
                    )
        held += also(n)
        organisation_id = members[n][0] if members is not None else None
        found.append((_member_email(n), _member_name(n), organisation_id, "; ".join(held)))
    return found


def _registry_id(scheme: str, rng: random.Random) -> str:
    if scheme == "GB-MPR":
        return f"{rng.randrange(10_000, 99_999)}R"
    if scheme == "GB-CHC":
        return str(rng.randrange(1_100_000, 1_199_999))
    return str(rng.randrange(10_000_000, 16_000_000))


async def seed_demo(
    registrar: Registrar,
    engine: AsyncEngine,
    marks: MarksApp,
    marketplace: MarketplaceApp,
    evidence: DirectoryFileStore,
    bids: BidsApp,
    sealing: SealingKeys,
    opening_margin: timedelta,
    settle: Settle,
) -> DemoReport:
    """Seed through the registrar (users, passwords, clock, the membership Application), the
    database (the staff user's row, contact points), the quality mark Application, the
    marketplace Application (buyer verifications, listings, tenders), the evidence files, and
    the bids' Application with the sealing keys (each published tender's key, made at its
    publication as the API makes it) and the opening clock's margin; `settle` catches the read
    side up and sends the outbox (the award notices wait for the summaries to be sent)."""
    # Here, not at the top: demo_awards builds on this module's tenders and bids.
    from tradehall.dev.demo_awards import (
        LUNCH_LEAD,
        award_bids_of,
        award_lines,
        award_tender_states,
        awarded_ocid,
        seed_awards,
    )

    member_email = _member_email(0)
    if await registrar.users.email_taken(STAFF_EMAIL):
        return DemoReport(
            False,
            0,
            STAFF_EMAIL,
            STAFF_PASSWORD,
            member_email,
            MEMBER_PASSWORD,
            buyers=_buyer_logins(),
            listings=len(LISTINGS),
            tenders=_tender_states() + award_tender_states(),
            bidders=_bidder_logins(also=award_bids_of),
            awards=award_lines(await awarded_ocid(registrar, marketplace))
            + outside_lines()
            + alert_lines(member_email, MEMBER_PASSWORD)
            + impact_lines(_member_name(LUNCH_LEAD), None)
            + quote_lines(_member_name(ACCEPTED.quotes[0].member), BUYERS[3].email(3)),
        )
    rng = random.Random(2026)  # noqa: S311 (made-up registry numbers, not secrets)
    staff_id = uuid.uuid4()
    staff_hash = await registrar.run(registrar.passwords.hash, STAFF_PASSWORD)
    staff_row = insert_user(
        user_id=staff_id,
        email=STAFF_EMAIL,
        password_hash=staff_hash,
        organisation_id=None,
        roles=frozenset({Role.STAFF}),
        now=registrar.clock.now(),
    )
    async with engine.begin() as connection:
        await connection.execute(staff_row)
    staff = Context(user_actor(staff_id), "demo", registrar.clock.now())
    member_hash = await registrar.run(registrar.passwords.hash, MEMBER_PASSWORD)
    # Organisations join `JOINED_AGO` back, so the openings seeded in the past judge members who
    # stood as members then (the opening judges standing as it stood at the deadline).
    joined_at = registrar.clock.now() - JOINED_AGO
    joining = replace(registrar, clock=ManualClock(joined_at))
    staff_then = replace(staff, at=joined_at)
    created = 0
    members: dict[int, tuple[UUID, UUID, str]] = {}  # n: (organisation, first user, name)
    for n in range(ORGANISATIONS):
        _, cpv, offer = TRADES[n % len(TRADES)]
        _, region = PLACES[(n * 7) % len(PLACES)]
        _, legal_form, scheme = FORMS[n % len(FORMS)]
        extra_cpv = TRADES[(n + 5) % len(TRADES)][1]
        registration = await register_organisation(
            joining,
            NewOrganisation(
                name=_member_name(n),
                kind="social_enterprise",
                legal_form=legal_form,
                registry_scheme=scheme,
                registry_id=_registry_id(scheme, rng),
                social_purpose=f"{offer}. {PURPOSES[n % len(PURPOSES)]}.",
                regions=[region] if n % 4 else [region, region[:3]],
                cpv_codes=[cpv] if n % 3 else [cpv, extra_cpv],
                email=_member_email(n),
                password=MEMBER_PASSWORD,
                password_hash=member_hash,
            ),
            "demo",
        )
        created += 1
        organisation_id = registration.organisation_id
        members[n] = (organisation_id, registration.user_id, _member_name(n))
        member = Context(user_actor(registration.user_id), "demo", joined_at)
        fate = n % 8
        if fate == 7:
            continue  # registered, never applied
        turnover = Money(DUES_CURRENCY, TURNOVERS[n % len(TURNOVERS)])
        await registrar.run(
            registrar.membership.apply_for_membership, member, organisation_id, turnover
        )
        if fate in (0, 1, 2, 3, 4):
            await registrar.run(registrar.membership.admit, staff_then, organisation_id)
            if fate != 4:  # fate 4: admitted, first payment still awaited
                due = (
                    await registrar.run(registrar.membership.get_organisation, organisation_id)
                ).tier
                assert due is not None
                await registrar.run(
                    registrar.membership.record_payment,
                    staff_then,
                    organisation_id,
                    due.annual_due,
                    "bank_transfer",
                    f"BACS DEMO{n:03d}",
                )
        elif fate == 5:
            await registrar.run(
                registrar.membership.reject,
                staff_then,
                organisation_id,
                "The articles have no asset lock; please re-apply once they do.",
            )
        # fate 6: still waiting in the staff queue
    buyers: dict[int, tuple[UUID, UUID]] = {}  # n: (organisation, first user)
    for n, buyer in enumerate(BUYERS):
        registration = await register_organisation(
            joining,
            NewOrganisation(
                name=buyer.name,
                kind=buyer.kind,
                legal_form=buyer.legal_form,
                registry_scheme=buyer.registry_scheme,
                registry_id=buyer.registry_id,
                social_purpose="",
                regions=[buyer.region],
                cpv_codes=[],
                email=buyer.email(n),
                password=BUYER_PASSWORD,
                password_hash=member_hash,
            ),
            "demo",
        )
        created += 1
        buyers[n] = (registration.organisation_id, registration.user_id)
        if buyer.evidence is not None:
            await registrar.run(
                marketplace.verify_buyer,
                staff,
                registration.organisation_id,
                buyer.kind,
                buyer.evidence,
            )
    demo_marks = await _seed_marks(registrar, marks, evidence, staff_id, members)
    # After the marks: the member they lapse is out of good standing, and lists nothing.
    await _seed_listings(registrar, marketplace, members)
    await _seed_profile(registrar, engine, members[0])
    opening = OpeningParts(
        bids=bids,
        marketplace=marketplace,
        membership=registrar.membership,
        marks=marks,
        keys=sealing,
        clock=registrar.clock,
        margin=opening_margin,
    )
    # The past first: its opening clock must find no other tender's key yet.
    await _seed_opened_tender(registrar, opening, members, buyers)
    # Then the evaluated and awarded ones, still before any key of a tender to discard.
    awards = await seed_awards(registrar, opening, members, buyers, engine, settle)
    # Their opening tick, too, must find no other key unsettled: before the tenders ahead.
    await seed_closed_requests(registrar, opening, members, buyers)
    await seed_alerts(registrar, marketplace, members[0])  # dated before what follows
    at = registrar.clock.now()
    await registrar.run(seed_impact, marketplace, Context(user_actor(staff_id), "demo", at))
    await seed_outside(registrar, marketplace)
    await _seed_tenders(registrar, marketplace, sealing, members, buyers)
    await _seed_bids(registrar, opening, members, ACTIVE_TENDER, registrar.clock.now())
    await seed_open_requests(registrar, opening, members, buyers)
    return DemoReport(
        True,
        created,
        STAFF_EMAIL,
        STAFF_PASSWORD,
        member_email,
        MEMBER_PASSWORD,
        demo_marks,
        buyers=_buyer_logins(),
        listings=len(LISTINGS),
        tenders=_tender_states() + award_tender_states(),
        tender_buyer=(BUYERS[0].email(0), buyers[0][0]),
        bidders=_bidder_logins(members, award_bids_of),
        awards=awards
        + outside_lines()
        + alert_lines(member_email, MEMBER_PASSWORD)
        + impact_lines(_member_name(LUNCH_LEAD), members[LUNCH_LEAD][0])
        + quote_lines(_member_name(ACCEPTED.quotes[0].member), BUYERS[3].email(3)),
    )


def _tender_terms(tender: DemoTender, now: datetime, deadline: timedelta) -> TenderTerms:
    """Its terms with this deadline; the enquiry period (open now, unless planned ahead) and the
    contract follow the first deadline, so an extension changes the tender period alone."""
    first = now + tender.deadline
    opens = now + tender.opens
    quality = [
        CriterionInput("Delivery plan", 20, 5),
        CriterionInput("Staffing and training", 10, 5),
    ]
    evaluation = parse_evaluation(
        CriterionInput("Price", 70 - tender.social_value, 10),
        quality,
        CriterionInput("Social value", tender.social_value, 10),
        "highest_quality",
        30,
    )
    contract_start = first + timedelta(days=60)
    return parse_terms(
        title=tender.title,
        description=tender.description,
        method="open",
        category=tender.category,
        lots=[
            LotInput(title, description, list(cpv_codes), value)
            for title, description, cpv_codes, value in tender.lots
        ],
        enquiry_period=(opens, first - (first - opens) / 4),
        tender_period=(opens, now + deadline),
        contract_period=(contract_start, contract_start + timedelta(days=730)),
        members_only=False,
        quality_mark_required=False,
        regions=list(tender.regions),
        evaluation=evaluation,
    )


async def _seed_tenders(
    registrar: Registrar,
    marketplace: MarketplaceApp,
    sealing: SealingKeys,
    members: dict[int, tuple[UUID, UUID, str]],
    buyers: dict[int, tuple[UUID, UUID]],
) -> None:
    """The verified councils' tenders, one in each state, by their first users. The active
    tender gets two members' interest, a question answered, and an amendment extending its
    deadline; the unsuccessful one closes by a command dated after its near deadline. Each
    published one gets its sealing key first, as the API's publication does: the opening clock
    finds the tenders to open, or whose bids to discard, from those keys (each at its deadline
    plus the margin, an ended one too)."""
    now = registrar.clock.now().replace(second=0, microsecond=0)
    public_body = BuyerFacts("public_body")
    for tender in TENDERS:
        if tender is OPENED_TENDER:
            continue  # seeded first, with its bids (_seed_opened_tender)
        organisation_id, user_id = buyers[tender.buyer]
        council = Context(user_actor(user_id), "demo", registrar.clock.now())
        terms = _tender_terms(tender, now, tender.deadline)
        await registrar.run(marketplace.draft_tender, council, tender.id, organisation_id, terms)
        if tender.key == "draft":
            continue
        planned = tender.key in ("planned", "withdrawn")
        await registrar.run(sealing.ensure_tender_key, tender.id, council.at)
        await registrar.run(marketplace.publish_tender, council, tender.id, public_body, planned)
        if tender.key == "cancelled":
            await registrar.run(marketplace.cancel_tender, council, tender.id, CANCEL_REASON)
        elif tender.key == "withdrawn":
            await registrar.run(marketplace.withdraw_tender, council, tender.id, WITHDRAW_REASON)
        elif tender.key == "unsuccessful":
            later = Context(user_actor(user_id), "demo-close", now + tender.deadline + CLOSED_AFTER)
            await registrar.run(
                marketplace.close_unsuccessful, later, tender.id, UNSUCCESSFUL_REASON
            )
        elif tender.key == "active":
            for n in INTERESTED:
                supplier_id, supplier_user, _ = members[n]
                member = Context(user_actor(supplier_user), "demo", registrar.clock.now())
                await registrar.run(marketplace.register_interest, member, tender.id, supplier_id)
            asker_id, asker_user, _ = members[ASKER]
            asking = Context(user_actor(asker_user), "demo", registrar.clock.now())
            await registrar.run(
                marketplace.ask_question, asking, QUESTION_ID, tender.id, asker_id, QUESTION
            )
            await registrar.run(marketplace.answer_question, council, QUESTION_ID, ANSWER)
            await registrar.run(
                marketplace.amend_tender,
                council,
                tender.id,
                _tender_terms(tender, now, AMENDED_DEADLINE),
                AMENDMENT_RATIONALE,
                public_body,
            )


async def _seed_opened_tender(
    registrar: Registrar,
    parts: OpeningParts,
    members: dict[int, tuple[UUID, UUID, str]],
    buyers: dict[int, tuple[UUID, UUID]],
    tender: DemoTender = OPENED_TENDER,
    bids: Sequence[DemoBid] = BIDS,
    national_ocid: str | None = None,
) -> None:
    """A tender whose deadline has passed: drafted and published `ago` (with `national_ocid`,
    the national portal's ocid linked the day after), its bids made after, then opened by the
    opening clock's own tick, run at its deadline plus the margin (it opens the bids and
    records the opening in the marketplace's log, then settles)."""
    then = registrar.clock.now().replace(second=0, microsecond=0) - tender.ago
    organisation_id, user_id = buyers[tender.buyer]
    council = Context(user_actor(user_id), "demo", then)
    terms = _tender_terms(tender, then, tender.deadline)
    await registrar.run(parts.marketplace.draft_tender, council, tender.id, organisation_id, terms)
    await registrar.run(parts.keys.ensure_tender_key, tender.id, then)
    await registrar.run(
        parts.marketplace.publish_tender, council, tender.id, BuyerFacts("public_body")
    )
    if national_ocid is not None:
        linking = Context(user_actor(user_id), "demo", then + NATIONAL_OCID_AFTER)
        await registrar.run(parts.marketplace.link_national_ocid, linking, tender.id, national_ocid)
    await _seed_bids(registrar, parts, members, tender, then + OPENED_BIDS_AFTER, bids)
    at_opening = replace(parts, clock=ManualClock(then + tender.deadline + parts.margin))
    # The only key not settled yet (the other tenders come after), so the tick opens it alone.
    if await registrar.run(open_due_bids, at_opening) != (1, 0):
        raise RuntimeError(f"the demo's tender {tender.key!r} was not opened alone (see the log)")


async def _seed_bids(
    registrar: Registrar,
    parts: OpeningParts,
    members: dict[int, tuple[UUID, UUID, str]],
    demo_tender: DemoTender,
    at: datetime,
    bids: Sequence[DemoBid] = BIDS,
) -> None:
    """The tender's demo bids, by their leads' and partners' first users, dated `at`: drafted,
    written, a consortium formed and accepted, submitted (the receipt and invitations queued,
    sealed, in each bid's own transaction)."""
    tender = await registrar.run(parts.marketplace.tender, demo_tender.id)
    for bid in bids:
        if bid.tender is not demo_tender:
            continue
        lead_id, lead_user, lead_name = members[bid.lead]
        lead = Context(user_actor(lead_user), "demo", at)
        facts = await registrar.run(supplier_facts, parts.membership, parts.marks, lead_id, at)
        drafted = await registrar.run(parts.bids.draft_bid, lead, tender, bid.lot_id, facts)
        bid_id = drafted.aggregate_id
        lot = next(lot for lot in tender.terms.lots if lot.id == bid.lot_id)
        answers = BID_ANSWERS if bid.submitted else dict(list(BID_ANSWERS.items())[:1])
        commitments = [
            parse_commitment(measure, quantity, None, f"commitments[{i}]")
            for i, (measure, quantity) in enumerate(bid.commitments)
        ]
        content = parse_content(
            tender.terms, lot.value.currency, bid.price_minor, answers, commitments
        )
        await registrar.run(parts.bids.change_content, lead, tender, bid_id, lead_id, content)
        if bid.partners:
            partners = [Share(members[n][0], percent) for n, percent, _ in bid.partners]
            lead_share = 100 - sum(share.percent for share in partners)
            shares = parse_consortium(lead_id, lead_share, partners)
            partner_facts = await registrar.run(
                facts_of, parts.membership, parts.marks, [s.organisation_id for s in partners], at
            )
            told = invitations(parts.keys, tender, lead_name, registrar.public_url)
            await registrar.run(
                parts.bids.form_consortium,
                lead,
                tender,
                bid_id,
                lead_id,
                shares,
                partner_facts,
                told,
            )
            for n, _, accepted in bid.partners:
                if not accepted:
                    continue
                partner_id, partner_user, _ = members[n]
                partner = Context(user_actor(partner_user), "demo", at)
                seen = await registrar.run(parts.bids.bid_for, bid_id, partner_id)
                await registrar.run(
                    parts.bids.accept_partnership,
                    partner,
                    tender,
                    bid_id,
                    partner_id,
                    seen.consortium_round,
                )
        if bid.submitted:
            await registrar.run(
                parts.bids.submit,
                lead,
                tender,
                bid_id,
                lead_id,
                facts,
                receipts(parts.keys, tender),
            )


async def _seed_listings(
    registrar: Registrar, marketplace: MarketplaceApp, members: dict[int, tuple[UUID, UUID, str]]
) -> None:
    """A dozen listings, published by their members' first users; one withdrawn again."""
    for i, (n, title, description, cpv_codes, regions, basis, capacity) in enumerate(LISTINGS):
        organisation_id, user_id, _ = members[n]
        member = Context(user_actor(user_id), "demo", registrar.clock.now())
        details = ListingDetails.parse(
            title=title,
            description=description,
            cpv_codes=cpv_codes,
            regions=regions,
            price_basis=basis,
            capacity_minor=capacity,
        )
        standing = await registrar.run(
            registrar.membership.is_in_good_standing, organisation_id, member.at
        )
        listing_id = uuid.uuid4()
        await registrar.run(
            marketplace.publish_listing, member, listing_id, organisation_id, details, standing
        )
        if i == WITHDRAWN_LISTING:
            await registrar.run(marketplace.withdraw_listing, member, listing_id)


async def _seed_profile(
    registrar: Registrar, engine: AsyncEngine, member: tuple[UUID, UUID, str]
) -> None:
    """The member everyone signs in as: a website on its profile, and two contact points."""
    organisation_id, user_id, _ = member
    context = Context(user_actor(user_id), "demo", registrar.clock.now())
    current = (await registrar.run(registrar.membership.get_organisation, organisation_id)).profile
    profile = Profile.parse(
        name=current.name,
        social_purpose=current.social_purpose,
        regions=list(current.regions),
        cpv_codes=list(current.cpv_codes),
        website=WEBSITE,
    )
    await registrar.run(registrar.membership.update_profile, context, organisation_id, profile)
    points = check_contact_points(
        [
            ContactPoint.parse(label=label, name=name, email=email, phone=phone)
            for label, name, email, phone in CONTACT_POINTS
        ]
    )
    await replace_contact_points(
        engine, organisation_id, points, actor=context.actor, now=context.at
    )


# Paid-up members (fate 0 to 3) whose marks show each state.
MARK_VALID, MARK_INFORMATION, MARK_LAPSED, MARK_EXPIRED = 0, 1, 2, 3
GOOD = MembershipStanding(MembershipStatus.CURRENT)
# The smallest well-formed PDF: one empty page.
_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _store_evidence(evidence: DirectoryFileStore) -> str:
    """The demo's evidence PDF, stored once under its hash; the hash."""
    sha256 = hashlib.sha256(_PDF).hexdigest()
    if not evidence.exists(sha256):
        evidence.root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=evidence.root, delete=False) as staged:
            staged.write(_PDF)
        evidence.put(Path(staged.name), sha256)
    return sha256


async def _seed_marks(
    registrar: Registrar,
    marks: MarksApp,
    evidence: DirectoryFileStore,
    staff_id: UUID,
    members: dict[int, tuple[UUID, UUID, str]],
) -> list[tuple[str, str, str]]:
    """A quality mark in each state: valid; under assessment with a question open; suspended
    because the membership lapsed; expired. The lapse and the expiry are recorded by the clock's
    own commands at the moment they fall due (after today: demo data runs ahead of time)."""
    sha256 = await registrar.run(_store_evidence, evidence)
    now = registrar.clock.now()
    staff = Context(user_actor(staff_id), "demo", now)
    assessor, panel = uuid.uuid4(), uuid.uuid4()

    async def apply(n: int, *, decide: bool) -> UUID:
        organisation_id, user_id, _ = members[n]
        member = Context(user_actor(user_id), "demo", now)
        started = await registrar.run(marks.start_application, member, organisation_id, GOOD)
        application: UUID = started.aggregate_id
        for code in criteria_in_force(now.date()).codes:
            file = EvidenceFile(code, sha256, "application/pdf", len(_PDF), f"{code}.pdf")
            await registrar.run(marks.attach_evidence, member, application, file)
        declarations = Declarations(
            objects_clause="The company's objects are to carry on activities for the community.",
            independent=True,
            trading_income_minor=80_000_00,
            grant_income_minor=15_000_00,
            donation_income_minor=5_000_00,
            other_income_minor=0,
            profit_minor=6_000_00,
            distributed_minor=0,
            asset_lock=True,
            impact_statement="Forty people a year move from training into paid work.",
        )
        await registrar.run(marks.update_declarations, member, application, declarations)
        await registrar.run(marks.submit, member, application)
        await registrar.run(marks.assign_assessor, staff, application, assessor, None)
        if decide:
            codes = criteria_in_force(now.date()).codes
            findings = {code: Finding(True, "Evidence seen and consistent.") for code in codes}
            await registrar.run(marks.refer_to_panel, staff, application, assessor, findings)
            # The standing as it is, with its version, as the panel's route reads it (ADR 23).
            holder = await registrar.run(registrar.membership.get_organisation, organisation_id)
            standing = MembershipStanding.of(holder, now)
            await registrar.run(marks.decide, staff, application, panel, True, {}, standing)
        return application

    await apply(MARK_VALID, decide=True)

    asking = await apply(MARK_INFORMATION, decide=False)
    await registrar.run(
        marks.request_information,
        staff,
        asking,
        assessor,
        "Please send the latest filed accounts showing the trading income.",
        now + timedelta(days=21),
    )

    await apply(MARK_LAPSED, decide=True)
    lapsing = members[MARK_LAPSED][0]
    paid_up_until = (
        await registrar.run(registrar.membership.get_organisation, lapsing)
    ).paid_up_until
    assert paid_up_until is not None
    lapse_at = grace_ends(paid_up_until) + timedelta(days=1)
    await registrar.run(
        registrar.membership.observe_time, Context(CLOCK, "demo-lapse", lapse_at), lapsing
    )
    await registrar.run(marks.catch_up)

    await apply(MARK_EXPIRED, decide=True)
    expiring = members[MARK_EXPIRED][0]
    valid_until = (await registrar.run(marks.get_mark, expiring)).valid_until
    expire_at = Context(CLOCK, "demo-expiry", valid_until + timedelta(days=1))
    await registrar.run(marks.observe_time, expire_at, mark_id_for(expiring))

    report = []
    for state, n in (
        ("valid", MARK_VALID),
        ("suspended (membership lapsed)", MARK_LAPSED),
        ("expired", MARK_EXPIRED),
    ):
        mark = await registrar.run(marks.get_mark, members[n][0])
        report.append(
            (state, f"{members[n][2]}, organisation {members[n][0]}", mark.certificate_number)
        )
    report.append(
        (
            "under assessment, information requested",
            f"{members[MARK_INFORMATION][2]}, organisation {members[MARK_INFORMATION][0]}",
            str(asking),
        )
    )
    return report
