"""Load a PostgreSQL database at scale, through the Applications, and keep it as a template.

Issue 19. A seeded, repeatable load (same `--seed`, same events) of:

- `--orgs` organisations (default 100,000): 2% public bodies, verified as buyers (the tenders'
  publishers); the rest social enterprises, most admitted and paid (80%), some lapsed by the
  clock (8%: paid in 2024, a year gone), some admitted awaiting their first payment, some
  pending in staff's queue, some registered only. CPV codes from the reference list weighted to
  a few popular divisions (construction, cleaning, catering, care...) with a long tail; ITL
  regions of every level; turnover bands; 15% of the paid members publish a service listing.
- `--tenders` tenders (default 20,000) by those buyers, 1-3 lots each: half opened and awarded
  (every bid scored, the award, its notice, the contract signed after the standstill, 0-4
  quarterly delivery reports, 4 in 5 confirmed); a fifth open (deadline in 2027); the rest
  cancelled, or closed unsuccessful after their deadline.

Every event is made by the domain's own commands on the aggregates (`Organisation.register`,
`admit`, `record_payment`, `observe_time`, `Tender.draft`/`publish`, `BidOpening.record`,
`LotEvaluation.start`/`score`/`award`/`publish_award_notice`/`sign_contract`,
`Contract.report_delivery`/`confirm_delivery`...), dated by a fixed-time `Context` per step, and
saved many aggregates per `app.save(*aggregates)` (as bench/rebuild.py seeds). Bids are NOT made
through the sealed bids log (one save per command, sealed: far too slow for a million events):
each awarded tender's `BidOpening` records the opened bids as the opening clock would, which is
all that evaluation, the read models, OCDS and the impact ledger read of bids.

Then `tradehall projections run --until-caught-up` builds every projection and follower (timed,
with its peak RSS), `VACUUM ANALYZE` (autovacuum is off on the bench server), and the database
is kept, marked as a template, for `bench.scale_reads` to copy (`CREATE DATABASE x TEMPLATE y`).

Run: `.venv/bin/python -m bench.scale_data --help`; small: `--orgs 2000 --tenders 400`.
Against an older tree: `PYTHONPATH=/tmp/th-before/src:$PWD .venv/bin/python -m bench.scale_data`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from sqlalchemy import make_url

from bench._common import (
    admin_url_default,
    emit,
    machine,
    postgres_settings,
    run_migrate,
    server_env,
    tradehall_command,
)
from bench._scale_model import (
    BUYER_SHARE,
    LISTING_SHARE,
    MEASURES,
    MEMBER_FATES,
    TENDER_FATES,
    Reference,
    pick,
    reference,
    turnover,
)
from marketplace.application import MarketplaceApp
from marketplace.bids.content import Commitment, SupplierFacts
from marketplace.buyers import BuyerVerification
from marketplace.contracts import Contract, Delivered
from marketplace.evaluation.scoring import scored_criteria
from marketplace.listings import ListingDetails, ServiceListing
from marketplace.openings import BidOpening
from marketplace.tender_terms import (
    CriterionInput,
    LotInput,
    Period,
    TenderTerms,
    parse_evaluation,
    parse_terms,
)
from marketplace.tenders import LOT_AWARDED, Tender
from marketplace.working_days import WorkingCalendar
from membership.application import MembershipApp
from membership.domain import Organisation, RegistrationDetails, RegistryClaim
from membership.dues import band_for
from sharedkernel.events import SYSTEM, Context, user_actor
from sharedkernel.money import Money
from tradehall.store.postgres import PostgresStore

DEFAULT_NAME = "tradehall_scale"
SCHEDULE_AT = datetime(2023, 1, 2, 9, 0, tzinfo=UTC)
LAPSED_JOINED = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
CURRENT_FROM = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # paid members join from here...
CURRENT_DAYS = 280  # ...over this many days
LOAD_NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # the clock's last tick of the load
AWARDS_FROM = datetime(2023, 1, 9, 9, 0, tzinfo=UTC)  # awarded and ended tenders published...
AWARDS_DAYS = 1_200  # ...over this many days
OPEN_DEADLINES = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)  # open tenders' deadlines from here
PER_SAVE_ORGS = 1_000
PER_SAVE_TENDERS = 200
MAX_REPORTS = 4
CALENDAR = WorkingCalendar(frozenset())
PLACES = ("Leeds", "Hull", "Bristol", "Bolton", "Derby", "Luton", "Wigan", "Exeter",
          "Carlisle", "Norwich", "Dundee", "Swansea", "Newry", "Ipswich", "Stockport",
          "Sunderland")  # fmt: skip
TRADES = {"45": "Builders", "90": "Cleaning", "55": "Kitchen", "85": "Care", "80": "Learning",
          "79": "Services", "77": "Gardens", "50": "Repairs", "98": "Community", "72": "Digital",
          "15": "Bakery", "60": "Transport"}  # fmt: skip
SUFFIXES = ("CIC", "Co-operative", "Trust", "Partnership", "Enterprise", "Works")
PURPOSES = (
    "Employs and trains people furthest from the labour market.",
    "Reinvests its surplus in affordable homes for local families.",
    "Gives people leaving prison a first job and a reference.",
    "Runs its services with and for disabled people.",
    "Keeps money in the local economy by buying from neighbours.",
)


def seeded_uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


@dataclass
class Member:
    organisation_id: UUID
    user_id: UUID
    regions: list[str]
    cpv_codes: list[str]


@dataclass
class Buyer:
    organisation_id: UUID
    user_id: UUID
    region: str


@dataclass
class Loaded:
    buyers: list[Buyer] = field(default_factory=list)
    current: list[Member] = field(default_factory=list)  # paid up: may bid and win
    by_itl1: dict[str, list[int]] = field(default_factory=dict)  # ITL1 -> current members
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


# --- organisations -------------------------------------------------------------------------------


def _member_details(rng: random.Random, ref: Reference, n: int) -> RegistrationDetails:
    codes = ref.cpv_set(rng, 1, 4)
    trade = TRADES.get(codes[0][:2], "Community")
    name = f"{rng.choice(PLACES)} {trade} {rng.choice(SUFFIXES)} {n:06d}"
    if rng.random() < 0.6:
        form, scheme, registry_id = "cic", "GB-COH", f"{10_000_000 + n:08d}"
    else:
        form, scheme, registry_id = "sole_trader_or_partnership", None, None
    return RegistrationDetails.parse(
        name=name,
        kind="social_enterprise",
        legal_form=form,
        registry_scheme=scheme,
        registry_id=registry_id,
        social_purpose=rng.choice(PURPOSES),
        regions=ref.regions(rng),
        cpv_codes=codes,
    )


def _registered(
    context: Context, details: RegistrationDetails, organisation_id: UUID, user_id: UUID
) -> list[Any]:
    organisation = Organisation.register(context, organisation_id, details, user_id)
    aggregates: list[Any] = [organisation]
    if details.registry_identifier is not None:
        aggregates.append(
            RegistryClaim.claim(context, details.registry_identifier, organisation_id)
        )
    return aggregates


def load_buyers(
    membership: MembershipApp,
    marketplace: MarketplaceApp,
    rng: random.Random,
    ref: Reference,
    count: int,
    loaded: Loaded,
) -> None:
    for start in range(0, count, PER_SAVE_ORGS):
        context = Context(SYSTEM, f"scale-buyers-{start}", SCHEDULE_AT + timedelta(hours=1))
        orgs: list[Any] = []
        verified: list[Any] = []
        for n in range(start, min(count, start + PER_SAVE_ORGS)):
            organisation_id, user_id = seeded_uuid(rng), seeded_uuid(rng)
            region = ref.region(rng)
            details = RegistrationDetails.parse(
                name=f"{rng.choice(PLACES)} Public Body {n:05d}",
                kind="public_body",
                legal_form="other",
                registry_scheme="GB-LAE",
                registry_id=f"SCALE{n:05d}",
                social_purpose="",
                regions=[region],
                cpv_codes=[],
            )
            orgs.extend(_registered(context, details, organisation_id, user_id))
            verified.append(
                BuyerVerification.verify(
                    context, organisation_id, "public_body", "Listed as a local authority (scale)"
                )
            )
            loaded.buyers.append(Buyer(organisation_id, user_id, region))
        membership.save(*orgs)
        marketplace.save(*verified)
        loaded.count("buyers", len(verified))


def load_members(
    membership: MembershipApp,
    marketplace: MarketplaceApp,
    rng: random.Random,
    ref: Reference,
    count: int,
    loaded: Loaded,
) -> None:
    bands = membership.dues_schedule().bands_at(LOAD_NOW)
    lapse = Context(SYSTEM, "scale-clock", LOAD_NOW)
    for start in range(0, count, PER_SAVE_ORGS):
        day = CURRENT_FROM + timedelta(days=(start // PER_SAVE_ORGS) * 7 % CURRENT_DAYS)
        joined = Context(SYSTEM, f"scale-members-{start}", day)
        long_ago = Context(SYSTEM, f"scale-members-{start}", LAPSED_JOINED)
        batch: list[Any] = []
        listings: list[Any] = []
        for n in range(start, min(count, start + PER_SAVE_ORGS)):
            organisation_id, user_id = seeded_uuid(rng), seeded_uuid(rng)
            details = _member_details(rng, ref, n)
            fate = pick(rng, MEMBER_FATES)
            context = long_ago if fate == "lapsed" else joined
            aggregates = _registered(context, details, organisation_id, user_id)
            organisation: Organisation = aggregates[0]
            batch.extend(aggregates)
            loaded.count(f"members_{fate}")
            if fate == "registered":
                continue
            declared = Money("GBP", turnover(rng))
            organisation.apply_for_membership(context, declared)
            if fate == "pending":
                continue
            organisation.admit(context, bands, f"inv_{rng.getrandbits(80):020x}")
            if fate == "awaiting_payment":
                continue
            band = band_for(bands, declared)
            organisation.record_payment(
                context,
                f"pay_{rng.getrandbits(80):020x}",
                band.annual_due,
                "bank_transfer",
                f"SCALE {n:06d}",
            )
            if fate == "lapsed":
                organisation.observe_time(lapse, band, f"inv_{rng.getrandbits(80):020x}")
                continue
            member = Member(
                organisation_id, user_id, list(details.regions), list(details.cpv_codes)
            )
            loaded.by_itl1.setdefault(ref.itl1_of(member.regions[0]), []).append(
                len(loaded.current)
            )
            loaded.current.append(member)
            if rng.random() < LISTING_SHARE:
                listings.append(_listing(joined, rng, ref, member))
        membership.save(*batch)
        if listings:
            marketplace.save(*listings)
            loaded.count("listings", len(listings))


def _listing(context: Context, rng: random.Random, ref: Reference, member: Member) -> Any:
    codes = member.cpv_codes[: rng.randint(1, len(member.cpv_codes))]
    details = ListingDetails.parse(
        title=f"{TRADES.get(codes[0][:2], 'Community')} services",
        description="What we do, where, and for whom: see our social purpose.",
        cpv_codes=codes,
        regions=member.regions,
        price_basis=rng.choice(("fixed", "day_rate", "on_quotation")),
        capacity_minor=rng.choice((2_000_000, 10_000_000, 50_000_000)),
    )
    listing = Context(user_actor(member.user_id), "scale-listing", context.at + timedelta(days=2))
    return ServiceListing.publish(
        listing, seeded_uuid(rng), member.organisation_id, details, in_good_standing=True
    )


# --- tenders -------------------------------------------------------------------------------------


def _terms(
    rng: random.Random, ref: Reference, buyer: Buyer, opens: datetime, deadline: datetime, n: int
) -> TenderTerms:
    lots = []
    for i in range(rng.choices((1, 2, 3), (70, 20, 10))[0]):
        codes = ref.cpv_set(rng, 1, 2)
        value = rng.choice((1_500_000, 4_000_000, 12_000_000, 40_000_000, 150_000_000))
        lots.append(LotInput(f"Lot {i + 1}", "The work, its sites and hours.", codes, value))
    social = rng.choice((10, 15, 20))
    evaluation = parse_evaluation(
        CriterionInput("Price", 70 - social, 10),
        [CriterionInput("Delivery plan", 20, 5), CriterionInput("Staffing and training", 10, 5)],
        CriterionInput("Social value", social, 10),
        "highest_quality",
        30,
    )
    contract_start = deadline + timedelta(days=60)
    trade = TRADES.get(lots[0].cpv_codes[0][:2], "Community services")
    return parse_terms(
        title=f"{trade} for {rng.choice(PLACES)} ({n:05d})",
        description="Services for the council's residents, with social value asked of bidders.",
        method="open",
        category="services",
        lots=lots,
        enquiry_period=(opens, deadline - timedelta(days=7)),
        tender_period=(opens, deadline),
        contract_period=(contract_start, contract_start + timedelta(days=730)),
        members_only=False,
        quality_mark_required=False,
        regions=[ref.itl1_of(buyer.region)],
        evaluation=evaluation,
    )


def _bidders(rng: random.Random, loaded: Loaded, itl1: str, count: int) -> list[Member]:
    pool: list[int] = loaded.by_itl1.get(itl1) or list(range(len(loaded.current)))
    chosen = rng.sample(pool, min(count, len(pool)))
    return [loaded.current[i] for i in chosen]


def _opened_bids(
    rng: random.Random, loaded: Loaded, tender: Tender, at: datetime
) -> tuple[list[dict[str, Any]], dict[UUID, SupplierFacts]]:
    """The bids the opening clock would record: 2-5 valid bids a lot from members serving the
    tender's region, a consortium in one in five; prices 85-100% of the estimate."""
    records: list[dict[str, Any]] = []
    facts: dict[UUID, SupplierFacts] = {}
    itl1 = tender.terms.eligibility.regions[0] if tender.terms.eligibility.regions else "TLE"
    for lot in tender.terms.lots:
        bidders = _bidders(rng, loaded, itl1, rng.randint(2, 5) + 1)
        if len(bidders) < 2:
            continue
        partner = bidders.pop() if rng.random() < 0.2 else None
        for i, member in enumerate(bidders):
            shares: list[dict[str, Any]] = []
            if i == 0 and partner is not None:
                shares = [
                    {"organisation_id": str(member.organisation_id), "percent": 60},
                    {"organisation_id": str(partner.organisation_id), "percent": 40},
                ]
            commitments = [
                Commitment(measure, rng.randint(1, most), unit).as_data()
                for measure, most, unit in _commitments(rng)
            ]
            price = int(lot.value.minor * rng.uniform(0.85, 1.0))
            records.append(
                {
                    "bid_id": str(seeded_uuid(rng)),
                    "lot_id": lot.id,
                    "lead_id": str(member.organisation_id),
                    "shares": shares,
                    "submitted_at": (at - timedelta(days=rng.randint(1, 10))).isoformat(),
                    "digest": "sha256:" + hashlib.sha256(rng.randbytes(16)).hexdigest(),
                    "valid": True,
                    "reason": None,
                    "content": {
                        "price_minor": price,
                        "currency": lot.value.currency,
                        "answers": {},
                        "commitments": commitments,
                    },
                    "documents": [],
                }
            )
            for who in [member] + ([partner] if shares and partner else []):
                facts[who.organisation_id] = SupplierFacts(
                    who.organisation_id, True, True, False, tuple(who.regions)
                )
    return records, facts


_UNITS = {"local_jobs": "jobs", "apprenticeships": "apprenticeships", "volunteering_hours": "hours",
          "training_weeks": "weeks"}  # fmt: skip


def _commitments(rng: random.Random) -> list[tuple[str, int, str]]:
    chosen = rng.sample(MEASURES, rng.randint(1, 3))
    return [(measure, most, _UNITS[measure]) for measure, most in chosen]


def _award(
    rng: random.Random, loaded: Loaded, tender: Tender, buyer: Buyer, app: MarketplaceApp
) -> list[Any]:
    """Opened, each lot scored and awarded, its notice published, its contract signed after the
    standstill, then delivery reports: every aggregate touched, to save."""
    deadline = tender.terms.deadline

    def buyer_ctx(at: datetime) -> Context:
        return Context(user_actor(buyer.user_id), "scale-award", at)

    opened_at = deadline + timedelta(hours=1)
    bids, facts = _opened_bids(rng, loaded, tender, opened_at)
    opening_ctx = Context(SYSTEM, "scale-opening", opened_at)
    opening = BidOpening.record(opening_ctx, tender.id, bids)
    tender.record_bids_opened(opening_ctx)
    evaluations = app._evaluations_at_opening(opening_ctx, tender, bids)
    touched: list[Any] = [opening, *evaluations, tender]
    decided = buyer_ctx(deadline + timedelta(days=14))
    for evaluation in evaluations:
        if not evaluation.bids:
            continue
        for bid_id in evaluation.bids:
            for criterion in scored_criteria(evaluation.rules):
                evaluation.score(
                    decided,
                    bid_id,
                    criterion.name,
                    rng.randint(criterion.scale // 2, criterion.scale),
                    "Scored against the published criteria.",
                )
        evaluation.award(decided, tender.terms, facts)
        evaluation.publish_award_notice(decided, True, 8, CALENDAR)
        tender.decide_lot(decided, evaluation.lot_id, LOT_AWARDED)
        signed_at = decided.at + timedelta(days=30)
        winner = evaluation.bids[evaluation.decision.winner]  # type: ignore[union-attr,index]
        start = signed_at + timedelta(days=14)
        contract = evaluation.sign_contract(
            buyer_ctx(signed_at),
            winner.price,
            Period(start, start + timedelta(days=730)),
            CALENDAR,
        )
        touched.append(contract)
        loaded.count("contracts")
        _deliveries(rng, contract, buyer, start)
    return touched


def _deliveries(rng: random.Random, contract: Contract, buyer: Buyer, start: datetime) -> None:
    committed = contract.committed()
    if not committed:
        return
    reporter = contract.parties[0].organisation_id
    quarter_start = start
    for _ in range(rng.randint(0, MAX_REPORTS)):
        quarter_end = quarter_start + timedelta(days=91)
        reported_at = quarter_end + timedelta(days=5)
        if reported_at > LOAD_NOW:
            break
        delivered = [
            Delivered(measure, rng.randint(1, max(1, quantity // 4)))
            for measure, quantity in sorted(committed.items())
        ]
        report_id = seeded_uuid(rng)
        contract.report_delivery(
            Context(SYSTEM, "scale-report", reported_at),
            report_id=report_id,
            by_organisation=reporter,
            period=Period(quarter_start, quarter_end),
            delivered=delivered,
            note="",
        )
        confirmed_at = reported_at + timedelta(days=10)
        if rng.random() < 0.8 and confirmed_at <= LOAD_NOW:
            contract.confirm_delivery(
                Context(user_actor(buyer.user_id), "scale-confirm", confirmed_at),
                report_id=report_id,
                by_organisation=buyer.organisation_id,
            )
        quarter_start = quarter_end


def load_tenders(
    app: MarketplaceApp, rng: random.Random, ref: Reference, count: int, loaded: Loaded
) -> None:
    policy = app.policy
    buyer_weights = [rng.paretovariate(1.5) for _ in loaded.buyers]
    for start in range(0, count, PER_SAVE_TENDERS):
        batch: list[Any] = []
        for n in range(start, min(count, start + PER_SAVE_TENDERS)):
            buyer = rng.choices(loaded.buyers, buyer_weights)[0]
            fate = pick(rng, TENDER_FATES)
            if fate == "open":
                deadline = OPEN_DEADLINES + timedelta(days=rng.randint(0, 120))
                published = LOAD_NOW - timedelta(days=rng.randint(1, 30))
            else:
                published = AWARDS_FROM + timedelta(days=rng.randint(0, AWARDS_DAYS))
                deadline = published + timedelta(days=28)
            context = Context(user_actor(buyer.user_id), "scale-tender", published)
            terms = _terms(rng, ref, buyer, published, deadline, n)
            tender = Tender.draft(
                context, seeded_uuid(rng), buyer.organisation_id, policy.ocid_prefix, terms
            )
            tender.publish(
                context, verified_buyer=True, buyer_kind="public_body", policy=policy.social_value
            )
            loaded.count(f"tenders_{fate}")
            if fate == "cancelled":
                later = Context(context.actor, "scale-cancel", published + timedelta(days=10))
                tender.cancel(later, "The service is no longer needed.")
            elif fate == "unsuccessful":
                later = Context(context.actor, "scale-close", deadline + timedelta(days=2))
                tender.close_unsuccessful(later, "No bid was received.")
            if fate == "awarded":
                batch.extend(_award(rng, loaded, tender, buyer, app))
            else:
                batch.append(tender)
        app.save(*batch)


# --- the run -------------------------------------------------------------------------------------


def _counts_of(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as connection:
        found = {}
        for log in ("membership", "marketplace"):
            row = connection.execute(
                f"SELECT count(*), coalesce(max(notification_id), 0) FROM events.{log}_events"
            ).fetchone()
            assert row is not None
            found[f"{log}_events"] = int(row[0])
        return found


def build_projections(url: str) -> dict[str, Any]:
    """`tradehall projections run --until-caught-up` in a child process: every projection and
    follower applied to the head. Its time and peak RSS."""
    env = server_env(database_url=url, data_dir=None, pool_size=2, extra={})
    started = time.perf_counter()
    process = subprocess.Popen(
        [*tradehall_command(), "projections", "run", "--until-caught-up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    _, status, usage = os.wait4(process.pid, 0)
    output = process.stdout.read().decode(errors="replace") if process.stdout else ""
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"projections run failed:\n{output[-3000:]}")
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "output_tail": output.strip().splitlines()[-3:],
    }


def follow_marks(url: str) -> dict[str, Any]:
    """The quality mark's follower of the membership log, caught up (as `tradehall serve`'s
    worker would be long before). Slow (it processes and tracks an event a transaction, about
    500 events/s here), so only with `--follow-marks`; bench.scale_reads serves with the
    follower off instead."""
    try:
        from membership.marks.application import MarksApp
    except ImportError as missing:  # an older tree
        return {"skipped": str(missing)}
    started = time.perf_counter()
    store = PostgresStore(url)
    marks = MarksApp(env=store.application_env("marks", pool_size=2))
    membership = MembershipApp(env=store.application_env("membership", pool_size=2))
    try:
        marks.follow("membership", membership.notification_log)
        changed = marks.catch_up()
    finally:
        marks.close()
        membership.close()
    return {"seconds": round(time.perf_counter() - started, 1), "marks_changed": changed}


def vacuum_analyze(url: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return round(time.perf_counter() - started, 1)


def database_url(admin_url: str, name: str) -> str:
    return (
        make_url(admin_url)
        .set(drivername="postgresql", database=name)
        .render_as_string(hide_password=False)
    )


def fresh_database(admin_url: str, name: str) -> str:
    admin = database_url(admin_url, make_url(admin_url).database or "postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        if _exists(connection, name):
            connection.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE false')
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return database_url(admin_url, name)


def _exists(connection: psycopg.Connection[Any], name: str) -> bool:
    row = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def mark_template(admin_url: str, name: str) -> None:
    admin = database_url(admin_url, make_url(admin_url).database or "postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true')


def load(
    url: str, orgs: int, tenders: int, seed: int, *, create_tables: bool = False
) -> dict[str, Any]:
    """Everything through the Applications; returns counts and timings. `create_tables`: the
    Applications make their event tables (a database never migrated: the test's)."""
    rng = random.Random(seed)
    ref = reference()
    store = PostgresStore(url)
    create = True if create_tables else None
    membership = MembershipApp(
        env=store.application_env("membership", pool_size=2, create_table=create)
    )
    marketplace = MarketplaceApp(
        env=store.application_env("marketplace", pool_size=2, create_table=create)
    )
    loaded = Loaded()
    phases: dict[str, float] = {}
    try:
        membership.ensure_dues_schedule(Context(SYSTEM, "scale-schedule", SCHEDULE_AT))
        buyers = max(1, round(orgs * BUYER_SHARE))
        started = time.perf_counter()
        load_buyers(membership, marketplace, rng, ref, buyers, loaded)
        phases["buyers_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        load_members(membership, marketplace, rng, ref, orgs - buyers, loaded)
        phases["members_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        load_tenders(marketplace, rng, ref, tenders, loaded)
        phases["tenders_s"] = round(time.perf_counter() - started, 1)
    finally:
        membership.close()
        marketplace.close()
    return {"counts": dict(sorted(loaded.counts.items())), "phases": phases}


def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "benchmark": "scale_data",
        "machine": machine(),
        "options": vars(args),
    }
    url = fresh_database(args.admin_url, args.name)
    result["database"] = args.name
    result["postgres"] = postgres_settings(url)
    run_migrate(server_env(database_url=url, data_dir=None, pool_size=2, extra={}))
    started = time.perf_counter()
    result["load"] = load(url, args.orgs, args.tenders, args.seed)
    load_s = time.perf_counter() - started
    result["events"] = _counts_of(url)
    total = sum(result["events"].values())
    result["load"]["seconds"] = round(load_s, 1)
    result["load"]["events_per_s"] = round(total / load_s)
    result["load"]["peak_rss_mib"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    result["projections"] = build_projections(url)
    if args.follow_marks:
        result["marks_follower"] = follow_marks(url)
    result["vacuum_analyze_s"] = vacuum_analyze(url)
    result["total_s"] = round(time.perf_counter() - started, 1)
    mark_template(args.admin_url, args.name)
    result["loadavg_at_end"] = os.getloadavg()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale_data", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--orgs", type=int, default=100_000)
    parser.add_argument("--tenders", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument(
        "--name", default=DEFAULT_NAME, help="the database to (re)create and keep as a template"
    )
    parser.add_argument(
        "--follow-marks",
        action="store_true",
        help="also catch the quality mark's follower up (slow: ~500 membership events/s)",
    )
    parser.add_argument("--admin-url", default=admin_url_default())
    parser.add_argument("--json", default=None, help="also write the result here")
    args = parser.parse_args(argv)
    emit(run(args), args.json)
    print(f"kept database {args.name} (a template)", file=sys.stderr)


if __name__ == "__main__":
    main()
