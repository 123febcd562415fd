"""The tender board's text search over HTTP, on both stores (issue 14): `q` finds the words in a
tender's title, description and lots' titles and descriptions, best first, then by deadline;
with the board's other filters; drafts never; amended terms are searched as they now stand; the
search works after the tenders projection is rebuilt. (Hostile words: test_directory_search.)"""

from __future__ import annotations

import uuid
from typing import Any

from tests.api.helpers import services_of
from tests.api.test_tenders import LATER, draft, settle, terms, verified_council
from tests.conftest import AppClient

Client = AppClient


async def found(client: Client, buyer: str, **params: str) -> list[tuple[str, int | None]]:
    """(title, rank) of this buyer's tenders on the board (PostgreSQL's database is shared by
    the whole run)."""
    response = await client.get("/api/v1/tenders", params=params | {"buyer_id": buyer})
    assert response.status_code == 200, response.text
    return [(item["title"], item.get("rank")) for item in response.json()["items"]]


async def published(
    client: Client, buyer: str, headers: dict[str, str], body: dict[str, Any]
) -> str:
    tender = (await draft(client, buyer, headers, body))["id"]
    done = await client.post(
        f"/api/v1/tenders/{tender}/publication", json={"planned": False}, headers=headers
    )
    assert done.status_code == 200, done.text
    return str(tender)


def lot(title: str, description: str, cpv: str) -> dict[str, Any]:
    return {"title": title, "description": description, "cpv_codes": [cpv], "value_minor": 10_000}


async def test_the_board_finds_words_in_titles_descriptions_and_lots_best_first(
    client: Client, staff_headers: dict[str, str]
) -> None:
    word = f"zq{uuid.uuid4().hex[:10]}"
    council, headers = await verified_council(client, staff_headers)
    in_lot = terms(
        title="Parks upkeep", deadline="2026-04-02T12:00:00Z",
        lots=[lot("Mowing", f"Grass and {word} verges", "77310000-6")],
    )  # fmt: skip
    in_description = terms(title="Cafe", description=f"A {word} cafe", deadline=LATER)
    in_title = terms(title=f"{word} meals", lots=[lot("Meals", "Hot", "55520000-1")])
    for body in (in_lot, in_description, in_title):
        await published(client, council, headers, body)
    await draft(client, council, headers, terms(title=f"{word} draft"))  # never on the board
    await settle(client)

    board = await found(client, council, q=word)
    assert [title for title, _ in board] == [f"{word} meals", "Cafe", "Parks upkeep"]
    ranks = [rank for _, rank in board]
    assert ranks[0] is not None
    assert ranks[1] is not None
    assert ranks[2] is not None
    assert ranks[0] > ranks[1] > ranks[2] > 0
    # Without q: by deadline, no rank.
    plain = await found(client, council)
    assert [title for title, _ in plain] == [f"{word} meals", "Parks upkeep", "Cafe"]
    assert {rank for _, rank in plain} == {None}
    # With the board's filters; every word needed; stemmed ("verge" finds "verges").
    # (the meals tender's one lot is 55520000; the cafe keeps the default grounds lot, 77310000).
    assert [t for t, _ in await found(client, council, q=word, cpv="77000000-0")] == [
        "Cafe", "Parks upkeep"
    ]  # fmt: skip
    assert [t for t, _ in await found(client, council, q=f"{word} verge")] == ["Parks upkeep"]
    assert await found(client, council, q=f"{word} absent") == []
    response = await client.get("/api/v1/tenders", params={"q": word, "buyer_id": council})
    assert response.json()["total"] == 3


async def test_amended_terms_are_searched_and_a_rebuild_keeps_the_search(
    client: Client, staff_headers: dict[str, str]
) -> None:
    word, later_word = f"zq{uuid.uuid4().hex[:10]}", f"zq{uuid.uuid4().hex[:10]}"
    council, headers = await verified_council(client, staff_headers)
    tender = await published(client, council, headers, terms(title=f"{word} works"))
    amended = await client.post(
        f"/api/v1/tenders/{tender}/amendments",
        json=terms(title=f"{later_word} works", deadline=LATER) | {"rationale": "Renamed"},
        headers=headers,
    )
    assert amended.status_code == 200, amended.text
    await settle(client)
    assert await found(client, council, q=word) == []
    before = await found(client, council, q=later_word)
    assert [title for title, _ in before] == [f"{later_word} works"]

    services = services_of(client)
    # Other tests' odd events are in the shared PostgreSQL log (probes record them on
    # purpose): left out as the live path leaves them (ADR 16).
    await services.run(lambda: services.readside.projector.rebuild(["tenders"], leaving_out=True))
    assert await found(client, council, q=later_word) == before
