"""If-Match on reads, on both stores (RFC 9110 §13.1.1: a server evaluates a received If-Match
on any method, a GET too; §13.2.1: only where its answer without it would be a 2xx).

A GET answering an ETag: a tag naming no current version is a 412 naming the header, its own
ETag and `*` pass, a malformed one is the 400 it is on a command. A GET answering no ETag has
no version a client can name: every tag fails (the 412), `*` passes. A GET that refuses (a 404
to a stranger asking for a sealed bid, a 403) answers exactly what it answers without If-Match.

And the ETag a reader is given is the version a writer must name: sent back as If-Match on the
commands that act on the same aggregate, it is taken (no 412, no stale version)."""

from __future__ import annotations

import uuid
from collections import Counter

import httpx

from tests.api.openapi_walk import Operation, operations
from tests.api.test_bid_scenario import drafted_bid, member, published_tender
from tests.api.test_clarifications import council
from tests.api.test_if_match_everywhere import (
    PRECONDITION_FAILED,
    STALE_VERSION,
    Party,
    parties,
    problem_type,
    reads_if_match,
)
from tests.api.test_probe_strangers import send
from tests.api.test_tender_scenario import settle
from tests.conftest import AppClient
from tradehall.api.problems import READ_PRECONDITION_FAILED
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
NO_VERSION = {"If-Match": '"987654"'}
MALFORMED = {"If-Match": "1"}  # not an entity tag: unquoted
ANY = {"If-Match": "*"}
BAD_REQUEST = "urn:tradehall:problem:bad-request"


def names_if_match(response: httpx.Response) -> list[str]:
    if problem_type(response) is None:
        return []
    return [e["field"] for e in response.json().get("errors") or []]


def same_answer(a: httpx.Response, b: httpx.Response) -> bool:
    """The same status, body and headers (but the request's own id)."""

    def headers(r: httpx.Response) -> list[tuple[str, str]]:
        return sorted((k, v) for k, v in r.headers.items() if k != "x-request-id")

    return (a.status_code, a.content, headers(a)) == (b.status_code, b.content, headers(b))


async def callers_of(client: Client, staff_headers: Headers, clock: ManualClock) -> list[Party]:
    """The walk's parties (test_if_match_everywhere's), each with its tender's ocid too."""
    found = []
    walking = await parties(client, staff_headers, clock)
    await settle(client)
    for party in walking:
        tender = await client.get(f"/api/v1/tenders/{party.ids['tender_id']}")
        assert tender.status_code == 200, tender.text
        found.append(Party(party.name, party.headers, party.ids | {"ocid": tender.json()["ocid"]}))
    return found


def readings(document: dict[str, object]) -> list[Operation]:
    return [op for op in operations(document) if op.method == "get"]


async def test_if_match_on_every_read_as_every_party(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    callers = await callers_of(client, staff_headers, clock)
    document = (await client.get("/schema/openapi.json")).json()
    failures: list[str] = []
    seen: Counter[str] = Counter()
    for op in readings(document):
        for party in callers:
            where = f"{op} as {party.name}"
            plain = await send(client, document, op, party.ids, party.headers)
            stale = await send(client, document, op, party.ids, party.headers | NO_VERSION)
            malformed = await send(client, document, op, party.ids, party.headers | MALFORMED)
            if not 200 <= plain.status_code < 300:
                # Refused without If-Match: the very same refusal with it, whatever it names.
                seen["refused"] += 1
                for sent, answer in (("a tag", stale), ("a malformed tag", malformed)):
                    if not same_answer(plain, answer):
                        failures.append(
                            f"{where}: {plain.status_code} without If-Match, "
                            f"{answer.status_code} with {sent}: {answer.text[:200]}"
                        )
                continue
            tag = plain.headers.get("etag")
            seen["with an ETag" if tag else "without one"] += 1
            if stale.status_code != 412 or (problem_type(stale), names_if_match(stale)) != (
                PRECONDITION_FAILED,
                ["If-Match"],
            ):
                failures.append(f"{where}: {stale.status_code} to {NO_VERSION}: {stale.text[:200]}")
            elif stale.headers.get("etag") is not None:
                failures.append(f"{where}: a 412 carried the answer's ETag")
            if (malformed.status_code, problem_type(malformed), names_if_match(malformed)) != (
                400,
                BAD_REQUEST,
                ["If-Match"],
            ):
                failures.append(f"{where}: {malformed.status_code} to {MALFORMED}")
            passing = [ANY] + ([{"If-Match": tag}] if tag else [])
            for condition in passing:
                answer = await send(client, document, op, party.ids, party.headers | condition)
                if answer.status_code != plain.status_code:
                    failures.append(f"{where}: {answer.status_code} to {condition}")
    assert not failures, "\n".join(failures)
    # The document lists the 412 on every read.
    undocumented = [
        str(op)
        for op in readings(document)
        if op.spec["responses"].get("412", {}).get("description") != READ_PRECONDITION_FAILED
    ]
    assert not undocumented, undocumented
    # The walk reached answers of every kind.
    assert seen["with an ETag"] >= 15, seen
    assert seen["without one"] >= 60, seen
    assert seen["refused"] >= 50, seen


async def test_if_match_is_read_as_rfc_9110_s_list_of_entity_tags(
    client: Client, staff_headers: Headers
) -> None:
    """A list holding the answer's ETag passes; a weak tag (the ETag's own too) and a strong
    one that names no version (as the mark badge's ETag is) are well-formed tags that do not
    match: 412, not the 400 of a header that is no list of tags."""
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    url = f"/api/v1/tenders/{tender}"
    await settle(client)
    read = await client.get(url, headers=buyer_headers)
    assert read.status_code == 200, read.text
    etag = read.headers["etag"]
    for passes in (f'"987654", {etag}', f'{etag} , W/"1"'):
        answer = await client.get(url, headers=buyer_headers | {"If-Match": passes})
        assert answer.status_code == 200, (passes, answer.text)
    for fails in (f"W/{etag}", '"0123456789abcdef0123456789abcdef"', '"a,b", "c"', '""'):
        answer = await client.get(url, headers=buyer_headers | {"If-Match": fails})
        assert (answer.status_code, names_if_match(answer)) == (412, ["If-Match"]), fails
    for malformed in ("1", f"{etag},", '"unclosed', f"{etag} junk", 'w/"1"'):
        answer = await client.get(url, headers=buyer_headers | {"If-Match": malformed})
        assert (answer.status_code, problem_type(answer)) == (400, BAD_REQUEST), malformed
        assert names_if_match(answer) == ["If-Match"]


async def test_a_bid_s_stranger_is_answered_as_without_if_match(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    _, _, bidder_headers = await member(client, staff_headers, "Hazel Gardens CIC")
    _, _, stranger_headers = await member(client, staff_headers, "Holly Paths Co-operative")
    bid = await drafted_bid(client, bidder_headers, tender, "lot-1", 11_000_000)
    url = f"/api/v1/bids/{bid}"
    # The bidder: its bid's version passes, another is a 412.
    current = await client.get(url, headers=bidder_headers)
    assert current.status_code == 200
    tag = {"If-Match": current.headers["etag"]}
    assert (await client.get(url, headers=bidder_headers | tag)).status_code == 200
    stale = await client.get(url, headers=bidder_headers | NO_VERSION)
    assert (stale.status_code, names_if_match(stale)) == (412, ["If-Match"])
    # A stranger (the tender's buyer too): a bid that exists and one that does not are
    # answered alike, with or without If-Match, whatever it names (the bid's own tag too).
    nothing = f"/api/v1/bids/{uuid.uuid4()}"
    for headers in (stranger_headers, buyer_headers):
        for path in (url, nothing):
            without = await client.get(path, headers=headers)
            assert without.status_code == 404
            for condition in (tag, NO_VERSION, MALFORMED, ANY):
                answer = await client.get(path, headers=headers | condition)
                assert same_answer(answer, without), (path, condition, answer.text)
        assert (await client.get(url, headers=headers)).json()["detail"] == f"no bid {bid}"


TENDER = "/api/v1/tenders/{tender_id}"
LOT = TENDER + "/lots/{lot_id}"
# Readings of an aggregate whose commands live elsewhere: a buyer's own view of its tender (the
# tender's commands), a lot's evaluation (the commands under the lot: scores, award...).
ELSEWHERE = {
    "/api/v1/organisations/{organisation_id}/tenders/{tender_id}": TENDER,
    LOT + "/evaluation": LOT,
}


# Readings whose ETag no command takes (none the walk reaches; a mark's badge answers a hash of
# its bytes, for caches, but the walk names no certificate).
VERSIONS_NO_COMMAND_TAKES: set[str] = set()


def command_paths(document: dict[str, object]) -> dict[str, list[Operation]]:
    """Each reading path's commands on the same aggregate: each command that reads If-Match
    goes with the reading at its own path or at its path less one fixed step (`/submission`,
    `/withdrawal`), never less a step naming another thing (`/lots/{lot_id}/...`); and the
    readings of ELSEWHERE with the commands under the path they name."""
    paths = {op.path for op in readings(document)}
    found: dict[str, list[Operation]] = {}
    for command in operations(document):
        if command.method == "get" or not reads_if_match(command):
            continue
        parent, step = command.path.rsplit("/", 1)
        if command.path in paths:
            found.setdefault(command.path, []).append(command)
        elif "{" not in step and parent in paths:
            found.setdefault(parent, []).append(command)
        for reading, under in ELSEWHERE.items():
            if command.path == under or (
                command.path.startswith(under + "/") and (under == LOT or parent == TENDER)
            ):
                found.setdefault(reading, []).append(command)
    return found


async def test_the_etag_a_reader_is_given_is_the_version_its_commands_take(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    callers = await callers_of(client, staff_headers, clock)
    document = (await client.get("/schema/openapi.json")).json()
    pairs = command_paths(document)
    # Every reading that answers an ETag has commands that take it, but these.
    tagged = {
        op.path
        for op in readings(document)
        for party in callers
        if "etag" in (await send(client, document, op, party.ids, party.headers)).headers
    }
    assert tagged - pairs.keys() == VERSIONS_NO_COMMAND_TAKES, sorted(tagged - pairs.keys())
    by_path = {op.path: op for op in readings(document)}
    failures: list[str] = []
    taken: set[str] = set()
    for path in sorted(tagged & pairs.keys()):
        for command in pairs[path]:
            for party in callers:
                await settle(client)
                read = await send(client, document, by_path[path], party.ids, party.headers)
                tag = read.headers.get("etag")
                if read.status_code != 200 or tag is None:
                    continue
                answer = await send(
                    client, document, command, party.ids, party.headers | {"If-Match": tag}
                )
                where = f"{command} as {party.name} with GET {path}'s ETag {tag}"
                if answer.status_code == 412 or problem_type(answer) == STALE_VERSION:
                    failures.append(f"{where}: {answer.status_code} {answer.text[:300]}")
                elif answer.status_code not in (401, 403, 404):
                    taken.add(f"{command}")
    assert not failures, "\n".join(failures)
    # Every versioned reading the walk reached, and a command of each, took its tag.
    # 13 readings' tags reached 39 commands on both stores (2026-12-02).
    assert len(tagged) >= 13, sorted(tagged)
    assert len(taken) >= 35, sorted(taken)
