"""Sealed bids (issue 12, ADR 27) against the same bids Application with the plain mapper.

Two sides, each on a fresh store of its own (a SQLite directory, or a PostgreSQL database made
and dropped here), so both have the same table names and recorders and neither's table holds
the other's rows:

- plain (`PlainBidsApp`): `BidsApp(ids=KeyedBidIds(keys), mapper_factory=
  plain_mapper_factory())`, the library's mapper with zlib and no cipher; each submission's
  receipt queued as an ordinary outbox row;
- sealed: `SealedBidsApp(env, keys)`, as the service builds it: every event sealed by
  `SealedMapper` under its tender's data key (AES-256-GCM, the tender id sealed in a header
  under the header key), each receipt a sealed outbox row.

Both derive bid, box and index ids with the same keyed hash (`KeyedBidIds`), so both look the
tender keys up: the ratio is the cost of the mapper and the sealed receipts, not of the ids.
Each tender's key is made at "publication" by another `SealingKeys` (as the marketplace does),
so the measured Applications start with a cold key cache. Phases alternate the sides bidder by
bidder (or tender by tender), the first side swapping each time, so load on the shared machine
falls on both alike:

(a) the bid life, N tenders x M bidders: `draft_bid`, `change_content` (a price, an answer of
    about 1,200 characters to each quality criterion, two commitments), `submit` (with its
    receipt), one thread;
(b) reads: `bids_of` (a bidder's N bids) and `bid_for`, from the Application that wrote them
    (its aggregate cache: each read asks the database only for newer events) and from a new one
    with no aggregate cache (every event read and opened); plus a cold tender-key lookup;
(c) `open_bids` for tenders with K submitted bids each (seeded through the mapper, many
    aggregates a save), each opened by a new Application with cold caches;
(d) peak traced memory (tracemalloc) of one such opening;
(e) contention: W threads each making bids (draft, content, submit), all on one tender vs each
    on its own: every draft lodges its bid in the tender's box, one aggregate, so drafts on one
    tender clash and retry (a draft that clashes five times fails: `ConcurrentChange`);
(f) each side's mapper alone, both ways, on a bid's three events, and AES-GCM alone.

Every run checks what was stored: every event on the sealed side has the sealed topic, none on
the plain side. The figures are printed as JSON (`--json FILE` keeps a copy); read each ratio
beside its run, since the machine is shared.

Run: `.venv/bin/python -m bench.sealed_bids --help`.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import timeit
import tracemalloc
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import IntegrityError
from sqlalchemy import Engine, insert, text

from bench._common import (
    admin_url_default,
    bench_database,
    emit,
    machine,
    ms,
    percentile,
    postgres_settings,
)
from marketplace.bids.application import BidsApp
from marketplace.bids.bid import Bid, BidStatus
from marketplace.bids.boxes import BidBox, BidderIndex
from marketplace.bids.content import BidContent, SupplierFacts, parse_commitment, parse_content
from marketplace.tender_terms import (
    CriterionInput,
    LotInput,
    SocialValuePolicy,
    parse_evaluation,
    parse_terms,
)
from marketplace.tenders import Tender
from sharedkernel.events import Context, user_actor
from tradehall.mail.outbox import MESSAGE_DOMAIN, MESSAGE_NAMESPACE
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.bids import LOG
from tradehall.marketplace.bids.declaration import SealedBidsApp
from tradehall.marketplace.bids.notices import receipts as sealed_receipts
from tradehall.marketplace.sealing.ids import KeyedBidIds
from tradehall.marketplace.sealing.keys import SealingKeys
from tradehall.marketplace.sealing.mapper import SEALED_TOPIC, plain_mapper_factory
from tradehall.marketplace.sealing.master import MasterKeys
from tradehall.store.base import Store
from tradehall.store.postgres import EVENTS_SCHEMA, PostgresStore
from tradehall.store.sqlite import SQLiteStore

SIDES = ("plain", "sealed")
PUBLISHED = datetime(2026, 12, 1, 9, tzinfo=UTC)
BIDDING = PUBLISHED + timedelta(days=1)
DEADLINE_DAYS = 30
OPENING = PUBLISHED + timedelta(days=DEADLINE_DAYS, minutes=10)
BUYER = UUID("00000000-0000-4000-8000-0000000000b1")
ACTOR = user_actor(UUID("00000000-0000-4000-8000-0000000000a1"))
REGIONS = ("TLC4",)
SEED_BATCH = 50  # bids a save when seeding tenders to open
# The words a bid's answers are drawn from (a seeded choice: the same answers on both sides).
ANSWER_TEXT = (
    "we will deliver the service through a local team trained in safe working methods with "
    "weekly reporting to the buyer and a named manager for each site apprentices volunteers "
    "community partners measured outcomes carbon reduction electric vehicles recycled "
    "materials quality assurance audits schedule staffing plan risk register mitigation"
)
WORDS = tuple(ANSWER_TEXT.split())


def at(moment: datetime) -> Context:
    return Context(ACTOR, uuid.uuid4().hex, moment)


def eligible(organisation_id: UUID) -> SupplierFacts:
    return SupplierFacts(organisation_id, True, True, False, REGIONS)


def everyone_eligible(members: set[UUID]) -> dict[UUID, SupplierFacts]:
    return {member: eligible(member) for member in members}


def published_tender(number: int) -> Tender:
    """An open, members-only tender of two GBP lots in TLC4, with two quality criteria."""
    terms = parse_terms(
        title=f"Grounds maintenance {number}",
        description="Parks and verges across the borough",
        method="open",
        category="services",
        lots=[
            LotInput("North", "North parks", ["77310000"], 40_000_000),
            LotInput("South", "South verges", ["77310000-6", "77300000"], 25_000_000),
        ],
        enquiry_period=(PUBLISHED, PUBLISHED + timedelta(days=DEADLINE_DAYS - 10)),
        tender_period=(PUBLISHED, PUBLISHED + timedelta(days=DEADLINE_DAYS)),
        contract_period=(
            PUBLISHED + timedelta(days=DEADLINE_DAYS + 30),
            PUBLISHED + timedelta(days=DEADLINE_DAYS + 400),
        ),
        members_only=True,
        quality_mark_required=False,
        regions=list(REGIONS),
        evaluation=parse_evaluation(
            CriterionInput("price", 40, 10),
            [CriterionInput("method statement", 30, 5), CriterionInput("experience", 20, 5)],
            CriterionInput("social value", 10, 10),
            "highest_quality",
            20,
        ),
    )
    tender = Tender.draft(at(PUBLISHED), uuid.uuid4(), BUYER, "ocds-th01", terms)
    tender.publish(
        at(PUBLISHED), verified_buyer=True, buyer_kind="public_body", policy=SocialValuePolicy()
    )
    return tender


def bid_content(tender: Tender, rng: random.Random) -> BidContent:
    """A complete bid: a price, about 1,200 characters per answer, two commitments."""

    def answer() -> str:
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < 1_200:
            words.append(rng.choice(WORDS))
        return " ".join(words).capitalize() + "."

    answers = {c.name: answer() for c in tender.terms.evaluation.quality}
    commitments = [
        parse_commitment("local_jobs", rng.randint(1, 20), None, "c0"),
        parse_commitment("apprenticeships", rng.randint(1, 5), None, "c1"),
    ]
    return parse_content(
        tender.terms, "GBP", rng.randint(10_000_000, 39_000_000), answers, commitments
    )


def plain_receipts(tender: Tender) -> Callable[[Bid], Sequence[Any]]:
    """The receipt `notices.receipts` queues, as an ordinary (unsealed) outbox row."""

    def queue(bid: Bid) -> Sequence[Any]:
        key = f"{bid.id}:{bid.version}:bid_receipt:{bid.lead_id}"
        body = (
            f"Your organisation's bid for {bid.lot_id} of the tender “{tender.terms.title}” was "
            f"submitted at {bid.submitted_at:%Y-%m-%d %H:%M:%S} UTC.\n\n"
            f"Digest of what was submitted: {bid.digest}\n\n"
            "Keep this receipt. The bid stays sealed until the tender's bids are opened; "
            "you may withdraw it and submit again until the deadline."
        )
        row = {
            "message_id": f"<{uuid.uuid5(MESSAGE_NAMESPACE, key)}@{MESSAGE_DOMAIN}>",
            "template": "bid_receipt",
            "organisation_id": bid.lead_id,
            "recipient": None,
            "subject": "Bid receipt",
            "body": body,
            "created_at": bid.modified_on,
            "sent_at": None,
            "attempts": 0,
            "last_error": None,
            "sealed": None,
        }
        return [insert(outbox_messages).values(**row)]

    return queue


# --- the two sides ------------------------------------------------------------------------------


class PlainBidsApp(BidsApp):
    """The baseline: the same Application, ids and key reader as `SealedBidsApp`, with the
    library's plain mapper (zlib, no cipher); closed with its key reader, as that one is."""

    name = LOG.name  # the library would name a subclass after itself

    def __init__(self, env: dict[str, str], keys: SealingKeys) -> None:
        self.keys = keys
        super().__init__(env, ids=KeyedBidIds(keys), mapper_factory=plain_mapper_factory())

    def close(self) -> None:
        super().close()
        self.keys.engine.dispose()


@dataclass
class Side:
    """One side's store, its master key, and the key readers' engines that are not an
    Application's (each Application disposes its own)."""

    name: str
    store: Store
    master: MasterKeys = field(default_factory=lambda: MasterKeys(os.urandom(32)))
    engines: list[Engine] = field(default_factory=list)
    publisher: SealingKeys | None = None

    def keys(self) -> SealingKeys:
        """A key reader with an empty cache, as a process that has not yet used a key has."""
        engine = self.store.sync_engine()
        self.engines.append(engine)
        return SealingKeys(engine, self.master)

    def publish(self, tender: Tender) -> None:
        """What the marketplace does at publication: make the tender's data key."""
        if self.publisher is None:
            self.publisher = self.keys()
        self.publisher.ensure_tender_key(tender.id, PUBLISHED)

    def app(self, *, aggregate_cache: bool = True, pool_size: int = 2) -> BidsApp:
        """A new Application with a key reader of its own (cold), disposed when it closes."""
        env = self.store.application_env(LOG.name, pool_size=pool_size)
        if not aggregate_cache:
            env["AGGREGATE_CACHE_MAXSIZE"] = env["BIDS_AGGREGATE_CACHE_MAXSIZE"] = ""
        keys = SealingKeys(self.store.sync_engine(), self.master)
        if self.name == "sealed":
            return SealedBidsApp(env, keys)
        return PlainBidsApp(env, keys)

    def receipts(self, app: BidsApp, tender: Tender) -> Callable[[Bid], Sequence[Any]]:
        if isinstance(app, SealedBidsApp):
            return sealed_receipts(app.keys, tender)
        return plain_receipts(tender)

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()


@contextlib.contextmanager
def fresh_sides(
    kind: str, args: argparse.Namespace, result: dict[str, Any]
) -> Iterator[dict[str, Side]]:
    """A fresh, migrated store for each side: SQLite directories, or PostgreSQL databases."""
    with contextlib.ExitStack() as stack:
        sides: dict[str, Side] = {}
        for name in SIDES:
            if kind == "sqlite":
                directory = Path(tempfile.mkdtemp(prefix=f"tradehall-bench-{name}-"))
                if args.keep_db:
                    print(f"kept {directory}", file=sys.stderr)
                else:
                    stack.callback(shutil.rmtree, directory, ignore_errors=True)
                store: Store = SQLiteStore(directory)
            else:
                url = stack.enter_context(bench_database(args.admin_url, keep=args.keep_db))
                store = PostgresStore(url)
                result.setdefault("postgres", postgres_settings(url))
            store.migrate(event_logs=[LOG.name])
            side = Side(name, store)
            stack.callback(side.close)
            sides[name] = side
        yield sides


def alternating(count: int) -> Iterator[tuple[int, tuple[str, str]]]:
    """Each step's index and the order the sides take it in, the first side swapping."""
    for i in range(count):
        yield i, (SIDES if i % 2 == 0 else SIDES[::-1])


def summary(latencies: Sequence[float], seconds: float, cpu: float | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "n": len(latencies),
        "seconds": round(seconds, 3),
        "per_s": round(len(latencies) / seconds, 1) if seconds > 0 else None,
        "min_ms": ms(min(latencies)) if latencies else None,
        "p50_ms": ms(percentile(latencies, 0.50)),
        "p90_ms": ms(percentile(latencies, 0.90)),
        "p99_ms": ms(percentile(latencies, 0.99)),
    }
    if cpu is not None:
        found["cpu_seconds"] = round(cpu, 3)
        found["cpu_ms_per_op"] = ms(cpu / len(latencies)) if latencies else None
    return found


@contextlib.contextmanager
def lap(into: list[float], cpu: list[float] | None = None) -> Iterator[None]:
    """Time the block into `into`, and this process's CPU time into `cpu` (a block that raises
    is not counted)."""
    begun, cpu_begun = time.perf_counter(), time.process_time()
    yield
    into.append(time.perf_counter() - begun)
    if cpu is not None:
        cpu.append(time.process_time() - cpu_begun)


def timings(wall: dict[str, list[float]], cpu: dict[str, list[float]]) -> dict[str, Any]:
    """Each side's figures and the ratios sealed / plain: p50, least, and the median CPU time
    of an operation (a mean would carry whichever side a full garbage collection landed in)."""
    figures: dict[str, Any] = {
        name: summary(wall[name], sum(wall[name]), sum(cpu[name]))
        | {"cpu_p50_ms": ms(percentile(cpu[name], 0.50))}
        for name in SIDES
    }
    figures["ratio_sealed_over_plain"] = {
        key: ratio(figures, key) for key in ("p50_ms", "min_ms", "cpu_p50_ms")
    }
    return figures


def warm(app: BidsApp) -> BidsApp:
    """Open the Application's and its key reader's database connections, and read the header
    key, so a timed call pays neither a connection nor that one lookup."""
    app.recorder.max_notification_id()
    assert isinstance(app.ids, KeyedBidIds)
    app.ids.keys.header_key()
    return app


def one_bid(
    side: Side,
    app: BidsApp,
    tender: Tender,
    lot: str,
    bidder: UUID,
    content: BidContent,
    laps: dict[str, list[float]],
) -> UUID:
    """A bidder's bid for the lot, as the web routes make it: drafted, written, submitted (its
    receipt queued in the same transaction); each command timed into `laps`."""
    lead = eligible(bidder)
    context = at(BIDDING)
    with lap(laps["draft"]):
        bid_id = app.draft_bid(context, tender, lot, lead).aggregate_id
    with lap(laps["content"]):
        app.change_content(context, tender, bid_id, bidder, content)
    with lap(laps["submit"]):
        app.submit(context, tender, bid_id, bidder, lead, side.receipts(app, tender))
    return bid_id


# --- (a) the bid life ---------------------------------------------------------------------------


@dataclass
class Written:
    """What phase (a) leaves for phase (b): the apps that wrote, and each bidder's bids."""

    apps: dict[str, BidsApp]
    tenders: list[Tender]
    bids: dict[str, dict[UUID, list[UUID]]]  # side -> bidder -> bid ids


def bid_life(sides: dict[str, Side], args: argparse.Namespace) -> tuple[dict[str, Any], Written]:
    tenders = [published_tender(i) for i in range(args.tenders)]
    for side in sides.values():
        for tender in tenders:
            side.publish(tender)
    bidders = [uuid.uuid4() for _ in range(args.bidders)]
    apps = {name: warm(side.app()) for name, side in sides.items()}
    lots = ("lot-1", "lot-2")
    per_kind: dict[str, dict[str, list[float]]] = {
        name: {"draft": [], "content": [], "submit": []} for name in SIDES
    }
    wall = dict.fromkeys(SIDES, 0.0)
    cpu = dict.fromkeys(SIDES, 0.0)
    bids: dict[str, dict[UUID, list[UUID]]] = {name: {} for name in SIDES}
    for i, order in alternating(len(bidders)):
        bidder = bidders[i]
        for name in order:
            rng = random.Random(i)  # the same content on both sides
            contents = [bid_content(tender, rng) for tender in tenders]
            mine = bids[name].setdefault(bidder, [])
            wall_begun, cpu_begun = time.perf_counter(), time.process_time()
            for t, tender in enumerate(tenders):
                lot = lots[(i + t) % 2]
                mine.append(
                    one_bid(
                        sides[name], apps[name], tender, lot, bidder, contents[t], per_kind[name]
                    )
                )
            wall[name] += time.perf_counter() - wall_begun
            cpu[name] += time.process_time() - cpu_begun
    result: dict[str, Any] = {}
    for name in SIDES:
        every = [x for xs in per_kind[name].values() for x in xs]
        result[name] = summary(every, wall[name], cpu[name]) | {
            kind: summary(xs, sum(xs)) for kind, xs in per_kind[name].items()
        }
    result["ratio_sealed_over_plain"] = {
        "commands_per_s": ratio(result, "per_s"),
        "p50_ms": ratio(result, "p50_ms"),
        "cpu_ms_per_command": ratio(result, "cpu_ms_per_op"),
    }
    return result, Written(apps, tenders, bids)


def ratio(result: dict[str, Any], key: str) -> float | None:
    plain, sealed = result["plain"][key], result["sealed"][key]
    return round(sealed / plain, 3) if plain else None


# --- (b) reads ----------------------------------------------------------------------------------


def reads(sides: dict[str, Side], written: Written, args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {}
    bidders = list(written.bids["plain"])
    uncached = {name: side.app(aggregate_cache=False) for name, side in sides.items()}
    try:
        for app in uncached.values():
            # Warm the key cache (every tender's, the header's) once, untimed: key lookups are
            # measured on their own below.
            app.bids_of(bidders[0])
        for label, apps in (("cached", written.apps), ("uncached", uncached)):
            bids_of: dict[str, list[float]] = {name: [] for name in SIDES}
            bid_for: dict[str, list[float]] = {name: [] for name in SIDES}
            bids_of_cpu: dict[str, list[float]] = {name: [] for name in SIDES}
            bid_for_cpu: dict[str, list[float]] = {name: [] for name in SIDES}
            for _ in range(args.read_passes):
                for i, order in alternating(len(bidders)):
                    for name in order:
                        app, bidder = apps[name], bidders[i]
                        with lap(bids_of[name], bids_of_cpu[name]):
                            found = app.bids_of(bidder)
                        assert len(found) == len(written.tenders), (name, len(found))
                        bid_id = written.bids[name][bidder][i % len(written.tenders)]
                        with lap(bid_for[name], bid_for_cpu[name]):
                            bid = app.bid_for(bid_id, bidder)
                        assert bid.status is BidStatus.SUBMITTED
            result[f"bids_of_{label}"] = timings(bids_of, bids_of_cpu)
            result[f"bid_for_{label}"] = timings(bid_for, bid_for_cpu)
    finally:
        for app in uncached.values():
            app.close()
    result["bids_of_returns"] = len(written.tenders)
    result["tender_key_lookup_cold"] = key_lookups(sides["sealed"], written.tenders)
    return result


def key_lookups(side: Side, tenders: Sequence[Tender]) -> dict[str, Any]:
    """A tender key read from the database and unwrapped (first use), then from the cache."""
    keys = side.keys()
    keys.header_key()  # the engine's first connection, untimed
    cold: list[float] = []
    cached: list[float] = []
    for tender in tenders:
        with lap(cold):
            keys.existing_tender_key(tender.id)
        with lap(cached):
            keys.existing_tender_key(tender.id)
    return {"first_use": summary(cold, sum(cold)), "cached": summary(cached, sum(cached))}


# --- (c), (d) opening ---------------------------------------------------------------------------


def seed_tender(app: BidsApp, tender: Tender, count: int, number: int) -> None:
    """`count` submitted bids for the tender, each from its own bidder, saved many a save."""
    rng = random.Random(number)
    context = at(BIDDING)
    box = BidBox.start(context, app.ids.box_id(tender.id), tender.id)
    pending: list[Any] = []
    for i in range(count):
        bidder = uuid.uuid4()
        lot = ("lot-1", "lot-2")[i % 2]
        bid_id = app.ids.bid_id(tender.id, lot, bidder)
        bid = Bid.draft(context, bid_id, tender, lot, bidder)
        bid.change_content(context, tender, bid_content(tender, rng))
        bid.submit(context, tender)
        box.lodge(context, bid_id)
        index = BidderIndex.start(context, app.ids.index_id(bidder), tender.id, bid_id)
        pending += [bid, index]
        if len(pending) >= 2 * SEED_BATCH:
            app.save(box, *pending)
            pending = []
    app.save(box, *pending)


def opening(sides: dict[str, Side], args: argparse.Namespace) -> dict[str, Any]:
    tenders = [published_tender(1000 + i) for i in range(args.opens + 1)]
    for side in sides.values():
        for tender in tenders:
            side.publish(tender)
        seeder = side.app(aggregate_cache=False)
        try:
            for number, tender in enumerate(tenders):
                seed_tender(seeder, tender, args.bids_per_tender, number)
        finally:
            seeder.close()
    wall: dict[str, list[float]] = {name: [] for name in SIDES}
    cpu: dict[str, list[float]] = {name: [] for name in SIDES}
    timed_tenders, traced = tenders[:-1], tenders[-1]
    for i, order in alternating(len(timed_tenders)):
        for name in order:
            # A new Application: its aggregate cache empty, the tender's key not yet read.
            app = warm(sides[name].app())
            gc.collect()  # the last opening's garbage is not this one's to collect
            try:
                with lap(wall[name], cpu[name]):
                    opened = app.open_bids(at(OPENING), timed_tenders[i], everyone_eligible)
            finally:
                app.close()
            valid = sum(1 for bid in opened if bid.status is BidStatus.OPENED)
            assert valid == args.bids_per_tender, (name, valid)
    result: dict[str, Any] = {"bids_per_tender": args.bids_per_tender} | timings(wall, cpu)
    for name in SIDES:
        result[name]["bids_opened_per_s_at_p50"] = round(
            args.bids_per_tender / percentile(wall[name], 0.5), 1
        )
    memory: dict[str, Any] = {}
    for name in SIDES:
        app = warm(sides[name].app())
        try:
            gc.collect()
            tracemalloc.start()
            try:
                app.open_bids(at(OPENING), traced, everyone_eligible)
                current, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        finally:
            app.close()
        memory[name] = {
            "peak_mib": round(peak / 2**20, 2),
            "retained_mib": round(current / 2**20, 2),
        }
    memory["ratio_sealed_over_plain"] = {"peak_mib": ratio(memory, "peak_mib")}
    result["memory_tracemalloc"] = memory
    return result


# --- (e) contention on one tender's box ---------------------------------------------------------


def contention(sides: dict[str, Side], args: argparse.Namespace) -> dict[str, Any]:
    """W threads, each bidding for its own bidders: all on one tender, or each on its own."""
    result: dict[str, Any] = {"threads": args.threads, "bids_per_thread": args.contention_bids}
    number = 2000
    for layout in ("one_tender", "own_tenders"):
        for _, order in alternating(1 if layout == "one_tender" else 2):
            for name in order:
                count = 1 if layout == "one_tender" else args.threads
                tenders = [published_tender(number + i) for i in range(count)]
                number += count
                result.setdefault(name, {})[layout] = contend(sides[name], tenders, args)
    for name in SIDES:
        one, own = result[name]["one_tender"]["per_s"], result[name]["own_tenders"]["per_s"]
        result[name]["one_over_own"] = round(one / own, 3) if own else None
    result["ratio_sealed_over_plain"] = {
        layout: round(result["sealed"][layout]["per_s"] / result["plain"][layout]["per_s"], 3)
        for layout in ("one_tender", "own_tenders")
    }
    return result


def contend(side: Side, tenders: list[Tender], args: argparse.Namespace) -> dict[str, Any]:
    """`args.threads` threads, thread n bidding on tenders[n % len(tenders)]; commands/s, and how
    many saves clashed (another thread wrote the box first) and were retried."""
    for tender in tenders:
        side.publish(tender)
    app = warm(side.app(pool_size=args.threads))
    clashes = [0]
    save = app.save

    def counting(*aggregates: Any, **kwargs: Any) -> Any:
        try:
            return save(*aggregates, **kwargs)
        except IntegrityError:
            clashes[0] += 1
            raise

    app.save = counting  # type: ignore[method-assign]
    gate = threading.Barrier(args.threads + 1)
    laps: list[dict[str, list[float]]] = []
    errors: list[str] = []

    def bidder_thread(n: int) -> None:
        tender = tenders[n % len(tenders)]
        rng = random.Random(n)
        contents = [bid_content(tender, rng) for _ in range(args.contention_bids)]
        mine: dict[str, list[float]] = {"draft": [], "content": [], "submit": []}
        laps.append(mine)
        gate.wait()
        for content in contents:
            try:
                one_bid(side, app, tender, "lot-1", uuid.uuid4(), content, mine)
            except Exception as error:
                errors.append(type(error).__name__)

    threads = [threading.Thread(target=bidder_thread, args=(n,)) for n in range(args.threads)]
    for thread in threads:
        thread.start()
    gate.wait()
    begun = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begun
    app.close()
    drafts = [x for mine in laps for x in mine["draft"]]
    every = [x for mine in laps for xs in mine.values() for x in xs]
    return summary(every, elapsed) | {
        "draft_p50_ms": ms(percentile(drafts, 0.5)),
        "draft_p99_ms": ms(percentile(drafts, 0.99)),
        "clashes_retried": clashes[0],
        "errors": errors,
    }


# --- (f) the mapper alone ---------------------------------------------------------------------


def mapper_alone(sides: dict[str, Side], repeat: int = 5, number: int = 2_000) -> dict[str, Any]:
    """Microseconds an event through each side's mapper, both ways, for a bid's three events
    (least of `repeat` runs of `number`), and AES-GCM alone on the largest event's bytes: how
    much of the sealed mapper's cost is the cipher."""
    tender = published_tender(3000)
    bid = Bid.draft(at(BIDDING), uuid.uuid4(), tender, "lot-1", uuid.uuid4())
    bid.change_content(at(BIDDING), tender, bid_content(tender, random.Random(0)))
    bid.submit(at(BIDDING), tender)
    events = bid.collect_events()

    def least_us(call: Callable[[], Any]) -> float:
        return round(min(timeit.repeat(call, number=number, repeat=repeat)) / number * 1e6, 1)

    result: dict[str, Any] = {}
    for name, side in sides.items():
        side.publish(tender)
        app = warm(side.app())
        try:
            mapper = app.mapper
            for event in events:
                stored = mapper.to_stored_event(event)
                result.setdefault(type(event).__name__, {})[name] = {
                    "state_bytes": len(stored.state),
                    "write_us": least_us(partial(mapper.to_stored_event, event)),
                    "read_us": least_us(partial(mapper.to_domain_event, stored)),
                }
        finally:
            app.close()
    for figures in result.values():
        figures["ratio_sealed_over_plain"] = {
            key: round(figures["sealed"][key] / figures["plain"][key], 3)
            for key in ("write_us", "read_us")
        }
    key, nonce = os.urandom(32), os.urandom(12)
    body = os.urandom(result["ContentChanged"]["plain"]["state_bytes"])
    cipher = AESGCM(key)
    sealed = cipher.encrypt(nonce, body, b"aad")
    result["aes_gcm"] = {
        "bytes": len(body),
        "new_cipher_us": least_us(partial(AESGCM, key)),
        "encrypt_us": least_us(partial(cipher.encrypt, nonce, body, b"aad")),
        "decrypt_us": least_us(partial(cipher.decrypt, nonce, sealed, b"aad")),
    }
    return result


# --- what was stored ---------------------------------------------------------------------------


def stored(side: Side) -> dict[str, Any]:
    """The side's events table: how many events, their mean stored size, and how many carry the
    sealed topic (every one on the sealed side, none on the plain: the baseline is unsealed)."""
    table = "bids_events" if isinstance(side.store, SQLiteStore) else f"{EVENTS_SCHEMA}.bids_events"
    engine = side.store.sync_engine()
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT count(*), avg(length(state)), "
                    f"sum(CASE WHEN topic = :sealed THEN 1 ELSE 0 END) FROM {table}"
                ),
                {"sealed": SEALED_TOPIC},
            ).one()
    finally:
        engine.dispose()
    events, mean_bytes, sealed = int(row[0]), float(row[1] or 0), int(row[2] or 0)
    expected = events if side.name == "sealed" else 0
    if sealed != expected:
        raise AssertionError(f"{side.name}: {sealed} of {events} events sealed")
    return {"events": events, "mean_state_bytes": round(mean_bytes), "sealed_events": sealed}


# --- the run ------------------------------------------------------------------------------------


def run_store(kind: str, args: argparse.Namespace, result: dict[str, Any]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    begun = time.perf_counter()
    with fresh_sides(kind, args, result) as sides:
        figures["a_bid_life"], written = bid_life(sides, args)
        print(f"{kind}: (a) {figures['a_bid_life']['ratio_sealed_over_plain']}", file=sys.stderr)
        try:
            figures["b_reads"] = reads(sides, written, args)
        finally:
            for app in written.apps.values():
                app.close()
        print(f"{kind}: (b) done", file=sys.stderr)
        figures["c_d_opening"] = opening(sides, args)
        print(f"{kind}: (c) {figures['c_d_opening']['ratio_sealed_over_plain']}", file=sys.stderr)
        if args.threads > 1:
            figures["e_contention"] = contention(sides, args)
            print(f"{kind}: (e) done", file=sys.stderr)
        figures["f_mapper"] = mapper_alone(sides)
        figures["stored"] = {name: stored(side) for name, side in sides.items()}
    figures["seconds"] = round(time.perf_counter() - begun, 1)
    return figures


def source() -> dict[str, Any]:
    """The commit of the imported tree and its changed paths under src/, when it is a checkout
    (other engineers edit the working tree: a figure names what it measured)."""
    import tradehall

    root = Path(tradehall.__file__).resolve().parents[2]

    def git(*command: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(root), *command], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return {"commit": None, "root": str(root)}
    changed = git("status", "--porcelain", "--", "src").splitlines()
    return {"commit": commit, "root": str(root), "changed_under_src": changed}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sealed_bids",
        description="Sealed bids vs the same BidsApp with the plain mapper, same run.",
    )
    parser.add_argument(
        "--store",
        action="append",
        choices=("sqlite", "postgresql"),
        help="a store to measure (repeatable; default both, SQLite first)",
    )
    parser.add_argument("--tenders", type=int, default=10, help="(a, b) tenders, N (10)")
    parser.add_argument("--bidders", type=int, default=40, help="(a, b) bidders, M (40)")
    parser.add_argument("--read-passes", type=int, default=2, help="(b) passes over bidders (2)")
    parser.add_argument(
        "--bids-per-tender", type=int, default=200, help="(c, d) bids in an opened tender, K (200)"
    )
    parser.add_argument("--opens", type=int, default=6, help="(c) timed openings a side (6)")
    parser.add_argument(
        "--threads", type=int, default=4, help="(e) bidding threads, W; 1 skips (e) (4)"
    )
    parser.add_argument(
        "--contention-bids", type=int, default=25, help="(e) bids each thread makes (25)"
    )
    parser.add_argument("--admin-url", default=admin_url_default(), help="where to create the db")
    parser.add_argument("--keep-db", action="store_true", help="keep the databases/directories")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    stores = args.store or ["sqlite", "postgresql"]
    result: dict[str, Any] = {
        "benchmark": "sealed_bids",
        "command": " ".join(["python -m bench.sealed_bids", *(argv or sys.argv[1:])]),
        "machine": machine(),
        "source": source(),
        "options": vars(args) | {"store": stores},
    }
    for kind in stores:
        result[kind] = run_store(kind, args, result)
    emit(result, args.json)


if __name__ == "__main__":
    main()
