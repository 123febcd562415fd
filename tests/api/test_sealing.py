"""Sealed bids keep their promise before opening (issue 12, "Sealed: the promise and how it is
kept"), on SQLite and on PostgreSQL.

One buyer publishes two tenders that differ only in their bids: A gets three (one from a
consortium whose partner accepted, one with a document, one withdrawn and submitted again), B
none.

(1) Identical answers. Every operation of the served OpenAPI document, as the buyer's user, staff,
    a member that did not bid and an anonymous caller, answers the same status, headers (Date and
    X-Request-ID aside: they come from the moment and the request) and body for A as for B, A's
    ids (its ocid embeds its id) read as B's. A bid route is asked about a real bid of A's (of
    none of the four callers) and about a bid that does not exist: the same 404. Commands naming
    a tender (in the path or the body) go to A, then at once to B, with a stale If-Match where
    they take one (refused before they change anything); one carried out for both (a question,
    interest) must answer alike but for its new id and its position. A command naming neither
    tender nor bid is one and the same request for A and B, so it is not sent. Every GET is also
    asked before the bids and after them, and at the head of its log (read-your-writes): nothing
    may change, `/ready`, the projections' status for staff, the tender's view and its ETag
    included; where one answer shows both tenders (the board, the buyer's list), A's entry reads
    as B's; staff also read each bidder's organisation, before and after.
(2) Raw bytes. A snapshot of every row of every table (SQLite: every table of every *.sqlite3
    file in the data directory; PostgreSQL: every table of every schema of the database, the
    events schema included), of the files under the data directory and the evidence store, and
    JSON logs captured from that moment; then the bids are placed over HTTP and the notices they
    queue are sent (to the test's SMTP server: only the bidders' users get any); then what was
    added or changed (rows, files, log lines; each value raw and, where a zlib stream starts in it,
    decompressed) is searched for each price (minor units as JSON has it, decimal text), each
    bidder's organisation and user ids (text, hex and 16 bytes), name and e-mail address, A's
    id (likewise) and ocid, the answer text and the document (its bytes, title, filename,
    SHA-256). Nothing is found. The same search over a bid that an app stored with the library's
    plain mapper (no cipher) finds the price, the bidder and the tender: the search can fail.

What a reader of the database still sees, and may: that bid events exist (rows of the bids' own
event table: keyed-hash originator ids, versions, notification ids, one constant topic, a sealed
state), how many and when; sealed outbox rows (a message id derived from a keyed-hash bid id,
"sealed", a time); the sealing service keys (reserved ids, wrapped keys) made at the first sealed
write; and each published tender's sealing-key row, written at publication (before the
snapshot). None of these holds a needle, so the search excludes nothing: it runs over those
tables too, and the test checks that bid placement wrote to no other table.

After opening (the clock past the deadline and the margin) the buyer and staff read the bids.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import io
import json
import logging
import re
import sqlite3
import uuid
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
import structlog
from psycopg import sql
from pypdf import PdfWriter

from tests.api.conftest import Mailbox, add_user
from tests.api.helpers import services_of, token
from tests.api.openapi_walk import Examples, Operation, operations
from tests.api.test_clarifications import council
from tests.api.test_directory import admitted_member
from tests.api.test_tenders import terms
from tests.conftest import FAST_PASSWORDS, POSTGRES_TEMPLATE, AppClient, running
from tradehall.api.app import create_app
from tradehall.clock import ManualClock
from tradehall.context import ContextDeclaration
from tradehall.contexts import CONTEXTS
from tradehall.identity.users import Role
from tradehall.logging import configure_logging
from tradehall.mail.sender import send_pending
from tradehall.marketplace.bids import LOG
from tradehall.marketplace.bids.declaration import BIDS, SealedBidsApp
from tradehall.marketplace.sealing.keys import SealingKeys
from tradehall.marketplace.sealing.mapper import plain_mapper_factory
from tradehall.marketplace.sealing.master import MasterKeys
from tradehall.settings import Settings
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore
from tradehall.store.sqlite import SQLiteStore

Client = AppClient
Headers = dict[str, str]

ELIGIBILITY = {"members_only": True, "quality_mark_required": False, "regions": []}
TENDER = terms(eligibility=ELIGIBILITY)
ANSWER = "Heron-lantern mowing rota, apprentices from Quarrybank 7Q"
PRICES = {"kestrel": 12_345_671, "osprey": 9_876_541, "plover": 2_718_281}
DOCUMENT_TITLE = "Osprey method statement ZX48151623 Quillwort"  # no character PDF escapes
DOCUMENT_FILENAME = "osprey-method-zx48151623.pdf"
# Headers that come from the moment or the request, not from what is stored.
UNCOMPARED_HEADERS = frozenset({"date", "x-request-id"})
CONCURRENCY = 8


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """As tests/conftest.py's, but on PostgreSQL a database of this test's own. The run's shared
    database holds the sealing service keys wrapped under the master key of whichever test made
    them first (each test's embedded key comes from its own data directory), which this test's
    key does not open; and the unsealed control's plain events must not lie where another
    test's opening clock would read them."""
    if request.param == "sqlite":
        yield SQLiteStore(tmp_path / "data")
        return
    with POSTGRES_TEMPLATE.copy("tradehall_sealing") as url:
        yield PostgresStore(url)


# --- the world: a buyer, two tenders, bidders, an outsider -----------------------------------


@dataclass(frozen=True)
class Party:
    id: str
    name: str
    headers: Headers
    user_id: str = ""  # its signed-in user's
    email: str = ""


@dataclass(frozen=True)
class World:
    buyer: Party
    staff: Headers
    outsider: Party
    bidders: dict[str, Party]  # kestrel (consortium lead), heron (its partner), osprey, plover
    tender_a: str
    tender_b: str


async def published(client: Client, buyer: Party, body: dict[str, Any]) -> str:
    drafted = await client.post(
        f"/api/v1/organisations/{buyer.id}/tenders", json=body, headers=buyer.headers
    )
    assert drafted.status_code == 201, drafted.text
    tender: str = drafted.json()["id"]
    done = await client.post(
        f"/api/v1/tenders/{tender}/publication", json={}, headers=buyer.headers
    )
    assert done.status_code == 200, done.text
    return tender


async def member(client: Client, staff: Headers, name: str) -> Party:
    """A member in good standing (admitted and paid up), signed in."""
    named = f"{name} {uuid.uuid4().hex[:6]}"
    org, _ = await admitted_member(client, staff, name=named)
    headers = await token(client, org["email"])
    me = ok(await client.get("/api/v1/auth/me", headers=headers))
    return Party(org["id"], named, headers, me["id"], org["email"])


async def buyer_with_tenders(
    client: Client, staff: Headers, *bodies: dict[str, Any]
) -> tuple[Party, list[str]]:
    buyer_id, buyer_headers = await council(client, staff)
    buyer = Party(buyer_id, "", buyer_headers)
    return buyer, [await published(client, buyer, body) for body in bodies]


async def make_world(client: Client, staff: Headers, clock: ManualClock) -> World:
    buyer, (tender_a, tender_b) = await buyer_with_tenders(client, staff, TENDER, TENDER)
    clock.advance(timedelta(hours=1))  # into the enquiry period: the walk's questions are taken
    names = {
        "kestrel": "Kestrel Grounds Co-operative",
        "heron": "Heron Gardeners CIC",
        "osprey": "Osprey Landscapes CIC",
        "plover": "Plover Parks Trust",
        "outsider": "Wren Cafe CIC",
    }
    parties = {key: await member(client, staff, name) for key, name in names.items()}
    outsider = parties.pop("outsider")
    return World(buyer, staff, outsider, parties, tender_a, tender_b)


# --- placing bids over HTTP -------------------------------------------------------------------


def document_bytes() -> bytes:
    """A PDF whose title (in the file as plain text) no other byte of the test holds."""
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_metadata({"/Title": DOCUMENT_TITLE})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def content(price: int) -> dict[str, Any]:
    return {
        "price_minor": price,
        "answers": {"Method statement": ANSWER, "Experience": "Twelve years of parks"},
        "commitments": [{"measure": "apprenticeships", "quantity": 2}],
    }


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def draft(client: Client, bidder: Party, tender: str, lot: str, price: int) -> str:
    drafted = ok(
        await client.post(
            "/api/v1/bids", json={"tender_id": tender, "lot_id": lot}, headers=bidder.headers
        ),
        201,
    )
    assert drafted["position"] == {}
    bid: str = drafted["id"]
    ok(await client.put(f"/api/v1/bids/{bid}", json=content(price), headers=bidder.headers))
    return bid


async def submit(client: Client, bidder: Party, bid: str) -> None:
    receipt = ok(await client.post(f"/api/v1/bids/{bid}/submission", headers=bidder.headers))
    assert receipt["position"] == {}
    assert receipt["digest"].startswith("sha256:")


async def place_bids(client: Client, world: World, tender: str) -> dict[str, str]:
    """Three bids for the tender, through the API only; each lead's bid id."""
    kestrel, heron = world.bidders["kestrel"], world.bidders["heron"]
    osprey, plover = world.bidders["osprey"], world.bidders["plover"]
    bids = {}

    bid = bids["kestrel"] = await draft(client, kestrel, tender, "lot-1", PRICES["kestrel"])
    ok(
        await client.put(
            f"/api/v1/bids/{bid}/consortium",
            json={"lead_share": 70, "partners": [{"organisation_id": heron.id, "share": 30}]},
            headers=kestrel.headers,
        )
    )
    [invited] = (ok(await client.get("/api/v1/bids", headers=heron.headers)))["items"]
    assert invited["id"] == bid
    ok(
        await client.post(
            f"/api/v1/bids/{bid}/acceptance",
            json={"consortium_round": invited["consortium_round"]},
            headers=heron.headers,
        )
    )
    await submit(client, kestrel, bid)

    bid = bids["osprey"] = await draft(client, osprey, tender, "lot-1", PRICES["osprey"])
    ok(
        await client.post(
            f"/api/v1/bids/{bid}/documents",
            content=document_bytes(),
            headers=osprey.headers
            | {"Content-Type": "application/octet-stream", "x-filename": DOCUMENT_FILENAME},
        ),
        201,
    )
    await submit(client, osprey, bid)

    bid = bids["plover"] = await draft(client, plover, tender, "lot-2", PRICES["plover"])
    await submit(client, plover, bid)
    ok(await client.post(f"/api/v1/bids/{bid}/withdrawal", headers=plover.headers))
    await submit(client, plover, bid)
    return bids


# --- (2) raw bytes: snapshots, what was added, the search ----------------------------------


def as_bytes(value: Any) -> bytes:
    """A stored value as a reader of the database sees it."""
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, uuid.UUID):  # PostgreSQL's uuid: 16 bytes, shown as text
        return str(value).encode("ascii") + b" " + value.bytes
    if isinstance(value, datetime | date):
        return value.isoformat().encode("ascii")
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str).encode("utf-8")
    return str(value).encode("utf-8")


Row = tuple[str, tuple[bytes, ...]]  # (where: file and table, or schema and table; values)
DATABASE_FILE = re.compile(r"\.sqlite3(-wal|-shm|-journal)?$")


def database_rows(store: Store) -> Counter[Row]:
    rows: Counter[Row] = Counter()
    if isinstance(store, SQLiteStore):
        for file in sorted(store.data_dir.glob("*.sqlite3")):
            with contextlib.closing(sqlite3.connect(file, timeout=10)) as db:
                listed = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                for (table,) in listed.fetchall():
                    # The table's name as SQLite lists it, quoted: not input.
                    for row in db.execute(f'SELECT * FROM "{table}"'):  # noqa: S608
                        rows[(f"{file.name}:{table}", tuple(as_bytes(v) for v in row))] += 1
        return rows
    assert isinstance(store, PostgresStore)
    with psycopg.connect(store.url.render_as_string(hide_password=False)) as db:
        tables = db.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_type = 'BASE TABLE'"
            " AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        assert {schema for schema, _ in tables} >= {"public", "events"}
        for schema, table in tables:
            query = sql.SQL("SELECT * FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
            for row in db.execute(query):
                rows[(f"{schema}.{table}", tuple(as_bytes(v) for v in row))] += 1
    return rows


def files_under(*roots: Path) -> dict[Path, bytes]:
    found: dict[Path, bytes] = {}
    for root in roots:
        if root.exists():
            found |= {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    return found


@dataclass(frozen=True)
class Snapshot:
    rows: Counter[Row]
    files: dict[Path, bytes]

    @classmethod
    def take(cls, store: Store, settings: Settings) -> Snapshot:
        return cls(database_rows(store), files_under(settings.data_dir, settings.evidence_path))


@dataclass(frozen=True)
class Secret:
    label: str
    value: bytes


def id_forms(label: str, value: str) -> list[Secret]:
    u = uuid.UUID(value)
    return [
        Secret(f"{label} as text", str(u).encode()),
        Secret(f"{label} as hex", u.hex.encode()),
        Secret(f"{label} as 16 bytes", u.bytes),
    ]


def price_forms(label: str, minor: int) -> list[Secret]:
    return [
        Secret(f"{label} as a JSON number (minor units)", str(minor).encode()),
        Secret(f"{label} as decimal text", f"{minor / 100:.2f}".encode()),
        Secret(f"{label} as formatted text", f"{minor / 100:,.2f}".encode()),
    ]


def secrets_of(world: World, tender: str, ocid_prefix: str) -> list[Secret]:
    ocid = f"{ocid_prefix}-{tender}"  # marketplace.tenders.ocid_for
    found = [*id_forms("the tender's id", tender), Secret("the ocid", ocid.encode())]
    for key, party in world.bidders.items():
        found += id_forms(f"{key}'s organisation id", party.id)
        found += id_forms(f"{key}'s user id", party.user_id)
        found.append(Secret(f"{key}'s name", party.name.encode()))
        found.append(Secret(f"{key}'s user's e-mail address", party.email.encode()))
    for key, price in PRICES.items():
        found += price_forms(f"{key}'s price", price)
    found += [
        Secret("the answer text", ANSWER.encode()),
        Secret("the document's title", DOCUMENT_TITLE.encode()),
        Secret("the document", document_bytes()),
        Secret("the document's sha256", hashlib.sha256(document_bytes()).hexdigest().encode()),
        Secret("the document's filename", DOCUMENT_FILENAME.encode()),
    ]
    return found


ZLIB_HEADERS = frozenset({b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda"})


def readings(data: bytes) -> Iterator[tuple[str, bytes]]:
    """The bytes as stored, and decompressed from wherever a zlib stream starts in them (the
    library's stored event state is zlib-compressed JSON, bare or after a prefix)."""
    yield "raw", data
    start = data.find(b"\x78")
    while start != -1:
        if data[start : start + 2] in ZLIB_HEADERS:
            with contextlib.suppress(zlib.error):
                yield (
                    f"decompressed from byte {start}",
                    zlib.decompressobj().decompress(data[start:], 1 << 24),
                )
        start = data.find(b"\x78", start + 1)


def search(secrets: Sequence[Secret], haystacks: Iterable[tuple[str, bytes]]) -> list[str]:
    """Every secret found: 'label in where (reading)'."""
    found = []
    for where, data in haystacks:
        for reading, text in readings(data):
            found += [f"{s.label} in {where} ({reading})" for s in secrets if s.value in text]
    return found


def added(before: Snapshot, after: Snapshot) -> Iterator[tuple[str, bytes]]:
    """Each value of each new or changed row, and each new or changed file but the databases'
    own (their rows are searched)."""
    for (table, values), _ in sorted((after.rows - before.rows).items()):
        for column, value in enumerate(values):
            yield f"a new row of {table} (column {column})", value
    for path, data in after.files.items():
        if before.files.get(path) != data and not DATABASE_FILE.search(path.name):
            yield f"the file {path}", data


def new_in_database_files(
    secrets: Sequence[Secret], before: Snapshot, after: Snapshot
) -> list[str]:
    """SQLite's files whole (pages, free pages, the WAL): a secret absent from a database before
    (its file, WAL and all) must be absent after. (Secrets the database held before, the
    tender's id say, are searched row by row instead: a page rewritten beside A's sealing-key
    row holds it legitimately, and a checkpoint moves the WAL's pages into the file.)"""

    def database(path: Path) -> Path:
        return path.with_name(DATABASE_FILE.sub(".sqlite3", path.name))

    held: dict[Path, list[bytes]] = {}
    for path, data in before.files.items():
        if DATABASE_FILE.search(path.name):
            held.setdefault(database(path), []).append(data)
    found = []
    for path, data in after.files.items():
        if DATABASE_FILE.search(path.name):
            old = held.get(database(path), [])
            found += [
                f"{s.label} in {path}"
                for s in secrets
                if s.value in data and not any(s.value in file for file in old)
            ]
    return found


def changed_tables(before: Snapshot, after: Snapshot) -> set[str]:
    return {table.rsplit(":", 1)[-1].rsplit(".", 1)[-1] for table, _ in after.rows - before.rows}


@contextlib.contextmanager
def json_logs(level: str) -> Iterator[None]:
    """The service's real logging (JSON lines on stdout), restored afterwards."""
    root = logging.getLogger()
    handlers, old_level = root.handlers[:], root.level
    config = structlog.get_config()
    configure_logging(level)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(old_level)
        structlog.configure(**config)


# Loggers of the test's own stand-ins, in this process but not of the service: its HTTP client
# (httpx logs each URL it calls, query string and all: the bidder's side of the wire) and its
# SMTP server (aiosmtpd logs each recipient: the mail provider's side).
NOT_THE_SERVICE = frozenset({"httpx", "mail.log"})


def log_lines(captured: str) -> list[tuple[str, bytes]]:
    """The service's log lines."""
    lines = []
    for line in captured.splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and record.get("logger") in NOT_THE_SERVICE:
                continue
        lines.append((f"the log line {line[:100]!r}", line.encode()))
    return lines


# --- (1) identical answers: the walk ---------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: str

    @classmethod
    def of(cls, response: Any) -> Answer:
        kept = tuple(
            (k.lower(), v)
            for k, v in response.headers.items()
            if k.lower() not in UNCOMPARED_HEADERS
        )
        return cls(response.status_code, kept, response.text)

    def read_as(self, pairs: Sequence[tuple[str, str]]) -> Answer:
        """A's answer with A's ids read as B's."""

        def swap(text: str) -> str:
            for old, new in pairs:
                text = text.replace(old, new)
            return text

        return Answer(self.status, tuple((k, swap(v)) for k, v in self.headers), swap(self.body))

    def without_position(self) -> Answer:
        """A command's result without its read-your-writes position (the log's next one: A's
        and B's differ by the order they were sent in, not by bids)."""
        made = json.loads(self.body)
        made.pop("position", None)
        headers = tuple((k, v) for k, v in self.headers if k != "content-length")
        return Answer(self.status, headers, json.dumps(made, sort_keys=True))


@dataclass(frozen=True)
class Call:
    label: str
    side: str | None  # "A" or "B" where the call names a tender or a bid; else None
    method: str
    path: str
    headers: Headers
    body: Any = None


async def answers(client: Client, calls: Sequence[Call]) -> list[Answer]:
    """Each call answered, concurrently (reads only), in the calls' order."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(call: Call) -> Answer:
        async with gate:
            response = await client.request(
                call.method, call.path, json=call.body, headers=call.headers
            )
        return Answer.of(response)

    return list(await asyncio.gather(*(one(call) for call in calls)))


PLACEHOLDER_TENDER = "00000000-0000-4000-8000-0000000000a1"
# Every path parameter but a tender's and a bid's: the same in the A and the B run.
FIXED = {
    "application_id": "5e1ed000-0000-4000-8000-000000000001",
    "listing_id": "5e1ed000-0000-4000-8000-000000000002",
    "clarification_id": "5e1ed000-0000-4000-8000-000000000003",
    "event_id": "evt_sealing",
    "certificate_number": "TH-000000",
    "sha256": "0" * 64,
    "kind": "technicalSpecifications",
    "criterion": "x",
    "lot_id": "lot-1",
    "contract_id": "5e1ed000-0000-4000-8000-000000000004",
    "report_id": "5e1ed000-0000-4000-8000-000000000005",
    "day": "2026-12-24",
    "opportunity_id": "5e1ed000-0000-4000-8000-000000000006",
    "search_id": "5e1ed000-0000-4000-8000-000000000007",
    "alert_id": "5e1ed000-0000-4000-8000-000000000008",
    "request_id": "5e1ed000-0000-4000-8000-000000000009",
}
NO_BID = {"bid_id": "5e1ed000-0000-4000-8000-0000000000b1", "name": "0" * 32}
REQUIRED_QUERY = {"filename": "walk.pdf"}


def takes_bid(op: Operation) -> bool:
    return any(p["name"] == "bid_id" for p in op.parameters)


@dataclass
class Walk:
    """The document's operations, their parameters given: side A names tender A (and a real bid
    of A's, once there is one), side B tender B (and a bid that does not exist)."""

    document: dict[str, Any]
    world: World
    sides: dict[str, dict[str, str]]

    @property
    def callers(self) -> dict[str, Headers]:
        w = self.world
        return {
            "buyer": w.buyer.headers,
            "staff": w.staff,
            "outsider": w.outsider.headers,
            "anonymous": {},
        }

    def body(self, op: Operation) -> Any:
        """One example body (the same for both sides), the tender in it a placeholder."""
        if op.body_schema is None:
            return None
        ids = FIXED | {"organisation_id": self.world.buyer.id, "tender_id": PLACEHOLDER_TENDER}
        return Examples(self.document, ids).value(op.body_schema)

    def paired(self, op: Operation) -> bool:
        in_path = {p["name"] for p in op.parameters if p["in"] == "path"}
        named = in_path & {"tender_id", "bid_id", "ocid"}
        return bool(named) or PLACEHOLDER_TENDER in json.dumps(self.body(op))

    def path(self, op: Operation, side: str, organisation: str | None = None) -> str:
        values = FIXED | {"organisation_id": organisation or self.world.buyer.id}
        values |= self.sides[side]
        return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], op.path)

    def call(
        self, op: Operation, caller: str, side: str | None, position: str | None = None
    ) -> Call:
        """The operation as the caller, for a side; with `position`, a read-your-writes read."""
        headers = dict(self.callers[caller])
        if any(p["name"] == "If-Match" for p in op.parameters):
            # A stale version: a command this caller may give is refused (409, naming the
            # tender's current version: the same for both) before it changes anything.
            headers["If-Match"] = '"0"'
        if any(p["name"] == "x-filename" for p in op.parameters):
            headers["x-filename"] = "walk.pdf"
        body = self.body(op)
        if body is not None:
            tender = self.sides[side or "A"]["tender_id"]
            body = json.loads(json.dumps(body).replace(PLACEHOLDER_TENDER, tender))
        query = {
            p["name"]: REQUIRED_QUERY[p["name"]]
            for p in op.parameters
            if p["in"] == "query" and p.get("required")
        }
        label = f"{op} as {caller}"
        if position is not None:
            query["position"] = position
            label += " at a position"
        path = self.path(op, side or "A") + (f"?{urlencode(query)}" if query else "")
        return Call(label, side, op.method.upper(), path, headers, body)

    def reads(self, ops: Sequence[Operation], heads: dict[str, int]) -> list[Call]:
        """Every GET as each caller (a tender's for both sides), and again reading its own
        writes at the head of the log its read model follows where it takes a position; staff
        also read each bidder's organisation. Bid routes are left to the pairwise walk: before a
        bid exists their A and B calls are the same."""
        calls = []
        for op in ops:
            if op.method != "get" or takes_bid(op):
                continue
            sides: list[str | None] = ["A", "B"] if self.paired(op) else [None]
            positions: list[str | None] = [None]
            if any(p["name"] == "position" for p in op.parameters):
                # The marketplace's read models (tenders, questions, buyers, listings, requests
                # for quote) follow its log; the others (directory, applications) membership's.
                marketplace = re.search(r"tender|question|buyer|listing|request", op.path)
                log = "marketplace" if marketplace else "membership"
                positions.append(f"{log}:{heads[log]}")
            calls += [
                self.call(op, caller, side, at)
                for caller in self.callers
                for side in sides
                for at in positions
            ]
            if "{organisation_id}" in op.path:
                for key, party in self.world.bidders.items():
                    path = self.path(op, "A", organisation=party.id)
                    calls.append(
                        Call(f"{op} as staff of {key}", None, "GET", path, self.world.staff)
                    )
        return calls

    def swaps(self) -> list[tuple[str, str]]:
        """A's ids -> B's, as text and hex (the ocid embeds the tender's id: read with it)."""
        a, b = self.sides["A"], self.sides["B"]
        pairs = []
        for name in ("tender_id", "bid_id", "name"):
            pairs.append((a[name], b[name]))
            with contextlib.suppress(ValueError):
                pairs.append((uuid.UUID(a[name]).hex, uuid.UUID(b[name]).hex))
        return pairs


def differences(first: Answer, second: Answer, what: str) -> list[str]:
    if first == second:
        return []
    found = []
    if first.status != second.status:
        found.append(f"{what}: status {first.status} != {second.status}")
    if first.headers != second.headers:
        found.append(f"{what}: headers {dict(first.headers)} != {dict(second.headers)}")
    if first.body != second.body:
        found.append(f"{what}: body {first.body[:400]!r} != {second.body[:400]!r}")
    return found


def entries(value: Any, wanted: str) -> list[Any]:
    """Every object in a JSON value whose id is `wanted` (a tender's entry in a list)."""
    if isinstance(value, dict):
        own = [value] if value.get("id") == wanted else []
        return own + [e for v in value.values() for e in entries(v, wanted)]
    if isinstance(value, list):
        return [e for v in value for e in entries(v, wanted)]
    return []


def compare_reads(
    calls: Sequence[Call], before: Sequence[Answer], after: Sequence[Answer], walk: Walk
) -> list[str]:
    problems: list[str] = []
    a, b = walk.sides["A"]["tender_id"], walk.sides["B"]["tender_id"]
    for call, old, new in zip(calls, before, after, strict=True):
        what = f"{call.label}{f' for {call.side}' if call.side else ''}"
        problems += differences(old, new, f"{what}, before and after the bids")
        if call.side is None and new.body.startswith("{") and a in new.body:
            shown = json.loads(new.body)
            found_a, found_b = entries(shown, a), entries(shown, b)
            if len(found_a) != len(found_b):
                problems.append(f"{what}: A shown {len(found_a)} times, B {len(found_b)}")
            for entry_a, entry_b in zip(found_a, found_b, strict=False):
                if json.loads(json.dumps(entry_a).replace(a, b)) != entry_b:
                    problems.append(f"{what}: A's entry {entry_a} is not B's {entry_b}")
    return problems + compare_sides(calls, after, walk.swaps())


def compare_sides(
    calls: Sequence[Call], answered: Sequence[Answer], swaps: Sequence[tuple[str, str]]
) -> list[str]:
    """Each call for A answered as its call for B, A's ids read as B's."""
    by_side: dict[str, dict[str, Answer]] = {}
    for call, answer in zip(calls, answered, strict=True):
        if call.side is not None:
            by_side.setdefault(call.label, {})[call.side] = answer
    return [
        problem
        for label, sides in by_side.items()
        for problem in differences(sides["A"].read_as(swaps), sides["B"], label)
    ]


async def compare_pairwise(
    client: Client, walk: Walk, ops: Sequence[Operation], made: list[tuple[str, str]]
) -> list[str]:
    """Bid routes (A's real bid beside one that does not exist) and every command naming a
    tender: for A, then at once for B. A command carried out for one is carried out for the
    other alike (a question asked, interest registered); its new ids, A's and B's, are added
    to `made`."""
    problems: list[str] = []
    for op in ops:
        if not walk.paired(op) or (op.method == "get" and not takes_bid(op)):
            continue
        for caller in walk.callers:
            [answer_a] = await answers(client, [walk.call(op, caller, "A")])
            [answer_b] = await answers(client, [walk.call(op, caller, "B")])
            carried_out = op.method != "get" and answer_a.status == answer_b.status < 300
            if carried_out:
                id_a, id_b = (
                    json.loads(answer_a.body).get("id"),
                    json.loads(answer_b.body).get("id"),
                )
                if id_a is not None and id_a != id_b:
                    made.append((id_a, id_b))
                answer_a, answer_b = answer_a.without_position(), answer_b.without_position()
            problems += differences(
                answer_a.read_as([*walk.swaps(), *made]), answer_b, f"{op} as {caller}"
            )
    return problems


# --- the tests -------------------------------------------------------------------------------


async def test_before_opening_bids_change_no_answer_and_no_stored_byte_shows_them(
    mail_client: Client,
    mailbox: tuple[Mailbox, int],
    store: Store,
    settings: Settings,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = mail_client  # the app with an SMTP server: its sender runs while the logs are read
    services = services_of(client)
    _, staff_email = add_user(store, clock, frozenset({Role.STAFF}))
    world = await make_world(client, await token(client, staff_email), clock)
    a, b = world.tender_a, world.tender_b
    document = (await client.get("/schema/openapi.json")).json()
    ops = operations(document)
    # A tender's OCDS record is named by its ocid (which embeds its id).
    sides = {
        side: {"tender_id": tender, "ocid": f"{settings.ocid_prefix}-{tender}"} | NO_BID
        for side, tender in (("A", a), ("B", b))
    }
    walk = Walk(document, world, sides)
    # Every projection at the head first. A read without a position answers what its projection
    # has applied so far (and, asked for no write, says it is consistent); the projector thread
    # may still be applying make_world's last member, which such a read must not be taken for
    # the bids' doing. Nothing after this writes to a log a projection follows until the bids
    # (which only the sealed log holds): the snapshot below sees every projection at the head.
    await services.run(services.readside.projector.catch_up)
    # Read-your-writes at each log's head (the marketplace's: B's publication).
    head = (ok(await client.get("/ready")))["event_logs"]
    read_calls = walk.reads(ops, head)
    before_reads = await answers(client, read_calls)
    [view] = [
        answer
        for call, answer in zip(read_calls, before_reads, strict=True)
        if call.label == "GET /api/v1/tenders/{tender_id} as anonymous" and call.side == "A"
    ]
    assert dict(view.headers)["etag"], view  # the tender's version: compared with the rest

    # (2) The snapshot, the logs from now on, the bids (over HTTP) and their notices sent, and
    # the search.
    box, _ = mailbox
    while await send_pending(services, services.settings.smtp):
        pass  # what membership queued, sent before the snapshot
    mailed = len(box.messages)
    snapshot = Snapshot.take(store, settings)
    with json_logs(settings.log_level):
        capsys.readouterr()
        bids = await place_bids(client, world, a)
        assert await send_pending(services, services.settings.smtp) == 5  # 4 receipts, 1 invite
        logged = capsys.readouterr().out
    after = Snapshot.take(store, settings)
    secrets = secrets_of(world, a, settings.ocid_prefix)
    found = search(secrets, [*added(snapshot, after), *log_lines(logged)])
    found += new_in_database_files(secrets, snapshot, after)
    assert found == [], "\n".join(found)
    # The search did cover the sealed events, the sealed notices, the sealed document, the logs.
    tables = changed_tables(snapshot, after)
    assert {"bids_events", "outbox_messages"} <= tables, tables
    # Bid commands write to their own log and its side writes only: no other table changes but
    # the consortium invitations' throttles, keyed by keyed hashes (searched above with the rest).
    written = {"bids_events", "outbox_messages", "sealing_keys", "sqlite_sequence", "throttles"}
    assert tables <= written, tables
    assert [p for p in after.files if p not in snapshot.files and "bids" in p.parts]
    assert '"path": "/api/v1/bids"' in logged
    # Mail about a bid goes to its bidders' users alone: the leads' receipts, the partner's
    # invitation.
    bidders = {world.bidders[key].email for key in ("kestrel", "heron", "osprey", "plover")}
    assert {str(m["To"]) for m in box.messages[mailed:]} == bidders

    # The owner reads its bid and its document: side A's bid is real, so its 404s mean sealed.
    osprey = world.bidders["osprey"]
    own = ok(await client.get(f"/api/v1/bids/{bids['osprey']}", headers=osprey.headers))
    assert own["price_minor"] == PRICES["osprey"]
    name = own["documents"][0]["name"]
    got = await client.get(
        f"/api/v1/bids/{bids['osprey']}/documents/{name}", headers=osprey.headers
    )
    assert got.status_code == 200
    assert got.content == document_bytes()
    walk.sides["A"] |= {"bid_id": bids["osprey"], "name": name}

    # (1) Every GET after the bids as before them, A as B; then the pairwise walk.
    problems = compare_reads(read_calls, before_reads, await answers(client, read_calls), walk)
    made: list[tuple[str, str]] = []
    problems += await compare_pairwise(client, walk, ops, made)
    # What the commands did shows alike for A and B (the questions asked, say): once every
    # projection has applied them. The reads take no position (or the head before the walk),
    # so they would answer, consistent, with A's question applied and B's not yet.
    await services.run(services.readside.projector.catch_up)
    sided = [call for call in read_calls if call.side is not None]
    problems += compare_sides(sided, await answers(client, sided), [*walk.swaps(), *made])
    assert problems == [], "\n".join(problems)

    # A member that did not bid drafts one for each: the same answer but for the (keyed) id.
    drafted = [
        ok(
            await client.post(
                "/api/v1/bids",
                json={"tender_id": tender, "lot_id": "lot-1"},
                headers=world.outsider.headers,
            ),
            201,
        )
        for tender in (a, b)
    ]
    assert drafted[0] | {"id": None} == drafted[1] | {"id": None}, drafted

    # After opening, the bids are read where they should be: by the buyer and by staff.
    await open_bids(client, settings, clock)

    for headers in (world.buyer.headers, world.staff):
        opened = ok(await client.get(f"/api/v1/tenders/{a}/bids", headers=headers))
        valid = {bid["bid_id"]: bid for bid in opened["bids"] if bid["valid"]}
        assert {key: valid[bid]["content"]["price_minor"] for key, bid in bids.items()} == PRICES
        assert valid[bids["kestrel"]]["content"]["answers"]["Method statement"] == ANSWER
        [shown] = valid[bids["osprey"]]["documents"]
        got = await client.get(
            f"/api/v1/tenders/{a}/bids/{bids['osprey']}/documents/{shown['name']}",
            headers=headers,
        )
        assert got.status_code == 200
        assert got.content == document_bytes()
        none = ok(await client.get(f"/api/v1/tenders/{b}/bids", headers=headers))
        assert none["bids"] == []
    other = await client.get(f"/api/v1/tenders/{a}/bids", headers=world.outsider.headers)
    assert other.status_code == 404


async def open_bids(client: Client, settings: Settings, clock: ManualClock) -> None:
    """The clock past the deadline and the margin, and the bids' clock ticked once."""
    margin = timedelta(seconds=settings.bid_opening_margin_seconds)
    deadline = datetime.fromisoformat(TENDER["tender_period"]["end"])
    clock.advance(deadline + margin - clock.now() + timedelta(seconds=1))
    services = services_of(client)
    [tick] = [t for c in services.contexts if c.name == LOG.name for t in c.clock_ticks]
    await tick(services)


class UnsealedBidsApp(SealedBidsApp):
    """The bids' Application with the library's plain mapper (zlib, no cipher): for the control
    only, to show the search finds what an unsealed bid stores."""

    name = LOG.name

    def construct_mapper(self) -> Any:
        return plain_mapper_factory()(self.construct_transcoder())


def unsealed_application(env: dict[str, str], settings: Settings, store: Store) -> UnsealedBidsApp:
    keys = SealingKeys(store.sync_engine(), MasterKeys.from_settings(settings))
    return UnsealedBidsApp(env, keys)


UNSEALED: tuple[ContextDeclaration, ...] = tuple(
    dataclasses.replace(c, application=unsealed_application) if c is BIDS else c for c in CONTEXTS
)


async def test_the_search_finds_a_bid_stored_without_the_sealed_mapper(
    store: Store, settings: Settings, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(
        settings, clock=clock, store=store, passwords=FAST_PASSWORDS, contexts=UNSEALED
    )
    async with running(app), AppClient(app) as client:
        _, email = add_user(store, clock, frozenset({Role.STAFF}))
        staff = await token(client, email)
        buyer, [tender] = await buyer_with_tenders(client, staff, TENDER)
        bidder = await member(client, staff, "Kestrel Grounds Co-operative")
        world = World(buyer, staff, bidder, {"kestrel": bidder}, tender, tender)
        snapshot = Snapshot.take(store, settings)
        with json_logs(settings.log_level):
            capsys.readouterr()
            bid = await draft(client, bidder, tender, "lot-1", PRICES["kestrel"])
            await submit(client, bidder, bid)
            logged = capsys.readouterr().out
        after = Snapshot.take(store, settings)

    found = search(
        secrets_of(world, tender, settings.ocid_prefix),
        [*added(snapshot, after), *log_lines(logged)],
    )
    events = [f for f in found if "bids_events" in f and "decompressed" in f]
    for wanted in (
        "kestrel's price as a JSON number",
        "kestrel's organisation id as hex",
        "the tender's id as hex",
        "the answer text",
    ):
        assert any(f.startswith(wanted) for f in events), (wanted, found)
