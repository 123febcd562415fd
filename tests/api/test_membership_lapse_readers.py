"""A membership whose paid-up period and grace have run out is lapsed for every reader at once,
not only once the membership clock's next tick (hourly by default) records the lapse: a bid on a
members-only tender at its drafting and at its opening, listings, saved searches, requests for
quote (the requester, an invitee, a quoter), the quality mark (an application, an award), the
organisation's own view, its history as at a moment and the members' export (helper lapse).
The grace period decides when "ran out" is: paid-up-until plus one month, lapsed strictly after
it (`membership.standing`). On both stores; the membership clock is never ticked in these
tests, and nothing is recorded by reading."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

from membership.standing import grace_ends
from tests.api.helpers import events_of, services_of, token
from tests.api.test_award_probe import ok
from tests.api.test_bid_scenario import bid_of, drafted_bid, submitted
from tests.api.test_buyers import register_business
from tests.api.test_directory_search import join, unique_word
from tests.api.test_listings import settle
from tests.api.test_mark_expiry_readers import opened_bid
from tests.api.test_matching_search_probe import (
    LOT_CODE,
    REGION,
    Headers,
    council,
    drafted,
    matches,
    published,
    referred,
    search,
    tender_terms,
)
from tests.api.test_membership_standing import tick as membership_tick
from tests.api.test_opening_clock_reads import opening_parts
from tests.api.test_opening_clock_reads import tick as open_due
from tests.api.test_quote_scenario import REQUESTS, posted, quote_path, refused, request_body
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.store.base import Store

Client = AppClient
HERE = {"regions": [REGION], "cpv_codes": [LOT_CODE]}
MINUTE = timedelta(minutes=1)


async def membership_of(client: Client, org: str, headers: Headers) -> dict[str, Any]:
    found: dict[str, Any] = ok(await client.get(f"/api/v1/organisations/{org}", headers=headers))
    return found


async def lapses_at(client: Client, org: str, headers: Headers) -> datetime:
    """When the member's grace runs out: it is lapsed from any moment after this one."""
    paid_up_until = (await membership_of(client, org, headers))["membership"]["paid_up_until"]
    return grace_ends(datetime.fromisoformat(paid_up_until))


def move_to(clock: ManualClock, moment: datetime) -> None:
    clock.advance(moment - clock.now())


def members_only(now: datetime) -> dict[str, Any]:
    body = tender_terms(now)
    body["eligibility"] |= {"members_only": True}
    return body


async def test_a_member_whose_grace_ran_out_does_not_bid_on_a_members_only_tender(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Found: between the end of a member's grace and the membership clock's next tick it was
    still in good standing for the bid route, so it could draft a bid on a members-only tender.
    It is now refused as a lapsed member is, by the time the command runs at."""
    member, headers, _ = await join(client, staff_headers, **HERE)
    ends = await lapses_at(client, member, headers)
    move_to(clock, ends - timedelta(hours=2))
    buyer, buyer_headers = await council(client, staff_headers, "Salcombe Council")
    tender = await published(client, buyer, buyer_headers, members_only(clock.now()))
    move_to(clock, ends + MINUTE)  # the tender period began an hour ago
    events = len(events_of(client, member))

    drafted = await client.post(
        "/api/v1/bids", json={"tender_id": tender, "lot_id": "lot-1"}, headers=headers
    )

    assert drafted.status_code == 409, drafted.text
    assert drafted.json()["detail"] == (
        f"not eligible to bid: organisation {member} is not a member in good standing"
    )
    assert len(events_of(client, member)) == events  # no lapse recorded by reading


async def test_a_bid_is_opened_with_the_standing_as_it_stood_at_the_deadline(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Found: the opening judged a bidder's standing by its recorded status, so a member whose
    grace ran out before the deadline still had its bid opened valid if the membership clock
    had not ticked since. A bid submitted during the grace, on a tender whose deadline falls
    after the grace's end, is opened invalid by the opening alone (no membership clock run).
    (The review probe, tests/api/test_review_lapse_opening.py, shows the other side: a grace
    that runs out after the deadline leaves the bid valid however late the opening runs.)"""
    member, headers, _ = await join(client, staff_headers, **HERE)
    ends = await lapses_at(client, member, headers)
    move_to(clock, ends - timedelta(days=20))  # in its grace: the deadline is 10 days past it
    buyer, buyer_headers = await council(client, staff_headers, "Ivybridge Council")
    tender = await published(client, buyer, buyer_headers, members_only(clock.now()))
    view = await opened_bid(client, clock, headers, tender)
    assert view["status"] == "invalid", view
    assert "not a member in good standing" in view["invalid_reason"], view


async def test_a_mark_held_at_the_deadline_counts_though_the_lapse_since_suspended_it(
    client: Client, staff_headers: Headers, store: Store, clock: ManualClock
) -> None:
    """Found: the opening judged a bid's mark "as it stood at the deadline" from the mark as
    recorded now, so a grace that ran out after the deadline, recorded by the membership clock
    and followed by the marks' follower (the mark suspended) before the opening, made the bid
    invalid, though its bidder was in good standing and held the mark when bids were due. Both
    are now read from the facts in effect at the deadline (as the review probe of the mark's
    expiry, tests/api/test_review_mark_at_deadline.py, found for a recorded expiry)."""
    holder, headers, url = await referred(client, staff_headers, store, clock, **HERE)
    clock.advance(timedelta(days=60))  # so the mark's twelve months outlast the grace
    ok(await client.post(f"{url}/decision", json={"award": True}, headers=staff_headers))
    ends = await lapses_at(client, holder, headers)
    move_to(clock, ends - timedelta(days=30, hours=1))  # the deadline an hour before the end
    buyer, buyer_headers = await council(client, staff_headers, "Modbury Council")
    body = tender_terms(clock.now(), mark_required=True)
    tender = await published(client, buyer, buyer_headers, body)
    clock.advance(timedelta(hours=2))
    bid = await drafted_bid(client, headers, tender, "lot-1", 1_500_000)
    await submitted(client, headers, bid)
    move_to(clock, ends + timedelta(hours=1))  # past the deadline, its margin and the grace
    await membership_tick(client)  # records the lapse
    services = services_of(client)
    await services.run(services.applications["marks"].catch_up)  # suspends the mark
    mark = ok(await client.get(f"/api/v1/organisations/{holder}/mark", headers=headers))
    assert "membership" in mark["suspensions"], mark
    parts, _ = opening_parts(client, clock)
    await open_due(client, parts)
    view = await bid_of(client, headers, bid)
    assert view["status"] == "opened", view


async def test_a_member_whose_grace_ran_out_neither_lists_saves_searches_nor_applies(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Found: publishing or republishing a listing, saving or changing a search and applying
    for the quality mark asked the recorded status, in good standing until the clock's tick.
    Each is refused a minute after the grace's end as it is once the lapse is recorded."""
    member, headers, _ = await join(client, staff_headers, **HERE)
    ends = await lapses_at(client, member, headers)
    move_to(clock, ends - MINUTE)
    listings = f"/api/v1/organisations/{member}/listings"
    listing = ok(await client.post(listings, json=LISTING, headers=headers), 201)["id"]
    ok(await client.post(f"/api/v1/listings/{listing}/withdrawal", headers=headers))
    searches = f"/api/v1/organisations/{member}/saved-searches"
    search = ok(await client.post(searches, json=SEARCH, headers=headers), 201)["id"]
    move_to(clock, ends + MINUTE)
    events = len(events_of(client, member))

    refusals = [
        await client.post(listings, json=LISTING, headers=headers),
        await client.post(f"/api/v1/listings/{listing}/republication", headers=headers),
        await client.post(searches, json=SEARCH, headers=headers),
        await client.put(f"{searches}/{search}", json=SEARCH, headers=headers),
        await client.post(f"/api/v1/organisations/{member}/mark-applications", headers=headers),
    ]

    assert [r.status_code for r in refusals] == [409] * 5, [r.text for r in refusals]
    assert all("good standing" in r.json()["detail"] for r in refusals)
    assert len(events_of(client, member)) == events


async def test_a_member_whose_grace_ran_out_neither_posts_is_invited_nor_quotes(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Found: a request for quote's requester, its invitees and its quoters were judged by
    their recorded status, in good standing until the clock's tick. A lapsed member (not a
    business nor a verified buyer) posts no request, is invited by none and quotes on none."""
    member, headers, _ = await join(client, staff_headers, **HERE)
    ends = await lapses_at(client, member, headers)
    business = await register_business(client)
    b_headers = await token(client, business["email"])
    move_to(clock, ends - MINUTE)
    open_request = await posted(client, b_headers, request_at(business["id"], clock.now()))
    move_to(clock, ends + MINUTE)

    own = await client.post(REQUESTS, json=request_at(member, clock.now()), headers=headers)
    problem = refused(own, 409)
    assert "member in good standing" in problem["detail"], problem
    invitation = request_at(business["id"], clock.now(), audience="invited", invited=[member])
    refused(await client.post(REQUESTS, json=invitation, headers=b_headers), 422, "invited[0]")
    quote = {"price_minor": 1_000, "currency": "GBP", "note": "Two movers"}
    late = await client.put(quote_path(member, open_request), json=quote, headers=headers)
    assert "good standing" in refused(late, 409)["detail"]


async def test_a_mark_awarded_after_the_grace_ran_out_starts_suspended(
    client: Client, staff_headers: Headers, store: Store, clock: ManualClock
) -> None:
    """Found: the panel's award read the recorded status, so a mark awarded between the end of
    the holder's grace and the clock's tick started valid (until the tick's lapse reached the
    marks' follower). It starts suspended, as an award to a lapsed member does."""
    member, headers, url = await referred(client, staff_headers, store, clock, **HERE)
    move_to(clock, await lapses_at(client, member, headers) + MINUTE)
    ok(await client.post(f"{url}/decision", json={"award": True}, headers=staff_headers))
    mark = ok(await client.get(f"/api/v1/organisations/{member}/mark", headers=headers))
    assert mark["status"] == "suspended", mark


async def test_a_mark_whose_holder_s_grace_ran_out_is_neither_held_nor_answered_valid(
    client: Client, staff_headers: Headers, store: Store, clock: ManualClock
) -> None:
    """Found: a tender requiring the mark (open to non-members) counted a holder whose grace
    ran out as holding it, and the holder's view and the public register answered it valid,
    until the membership clock's tick recorded the lapse and the marks' follower suspended the
    mark. The mark is held only while its holder is in good standing, judged at the command's
    time, and both answer it suspended from then on, as the follower will record it. Awarded
    two months into the membership year, so the mark's twelve months outlast the grace."""
    holder, headers, url = await referred(client, staff_headers, store, clock, **HERE)
    clock.advance(timedelta(days=60))
    ok(await client.post(f"{url}/decision", json={"award": True}, headers=staff_headers))
    ends = await lapses_at(client, holder, headers)
    move_to(clock, ends - timedelta(hours=2))
    buyer, buyer_headers = await council(client, staff_headers, "Dartington Council")
    body = tender_terms(clock.now(), mark_required=True)
    tender = await published(client, buyer, buyer_headers, body)
    move_to(clock, ends + MINUTE)

    drafted = await client.post(
        "/api/v1/bids", json={"tender_id": tender, "lot_id": "lot-1"}, headers=headers
    )

    assert drafted.status_code == 409, drafted.text
    assert drafted.json()["detail"] == (
        f"not eligible to bid: organisation {holder} does not hold the quality mark"
    )
    mark = ok(await client.get(f"/api/v1/organisations/{holder}/mark", headers=headers))
    assert (mark["status"], mark["suspensions"], mark["version"]) == (
        "suspended",
        {"membership": "the holder's membership is lapsed"},
        1,  # nothing recorded by reading
    ), mark
    await settle(client)
    public = ok(await client.get(f"/api/v1/marks/{mark['certificate_number']}"))
    assert public["status"] == "suspended", public


async def test_the_own_view_history_and_export_say_lapsed_once_the_grace_ran_out(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Found: the organisation's own view, its history's standing as at a moment and the
    members' export showed `grace` and good standing until the clock's tick. At the grace's
    last moment it is still in grace; a minute later lapsed, everywhere, nothing recorded."""
    member, headers, _ = await join(client, staff_headers, **HERE)
    ends = await lapses_at(client, member, headers)
    move_to(clock, ends)
    assert await standings(client, staff_headers, member, headers, ends) == [("grace", True)] * 3
    clock.advance(MINUTE)
    events = len(events_of(client, member))
    assert (
        await standings(client, staff_headers, member, headers, ends + MINUTE)
        == [("lapsed", False)] * 3
    )
    assert len(events_of(client, member)) == events


async def test_a_member_whose_grace_ran_out_leaves_the_directory_search_matching_and_listings(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Found: the directory, its search (entries and counts), matching (a lot's ranking and
    its count of members not in good standing, a member's recommendations) and the public
    listings read the `listed` flag the status events recorded, so a member whose grace ran
    out stayed in them until the membership clock's tick. They now compare the member's
    standing dates with the request's time; nothing is written on read (never ticked here)."""
    word = unique_word()
    member, headers, _ = await join(client, staff_headers, name=f"Lapsing {word}", **HERE)
    listing = ok(
        await client.post(
            f"/api/v1/organisations/{member}/listings", json=LISTING, headers=headers
        ),
        201,
    )["id"]
    ends = await lapses_at(client, member, headers)
    move_to(clock, ends - timedelta(days=20))
    buyer, buyer_headers = await council(client, staff_headers, "Newton Abbot Council")
    tender = await drafted(client, buyer, buyer_headers, tender_terms(clock.now()))
    lot = (buyer, buyer_headers, tender)
    move_to(clock, ends)  # the grace's last moment: still in good standing everywhere
    await settle(client)
    assert await everywhere(client, member, headers, word, listing, lot) == {
        "directory": True,
        "search": 1,
        "matched": True,
        "listings": True,
        "listing": 200,
        "shown": True,
    }
    assert (await recommendations(client, member, headers))["standing"] == "in good standing"

    clock.advance(MINUTE)
    events = len(events_of(client, member))
    assert await everywhere(client, member, headers, word, listing, lot) == {
        "directory": False,
        "search": 0,
        "matched": False,
        "listings": False,
        "listing": 404,
        "shown": False,
    }
    lot = ok(await client.get(matches(buyer, tender), headers=buyer_headers))
    assert lot["excluded"]["not_in_good_standing"] >= 1
    assert (await recommendations(client, member, headers)) == {
        "standing": "not in good standing",
        "items": [],
    }
    assert len(events_of(client, member)) == events


async def everywhere(
    client: Client,
    member: str,
    headers: Headers,
    word: str,
    listing: str,
    lot_of: tuple[str, Headers, str],
) -> dict[str, Any]:
    """Where the public and a buyer find the member: the directory (every page of its CPV
    code), the search's total for its word, a lot's ranking, the public listings and its
    listing's page; and whether its own list says its listing is shown."""
    directory = []
    for page in range(1, 1000):
        body = ok(
            await client.get(
                "/api/v1/directory", params={"cpv": LOT_CODE, "page": page, "per_page": 100}
            )
        )
        directory += [m["id"] for m in body["items"]]
        if page * 100 >= body["total"]:
            break
    buyer, buyer_headers, tender = lot_of
    lot = ok(await client.get(matches(buyer, tender), headers=buyer_headers))
    public = ok(await client.get("/api/v1/listings", params={"organisation_id": member}))
    own = ok(await client.get(f"/api/v1/organisations/{member}/listings", headers=headers))
    return {
        "directory": member in directory,
        "search": (await search(client, q=word))["total"],
        "matched": member in [m["organisation_id"] for m in lot["members"]],
        "listings": listing in [item["id"] for item in public["items"]],
        "listing": (await client.get(f"/api/v1/listings/{listing}")).status_code,
        "shown": [item["shown"] for item in own["items"]] == [True],
    }


async def test_a_resignation_at_the_period_end_takes_effect_at_once_for_every_reader(
    client: Client, staff_headers: Headers, store: Store, clock: ManualClock
) -> None:
    """Found as the lapse was: a resignation given for the end of the paid-up period took
    effect only at the membership clock's next tick after it. From its moment the member is
    resigned in its own view, gone from the directory's search, and its mark withdrawn in its
    own view and on the public register, which no longer names it; a minute before, none of
    that (never ticked here)."""
    word = unique_word()
    member, headers, url = await referred(
        client, staff_headers, store, clock, name=f"Leaving {word}", **HERE
    )
    clock.advance(timedelta(days=60))  # so the mark's twelve months outlast the membership's
    ok(await client.post(f"{url}/decision", json={"award": True}, headers=staff_headers))
    resigned = await client.post(
        f"/api/v1/organisations/{member}/membership/resignation",
        json={"effective": "period_end"},
        headers=headers,
    )
    ok(resigned)
    view = (await membership_of(client, member, headers))["membership"]
    resigns_at = datetime.fromisoformat(view["resigns_at"])
    number = ok(await client.get(f"/api/v1/organisations/{member}/mark", headers=headers))[
        "certificate_number"
    ]
    await settle(client)
    seen = []
    for moment in (resigns_at - MINUTE, resigns_at):
        move_to(clock, moment)
        view = (await membership_of(client, member, headers))["membership"]
        public = ok(await client.get(f"/api/v1/marks/{number}"))
        own = ok(await client.get(f"/api/v1/organisations/{member}/mark", headers=headers))
        found = ok(await client.get("/api/v1/directory/search", params={"q": word}))
        seen.append(
            (
                view["status"],
                view["good_standing"],
                own["status"],
                public["status"],
                public["holder_name"] == "A former member of the association",
                found["total"],
            )
        )
    assert seen == [
        ("current", True, "valid", "valid", False, 1),
        ("resigned", False, "withdrawn", "withdrawn", True, 0),
    ]


async def recommendations(client: Client, member: str, headers: Headers) -> dict[str, Any]:
    found = ok(
        await client.get(f"/api/v1/organisations/{member}/recommended-tenders", headers=headers)
    )
    return {"standing": found["standing"], "items": found["items"]}


async def standings(
    client: Client, staff_headers: Headers, member: str, headers: Headers, as_at: datetime
) -> list[tuple[str, bool]]:
    """The member's status and good standing: its own view, its history as at `as_at`, and
    its row of the members' export."""
    view = (await membership_of(client, member, headers))["membership"]
    history = ok(
        await client.get(
            f"/api/v1/organisations/{member}/membership/history",
            params={"as_at": as_at.isoformat().replace("+00:00", "Z")},
            headers=headers,
        )
    )["standing"]
    exported = await client.get("/api/v1/members.csv", headers=staff_headers)
    assert exported.status_code == 200, exported.text
    [row] = [
        r for r in csv.DictReader(io.StringIO(exported.text)) if r["organisation_id"] == member
    ]
    return [
        (view["status"], view["good_standing"]),
        (history["status"], history["good_standing"]),
        (row["status"], row["good_standing"] == "true"),
    ]


LISTING = {
    "title": "Hi-vis jackets made to order",
    "description": "Sewn by our trainees.",
    "cpv_codes": [LOT_CODE],
    "regions": [REGION],
    "price_basis": "fixed",
    "capacity_minor": 500_000,
}
SEARCH = {
    "name": "Workwear",
    "cpv_prefixes": [LOT_CODE[:4]],
    "regions": [REGION.lower()],
    "keywords": ["jackets"],
    "delivery": "immediate",
}


def request_at(organisation: str, now: datetime, **changes: Any) -> dict[str, Any]:
    """A request for quote from `organisation`, its deadline and work ahead of `now`."""

    def iso(moment: datetime) -> str:
        return moment.isoformat().replace("+00:00", "Z")

    return request_body(
        organisation,
        deadline=iso(now + timedelta(days=3)),
        period={"start": iso(now + timedelta(days=5)), "end": iso(now + timedelta(days=6))},
        **changes,
    )
