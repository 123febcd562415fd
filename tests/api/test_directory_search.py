"""Directory search over HTTP, on both stores (issue 14): words found in names, social purposes
and published listings, best first; hierarchical CPV and region filters with words; legal form;
facets for the whole query, counted by hand; keyset pages stable while members join; a member
that loses good standing, or a listing withdrawn, drops out at once; search works after a
rebuild; hostile words and bad parameters are never a 500.

Each test searches for a word of its own: PostgreSQL's database is shared by the whole run."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from tests.api.helpers import services_of, token
from tests.api.test_directory import admitted_member
from tests.api.test_listings import BREAD, publish, settle
from tests.conftest import AppClient

Client = AppClient
SEARCH = "/api/v1/directory/search"


def unique_word() -> str:
    return f"zq{uuid.uuid4().hex[:10]}"


def position_of(response: Any) -> str:
    return ",".join(f"{log}:{at}" for log, at in response.json()["position"].items())


async def join(
    client: Client, staff_headers: dict[str, str], **registration: Any
) -> tuple[str, dict[str, str], str]:
    """A member in good standing: its id, its users' headers, the position of its payment."""
    org, position = await admitted_member(client, staff_headers, **registration)
    return org["id"], await token(client, org["email"]), position


async def search(client: Client, **params: Any) -> dict[str, Any]:
    response = await client.get(SEARCH, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def names(body: dict[str, Any]) -> list[str]:
    return [item["name"] for item in body["items"]]


async def test_words_ranked_filtered_and_counted_by_facet(
    client: Client, staff_headers: dict[str, str]
) -> None:
    word = unique_word()
    await join(
        client, staff_headers, name=f"{word} Bakery CIC", regions=["TLC3"],
        cpv_codes=["15810000-9"],
    )  # fmt: skip
    await join(
        client, staff_headers, name="Alder Co-operative", legal_form="co_operative_society",
        social_purpose=f"Jobs in {word} making", regions=["TLD3", "TLE"],
        cpv_codes=["45000000-7"],
    )  # fmt: skip
    seller, headers, _ = await join(
        client, staff_headers, name="Birch Trust", regions=["TLC41"], cpv_codes=["90910000-9"]
    )
    await publish(client, seller, headers, BREAD | {"title": f"{word} for events"})
    await settle(client)

    found = await search(client, q=word)
    # By hand: the name (weighted most), then the social purpose, then a listing.
    assert names(found) == [f"{word} Bakery CIC", "Alder Co-operative", "Birch Trust"]
    ranks = [item["rank"] for item in found["items"]]
    assert ranks[0] > ranks[1] > ranks[2] > 0
    assert found["total"] == 3
    assert found["next"] is None
    assert found["facets"] == {
        "legal_form": {"cic": 2, "co_operative_society": 1},
        # Bakery TLC3 -> TLC; Alder TLD3, TLE -> TLD, TLE; Birch TLC41 -> TLC.
        "region": {"TLC": 2, "TLD": 1, "TLE": 1},
        # Bakery 15; Alder 45; Birch 90 (profile) and 15 (its listing's 15810000).
        "cpv_division": {"15": 2, "45": 1, "90": 1},
        "mark": {"held": 0, "not_held": 3},
    }
    # The directory's own shape; a listing's code is searched but not shown as the profile's.
    birch = found["items"][2]
    assert birch["cpv_codes"] == ["90910000-9"]
    assert birch["quality_mark"] is None

    # Filters with words, every one applied to the facets too.
    in_tlc = await search(client, q=word, region="TLC")
    assert names(in_tlc) == [f"{word} Bakery CIC", "Birch Trust"]
    assert in_tlc["facets"]["region"] == {"TLC": 2}
    assert in_tlc["facets"]["cpv_division"] == {"15": 2, "90": 1}
    assert names(await search(client, q=word, region="TLC4")) == ["Birch Trust"]  # down the tree
    assert names(await search(client, q=word, region="TLE41")) == ["Alder Co-operative"]  # up
    # CPV: the division finds the listing's code and the profile's, both down the tree.
    assert names(await search(client, q=word, cpv="15000000-8")) == [
        f"{word} Bakery CIC", "Birch Trust"
    ]  # fmt: skip
    assert names(await search(client, q=word, cpv="45200000-9")) == ["Alder Co-operative"]
    coop = await search(client, q=word, legal_form="co_operative_society", region="TLD")
    assert names(coop) == ["Alder Co-operative"]
    assert coop["facets"]["legal_form"] == {"co_operative_society": 1}
    assert names(await search(client, q=word, mark="true")) == []
    assert (await search(client, q=word, mark="false"))["total"] == 3
    # Two words, both needed; English stemming ("making" finds "make").
    assert names(await search(client, q=f"{word} make")) == ["Alder Co-operative"]
    assert names(await search(client, q=f"{word} absent")) == []


async def test_keyset_pages_are_stable_while_members_join(
    client: Client, staff_headers: dict[str, str]
) -> None:
    word = unique_word()
    for name in ("Beech", "Elm", "Hazel", "Oak"):
        await join(client, staff_headers, name=f"{name} {word}")
    await join(client, staff_headers, name="Cedar", social_purpose=f"Trees and {word}")
    await settle(client)
    first = await search(client, q=word, per_page=2)
    assert names(first) == [f"Beech {word}", f"Elm {word}"]
    assert first["total"] == 5
    # Members join: before the cursor, after it, ranked above and below it.
    for name in ("Ash", "Fir", "Yew"):
        await join(client, staff_headers, name=f"{name} {word}")
    await join(client, staff_headers, name="Alder", social_purpose=f"More {word}")
    await settle(client)
    seen = [item["id"] for item in first["items"]]
    rest: list[str] = []
    after = first["next"]
    while after is not None:
        page = await search(client, q=word, per_page=2, after=after)
        seen += [item["id"] for item in page["items"]]
        rest += names(page)
        after = page["next"]
    assert len(seen) == len(set(seen))  # no duplicates
    # Nothing skipped: every member after the cursor, old and new, in order; "Ash" sorts
    # before it and is not shown again.
    assert rest == [f"Fir {word}", f"Hazel {word}", f"Oak {word}", f"Yew {word}", "Alder", "Cedar"]


async def test_losing_good_standing_or_withdrawing_a_listing_drops_out_at_once(
    client: Client, staff_headers: dict[str, str]
) -> None:
    word = unique_word()
    org, _, _ = await join(client, staff_headers, name=f"{word} Works")
    other, other_headers, _ = await join(client, staff_headers, name="Rowan Co")
    listing = await publish(client, other, other_headers, BREAD | {"title": f"{word} bread"})
    await settle(client)
    assert names(await search(client, q=word)) == [f"{word} Works", "Rowan Co"]
    suspended = await client.post(
        f"/api/v1/organisations/{org}/membership/suspension",
        json={"reason": "Dues unpaid"},
        headers=staff_headers,
    )
    assert suspended.status_code == 200, suspended.text
    assert names(await search(client, q=word, position=position_of(suspended))) == ["Rowan Co"]
    withdrawn = await client.post(
        f"/api/v1/listings/{listing['id']}/withdrawal", headers=other_headers
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert names(await search(client, q=word, position=position_of(withdrawn))) == []


async def test_search_works_after_a_rebuild(client: Client, staff_headers: dict[str, str]) -> None:
    word = unique_word()
    org, headers, _ = await join(client, staff_headers, name=f"{word} Rebuilt")
    await publish(client, org, headers, BREAD | {"description": f"Also {word} cakes"})
    await settle(client)
    before = await search(client, q=word)
    services = services_of(client)
    # Other tests' odd events are in the shared PostgreSQL log (probes record them on
    # purpose): left out as the live path leaves them (ADR 16).
    await services.run(
        lambda: services.readside.projector.rebuild(["directory_search"], leaving_out=True)
    )
    assert await search(client, q=word) == before
    assert before["items"][0]["rank"] > 0
    # PostgreSQL: the swapped-in table kept its GIN index (declared on the table).
    engine = services.readside.projector.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT indexdef FROM pg_indexes WHERE tablename = 'directory_search'")
            ).scalars()
            assert any("USING gin" in index for index in found)


@pytest.mark.parametrize(
    "q",
    ['"', '""', '" OR 1=1 --', "a* OR b*", "NEAR(a b)", "name : x", "{name}:x", "-bakery",
     "bakery -", "^x", "col:", "((", "!!!", "...", "AND", "OR NOT", "日本語 ünï", "x" * 200],
)  # fmt: skip
async def test_hostile_words_are_text_never_query_syntax(client: Client, q: str) -> None:
    response = await client.get(SEARCH, params={"q": q})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] >= len(body["items"])
    board = await client.get("/api/v1/tenders", params={"q": q})
    assert board.status_code == 200, board.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "x" * 201}, "q"),
        ({"q": "nul\x00"}, "q"),
        ({"after": "not a cursor!"}, "after"),
        ({"after": base64.urlsafe_b64encode(b'{"r":1}').decode()}, "after"),
        ({"after": base64.urlsafe_b64encode(b"[1,2]").decode()}, "after"),
        # A cursor of a ranked query given to one without words.
        (
            {
                "after": base64.urlsafe_b64encode(
                    b'{"r":5,"n":"A","i":"' + str(uuid.uuid4()).encode() + b'"}'
                ).decode()
            },
            "after",
        ),
        ({"legal_form": "plc"}, "legal_form"),
        ({"mark": "perhaps"}, "mark"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "101"}, "per_page"),
        # Codes that are not codes: the directory's own 422 (as /api/v1/directory answers).
        ({"cpv": "99999999-9"}, "cpv"),
        ({"region": "XX"}, "region"),
    ],
)
async def test_bad_parameters_are_problems_naming_them(
    client: Client, params: dict[str, str], field: str
) -> None:
    response = await client.get(SEARCH, params=params)
    assert response.status_code == (422 if field in ("cpv", "region") else 400), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text
