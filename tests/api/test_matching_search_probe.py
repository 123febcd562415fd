"""Issue 14's routes attacked over HTTP, on both stores: the public, an applicant never
admitted, members out of good standing (suspended, resigned, lapsed), a rival buyer, a member
of another organisation and staff try to learn from matching and search what is not public, or
to break them with hostile input. What holds is kept here, by the attacker's aim:

1. the directory search (items, total, facets; by words, CPV, region, legal form, mark) shows
   and counts listed members only, and never a withdrawn listing's text or codes, nor a
   listing of a member out of good standing;
2. the tender board's `q` never finds a draft, and a draft's words change neither its total
   nor its order;
3. a lot's matches are its buyer's and staff's: anyone else gets the very answer of a tender
   that does not exist; an excluded member is counted, never named; the buyer never appears;
   neither interest nor a bid moves a score by a byte;
4. recommendations are open lots of other buyers only, and an organisation's own;
5. hostile input on every parameter is a 4xx problem naming it, or a 200 that makes sense.

PostgreSQL's database is shared by a worker's tests: each test searches for words of its own,
and counts what matching finds against what it found before the test's members existed.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sharedkernel.reference import canonical_cpv
from tests.api.helpers import APPLICATION, register, token
from tests.api.test_award_probe import named, ok, problem, same_answer
from tests.api.test_bid_scenario import content
from tests.api.test_buyers import register_council, verification
from tests.api.test_directory_search import join, unique_word
from tests.api.test_listings import BREAD, publish, settle
from tests.api.test_membership_standing import tick
from tests.api.test_quality_mark import CRITERIA, DECLARATIONS, signed_in, upload
from tests.api.test_tenders import terms
from tests.conftest import AppClient
from tests.evidence_files import pdf
from tradehall.clock import ManualClock
from tradehall.identity.users import Role
from tradehall.store.base import Store

Client = AppClient
Headers = dict[str, str]
SEARCH = "/api/v1/directory/search"
BOARD = "/api/v1/tenders"
# Workwear (division 18) and Devon (TLK4): no other test states them.
LOT_CODE = "18113000-4"
LISTING_CODE = "18141000-9"
OTHER_CODE = "18143000-3"
REGION, REGION_ITL1, OUTSIDE = "TLK4", "TLK", "TLM"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def tender_terms(
    now: datetime,
    *,
    title: str = "Workwear for the parks team",
    regions: tuple[str, ...] = (REGION,),
    mark_required: bool = False,
    words: str = "",
) -> dict[str, Any]:
    """A one-lot tender of workwear, its periods from `now`, its text holding `words`."""
    return terms(
        title=f"{title} {words}".strip(),
        description=f"Boots and jackets {words}".strip(),
        lots=[
            {
                "title": f"Workwear {words}".strip(),
                "description": "Hi-vis jackets",
                "cpv_codes": [LOT_CODE],
                "value_minor": 2_000_000,
            }
        ],
        enquiry_period={
            "start": iso(now + timedelta(hours=1)),
            "end": iso(now + timedelta(days=18)),
        },
        tender_period={
            "start": iso(now + timedelta(hours=1)),
            "end": iso(now + timedelta(days=30)),
        },
        contract_period={
            "start": iso(now + timedelta(days=60)),
            "end": iso(now + timedelta(days=400)),
        },
        eligibility={
            "members_only": False,
            "quality_mark_required": mark_required,
            "regions": list(regions),
        },
    )


async def council(client: Client, staff_headers: Headers, name: str) -> tuple[str, Headers]:
    """A verified buyer of this name: its id and headers."""
    org = await register_council(client, name)
    verified = await client.post(
        verification(org["id"]), json={"evidence": "GOV.UK register"}, headers=staff_headers
    )
    assert verified.status_code == 200, verified.text
    return org["id"], await token(client, org["email"])


async def drafted(client: Client, buyer: str, headers: Headers, body: dict[str, Any]) -> str:
    response = await client.post(
        f"/api/v1/organisations/{buyer}/tenders", json=body, headers=headers
    )
    tender: str = ok(response, 201)["id"]
    return tender


async def published(
    client: Client, buyer: str, headers: Headers, body: dict[str, Any], planned: bool = False
) -> str:
    tender = await drafted(client, buyer, headers, body)
    ok(
        await client.post(
            f"/api/v1/tenders/{tender}/publication", json={"planned": planned}, headers=headers
        )
    )
    return tender


async def applicant(
    client: Client, staff_headers: Headers, name: str, *, apply: bool = True, **more: Any
) -> tuple[str, Headers]:
    """An organisation that registered (and applied) but was never admitted."""
    org = await register(client, name=name, **more)
    headers = await token(client, org["email"])
    if apply:
        url = f"/api/v1/organisations/{org['id']}/membership/application"
        ok(await client.post(url, json=APPLICATION, headers=headers))
    return org["id"], headers


async def admitted_unpaid(client: Client, staff_headers: Headers, name: str, **more: Any) -> str:
    org, _ = await applicant(client, staff_headers, name, **more)
    ok(
        await client.post(
            f"/api/v1/organisations/{org}/membership/admission", headers=staff_headers
        )
    )
    return org


async def suspend(client: Client, staff_headers: Headers, org: str) -> None:
    ok(
        await client.post(
            f"/api/v1/organisations/{org}/membership/suspension",
            json={"reason": "Complaint under review"},
            headers=staff_headers,
        )
    )


async def search(client: Client, headers: Headers | None = None, **params: Any) -> Any:
    return ok(await client.get(SEARCH, params=params, headers=headers or {}))


async def every_page(client: Client, **params: Any) -> tuple[list[str], str]:
    """The ids of every page of a search, and every page's text."""
    ids: list[str] = []
    texts = ""
    after: str | None = None
    while True:
        query = params | {"per_page": 100} | ({"after": after} if after else {})
        page = await client.get(SEARCH, params=query)
        body = ok(page)
        ids += [item["id"] for item in body["items"]]
        texts += page.text
        after = body["next"]
        if after is None:
            return ids, texts


def minus(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """What a facet gained (keys whose count did not change left out)."""
    return {
        key: after.get(key, 0) - before.get(key, 0)
        for key in after.keys() | before.keys()
        if after.get(key, 0) != before.get(key, 0)
    }


def counted(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """How many more a lot excludes, by reason."""
    return {reason: after[reason] - before[reason] for reason in after}


def hides(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, (secret, text)


# 1. The directory search shows and counts listed members only --------------------------------


async def test_the_search_never_shows_or_counts_an_unlisted_organisation_or_a_hidden_listing(
    client: Client, staff_headers: Headers
) -> None:
    """Organisations holding the word that are not listed (never applied, pending, rejected,
    admitted but unpaid, suspended, resigned, a buyer) and the hidden listings of a listed one
    (withdrawn) and of a suspended one: never in items, total or facets, by any filter."""
    word, withdrawn_word, suspended_word = unique_word(), unique_word(), unique_word()
    division = canonical_cpv(LOT_CODE[:2] + "000000")
    by_cpv_before = await search(client, cpv=LISTING_CODE)
    by_region_before = await search(client, region=REGION)
    at_once = {"cpv_codes": [OTHER_CODE], "regions": [REGION], "legal_form": "co_operative_society"}

    listed, listed_headers, _ = await join(
        client, staff_headers, name=f"Gorse {word} CIC", regions=[REGION], cpv_codes=[LOT_CODE]
    )
    await publish(client, listed, listed_headers, BREAD | {
        "title": f"Workwear {word}", "cpv_codes": [LISTING_CODE], "regions": [REGION]})  # fmt: skip
    hidden = await publish(client, listed, listed_headers, BREAD | {
        "title": f"Uniforms {withdrawn_word}", "cpv_codes": [OTHER_CODE]})  # fmt: skip
    ok(await client.post(f"/api/v1/listings/{hidden['id']}/withdrawal", headers=listed_headers))

    unlisted: dict[str, str] = {}
    unlisted["never applied"], _ = await applicant(
        client, staff_headers, f"Never {word} {uuid.uuid4().hex[:6]}", apply=False, **at_once
    )
    unlisted["pending"], _ = await applicant(
        client, staff_headers, f"Pending {word} {uuid.uuid4().hex[:6]}", **at_once
    )
    rejected, _ = await applicant(
        client, staff_headers, f"Rejected {word} {uuid.uuid4().hex[:6]}", **at_once
    )
    ok(
        await client.post(
            f"/api/v1/organisations/{rejected}/membership/rejection",
            json={"reason": "No asset lock"},
            headers=staff_headers,
        )
    )
    unlisted["rejected"] = rejected
    unlisted["unpaid"] = await admitted_unpaid(
        client, staff_headers, f"Unpaid {word} {uuid.uuid4().hex[:6]}", **at_once
    )
    suspended, suspended_headers, _ = await join(
        client, staff_headers, name=f"Suspended {uuid.uuid4().hex[:6]}",
        social_purpose=f"Jobs in {word}", **at_once,
    )  # fmt: skip
    await publish(client, suspended, suspended_headers, BREAD | {
        "title": f"Overalls {suspended_word}", "cpv_codes": [LISTING_CODE],
        "regions": [REGION]})  # fmt: skip
    await suspend(client, staff_headers, suspended)
    unlisted["suspended"] = suspended
    resigned, resigned_headers, _ = await join(
        client, staff_headers, name=f"Resigned {word} {uuid.uuid4().hex[:6]}", **at_once
    )
    ok(
        await client.post(
            f"/api/v1/organisations/{resigned}/membership/resignation",
            json={"effective": "now"},
            headers=resigned_headers,
        )
    )
    unlisted["resigned"] = resigned
    unlisted["buyer"], _ = await council(client, staff_headers, f"{word} Borough Council")
    await settle(client)
    secrets = [*unlisted.values(), withdrawn_word, suspended_word, "Uniforms", "Overalls"]

    found = await search(client, q=word)
    assert [item["id"] for item in found["items"]] == [listed]
    assert found["total"] == 1
    assert found["facets"] == {
        "legal_form": {"cic": 1},
        "region": {REGION_ITL1: 1},
        "cpv_division": {"18": 1},
        "mark": {"held": 0, "not_held": 1},
    }
    # The listed member's own withdrawn listing: its code is not the member's any more.
    assert found["items"][0]["cpv_codes"] == [LOT_CODE]
    for params in (
        {"q": word, "cpv": division},
        {"q": word, "cpv": LOT_CODE},
        {"q": word, "region": REGION_ITL1},
        {"q": word, "region": "TLK41"},  # up the tree
        {"q": word, "mark": "false"},
    ):
        page = await client.get(SEARCH, params=params)
        assert [item["id"] for item in ok(page)["items"]] == [listed], params
        assert page.json()["total"] == 1
        hides(page.text, secrets)
    for params in (
        {"q": word, "cpv": OTHER_CODE},  # only the withdrawn listing and the unlisted have it
        {"q": word, "legal_form": "co_operative_society"},
        {"q": word, "mark": "true"},
        {"q": withdrawn_word},
        {"q": suspended_word},
        {"q": f"{word} {withdrawn_word}"},
        {"q": "Overalls", "cpv": LISTING_CODE, "region": REGION},
    ):
        page = await client.get(SEARCH, params=params)
        body = ok(page)
        assert (body["items"], body["total"], body["next"]) == ([], 0, None), params
        assert body["facets"] == {
            "legal_form": {}, "region": {}, "cpv_division": {},
            "mark": {"held": 0, "not_held": 0},
        }, params  # fmt: skip

    # Without words: the filters alone gain the listed member, and nothing else.
    by_filter = ((by_cpv_before, {"cpv": LISTING_CODE}), (by_region_before, {"region": REGION}))
    for before, params in by_filter:
        after = await search(client, **params)
        assert after["total"] - before["total"] == 1, params
        gained = {
            name: minus(after["facets"][name], before["facets"][name])
            for name in ("legal_form", "region", "cpv_division")
        }
        assert gained == {
            "legal_form": {"cic": 1},
            "region": {REGION_ITL1: 1},
            "cpv_division": {"18": 1},
        }, params
        assert minus(after["facets"]["mark"], before["facets"]["mark"]) == {"not_held": 1}
        ids, texts = await every_page(client, **params)
        assert listed in ids
        hides(texts, secrets)
    # Staff and the unlisted themselves see the very same public search.
    for headers in (staff_headers, suspended_headers):
        assert await search(client, headers, q=word) == found


async def test_a_lapsed_member_leaves_the_search_and_matching_counts_it_unnamed(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """A member's dues lapse (past paid-up-until and the grace period): its name, purpose and
    listing leave the search; a lot counts it as not in good standing and never names it; it
    gets no recommendations, and a member that joined since is found."""
    word = unique_word()
    lapsed, lapsed_headers, _ = await join(
        client, staff_headers, name=f"Lapsed {word}", regions=[REGION], cpv_codes=[LOT_CODE]
    )
    await publish(client, lapsed, lapsed_headers, BREAD | {"title": f"Boots {word}"})
    clock.advance(timedelta(days=365 + 40))
    await tick(client)
    fresh, _, _ = await join(
        client, staff_headers, name=f"Fresh {word}", regions=[REGION], cpv_codes=[LOT_CODE]
    )
    buyer, buyer_headers = await council(client, staff_headers, "Devon County Council")
    await settle(client)
    found = await search(client, q=word)
    assert ([i["id"] for i in found["items"]], found["total"]) == ([fresh], 1)
    assert found["facets"]["legal_form"] == {"cic": 1}
    assert (await search(client, q=f"boots {word}"))["total"] == 0

    tender = await drafted(client, buyer, buyer_headers, tender_terms(clock.now()))
    await settle(client)
    body = ok(await client.get(matches(buyer, tender), headers=buyer_headers))
    assert fresh in [m["organisation_id"] for m in body["members"]]
    assert body["excluded"]["not_in_good_standing"] >= 1
    text = json.dumps(body)
    hides(text, [lapsed, f"Lapsed {word}"])
    own = ok(
        await client.get(
            f"/api/v1/organisations/{lapsed}/recommended-tenders", headers=lapsed_headers
        )
    )
    assert (own["standing"], own["items"]) == ("not in good standing", [])


async def test_what_a_member_said_before_is_neither_found_nor_matched(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """A listed member renames itself, rewrites its purpose, its codes and regions, and its
    listing: its old words and codes find nothing and no lot of its old code matches it."""
    old, new = unique_word(), unique_word()
    buyer, buyer_headers = await council(client, staff_headers, "Newton Abbot Council")
    org, headers, _ = await join(
        client, staff_headers, name=f"{old} Tailors", social_purpose=f"Jobs in {old}",
        regions=[REGION], cpv_codes=[LOT_CODE],
    )  # fmt: skip
    listing = await publish(client, org, headers, BREAD | {
        "title": f"Aprons {old}", "cpv_codes": [LISTING_CODE], "regions": [REGION]})  # fmt: skip
    tender = await drafted(client, buyer, buyer_headers, tender_terms(clock.now(), regions=()))
    await settle(client)
    assert (await search(client, q=old))["total"] == 1
    lot = ok(await client.get(matches(buyer, tender), headers=buyer_headers))
    assert org in [m["organisation_id"] for m in lot["members"]]

    ok(
        await client.put(
            f"/api/v1/organisations/{org}/profile",
            json={"name": f"{new} Menders", "social_purpose": "Repairs", "regions": ["TLC4"],
                  "cpv_codes": ["15810000"], "website": None},
            headers=headers,
        )
    )  # fmt: skip
    ok(
        await client.put(
            f"/api/v1/listings/{listing['id']}",
            json=BREAD | {"title": f"Bread {new}", "regions": ["TLC4"]},
            headers=headers,
        )
    )
    await settle(client)
    for params in ({"q": old}, {"q": f"Aprons {new}"}, {"q": new, "cpv": LISTING_CODE},
                   {"q": new, "cpv": LOT_CODE}, {"q": new, "region": REGION}):  # fmt: skip
        body = await search(client, **params)
        assert (body["items"], body["total"]) == ([], 0), params
    now = await search(client, q=new)
    assert [(i["id"], i["name"]) for i in now["items"]] == [(org, f"{new} Menders")]
    assert now["facets"]["cpv_division"] == {"15": 1}
    lot = await client.get(matches(buyer, tender), headers=buyer_headers)
    assert org not in [m["organisation_id"] for m in ok(lot)["members"]]
    hides(lot.text, [org, old])


async def marked(
    client: Client, staff_headers: Headers, store: Store, clock: ManualClock, **registration: Any
) -> tuple[str, Headers]:
    """A member in good standing awarded the quality mark (as test_quality_mark's whole life
    of a mark, shortest path): its id and headers."""
    org, headers, url = await referred(client, staff_headers, store, clock, **registration)
    ok(await client.post(f"{url}/decision", json={"award": True}, headers=staff_headers))
    return org, headers


async def referred(
    client: Client, staff_headers: Headers, store: Store, clock: ManualClock, **registration: Any
) -> tuple[str, Headers, str]:
    """A member in good standing whose application for the mark its assessor has referred to
    the panel: its id, its headers and the application's URL."""
    org, headers, _ = await join(client, staff_headers, **registration)
    applied = await client.post(f"/api/v1/organisations/{org}/mark-applications", headers=headers)
    application = ok(applied, 201)["id"]
    url = f"/api/v1/mark-applications/{application}"
    for criterion in CRITERIA:
        ok(await upload(client, headers, application, criterion, pdf()), 201)
    ok(await client.put(f"{url}/declarations", json=DECLARATIONS, headers=headers))
    ok(await client.post(f"{url}/submission", headers=headers))
    assessor = await signed_in(client, store, clock, Role.ASSESSOR)
    assign = {"assessor_id": str(assessor.user_id)}
    ok(await client.post(f"{url}/assessor", json=assign, headers=staff_headers))
    findings = {code: {"met": True, "note": "seen"} for code in CRITERIA}
    referral = {"findings": findings}
    ok(await client.post(f"{url}/referral", json=referral, headers=assessor.headers))
    return org, headers, url


async def test_a_mark_held_by_a_member_out_of_good_standing_is_neither_shown_nor_counted(
    client: Client, staff_headers: Headers, store: Store, clock: ManualClock
) -> None:
    """Two members hold the mark; staff suspend one. The search's mark filter and facet count
    the other alone; a lot requiring the mark ranks the other and never names the suspended."""
    word = unique_word()
    here = {"regions": [REGION], "cpv_codes": [LOT_CODE]}
    buyer, buyer_headers = await council(client, staff_headers, "Ivybridge Council")
    tender = await drafted(
        client, buyer, buyer_headers, tender_terms(clock.now(), mark_required=True)
    )
    await settle(client)
    before = ok(await client.get(matches(buyer, tender), headers=buyer_headers))
    holder, _ = await marked(client, staff_headers, store, clock, name=f"Holder {word}", **here)
    name = f"Suspended holder {uuid.uuid4().hex[:6]}"
    suspended, _ = await marked(
        client, staff_headers, store, clock, name=name, social_purpose=f"Jobs {word}", **here
    )
    await suspend(client, staff_headers, suspended)
    await settle(client)

    found = await search(client, q=word)
    assert ([i["id"] for i in found["items"]], found["total"]) == ([holder], 1)
    assert found["facets"]["mark"] == {"held": 1, "not_held": 0}
    assert [i["id"] for i in (await search(client, q=word, mark="true"))["items"]] == [holder]
    assert (await search(client, q=word, mark="false"))["total"] == 0
    lot = await client.get(matches(buyer, tender), headers=buyer_headers)
    body = ok(lot)
    [ranked] = [m for m in body["members"] if m["organisation_id"] == holder]
    assert ranked["parts"]["mark"] == {
        "points": 15, "max": 15, "detail": "holds a valid quality mark",
    }  # fmt: skip
    hides(lot.text, [suspended, name])
    gained = counted(body["excluded"], before["excluded"])
    assert (gained["total"], gained["not_in_good_standing"]) == (1, 1)


# 2. The tender board's words never find a draft ---------------------------------------------


async def test_the_boards_words_never_find_a_draft_nor_move_the_board(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """A buyer's drafts holding the word (more often than the published tender does, and
    alone) change neither what the word finds, nor its total, nor its order."""
    word, draft_only = unique_word(), unique_word()
    buyer, headers = await council(client, staff_headers, "Exeter City Council")
    rival, rival_headers = await council(client, staff_headers, "Torbay Council")
    first = await published(client, buyer, headers, tender_terms(clock.now(), words=word))
    second = await published(client, rival, rival_headers, tender_terms(
        clock.now() + timedelta(days=1), title=f"{word} gloves"))  # fmt: skip
    await settle(client)
    queries = [
        {"q": word},
        {"q": word, "per_page": "1"},
        {"q": word, "per_page": "1", "page": "2"},
        {"q": word, "buyer_id": buyer},
        {"q": word, "cpv": LOT_CODE, "region": REGION},
        {"q": word, "status": "active"},
        {"q": f"{word} workwear"},
    ]
    before = [(await client.get(BOARD, params=query)).json() for query in queries]
    # By hand: the first holds the word in its title, description and lot; the second in its
    # title only.
    assert [item["id"] for item in before[0]["items"]] == [first, second]
    assert before[0]["total"] == 2

    loud = f"{word} {word} {draft_only}"
    drafts = [
        await drafted(client, buyer, headers, tender_terms(clock.now(), title=loud, words=loud)),
        await drafted(client, rival, rival_headers, tender_terms(clock.now(), words=draft_only)),
    ]
    await settle(client)
    after = [(await client.get(BOARD, params=query)).json() for query in queries]
    assert after == before
    for headers_of in ({}, headers, rival_headers, staff_headers):
        alone = await client.get(BOARD, params={"q": draft_only}, headers=headers_of)
        assert (ok(alone)["items"], alone.json()["total"]) == ([], 0)
        hides(alone.text, drafts)
    named(await client.get(BOARD, params={"q": word, "status": "draft"}), 400, "status")


# 3. A lot's matches are its buyer's ---------------------------------------------------------


def matches(org: str, tender: str, lot: str = "lot-1") -> str:
    return f"/api/v1/organisations/{org}/tenders/{tender}/lots/{lot}/matches"


@dataclass(frozen=True)
class Field:
    """A buyer's tenders for workwear in Devon, and the organisations around them."""

    buyer: str
    buyer_headers: Headers
    open_tender: str  # published, Devon only
    marked_tender: str  # a draft requiring the quality mark
    fit: str
    fit_headers: Headers
    secrets: list[str]  # ids and names of the excluded and the never admitted
    attackers: dict[str, tuple[str, Headers]]


async def field(client: Client, staff_headers: Headers, clock: ManualClock) -> tuple[Field, Any]:
    """The field, and the lots' matches as they were before its members existed."""
    buyer, buyer_headers = await council(client, staff_headers, f"Plymouth {uuid.uuid4().hex[:6]}")
    open_tender = await published(client, buyer, buyer_headers, tender_terms(clock.now()))
    marked = await drafted(
        client, buyer, buyer_headers, tender_terms(clock.now(), mark_required=True)
    )
    await settle(client)
    baseline = {
        tender: ok(await client.get(matches(buyer, tender), headers=buyer_headers))
        for tender in (open_tender, marked)
    }
    tag = uuid.uuid4().hex[:8]
    here = {"regions": [REGION], "cpv_codes": [LOT_CODE]}
    fit, fit_headers, _ = await join(client, staff_headers, name=f"Fit {tag}", **here)
    suspended, suspended_headers, _ = await join(
        client, staff_headers, name=f"Suspended {tag}", **here
    )
    await suspend(client, staff_headers, suspended)
    outside, _, _ = await join(
        client, staff_headers, name=f"Outside {tag}", regions=[OUTSIDE], cpv_codes=[LOT_CODE]
    )
    pending, pending_headers = await applicant(client, staff_headers, f"Pending {tag}", **here)
    unpaid = await admitted_unpaid(client, staff_headers, f"Unpaid {tag}", **here)
    rival, rival_headers = await council(client, staff_headers, f"Rival {tag}")
    await settle(client)
    secrets = [suspended, f"Suspended {tag}", outside, f"Outside {tag}", pending,
               f"Pending {tag}", unpaid, f"Unpaid {tag}"]  # fmt: skip
    attackers = {
        "suspended member": (suspended, suspended_headers),
        "applicant": (pending, pending_headers),
        "rival buyer": (rival, rival_headers),
        "other member": (fit, fit_headers),
    }
    found = Field(buyer, buyer_headers, open_tender, marked, fit, fit_headers, secrets, attackers)
    return found, baseline


async def test_a_lot_names_its_fitting_members_counts_the_excluded_and_never_the_buyer(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """The buyer and staff read both lots: the fitting member ranked; the suspended, the
    admitted but unpaid, the one outside Devon and (where the mark is required) everyone
    counted, never named; the applicant never admitted not even counted."""
    on, baseline = await field(client, staff_headers, clock)
    for headers in (on.buyer_headers, staff_headers):
        response = await client.get(matches(on.buyer, on.open_tender), headers=headers)
        body = ok(response)
        ids = [m["organisation_id"] for m in body["members"]]
        assert on.fit in ids
        assert ids == [m["organisation_id"] for m in body["members"] if m["score"] > 0]
        hides(response.text, [*on.secrets, on.buyer])
        # The suspended and the unpaid (admitted: ever a member) are out of good standing; the
        # one in Scotland is outside; the never admitted is not a candidate at all.
        assert counted(body["excluded"], baseline[on.open_tender]["excluded"]) == {
            "total": 3, "not_in_good_standing": 2, "no_quality_mark": 0, "outside_regions": 1,
        }  # fmt: skip
        marked = await client.get(matches(on.buyer, on.marked_tender), headers=headers)
        body = ok(marked)
        # None of this field holds a valid mark (other tests' holders may share the database).
        assert on.fit not in [m["organisation_id"] for m in body["members"]]
        assert all(m["parts"]["mark"]["points"] == 15 for m in body["members"])
        hides(marked.text, [*on.secrets, on.fit, on.buyer])
        assert counted(body["excluded"], baseline[on.marked_tender]["excluded"]) == {
            "total": 4, "not_in_good_standing": 2, "no_quality_mark": 4, "outside_regions": 1,
        }  # fmt: skip


async def test_anyone_else_gets_the_answer_of_a_tender_that_does_not_exist(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """The public, a rival buyer, a member, a suspended member and an applicant ask for the
    lots' matches under the buyer's organisation and under their own: for a real tender, a real
    tender's missing lot and a tender that does not exist, the very same answer."""
    on, _ = await field(client, staff_headers, clock)
    nobody = str(uuid.uuid4())
    who: list[tuple[str, Headers]] = [("public", {})]
    who += [(name, headers) for name, (_, headers) in on.attackers.items()]
    for name, headers in who:
        orgs = [on.buyer] + ([on.attackers[name][0]] if name in on.attackers else [])
        for org in orgs:
            for tender in (on.open_tender, on.marked_tender):
                theirs = await client.get(matches(org, tender), headers=headers)
                problem(theirs, (401, 403, 404))
                expected = 401 if not headers else 403 if org == on.buyer else 404
                assert theirs.status_code == expected, (name, theirs.text)
                unknown = await client.get(matches(org, nobody), headers=headers)
                same_answer(theirs, unknown, (tender, nobody))
                no_lot = await client.get(matches(org, tender, "lot-2"), headers=headers)
                same_answer(theirs, no_lot)
                answer = theirs.json()
                answer.pop("instance")  # the caller's own path
                hides(json.dumps(answer), on.secrets)
    # Staff: the real tender is read, an invented one the same 404 as the buyer gets.
    ok(await client.get(matches(on.buyer, on.open_tender), headers=staff_headers))
    for headers in (staff_headers, on.buyer_headers):
        theirs = await client.get(matches(on.buyer, nobody), headers=headers)
        problem(theirs, 404)
        as_lot = await client.get(matches(on.buyer, on.open_tender, "lot-9"), headers=headers)
        same_answer(as_lot, theirs, (on.open_tender, nobody))
    # Recommendations: another organisation's are refused as an unknown organisation's.
    for name, headers in who:
        url = f"/api/v1/organisations/{on.fit}/recommended-tenders"
        if name == "other member":
            continue
        theirs = await client.get(url, headers=headers)
        problem(theirs, 401 if not headers else 403)
        unknown = await client.get(url.replace(on.fit, nobody), headers=headers)
        same_answer(theirs, unknown)


async def test_interest_and_a_submitted_bid_move_no_score_by_a_byte(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """The fitting member registers interest in the open tender, drafts, writes and submits a
    bid: the lot's matches and its recommendations are byte for byte what they were."""
    on, _ = await field(client, staff_headers, clock)
    lot_url = matches(on.buyer, on.open_tender)
    mine = f"/api/v1/organisations/{on.fit}/recommended-tenders"
    before = [
        (await client.get(lot_url, headers=on.buyer_headers)).text,
        (await client.get(lot_url, headers=staff_headers)).text,
        (await client.get(mine, headers=on.fit_headers)).text,
    ]
    assert on.open_tender in before[2]
    ok(await client.post(f"/api/v1/tenders/{on.open_tender}/interest", headers=on.fit_headers))
    bid = ok(
        await client.post(
            "/api/v1/bids",
            json={"tender_id": on.open_tender, "lot_id": "lot-1"},
            headers=on.fit_headers,
        ),
        201,
    )["id"]
    ok(await client.put(f"/api/v1/bids/{bid}", json=content(1_500_000), headers=on.fit_headers))
    ok(await client.post(f"/api/v1/bids/{bid}/submission", headers=on.fit_headers))
    await settle(client)
    after = [
        (await client.get(lot_url, headers=on.buyer_headers)).text,
        (await client.get(lot_url, headers=staff_headers)).text,
        (await client.get(mine, headers=on.fit_headers)).text,
    ]
    assert after == before
    hides("".join(after), [bid, "15,000", "1500000"])


# 4. Recommendations: open lots of other buyers ----------------------------------------------


async def test_recommendations_are_other_buyers_open_lots_only(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """A member fits six workwear tenders of two buyers: a draft, a planned one, one planned
    and withdrawn, one cancelled, and two open. Only the open ones are recommended, and none
    once their deadline passes; a buyer has none; a suspended member none."""
    buyer, headers = await council(client, staff_headers, "Barnstaple Council")
    rival, rival_headers = await council(client, staff_headers, "Bideford Council")
    member, member_headers, _ = await join(
        client, staff_headers, name="Tavistock Tailors", regions=[REGION], cpv_codes=[LOT_CODE]
    )
    now = clock.now()
    draft = await drafted(client, buyer, headers, tender_terms(now))
    planned = await published(client, rival, rival_headers, tender_terms(now), planned=True)
    withdrawn = await published(client, buyer, headers, tender_terms(now), planned=True)
    ok(await client.post(f"/api/v1/tenders/{withdrawn}/withdrawal",
                         json={"reason": "Not needed"}, headers=headers))  # fmt: skip
    cancelled = await published(client, rival, rival_headers, tender_terms(now))
    ok(await client.post(f"/api/v1/tenders/{cancelled}/cancellation",
                         json={"reason": "No budget"}, headers=rival_headers))  # fmt: skip
    open_ones = [
        await published(client, buyer, headers, tender_terms(now)),
        await published(client, rival, rival_headers, tender_terms(now + timedelta(days=2))),
    ]
    await settle(client)
    url = f"/api/v1/organisations/{member}/recommended-tenders"
    body = ok(await client.get(url, params={"limit": "100"}, headers=member_headers))
    assert body["standing"] == "in good standing"
    ids = [item["tender_id"] for item in body["items"]]
    assert [t for t in ids if t in (draft, planned, withdrawn, cancelled, *open_ones)] == open_ones
    assert {item["source"] for item in body["items"]} == {"tradehall"}
    assert all(item["buyer_id"] != member for item in body["items"])
    for own_buyer, own_headers in ((buyer, headers), (rival, rival_headers)):
        theirs = ok(
            await client.get(
                f"/api/v1/organisations/{own_buyer}/recommended-tenders", headers=own_headers
            )
        )
        assert (theirs["standing"], theirs["items"]) == ("not a member", [])
    assert ok(await client.get(url, headers=staff_headers))["items"] == body["items"]

    clock.set(now + timedelta(days=33))  # past both deadlines
    late = ok(await client.get(url, params={"limit": "100"}, headers=member_headers))
    assert not {item["tender_id"] for item in late["items"]} & {*open_ones, draft}
    await suspend(client, staff_headers, member)
    await settle(client)
    out = ok(await client.get(url, headers=member_headers))
    assert (out["standing"], out["items"]) == ("not in good standing", [])


# 5. Hostile input -----------------------------------------------------------------------------

HOSTILE_WORDS = [
    '"', '""', '" OR 1=1 --', "a* OR b*", "NEAR(a b)", "NEAR/2", "a AND b", "a OR b", "NOT a",
    "a NOT b", "*", ":", "name:x", "{name}:x", "{name social_purpose}: x", "^x", "(", "((a)",
    ")", "x)", "'", "\\", "%", "_", "&", "|", "!", "a:*", "<->", "@@", "🙂🙂", "🙂 bakery",
    "שלום עולם", "مرحبا", "\u200fmark", "e\u0301", "ß", "İstanbul", "ﬁ", "x" * 200,
    " ".join(["w"] * 100), "x" * 60 + "y" * 60,
]  # fmt: skip


def cursor(data: Any) -> str:
    raw = json.dumps(data).encode() if not isinstance(data, bytes) else data
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_hostile_input_is_a_problem_naming_its_field_or_a_sensible_answer(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    on_word = unique_word()
    for n in range(3):
        await join(client, staff_headers, name=f"{on_word} {n}", regions=[REGION])
    buyer, headers = await council(client, staff_headers, "Torquay Council")
    tender = await drafted(client, buyer, headers, tender_terms(clock.now()))
    member, member_headers, _ = await join(client, staff_headers, name="Hostile Probe Co")
    await settle(client)
    lot_url = matches(buyer, tender)
    recommended = f"/api/v1/organisations/{member}/recommended-tenders"

    async def sensible(url: str, params: dict[str, Any], who: Headers | None = None) -> Any:
        response = await client.get(url, params=params, headers=who or {})
        assert response.status_code == 200, (url, params, response.text)
        body = response.json()
        if "total" in body:
            assert body["total"] >= len(body["items"])
        return body

    for q in HOSTILE_WORDS:
        await sensible(SEARCH, {"q": q})
        await sensible(BOARD, {"q": q})
        await sensible(SEARCH, {"q": q, "cpv": LOT_CODE, "region": REGION})
    # Words that are no words find nothing (not everything).
    for q in ("🙂", "!!!", "", "-", "*", "^", "::"):
        body = await sensible(SEARCH, {"q": q, "region": REGION})
        assert (body["items"], body["total"]) == ([], 0), q
    for url in (SEARCH, BOARD):
        for bad in ("x" * 201, "x" * 10_000, "nul\x00", "\u202eevil", "\x07bell", " ", "\u3164"):
            named(await client.get(url, params={"q": bad}), 400, "q")
        for raw in ("%ED%A0%80", "%ED%B0%80x", "%FF%FE", "%C0%AF", "%00"):
            response = await client.get(f"{url}?q={raw}")
            if response.status_code != 200:
                named(response, 400, "q")

    # Cursors: garbage, other shapes, numbers out of range, text no store holds.
    first = await sensible(SEARCH, {"q": on_word, "per_page": 1})
    ranked = first["next"]
    assert ranked is not None
    plain = (await sensible(SEARCH, {"region": REGION, "per_page": 1}))["next"]
    some = str(uuid.uuid4())
    bad_cursors: list[tuple[dict[str, Any], str]] = [
        ({"after": "garbage!"}, "after"),
        ({"after": "=" * 10}, "after"),
        ({"after": "%00"}, "after"),
        ({"after": "x" * 1001}, "after"),
        ({"after": cursor(b"\xff\xfe\x00")}, "after"),
        ({"after": cursor([1, 2])}, "after"),
        ({"after": cursor("text")}, "after"),
        ({"after": cursor(None)}, "after"),
        ({"after": cursor(7)}, "after"),
        ({"after": cursor({"r": 1, "n": "A"})}, "after"),
        ({"after": cursor({"r": 1, "n": "A", "i": "not-a-uuid"}), "q": "a"}, "after"),
        ({"after": cursor({"r": 1, "n": "A", "i": 5}), "q": "a"}, "after"),
        ({"after": cursor({"r": 1, "n": ["A"], "i": some}), "q": "a"}, "after"),
        ({"after": cursor({"r": "1", "n": "A", "i": some}), "q": "a"}, "after"),
        ({"after": cursor({"r": True, "n": "A", "i": some}), "q": "a"}, "after"),
        ({"after": cursor({"r": 1.5, "n": "A", "i": some}), "q": "a"}, "after"),
        ({"after": cursor({"r": {"r": 1}, "n": "A", "i": some}), "q": "a"}, "after"),
        ({"after": cursor({"r": 10**30, "n": "A", "i": some}), "q": "a"}, "after"),
        ({"after": cursor({"r": -(10**30), "n": "A", "i": some}), "q": "a"}, "after"),
        ({"after": cursor({"r": 1, "n": "nul\x00", "i": some}), "q": "a"}, "after"),
        ({"after": cursor({"r": 1, "n": "\ud800", "i": some}), "q": "a"}, "after"),
        ({"after": cursor({"r": None, "n": "nul\x00", "i": some})}, "after"),
        ({"after": cursor({"r": None, "n": "\udfff", "i": some})}, "after"),
        ({"after": ranked}, "after"),  # a ranked query's cursor, with no words
        ({"after": plain, "q": on_word}, "after"),  # and the other way round
    ]
    for params, name in bad_cursors:
        named(await client.get(SEARCH, params=params), 400, name)
    # A cursor of another ranked query, or ranks no page gave, are positions: pages after them.
    for params in (
        {"q": "other words", "after": ranked},
        {"q": on_word, "after": cursor({"r": -1, "n": "", "i": some})},
        {"q": on_word, "after": cursor({"r": 2**63 - 1, "n": "\U0010fffd", "i": some})},
        {"after": cursor({"r": None, "n": "zzz", "i": some}), "region": REGION},
    ):
        await sensible(SEARCH, params)
    rest = await sensible(SEARCH, {"q": on_word, "per_page": 1, "after": ranked})
    assert rest["items"][0]["id"] != first["items"][0]["id"]

    # Sizes and codes.
    for value in ("0", "-1", str(10**20), "x", "1.5", "101", "\u0661", " 1"):
        named(await client.get(SEARCH, params={"per_page": value}), 400, "per_page")
        named(await client.get(BOARD, params={"per_page": value}), 400, "per_page")
        if value != "101":
            named(await client.get(BOARD, params={"q": "a", "page": value}), 400, "page")
        if value != "101":
            for url, who in ((lot_url, headers), (recommended, member_headers)):
                named(await client.get(url, params={"limit": value}, headers=who), 400, "limit")
    for url, who in ((lot_url, headers), (recommended, member_headers)):
        named(await client.get(url, params={"limit": "101"}, headers=who), 400, "limit")
    for name, values in (
        ("cpv", ["99999999-9", "18113000-5", "abc", "1" * 13, "18113000-4-4", "%", "*"]),
        ("region", ["XX", "TLZ9", "TL", "x" * 11, "TLK4*", "%"]),
    ):
        for value in values:
            for url in (SEARCH, BOARD):
                response = await client.get(url, params={name: value, "q": "a"})
                named(response, (400, 422), name)
    # Read-your-writes positions: garbage, a sealed log's, out of range, foreign digits.
    positions = ["garbage", "bids:1", "sealed_bids:1", "marketplace:-1", ":1", "marketplace:1,"]
    positions += ["marketplace:" + "9" * 30, "marketplace:1\u0661", "membership:\u0661"]
    reads = ((SEARCH, {}), (BOARD, {}), (lot_url, headers), (recommended, member_headers))
    for position in positions:
        for url, who in reads:
            response = await client.get(url, params={"position": position}, headers=who)
            named(response, 400, "position")
    # A parameter given twice: one of them is taken, or the request refused; never a 500.
    for url, who, query in (
        (SEARCH, {}, "q=a&q=b&per_page=1&per_page=2"),
        (SEARCH, {}, f"after={ranked}&after=x&q={on_word}"),
        (BOARD, {}, "q=a&q=b&page=1&page=2"),
        (lot_url, headers, "limit=1&limit=200"),
        (recommended, member_headers, "limit=1&limit=x"),
    ):
        response = await client.get(f"{url}?{query}", headers=who)
        if response.status_code != 200:
            problem(response, 400)
    for ok_code in ({"cpv": "18113000"}, {"region": "tlk4"}, {"cpv": ""}):
        await sensible(SEARCH, ok_code | {"q": on_word})
    for name, value in (
        ("legal_form", "plc"),
        ("legal_form", "CIC"),
        ("legal_form", ""),
        ("mark", "perhaps"),
        ("mark", "valid"),
        ("mark", "2"),
    ):
        named(await client.get(SEARCH, params={name: value}), 400, name)

    # A lot's name: long, foreign, path-like. Never a 500; a lot it is not is the 404 of none.
    nobody = await client.get(matches(buyer, str(uuid.uuid4())), headers=headers)
    problem(nobody, 404)
    for lot in ("x" * 1500, "lot-ü", "lot-1 ", "%20lot-1", "..", ".", "%2E%2E", "lot-1%2F..",
                "%2F", "lot%2F1", "🙂", "\u05d0", "lot-1;x", "lot-1%3F"):  # fmt: skip
        response = await client.get(matches(buyer, tender, lot), headers=headers)
        problem(response, (400, 404, 405))
        if response.status_code == 404 and response.json().get("detail", "").startswith("no "):
            assert response.json()["detail"] == f"no tender {tender}", lot
    for lot in ("x" * 3000, "%00", "lot%00", "%ED%A0%80", "\u202elot"):
        response = await client.get(matches(buyer, tender, lot), headers=headers)
        problem(response, (400, 404))
        if response.status_code == 400:
            named(response, 400, "lot_id")
    for tender_id in ("not-a-uuid", "0" * 40, "%00"):
        response = await client.get(
            f"/api/v1/organisations/{buyer}/tenders/{tender_id}/lots/lot-1/matches",
            headers=headers,
        )
        problem(response, (400, 404))
