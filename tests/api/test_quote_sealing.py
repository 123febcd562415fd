"""Quotes keep the bids' promise before the deadline (issue 18), on SQLite and PostgreSQL.

One requester posts two requests for quote that differ only in their quotes: A gets three (one
quoted and revised, one quoted, one declined), B none. Every GET operation of the served OpenAPI
document, as the requester's user, another supplier (a member that did not quote), staff and an
anonymous caller, answers the same status, headers (Date and X-Request-ID aside) and body for A
as for B, A's id read as B's, and the same after the quotes as before them, read-your-writes at
the head of the marketplace log too; where one answer lists both requests, A's entry reads as
B's. The service's log names no quoter, request, price or note. A supplier asking for a
quoter's quote under the quoter's path is answered as for one that declined; the requester's
commands before opening (acceptance of a real quote, closure) answer A as B. After opening the
requester reads A's two quotes and one decline where B has none: the walk could have seen them.

Raw bytes, as the bids' own test (test_sealing.py) searches them: what placing the quotes adds
to the database (every table of both stores), the data directory and the service's log holds
no quoter's id, user, name or address, no price or note and not even request A's id: quotes go
to the sealed log and its sealed receipts only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.api.conftest import add_user
from tests.api.helpers import services_of, token
from tests.api.openapi_walk import Operation, operations
from tests.api.test_quote_scenario import REQUESTS, open_quotes, quote_path, request_body
from tests.api.test_sealing import (
    FIXED,
    NO_BID,
    REQUIRED_QUERY,
    Answer,
    Call,
    Party,
    Secret,
    Snapshot,
    added,
    answers,
    changed_tables,
    differences,
    entries,
    id_forms,
    json_logs,
    log_lines,
    member,
    new_in_database_files,
    ok,
    price_forms,
    search,
)
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.identity.users import Role
from tradehall.settings import Settings
from tradehall.store.base import Store

Client = AppClient
Headers = dict[str, str]
PRICES = {"alder": 45_671, "beech": 98_761}
NOTE = "Two movers, a Luton van and blankets: Quarrybank 7Q"
PLACEHOLDER_TENDER = "00000000-0000-4000-8000-0000000000a1"


@dataclass(frozen=True)
class World:
    requester: Party
    outsider: Party  # a member that never quotes: "another supplier"
    quoters: dict[str, Party]  # alder (quotes, revises), beech (quotes), cedar (declines)
    staff: Headers
    a: str
    b: str


async def make_world(client: Client, store: Store, clock: ManualClock) -> World:
    _, staff_email = add_user(store, clock, frozenset({Role.STAFF}))
    staff = await token(client, staff_email)
    requester = await member(client, staff, "Riverside Housing Association")
    outsider = await member(client, staff, "Wren Removals CIC")
    quoters = {
        key: await member(client, staff, name)
        for key, name in (
            ("alder", "Alder Removals CIC"),
            ("beech", "Beech Vans Co-operative"),
            ("cedar", "Cedar Movers CIC"),
        )
    }
    body = request_body(requester.id)
    a, b = [
        ok(await client.post(REQUESTS, json=body, headers=requester.headers), 201)["id"]
        for _ in range(2)
    ]
    return World(requester, outsider, quoters, staff, a, b)


async def place_quotes(client: Client, world: World) -> None:
    alder, beech, cedar = (world.quoters[k] for k in ("alder", "beech", "cedar"))
    for price in (PRICES["alder"] + 500, PRICES["alder"]):  # quoted, then revised
        body = {"price_minor": price, "currency": "GBP", "note": NOTE}
        ok(await client.put(quote_path(alder.id, world.a), json=body, headers=alder.headers))
    body = {"price_minor": PRICES["beech"], "currency": "GBP", "note": NOTE}
    ok(await client.put(quote_path(beech.id, world.a), json=body, headers=beech.headers))
    ok(
        await client.post(
            f"{quote_path(cedar.id, world.a)}/decline",
            json={"reason": "Booked that week"},
            headers=cedar.headers,
        )
    )


@dataclass
class Walk:
    document: dict[str, Any]
    world: World

    @property
    def callers(self) -> dict[str, tuple[Headers, str]]:
        """Each caller's headers and the organisation its paths name (its own, or the
        requester's for those with none)."""
        w = self.world
        return {
            "requester": (w.requester.headers, w.requester.id),
            "another supplier": (w.outsider.headers, w.outsider.id),
            "staff": (w.staff, w.requester.id),
            "anonymous": ({}, w.requester.id),
        }

    def side(self, name: str) -> str:
        return self.world.a if name == "A" else self.world.b

    def path(self, op: Operation, organisation: str, side: str | None) -> str:
        values = FIXED | NO_BID | {"tender_id": PLACEHOLDER_TENDER, "ocid": "ocds-x-none"}
        values |= {"organisation_id": organisation, "request_id": self.side(side or "A")}
        return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], op.path)

    def reads(self, heads: dict[str, int]) -> list[Call]:
        calls = []
        for op in operations(self.document):
            if op.method != "get":
                continue
            names = {p["name"] for p in op.parameters}
            sides: list[str | None] = ["A", "B"] if "request_id" in names else [None]
            positions: list[str | None] = [None]
            if "position" in names:
                # As the bids' walk: the marketplace's read models follow its log, the others
                # membership's.
                marketplace = re.search(r"tender|question|buyer|listing|request", op.path)
                log = "marketplace" if marketplace else "membership"
                positions.append(f"{log}:{heads[log]}")
            for caller, (headers, organisation) in self.callers.items():
                for side in sides:
                    for at in positions:
                        query = {
                            p["name"]: REQUIRED_QUERY[p["name"]]
                            for p in op.parameters
                            if p["in"] == "query" and p.get("required")
                        }
                        if "requester_id" in names:
                            # This world's requests only: in a PostgreSQL worker's shared
                            # database other tests' requests fill the first page, and a page's
                            # edge between A and B would read as a difference between them.
                            query["requester_id"] = self.world.requester.id
                        label = f"{op} as {caller}"
                        if at is not None:
                            query["position"] = at
                            label += " at a position"
                        path = self.path(op, organisation, side)
                        path += f"?{urlencode(query)}" if query else ""
                        calls.append(Call(label, side, "GET", path, headers))
        # The list of this requester's requests, where both show whatever other tests left in
        # the store (the walk's own call shows the soonest deadlines of all).
        query = urlencode({"requester_id": self.world.requester.id, "per_page": 100})
        for caller, (headers, _) in self.callers.items():
            label = f"the requester's requests listed as {caller}"
            calls.append(Call(label, None, "GET", f"{REQUESTS}?{query}", headers))
        return calls

    def swap(self) -> list[tuple[str, str]]:
        return [(self.world.a, self.world.b)]


def compare(
    calls: Sequence[Call], before: Sequence[Answer], after: Sequence[Answer], walk: Walk
) -> list[str]:
    problems: list[str] = []
    a, b = walk.world.a, walk.world.b
    by_label: dict[str, dict[str, Answer]] = {}
    for call, old, new in zip(calls, before, after, strict=True):
        what = f"{call.label}{f' for {call.side}' if call.side else ''}"
        problems += differences(old, new, f"{what}, before and after the quotes")
        if call.side is not None:
            by_label.setdefault(call.label, {})[call.side] = new
        elif new.body.startswith("{") and a in new.body:
            shown = json.loads(new.body)
            found_a, found_b = entries(shown, a), entries(shown, b)
            if len(found_a) != len(found_b):
                problems.append(f"{what}: A shown {len(found_a)} times, B {len(found_b)}")
            for entry_a, entry_b in zip(found_a, found_b, strict=False):
                if json.loads(json.dumps(entry_a).replace(a, b)) != entry_b:
                    problems.append(f"{what}: A's entry {entry_a} is not B's {entry_b}")
    for label, sides in by_label.items():
        problems += differences(sides["A"].read_as(walk.swap()), sides["B"], label)
    return problems


async def test_before_the_deadline_quotes_change_no_answer_anyone_else_can_get(
    client: Client,
    store: Store,
    settings: Settings,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = await make_world(client, store, clock)
    walk = Walk((await client.get("/schema/openapi.json")).json(), world)
    # Every projection at the head first. A read without a position answers what its projection
    # has applied so far (and, asked for no write, says it is consistent): under load it could
    # race the projector still applying make_world's last events, and that must not be taken
    # for the quotes' doing (nor, after the quotes, a read model catching up for their bytes).
    services = services_of(client)
    await services.run(services.readside.projector.catch_up)
    heads = ok(await client.get("/ready"))["event_logs"]
    calls = walk.reads(heads)
    assert any(c.side == "A" and "/quotes" in c.path for c in calls)
    before = await answers(client, calls)
    listing = [
        a
        for c, a in zip(calls, before, strict=True)
        if c.label.startswith("the requester's requests listed")
    ]
    assert sum(world.a in a.body and world.b in a.body for a in listing) == 3  # not anonymous

    snapshot = Snapshot.take(store, settings)
    with json_logs(settings.log_level):
        capsys.readouterr()
        await place_quotes(client, world)
        logged = capsys.readouterr().out
    stored = Snapshot.take(store, settings)
    # The access log says a quote route was called, never by whom, for whom or on what.
    assert '"path": "/api/v1/organisations/{organisation_id}/quotes/{request_id}"' in logged
    secrets = [*id_forms("request A's id", world.a), Secret("the note", NOTE.encode())]
    for key, party in world.quoters.items():
        secrets += id_forms(f"{key}'s organisation id", party.id)
        secrets += id_forms(f"{key}'s user id", party.user_id)
    for key, price in PRICES.items():
        secrets += price_forms(f"{key}'s price", price)
    for key, party in world.quoters.items():
        secrets.append(Secret(f"{key}'s name", party.name.encode()))
        secrets.append(Secret(f"{key}'s user's e-mail address", party.email.encode()))
    found = search(secrets, [*added(snapshot, stored), *log_lines(logged)])
    found += new_in_database_files(secrets, snapshot, stored)
    assert found == [], "\n".join(found)
    # Quotes are written to the sealed log and its sealed receipts only (and the service's
    # sealing keys, made at the first sealed write: searched above with the rest).
    tables = changed_tables(snapshot, stored)
    assert {"bids_events", "outbox_messages"} <= tables, tables
    assert tables <= {"bids_events", "outbox_messages", "sealing_keys", "sqlite_sequence"}, tables
    after = await answers(client, calls)
    problems = compare(calls, before, after, walk)

    # Another supplier asks for a quoter's quote, and for the quote of one that declined.
    outsider = world.outsider.headers
    alder, cedar = world.quoters["alder"].id, world.quoters["cedar"].id
    asked = [
        Call(f"{who}'s quote as another supplier", None, "GET", quote_path(org, world.a), outsider)
        for who, org in (("alder", alder), ("cedar", cedar))
    ]
    quoted, declined = await answers(client, asked)
    problems += differences(
        quoted.read_as([(alder, cedar)]), declined, "a quoter's quote read as a decliner's"
    )
    # The requester's commands before opening: A's (naming a real quote) as B's.
    mine = ok(await client.get(quote_path(alder, world.a), headers=world.quoters["alder"].headers))
    commands = []
    for side, quote_id in (("A", mine["id"]), ("B", "5e1ed000-0000-4000-8000-0000000000c1")):
        request = walk.side(side)
        commands += [
            Call("acceptance", side, "POST", f"{REQUESTS}/{request}/acceptance",
                 world.requester.headers, {"quote_id": quote_id}),
            Call("closure", side, "POST", f"{REQUESTS}/{request}/closure",
                 world.requester.headers, {"reason": "Changed our minds"}),
        ]  # fmt: skip
    answered = await answers(client, commands)
    for i in (0, 1):
        a, b = answered[i], answered[i + 2]
        assert a.status == 409, a
        problems += differences(
            a.read_as([*walk.swap(), (mine["id"], "5e1ed000-0000-4000-8000-0000000000c1")]),
            b,
            commands[i].label,
        )
    assert problems == [], "\n".join(problems)

    # After opening the requester reads A's quotes: they were there to be seen.
    await open_quotes(client, clock)
    opened = ok(await client.get(f"{REQUESTS}/{world.a}/quotes", headers=world.requester.headers))
    assert sorted(q["price_minor"] for q in opened["quotes"]) == sorted(PRICES.values())
    assert opened["declined"] == [cedar]
    none = ok(await client.get(f"{REQUESTS}/{world.b}/quotes", headers=world.requester.headers))
    assert (none["quotes"], none["declined"]) == ([], [])
