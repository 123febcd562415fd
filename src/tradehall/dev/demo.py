"""`tradehall demo`: a believable association to try the service with.

Dozens of social enterprises across the UK's ITL regions and CPV divisions, some admitted, some
waiting, some rejected or withdrawn; five buyers (verified and not); a dozen service listings;
the verified councils' tenders in every state (with interest, a question answered and an
amendment); a staff user. Deterministic (seeded random; fixed tender ids), and idempotent: a
second run finds the demo staff user and adds nothing.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.application import BuyerFacts, MarketplaceApp
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
from tradehall.identity.users import Role, insert_user
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
]  # fmt: skip
ACTIVE_TENDER = next(t for t in TENDERS if t.key == "active")
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


def _tender_states() -> list[tuple[str, str, UUID, str]]:
    states = {
        "draft": "draft (private to its buyer: not on the board)",
        "unsuccessful": (
            "unsuccessful (its deadline is soon after the demo ran, as one already past cannot be "
            f"published; closed by a command dated {CLOSED_AFTER.days} day after it: demo data "
            "runs ahead of time)"
        ),
        "active": "active (two lots; two members interested; a question answered; amended)",
        "active, second": "active",
        "withdrawn": "withdrawn (planned, then withdrawn)",
    }
    return [(states.get(t.key, t.key), t.title, t.id, BUYERS[t.buyer].name) for t in TENDERS]


def _buyer_logins() -> list[tuple[str, str, str]]:
    return [(buyer.name, buyer.email(n), buyer.state) for n, buyer in enumerate(BUYERS)]


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
) -> DemoReport:
    """Seed through the registrar (users, passwords, clock, the membership Application), the
    database (the staff user's row, contact points), the quality mark Application, the
    marketplace Application (buyer verifications, listings) and the evidence files."""
    member_email = "member@demo.tradehall.example"
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
            tenders=_tender_states(),
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
    created = 0
    members: dict[int, tuple[UUID, UUID, str]] = {}  # n: (organisation, first user, name)
    for n in range(ORGANISATIONS):
        trade, cpv, offer = TRADES[n % len(TRADES)]
        place, region = PLACES[(n * 7) % len(PLACES)]
        label, legal_form, scheme = FORMS[n % len(FORMS)]
        extra_cpv = TRADES[(n + 5) % len(TRADES)][1]
        registration = await register_organisation(
            registrar,
            NewOrganisation(
                name=f"{place} {trade} {label}",
                kind="social_enterprise",
                legal_form=legal_form,
                registry_scheme=scheme,
                registry_id=_registry_id(scheme, rng),
                social_purpose=f"{offer}. {PURPOSES[n % len(PURPOSES)]}.",
                regions=[region] if n % 4 else [region, region[:3]],
                cpv_codes=[cpv] if n % 3 else [cpv, extra_cpv],
                email=member_email if n == 0 else f"enterprise{n:02d}@demo.tradehall.example",
                password=MEMBER_PASSWORD,
                password_hash=member_hash,
            ),
            "demo",
        )
        created += 1
        organisation_id = registration.organisation_id
        members[n] = (organisation_id, registration.user_id, f"{place} {trade} {label}")
        member = Context(user_actor(registration.user_id), "demo", registrar.clock.now())
        fate = n % 8
        if fate == 7:
            continue  # registered, never applied
        turnover = Money(DUES_CURRENCY, TURNOVERS[n % len(TURNOVERS)])
        await registrar.run(
            registrar.membership.apply_for_membership, member, organisation_id, turnover
        )
        if fate in (0, 1, 2, 3, 4):
            await registrar.run(registrar.membership.admit, staff, organisation_id)
            if fate != 4:  # fate 4: admitted, first payment still awaited
                due = (
                    await registrar.run(registrar.membership.get_organisation, organisation_id)
                ).tier
                assert due is not None
                await registrar.run(
                    registrar.membership.record_payment,
                    staff,
                    organisation_id,
                    due.annual_due,
                    "bank_transfer",
                    f"BACS DEMO{n:03d}",
                )
        elif fate == 5:
            await registrar.run(
                registrar.membership.reject,
                staff,
                organisation_id,
                "The articles have no asset lock; please re-apply once they do.",
            )
        # fate 6: still waiting in the staff queue
    buyers: dict[int, tuple[UUID, UUID]] = {}  # n: (organisation, first user)
    for n, buyer in enumerate(BUYERS):
        registration = await register_organisation(
            registrar,
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
    await _seed_tenders(registrar, marketplace, members, buyers)
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
        tenders=_tender_states(),
        tender_buyer=(BUYERS[0].email(0), buyers[0][0]),
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
    members: dict[int, tuple[UUID, UUID, str]],
    buyers: dict[int, tuple[UUID, UUID]],
) -> None:
    """The verified councils' tenders, one in each state, by their first users. The active
    tender gets two members' interest, a question answered, and an amendment extending its
    deadline; the unsuccessful one closes by a command dated after its near deadline."""
    now = registrar.clock.now().replace(second=0, microsecond=0)
    public_body = BuyerFacts("public_body")
    for tender in TENDERS:
        organisation_id, user_id = buyers[tender.buyer]
        council = Context(user_actor(user_id), "demo", registrar.clock.now())
        terms = _tender_terms(tender, now, tender.deadline)
        await registrar.run(marketplace.draft_tender, council, tender.id, organisation_id, terms)
        if tender.key == "draft":
            continue
        planned = tender.key in ("planned", "withdrawn")
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
        standing = await registrar.run(registrar.membership.is_in_good_standing, organisation_id)
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
            await registrar.run(marks.decide, staff, application, panel, True, {}, GOOD)
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
