"""A deadline burst over HTTP on PostgreSQL (issue 19), beside the same bids through the bids
Application directly, in the same run.

Set-up, untimed, through the Applications: `--members` organisations (200) are registered with
a member user each, applied, admitted and paid up (members in good standing, serving TLE); a
verified buyer drafts and publishes one popular tender of two lots (bench/sealed_bids.py's
terms: its lots, criteria and bid contents, with the deadline `--deadline-minutes` from now and
the region TLE); its sealing key is made at publication, under the master key the server is
given. Members sign in (argon2 is not what is measured).

The burst: every member works through its plan at once, sharing `--clients` keep-alive
connections (32): at most that many requests in flight, the rest queue for a connection. A
member drafts its lot-1 bid, writes it (a price, an answer of about 1,200 characters to each
criterion, two commitments) and submits it; does the same for lot 2; then revises, alternating
lots: withdraws, writes a new content, submits again, until it has made
`--submissions-per-member` submissions (5: 200 x 5 = 1,000). One member in
`--consortium-every` (10) makes its lot-2 bid a consortium (60/40) with the next member, who
reads the bid and accepts, before the lead submits. A step answered 409, 429 or 503 is tried
again up to `--retries` times (at once, Retry-After is not waited out); a step that stays
refused is counted and the member goes on (its later steps on that bid may then be refused).

Counted: every request by route and status (2xx acknowledged, 4xx refused cleanly, 5xx and
connection errors are failures: none expected), latency p50/p95/p99 per route and overall (from
sending a request on a connection to its reply; the wait for a free connection is reported
apart), submissions/s and requests/s over the burst, the server's RSS (VmRSS before and after,
VmHWM peak).

Checked afterwards, from the database, decrypting nothing: for each bid, the versions the
acknowledged commands answered are exactly the versions stored in the bids log for that bid (so
every acknowledged command's event is stored, once, and nothing unacknowledged was stored
beside it); each is a sealed event; each acknowledged submission's receipt is in the outbox
exactly once (its message id is derived from the bid, its version and the lead). The same check
runs on the direct phase.

Baselines, same run, before the burst, each with a tender of its own: the same plans through
`SealedBidsApp` in one thread per bidder, at most `--clients` commands at once,
- "direct": other bidders, the supplier facts and the tender in hand (no HTTP, no reads of
  membership or the marketplace): what the bids Application and PostgreSQL take;
- "direct_with_reads" (unless `--no-direct-reads`): another `--members` paid-up members, and
  around each command the Application reads its route makes (the tender from the marketplace,
  the caller's bid, the supplier's standing from membership and marks, the tender key at a
  draft, the receipt's bid after a submission): what is left to HTTP is the web stack (the
  request, the token, the thread hops, the logging, the response).

Run: `.venv/bin/python -m bench.burst --help`; a small run while developing:
`.venv/bin/python -m bench.burst --members 20 --submissions-per-member 3 --clients 8`.
Against another tree: `PYTHONPATH=/tmp/th-before/src:$PWD` from a tree holding this bench (the
served `tradehall` inherits PYTHONPATH), as docs/PERFORMANCE.md's introduction shows.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import os
import random
import re
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import psycopg

from bench._common import (
    BENCH_PASSWORD,
    BENCH_TURNOVER,
    HttpConnection,
    Member,
    ServedApp,
    admin_url_default,
    bench_database,
    emit,
    fetch_token,
    machine,
    ms,
    percentile,
    postgres_settings,
    register_members,
    run_async,
    run_migrate,
    server_env,
)
from bench.sealed_bids import ACTOR, bid_content, published_tender, source, warm
from marketplace.application import BuyerFacts, MarketplaceApp
from marketplace.bids.application import BidsApp
from marketplace.bids.content import BidContent, Share, SupplierFacts
from marketplace.tender_terms import Period
from marketplace.tenders import Tender
from membership.application import MembershipApp
from membership.dues import band_for, default_bands
from membership.marks.application import MarksApp
from sharedkernel.events import Context
from tradehall.identity.users import Passwords
from tradehall.mail.outbox import MESSAGE_DOMAIN, MESSAGE_NAMESPACE
from tradehall.marketplace.bids import LOG
from tradehall.marketplace.bids.declaration import SealedBidsApp
from tradehall.marketplace.bids.notices import invitations, receipts
from tradehall.marketplace.bids.suppliers import supplier_facts
from tradehall.marketplace.sealing.keys import SealingKeys
from tradehall.marketplace.sealing.mapper import SEALED_TOPIC
from tradehall.marketplace.sealing.master import MasterKeys
from tradehall.store.postgres import EVENTS_SCHEMA, PostgresStore

LOTS = ("lot-1", "lot-2")
REGION = "TLE"  # bench._common.details_for registers every member serving TLE
RETRIED = frozenset({409, 429, 503})
PUBLIC_URL = "http://127.0.0.1"
DUE = band_for(default_bands(), BENCH_TURNOVER).annual_due
LEAD_SHARE = 60


# --- the plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One command of a member's plan. `content` indexes the member's contents; `partner` is
    the member index of a consortium partner (for "consortium" and "accept")."""

    kind: str  # draft | content | consortium | accept | submit | withdraw
    lot: str
    content: int = -1
    partner: int = -1


def plan_for(index: int, members: int, submissions: int, consortium: bool) -> list[Step]:
    """Lot 1 drafted, written, submitted; then lot 2 (a consortium with the next member if
    `consortium`); then revisions alternating lots (withdraw, write, submit) until `submissions`
    submissions are made."""
    steps: list[Step] = []
    written = 0
    for number in range(min(submissions, len(LOTS))):
        lot = LOTS[number]
        steps += [Step("draft", lot), Step("content", lot, written)]
        written += 1
        if lot == "lot-2" and consortium and members > 1:
            partner = (index + 1) % members
            steps += [
                Step("consortium", lot, partner=partner),
                Step("accept", lot, partner=partner),
            ]
        steps.append(Step("submit", lot))
    for number in range(len(LOTS), submissions):
        lot = LOTS[number % len(LOTS)]
        steps += [Step("withdraw", lot), Step("content", lot, written), Step("submit", lot)]
        written += 1
    return steps


def contents_for(tender: Tender, index: int, count: int) -> list[BidContent]:
    """The member's contents, seeded by its index: the same in both phases."""
    rng = random.Random(index)
    return [bid_content(tender, rng) for _ in range(count)]


def content_body(content: BidContent) -> dict[str, Any]:
    """A content as PUT /api/v1/bids/{id} takes it."""
    assert content.price is not None
    return {
        "price_minor": content.price.minor,
        "answers": dict(content.answers),
        "commitments": [
            {"measure": c.measure, "quantity": c.quantity, "unit": c.unit}
            for c in content.commitments
        ],
    }


@dataclass
class Ledger:
    """What was acknowledged: each bid's lead and the versions its commands answered, and each
    acknowledged submission (bid, version)."""

    leads: dict[UUID, UUID] = field(default_factory=dict)
    versions: dict[UUID, list[int]] = field(default_factory=dict)
    submissions: list[tuple[UUID, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledged(self, kind: str, bid_id: UUID, lead: UUID, version: int) -> None:
        with self.lock:
            self.leads[bid_id] = lead
            self.versions.setdefault(bid_id, []).append(version)
            if kind == "submit":
                self.submissions.append((bid_id, version))


# --- set-up -----------------------------------------------------------------------------------


def context(at: datetime | None = None) -> Context:
    return Context(ACTOR, uuid.uuid4().hex, at or datetime.now(UTC))


def burst_tender(number: int, deadline: datetime) -> Tender:
    """bench/sealed_bids.py's tender, its periods moved to close at `deadline` and its region
    made the members' (TLE): drafted, not yet published (the Application publishes it)."""
    terms = published_tender(number).terms
    start = deadline - timedelta(days=1)
    contract = terms.contract_period
    length = contract.end - contract.start
    terms = dataclasses.replace(
        terms,
        title=f"Grounds maintenance: the deadline burst {number}",
        enquiry_period=Period.parse(start, deadline, "enquiry_period"),
        tender_period=Period.parse(start, deadline, "tender_period"),
        contract_period=Period.parse(
            deadline + timedelta(days=30), deadline + timedelta(days=30) + length, "contract_period"
        ),
        eligibility=dataclasses.replace(terms.eligibility, regions=(REGION,)),
    )
    return Tender.draft(context(), uuid.uuid4(), uuid.uuid4(), "ocds-th01", terms)


def publish(
    marketplace: MarketplaceApp, keys: SealingKeys, number: int, deadline: datetime
) -> Tender:
    """A verified buyer's tender, drafted and published through the Application, its key made
    at publication as the marketplace does."""
    drafted = burst_tender(number, deadline)
    marketplace.verify_buyer(context(), drafted.buyer_id, "public_body", "bench register")
    marketplace.draft_tender(context(), drafted.id, drafted.buyer_id, drafted.terms)
    marketplace.publish_tender(context(), drafted.id, BuyerFacts("public_body"))
    keys.ensure_tender_key(drafted.id, datetime.now(UTC))
    return marketplace.tender(drafted.id)


def paid_up_members(app: MembershipApp, count: int, password_hash: str) -> list[Member]:
    """Members in good standing: registered (a user each), applied, admitted, first dues paid."""
    members = register_members(
        app, count=count, password_hash=password_hash, label="burst", apply=True, admit=True
    )
    for member in members:
        app.record_payment(context(), member.organisation_id, DUE, "bank_transfer", "bench")
    assert app.is_in_good_standing(members[0].organisation_id, datetime.now(UTC))
    return members


# --- the burst over HTTP ---------------------------------------------------------------------


@dataclass
class Tally:
    """Every request's route, status and latency; connection waits; failures."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, Counter[str]] = field(default_factory=dict)
    waits: list[float] = field(default_factory=list)
    finished: list[float] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)  # "route status: detail"
    gave_up: int = 0

    def record(self, kind: str, status: str, latency: float | None, at: float) -> None:
        self.statuses.setdefault(kind, Counter())[status] += 1
        if latency is not None:
            self.latencies.setdefault(kind, []).append(latency)
            self.finished.append(at)


def _problem_detail(body: bytes) -> str:
    """A refusal's detail, ids blanked (a summary, not a log of whose bid it was)."""
    text = body[:300].decode(errors="replace")
    match = re.search(r'"detail":\s*"([^"]*)"', text)
    detail = match.group(1) if match else text[:80]
    return re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", detail)


async def http_burst(
    port: int,
    members: list[Member],
    tokens: list[str],
    plans: list[list[Step]],
    contents: list[list[BidContent]],
    tender: Tender,
    args: argparse.Namespace,
    ledger: Ledger,
) -> dict[str, Any]:
    # A free connection for each holder of the semaphore; the semaphore serves waiters first
    # come, first served (an asyncio.Queue would let a member that just put a connection back
    # take it again at once, ahead of members waiting since long before).
    idle: list[HttpConnection] = []
    for _ in range(args.clients):
        connection = HttpConnection("127.0.0.1", port)
        await connection.connect()
        idle.append(connection)
    slots = asyncio.Semaphore(args.clients)
    tally = Tally()
    gate = asyncio.Event()

    async def call(kind: str, method: str, path: str, token: str, body: Any = None) -> Any:
        queued = time.perf_counter()
        async with slots:
            connection = idle.pop()
            begun = time.perf_counter()
            tally.waits.append(begun - queued)
            try:
                reply = await connection.request(method, path, token=token, body=body)
            except (OSError, asyncio.IncompleteReadError, RuntimeError) as error:
                await connection.close()
                idle.append(HttpConnection("127.0.0.1", port))  # connects on first use
                tally.record(kind, f"connection error: {type(error).__name__}", None, 0.0)
                return None
            ended = time.perf_counter()
            idle.append(connection)
        tally.record(kind, str(reply.status), ended - begun, ended)
        if reply.status >= 300:
            tally.refusals[f"{kind} {reply.status}: {_problem_detail(reply.body)}"] += 1
        return reply

    async def member_task(index: int) -> None:
        member, token = members[index], tokens[index]
        bids: dict[str, UUID] = {}
        await gate.wait()
        for step in plans[index]:
            bid_id = bids.get(step.lot)
            if step.kind != "draft" and bid_id is None:
                tally.gave_up += 1  # its draft was refused: nothing to act on
                continue
            for _attempt in range(1 + args.retries):
                body: dict[str, Any]
                if step.kind == "draft":
                    body = {"tender_id": str(tender.id), "lot_id": step.lot}
                    reply = await call("draft", "POST", "/api/v1/bids", token, body)
                elif step.kind == "content":
                    body = content_body(contents[index][step.content])
                    reply = await call("content", "PUT", f"/api/v1/bids/{bid_id}", token, body)
                elif step.kind == "consortium":
                    partner = members[step.partner].organisation_id
                    body = {
                        "lead_share": LEAD_SHARE,
                        "partners": [{"organisation_id": str(partner), "share": 100 - LEAD_SHARE}],
                    }
                    path = f"/api/v1/bids/{bid_id}/consortium"
                    reply = await call("consortium", "PUT", path, token, body)
                elif step.kind == "accept":
                    # The partner reads the bid, then accepts the terms round it read.
                    partner_token = tokens[step.partner]
                    read = await call("read", "GET", f"/api/v1/bids/{bid_id}", partner_token)
                    if read is None or read.status != 200:
                        reply = read
                    else:
                        body = {"consortium_round": read.json()["consortium_round"]}
                        path = f"/api/v1/bids/{bid_id}/acceptance"
                        reply = await call("accept", "POST", path, partner_token, body)
                else:
                    action = "submission" if step.kind == "submit" else "withdrawal"
                    path = f"/api/v1/bids/{bid_id}/{action}"
                    reply = await call(step.kind, "POST", path, token)
                if reply is not None and reply.status < 300:
                    answer = reply.json()
                    if step.kind == "draft":
                        bid_id = bids[step.lot] = UUID(answer["id"])
                    assert bid_id is not None
                    ledger.acknowledged(
                        step.kind, bid_id, member.organisation_id, answer["version"]
                    )
                    break
                if reply is None or reply.status not in RETRIED:
                    break

    tasks = [asyncio.create_task(member_task(i)) for i in range(len(members))]
    started = time.perf_counter()
    gate.set()
    await asyncio.gather(*tasks)
    finished = time.perf_counter()
    for connection in idle:
        await connection.close()
    return figures(tally, started, finished, ledger) | {
        "connection_wait_p50_ms": ms(percentile(tally.waits, 0.5)),
        "connection_wait_p99_ms": ms(percentile(tally.waits, 0.99)),
        "refusals": dict(tally.refusals.most_common(20)),
        "steps_skipped_after_a_refused_draft": tally.gave_up,
    }


def figures(tally: Tally, started: float, finished: float, ledger: Ledger) -> dict[str, Any]:
    elapsed = finished - started
    every = [x for xs in tally.latencies.values() for x in xs]
    statuses: Counter[str] = Counter()
    for counts in tally.statuses.values():
        statuses.update(counts)
    classes: Counter[str] = Counter()
    for status, count in statuses.items():
        classes[status[0] + "xx" if status[:1].isdigit() else "connection_error"] += count
    submitted = sum(1 for _ in ledger.submissions)
    return {
        "seconds": round(elapsed, 2),
        "within_one_minute": elapsed <= 60.0,
        "requests": sum(statuses.values()),
        "requests_per_s": round(len(every) / elapsed, 1) if elapsed > 0 else None,
        "submissions_acknowledged": submitted,
        "submissions_per_s": round(submitted / elapsed, 1) if elapsed > 0 else None,
        "status_classes": dict(sorted(classes.items())),
        "p50_ms": ms(percentile(every, 0.50)),
        "p95_ms": ms(percentile(every, 0.95)),
        "p99_ms": ms(percentile(every, 0.99)),
        "max_ms": ms(max(every)) if every else None,
        "by_route": {
            kind: {
                "statuses": dict(sorted(tally.statuses.get(kind, Counter()).items())),
                "p50_ms": ms(percentile(xs, 0.50)),
                "p95_ms": ms(percentile(xs, 0.95)),
                "p99_ms": ms(percentile(xs, 0.99)),
            }
            for kind, xs in sorted(tally.latencies.items())
        },
    }


async def sign_in_all(port: int, members: list[Member], connections: int = 1) -> list[str]:
    """Every member's token (untimed). One sign-in at a time: sign-in is throttled per client
    address, each attempt counted before the password is checked."""
    tokens: list[str] = [""] * len(members)

    async def worker(offset: int) -> None:
        connection = HttpConnection("127.0.0.1", port)
        try:
            for i in range(offset, len(members), connections):
                tokens[i] = await fetch_token(connection, members[i].email, BENCH_PASSWORD)
        finally:
            await connection.close()

    await asyncio.gather(*(worker(n) for n in range(connections)))
    return tokens


def reset_peak_rss(pid: int) -> None:
    """Start VmHWM afresh (Linux's clear_refs "5"), so the peak is the burst's, not start-up's."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def database_connections(url: str) -> int:
    """The connections open to the bench database now (the server's pools, and this check)."""
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def proc_status_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB."""
    text = Path(f"/proc/{pid}/status").read_text()
    found = {}
    for name in ("VmRSS", "VmHWM"):
        match = re.search(rf"^{name}:\s+(\d+)\s+kB", text, re.MULTILINE)
        if match:
            found[name] = int(match.group(1))
    return found


# --- the baseline: the bids Application directly -------------------------------------------


@dataclass(frozen=True)
class Reads:
    """The Applications the bid routes read besides the bids Application."""

    membership: MembershipApp
    marks: MarksApp
    marketplace: MarketplaceApp


def direct_burst(
    app: BidsApp,
    keys: SealingKeys,
    bidders: list[UUID],
    plans: list[list[Step]],
    contents: list[list[BidContent]],
    tender: Tender,
    args: argparse.Namespace,
    ledger: Ledger,
    reads: Reads | None = None,
) -> dict[str, Any]:
    """The same plans in one thread per bidder, at most `--clients` commands at once. Given
    `reads`, each command also makes the Application reads its route makes (the tender, the
    caller's bid, the supplier's standing from membership and marks, the receipt's bid), and
    the bidders must be members; without, the supplier facts and the tender are in hand."""
    tally = Tally()
    tally_lock = threading.Lock()
    slots = threading.BoundedSemaphore(args.clients)
    gate = threading.Barrier(len(bidders) + 1)
    told = invitations(keys, tender, "Bench lead", PUBLIC_URL)
    receipts_of = receipts(keys, tender)

    def given(organisation_id: UUID) -> SupplierFacts:
        return SupplierFacts(organisation_id, True, True, False, (REGION,))

    def facts(organisation_id: UUID) -> SupplierFacts:
        if reads is None:
            return given(organisation_id)
        return supplier_facts(reads.membership, reads.marks, organisation_id, datetime.now(UTC))

    def one(kind: str, index: int, step: Step, bid_id: UUID | None) -> Any:
        bidder = bidders[index]
        now = context()
        if reads is not None:
            # What the routes read before the command: the tender, and the caller's bid.
            reads.marketplace.tender(tender.id)
            if bid_id is not None and kind != "accept":
                app.bid_for(bid_id, bidder)
        if kind == "draft":
            lead = facts(bidder)
            if reads is not None:
                keys.ensure_tender_key(tender.id, now.at)
            return app.draft_bid(now, tender, step.lot, lead)
        assert bid_id is not None
        if kind == "content":
            content = contents[index][step.content]
            return app.change_content(now, tender, bid_id, bidder, content)
        if kind == "consortium":
            partner = bidders[step.partner]
            shares = (Share(bidder, LEAD_SHARE), Share(partner, 100 - LEAD_SHARE))
            partners = {partner: facts(partner)}
            if reads is not None:
                reads.membership.get_organisation(bidder)
            return app.form_consortium(now, tender, bid_id, bidder, shares, partners, told)
        if kind == "accept":
            partner = bidders[step.partner]
            round_read = app.bid_for(bid_id, partner).consortium_round
            if reads is not None:
                app.bid_for(bid_id, partner)  # the acceptance route reads it again
            return app.accept_partnership(now, tender, bid_id, partner, round_read)
        if kind == "submit":
            done = app.submit(now, tender, bid_id, bidder, facts(bidder), receipts_of)
            if reads is not None:
                app.bid_for(bid_id, bidder, done.version)  # the receipt's bid, as saved
            return done
        return app.withdraw(now, tender, bid_id, bidder)

    def bidder_thread(index: int) -> None:
        bids: dict[str, UUID] = {}
        gate.wait()
        for step in plans[index]:
            bid_id = bids.get(step.lot)
            if step.kind != "draft" and bid_id is None:
                with tally_lock:
                    tally.gave_up += 1
                continue
            for _attempt in range(1 + args.retries):
                with slots:
                    begun = time.perf_counter()
                    try:
                        result = one(step.kind, index, step, bid_id)
                        status = "ok"
                    except Exception as error:
                        result, status = None, type(error).__name__
                    ended = time.perf_counter()
                with tally_lock:
                    tally.record(step.kind, status, ended - begun, ended)
                if result is not None:
                    if step.kind == "draft":
                        bid_id = bids[step.lot] = result.aggregate_id
                    assert bid_id is not None
                    ledger.acknowledged(step.kind, bid_id, bidders[index], result.version)
                    break
                if status not in ("Conflict", "ConcurrentChange"):
                    break

    threads = [
        threading.Thread(target=bidder_thread, args=(i,), name=f"bidder-{i}")
        for i in range(len(bidders))
    ]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    gate.wait()
    for thread in threads:
        thread.join()
    finished = time.perf_counter()
    result = figures(tally, started, finished, ledger)
    result["status_classes"] = dict(
        Counter(s for counts in tally.statuses.values() for s in counts.elements())
    )
    result["steps_skipped_after_a_refused_draft"] = tally.gave_up
    return result


def group_figures(app: BidsApp) -> dict[str, Any] | None:
    """How many saves each commit of the bids log carried, where the recorder groups them
    (ADR 36; an older tree's recorder commits each save alone)."""
    figures = getattr(getattr(app.recorder, "group", None), "figures", None)
    if figures is None or not figures.batches:
        return None
    return {
        "commits": figures.batches,
        "saves": figures.saves,
        "saves_per_commit": round(figures.saves / figures.batches, 2),
        "largest": figures.largest,
    }


# --- the check, from the database ---------------------------------------------------------------


def receipt_id(bid_id: UUID, version: int, lead: UUID) -> str:
    """The message id of a submission's receipt (tradehall.marketplace.bids.notices)."""
    key = f"{bid_id}:{version}:bid_receipt:{lead}"
    return f"<{uuid5(MESSAGE_NAMESPACE, key)}@{MESSAGE_DOMAIN}>"


def check_log(url: str, ledger: Ledger) -> dict[str, Any]:
    """Each bid's stored versions against its acknowledged ones; every stored event sealed;
    each acknowledged submission's receipt queued once. Nothing is decrypted."""
    bid_ids = list(ledger.versions)
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            f"SELECT originator_id, originator_version, topic FROM {EVENTS_SCHEMA}.bids_events "
            "WHERE originator_id = ANY(%s)",
            (bid_ids,),
        ).fetchall()
        wanted = [receipt_id(b, v, ledger.leads[b]) for b, v in ledger.submissions]
        receipts_found: dict[str, int] = dict(
            connection.execute(
                "SELECT message_id, count(*) FROM outbox_messages WHERE message_id = ANY(%s) "
                "GROUP BY message_id",
                (wanted,),
            ).fetchall()
        )
    stored: dict[UUID, list[int]] = {}
    unsealed = 0
    for originator_id, version, topic in rows:
        stored.setdefault(originator_id, []).append(version)
        unsealed += topic != SEALED_TOPIC
    missing = unacknowledged = duplicated = 0
    per_bidder: dict[UUID, list[int]] = {}
    for bid_id, acked in ledger.versions.items():
        here = stored.get(bid_id, [])
        duplicated += len(here) - len(set(here))
        missing += len(set(acked) - set(here))
        unacknowledged += len(set(here) - set(acked))
        counts = per_bidder.setdefault(ledger.leads[bid_id], [0, 0])
        counts[0] += len(set(acked))
        counts[1] += len(here)
    submissions_stored = sum(1 for b, v in ledger.submissions if v in stored.get(b, ()))
    return {
        "bids": len(bid_ids),
        "bidders": len(per_bidder),
        "events_acknowledged": sum(len(set(v)) for v in ledger.versions.values()),
        "events_stored": len(rows),
        "events_stored_not_sealed": unsealed,
        "acknowledged_not_stored": missing,
        "stored_not_acknowledged": unacknowledged,
        "stored_twice": duplicated,
        "bidders_whose_counts_differ": sum(a != s for a, s in per_bidder.values()),
        "submissions_acknowledged": len(ledger.submissions),
        "submissions_stored": submissions_stored,
        "submissions_acknowledged_twice": len(ledger.submissions) - len(set(ledger.submissions)),
        "receipts_found": sum(1 for w in wanted if receipts_found.get(w) == 1),
        "receipts_missing": sum(1 for w in wanted if w not in receipts_found),
        "exactly_once": (
            missing == unacknowledged == duplicated == unsealed == 0
            and submissions_stored == len(ledger.submissions)
            and all(receipts_found.get(w) == 1 for w in wanted)
        ),
    }


# --- the run ------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "benchmark": "burst",
        "machine": machine(),
        "source": source(),
        "options": vars(args),
    }
    password_hash = Passwords().hash(BENCH_PASSWORD)
    master = os.urandom(32)
    workdir = Path(tempfile.mkdtemp(prefix="tradehall-bench-burst-"))
    with bench_database(args.admin_url, keep=args.keep_db) as url:
        result["postgres"] = postgres_settings(url)
        extra = {
            "TRADEHALL_SEALING_KEY": base64.urlsafe_b64encode(master).decode(),
            "TRADEHALL_RUN_PROJECTIONS": "true" if args.projector else "false",
        }
        for item in args.server_env:
            name, _, value = item.partition("=")
            extra[name] = value
        env = server_env(
            database_url=url, data_dir=workdir / "data", pool_size=args.pool_size, extra=extra
        )
        run_migrate(env)
        store = PostgresStore(url)
        keys_engine = store.sync_engine()
        keys = SealingKeys(keys_engine, MasterKeys(master))
        membership = MembershipApp(env=store.application_env("membership", pool_size=2))
        marketplace = MarketplaceApp(env=store.application_env("marketplace", pool_size=2))
        count = args.members
        consortium = [
            args.consortium_every > 0 and i % args.consortium_every == 0 for i in range(count)
        ]
        plans = [
            plan_for(i, count, args.submissions_per_member, consortium[i]) for i in range(count)
        ]
        writes = args.submissions_per_member
        try:
            begun = time.perf_counter()
            members = paid_up_members(membership, count, password_hash)
            result["setup_members_seconds"] = round(time.perf_counter() - begun, 1)
            result["plan"] = {
                "members": count,
                "steps_per_member": len(plans[0]),
                "steps": sum(len(p) for p in plans),
                "submissions_planned": count * args.submissions_per_member,
                "consortium_bids": sum(consortium),
            }

            # Baselines: the same plans through the bids Application, each on a tender of its own:
            # with the supplier facts and tender in hand, then with the routes' reads (members).
            def direct(number: int, bidders: list[UUID], reads: Reads | None) -> dict[str, Any]:
                deadline = datetime.now(UTC) + timedelta(minutes=args.deadline_minutes)
                tender = publish(marketplace, keys, number, deadline)
                contents = [contents_for(tender, i, writes) for i in range(count)]
                ledger = Ledger()
                env_bids = store.application_env(LOG.name, pool_size=args.pool_size)
                app = SealedBidsApp(env_bids, SealingKeys(store.sync_engine(), MasterKeys(master)))
                try:
                    found = direct_burst(
                        warm(app), keys, bidders, plans, contents, tender, args, ledger, reads
                    )
                    found["group_commit"] = group_figures(app)
                finally:
                    app.close()
                found["check"] = check_log(url, ledger)
                return found

            result["direct"] = direct(1, [uuid.uuid4() for _ in range(count)], None)
            print(f"direct: {short(result['direct'])}", flush=True)
            if args.direct_reads:
                readers = [
                    m.organisation_id for m in paid_up_members(membership, count, password_hash)
                ]
                reads = Reads(
                    MembershipApp(
                        env=store.application_env("membership", pool_size=args.pool_size)
                    ),
                    MarksApp(env=store.application_env("marks", pool_size=args.pool_size)),
                    MarketplaceApp(
                        env=store.application_env("marketplace", pool_size=args.pool_size)
                    ),
                )
                try:
                    result["direct_with_reads"] = direct(3, readers, reads)
                finally:
                    for application in (reads.membership, reads.marks, reads.marketplace):
                        application.close()
                print(f"direct with reads: {short(result['direct_with_reads'])}", flush=True)

            # The burst over HTTP.
            with ServedApp(env, workdir / "server.log") as server:
                tokens = run_async(sign_in_all(server.port, members))
                deadline = datetime.now(UTC) + timedelta(minutes=args.deadline_minutes)
                tender = publish(marketplace, keys, 2, deadline)
                contents = [contents_for(tender, i, writes) for i in range(count)]
                reset_peak_rss(server.pid)
                before = proc_status_kib(server.pid)
                http_ledger = Ledger()
                result["http"] = run_async(
                    http_burst(
                        server.port, members, tokens, plans, contents, tender, args, http_ledger
                    )
                )
                after = proc_status_kib(server.pid)
                result["http"]["database_connections_after"] = database_connections(url)
                result["http"]["server_rss_mib"] = {
                    "before": round(before["VmRSS"] / 1024, 1),
                    "after": round(after["VmRSS"] / 1024, 1),
                    "peak_VmHWM": round(after["VmHWM"] / 1024, 1),
                }
                result["http"]["deadline_in_s_at_end"] = round(
                    (deadline - datetime.now(UTC)).total_seconds(), 1
                )
            result["http"]["check"] = check_log(url, http_ledger)
            print(f"http: {short(result['http'])}", flush=True)
            result["ratios"] = ratios(result)
        finally:
            membership.close()
            marketplace.close()
            keys_engine.dispose()
    result["server_log"] = str(workdir / "server.log")
    return result


def ratios(result: dict[str, Any]) -> dict[str, float | None]:
    """Submissions/s of one phase over another's, same run."""

    def over(top: str, bottom: str) -> float | None:
        if top not in result or bottom not in result:
            return None
        low = result[bottom]["submissions_per_s"]
        return round(result[top]["submissions_per_s"] / low, 3) if low else None

    return {
        "http_over_direct": over("http", "direct"),
        "http_over_direct_with_reads": over("http", "direct_with_reads"),
        "direct_with_reads_over_direct": over("direct_with_reads", "direct"),
    }


def short(phase: dict[str, Any]) -> dict[str, Any]:
    keys = ("seconds", "submissions_per_s", "requests_per_s", "status_classes", "p99_ms")
    return {k: phase.get(k) for k in keys} | {"exactly_once": phase["check"]["exactly_once"]}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.burst",
        description="A deadline burst of bid submissions over HTTP on PostgreSQL, beside the "
        "same commands through the bids Application, same run.",
    )
    parser.add_argument("--members", type=int, default=200, help="bidding members (200)")
    parser.add_argument(
        "--submissions-per-member",
        type=int,
        default=5,
        help="submissions each member makes: lot 1, lot 2, then revisions (5)",
    )
    parser.add_argument(
        "--consortium-every",
        type=int,
        default=10,
        metavar="N",
        help="one member in N makes its lot-2 bid a consortium with the next (10; 0: none)",
    )
    parser.add_argument(
        "--clients", type=int, default=32, help="connections / commands at once (32)"
    )
    parser.add_argument("--retries", type=int, default=2, help="retries of a 409/429/503 step (2)")
    parser.add_argument(
        "--deadline-minutes",
        type=float,
        default=5.0,
        help="the tender's deadline from its publication (5)",
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=8,
        help="TRADEHALL_DB_POOL_SIZE, and the baseline's pool (8)",
    )
    parser.add_argument(
        "--no-direct-reads",
        dest="direct_reads",
        action="store_false",
        help="skip the baseline with the routes' reads (it registers another --members members)",
    )
    parser.add_argument(
        "--no-projector",
        dest="projector",
        action="store_false",
        help="serve with TRADEHALL_RUN_PROJECTIONS=false (default: the in-process projector)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra variable for the server, e.g. TRADEHALL_WORKERS=2 (repeatable)",
    )
    parser.add_argument("--admin-url", default=admin_url_default(), help="where to create the db")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    emit(run(args), args.json)


if __name__ == "__main__":
    main()
