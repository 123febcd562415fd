"""Outside opportunities (issue 16) attacked over HTTP and through the marketplace's Application,
on both stores: hostile releases (NUL in every text the board shows, giant and odd amounts,
dates without an offset, numbers with huge exponents, odd tags and ids, an ocid under our prefix,
releases the standard's merge cannot merge) are imported or skipped by name and spoil nothing
else, stopping no projection; people's data in the places contact points hide (items,
tenderers, additionalContactPoints lists, repeated in documents) never reaches the log; the
board's filters refuse odd values by name, never a 500; a later release that cancels an
opportunity takes it off the open board and out of recommendations, one with no deadline is
never open; two importers of one ocid at once lose neither release."""

from __future__ import annotations

import asyncio
import copy
import uuid
from decimal import Decimal
from typing import Any

import pytest

from marketplace.outside.opportunity import opportunity_id_for
from sharedkernel.errors import InvalidValue
from sharedkernel.events import Context
from tests.api.helpers import services_of
from tests.api.test_matching import martock, member
from tests.api.test_ocds_probe import forge
from tests.api.test_opportunities import BOARD, board, mine, ok
from tests.api.test_tenders import settle
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
# Not the matching tests' CPV division (03) nor region (TLN06), whose exact lists a member here
# would join when both share a database.
PLANTING = "77310000-6"
PLANTING_CLASS = {"scheme": "CPV", "id": "77310000", "description": "Planting"}
# A code no tender of any test uses (their default lots are 77310000): in a PostgreSQL worker's
# shared database, other tests' open tenders would otherwise fill a member's top 20.
WEED_KILLING = "77312100-1"
WEED_KILLING_CLASS = {"scheme": "CPV", "id": "77312100", "description": "Weed-killing services"}


def marketplace(client: Client) -> Any:
    return services_of(client).applications["marketplace"]


def failures(client: Client) -> list[Any]:
    projector = services_of(client).readside.projector
    return [(s.projection, s.failure) for s in projector.status() if s.failure is not None]


def log_bytes(client: Client) -> bytes:
    recorder = marketplace(client).recorder
    return b"\n".join(n.state for n in recorder.select_notifications(start=1, limit=1_000_000))


async def outcome(client: Client, clock: ManualClock, source: str, raw: Any) -> str:
    """What importing one release did: imported, updated, unchanged, or `skipped: <field>`."""
    services = services_of(client)
    context = Context("system:test", f"probe-{uuid.uuid4()}", clock.now())
    try:
        done = await services.run(marketplace(client).import_outside_release, context, source, raw)
    except InvalidValue as error:
        return f"skipped: {error.field}"
    result: str = done.outcome
    return result


def release(ocid: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ocid": ocid,
        "id": "1",
        "date": "2026-03-01T09:00:00Z",
        "tag": ["tender"],
        "tender": {
            "title": "Community catering",
            "status": "active",
            "tenderPeriod": {"endDate": "2026-04-01T12:00:00Z"},
            "value": {"amount": Decimal("5000"), "currency": "GBP"},
            "classification": {"scheme": "CPV", "id": "55520000"},
        },
    }
    base.update(fields)
    return base


def unnul(text: str) -> str:
    return text.replace("\x00", "").replace("\ufffd", "")


def fresh_ocid() -> str:
    return f"ocds-h6vhtk-probe-{uuid.uuid4()}"


# Hostile text and numbers ------------------------------------------------------------------


async def test_nul_and_odd_text_in_every_field_shown_is_stored_and_projected_on_both_stores(
    client: Client, clock: ManualClock
) -> None:
    source = f"Portal\x00 {uuid.uuid4().hex[:8]}"
    ocid = fresh_ocid()
    hostile = release(
        ocid,
        tender={
            "title": "Meals\x00 on wheels \u202e\ufeff",
            "description": "Hot\x00 meals " + "x" * 20_000,
            "status": "active",
            "tenderPeriod": {"endDate": "2026-04-01T12:00:00"},  # no offset: read as UTC
            "value": {"amount": Decimal("1E-999999"), "currency": "gbp"},
            "classification": {"scheme": "CPV", "id": "55520000"},
            "items": [
                {"id": "1", "deliveryAddresses": [{"region": "Some\x00where " + "y" * 500}]},
                {"id": "2", "deliveryAddress": {"postalCode": "NW1\x00 5JD"}},
            ],
            "documents": [{"documentType": "tenderNotice", "url": "https://portal.example/\x00n"}],
        },
        buyer={"name": "Council\x00 of " + "z" * 1000},
    )

    assert await outcome(client, clock, source, hostile) == "imported"
    await settle(client)

    assert failures(client) == []
    item = ok(await client.get(f"{BOARD}/{opportunity_id_for(ocid)}"))
    # As each store folds text (ADR 19): PostgreSQL's NUL a replacement character, SQLite's kept.
    assert unnul(item["title"]).startswith("Meals on wheels")
    assert len(item["buyer_name"]) <= 300
    assert item["deadline"].startswith("2026-04-01T12:00:00")
    assert item["open"] is True
    assert item["currency"] == "GBP"
    assert Decimal(item["amount"]) == Decimal("1E-999999")
    assert len(item["unresolved_regions"]) == 2
    found = await client.get(BOARD, params={"per_page": 100, "open": "true", "cpv": "55520000"})
    assert ocid in {i["ocid"] for i in ok(found)["items"]}
    [listed] = [i for i in ok(found)["items"] if i["ocid"] == ocid]
    assert unnul(listed["source"]) == unnul(source)


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("1E+999999999"), "GBP", None),  # beyond ten billion: left out
        (Decimal("-1"), "GBP", None),
        (Decimal("10000000000"), "GBP", "10000000000"),  # ten billion: the most believed
        (Decimal("10000000000.01"), "GBP", None),
        (Decimal("0.005"), "GBP", "0.005"),  # as published; half a penny in minor units
        ("12.50", "GBP", "12.50"),  # a string amount, as some feeds send
        (True, "GBP", None),
        ("NaN", "GBP", None),
        ("-Infinity", "GBP", None),
        (Decimal("12"), "XXX", "12"),  # an ISO 4217 code (no currency), still a code
        (Decimal("12"), "ZZZ", None),
        (Decimal("12"), ["GBP"], None),
    ],
)
async def test_odd_amounts_are_shown_as_published_or_left_out_never_a_failure(
    client: Client, clock: ManualClock, amount: Any, currency: Any, shown: str | None
) -> None:
    ocid = fresh_ocid()
    raw = release(ocid)
    raw["tender"]["value"] = {"amount": amount, "currency": currency}

    assert await outcome(client, clock, "Amounts", raw) == "imported"
    await settle(client)

    assert failures(client) == []
    item = ok(await client.get(f"{BOARD}/{opportunity_id_for(ocid)}"))
    assert item["amount"] == shown
    assert (item["currency"] is None) == (shown is None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"date": "0001-01-01T00:00:00Z"}, "date"),
        ({"date": "9999-12-31T23:59:59Z"}, "date"),
        ({"date": 20250101}, "date"),
        ({"date": ["2025-01-01T00:00:00Z"]}, "date"),
        ({"tag": []}, "tag"),
        ({"tag": [None]}, "tag"),
        ({"tag": {"0": "tender"}}, "tag"),
        ({"tag": [["tender"]]}, "tag"),
        ({"ocid": 12345}, "ocid"),
        ({"ocid": "ocds-h6vhtk-\x00"}, "ocid"),
        ({"ocid": "ocds-h6vhtk-\u2028x"}, "ocid"),
        ({"ocid": "o" * 201}, "ocid"),
    ],
)
async def test_a_release_that_does_not_identify_itself_is_skipped_naming_the_field(
    client: Client, clock: ManualClock, changes: dict[str, Any], field: str
) -> None:
    before = len(log_bytes(client))
    raw = {**release(fresh_ocid()), **changes}
    assert await outcome(client, clock, "Odd", raw) == f"skipped: {field}"
    assert len(log_bytes(client)) == before


async def test_our_own_prefix_is_refused_even_with_spaces_around(
    client: Client, clock: ManualClock
) -> None:
    prefix = services_of(client).settings.ocid_prefix
    for ocid in (
        f"{prefix}-{uuid.uuid4()}",
        f"  {prefix}-{uuid.uuid4()}\t",
        f"{prefix.upper()}-{uuid.uuid4()}",  # ocids are compared without case
    ):
        assert await outcome(client, clock, "Ours", release(ocid)) == "skipped: ocid"


async def test_ids_of_odd_types_and_releases_that_cannot_be_merged(
    client: Client, clock: ManualClock
) -> None:
    ocid = fresh_ocid()
    first = release(ocid, id=7)  # a number: the same release as "7"
    first["tender"]["items"] = [{"id": "1", "description": "Lunches"}]
    assert await outcome(client, clock, "Merge", first) == "imported"
    assert await outcome(client, clock, "Merge", {**first, "id": "7"}) == "unchanged"
    # No id (a boolean is none): keyed by its content; the same content again is seen.
    later = {**release(ocid, date="2026-03-02T09:00:00Z"), "id": True}
    assert await outcome(client, clock, "Merge", later) == "updated"
    assert await outcome(client, clock, "Merge", copy.deepcopy(later)) == "unchanged"
    # An object where the first has a list, a list where it has a string, an unhashable id.
    clash = release(ocid, id="2", date="2026-03-03T09:00:00Z")
    clash["tender"]["items"] = {"id": "1"}
    assert await outcome(client, clock, "Merge", clash) == "skipped: release"
    listed = release(ocid, id="3", date="2026-03-03T09:00:00Z")
    listed["tender"]["title"] = ["a", "list"]
    assert await outcome(client, clock, "Merge", listed) in ("updated", "skipped: release")
    unhashable = release(ocid, id="4", date="2026-03-04T09:00:00Z")
    unhashable["tender"]["items"] = [{"id": {"nested": 1}}]
    # Refused by name like any release that cannot be merged (it was a TypeError out of the
    # Application, which only the importer caught).
    assert await outcome(client, clock, "Merge", unhashable) == "skipped: release"
    await settle(client)
    assert failures(client) == []
    item = ok(await client.get(f"{BOARD}/{opportunity_id_for(ocid)}"))
    assert item["releases"] in (2, 3)


# People's data -----------------------------------------------------------------------------


async def test_contact_points_wherever_they_hide_never_reach_the_log(
    client: Client, clock: ManualClock
) -> None:
    run = uuid.uuid4().hex[:8]
    names = [f"Olwen Pryce{run}", f"Idris Vaughan{run}", f"Megan Rhys{run}", f"Tomos Hughes{run}"]
    emails = [f"olwen.{run}@council.example", f"idris.{run}@bidder.example"]
    phones = [f"01632 96{run[:4]}", f"+44 7700 9{run[:5]}"]
    raw = release(fresh_ocid())
    raw["tender"]["items"] = [{"id": "1", "contactPoint": {"name": names[0], "email": emails[0]}}]
    raw["tender"]["tenderers"] = [
        {"name": "Bidder Ltd", "contactPoint": {"name": names[1], "telephone": phones[0]}}
    ]
    raw["parties"] = [
        {
            "name": "Council",
            "roles": ["buyer"],
            "additionalContactPoints": [
                {"name": names[2], "faxNumber": phones[1], "email": emails[1]},
                {"name": names[3], "url": "https://council.example/contact"},
            ],
        }
    ]
    raw["tender"]["documents"] = [
        {
            "id": "d",
            "description": f"Ask {names[0]} ({phones[0]}) or {names[3]}, or {emails[1]}.",
        }
    ]
    raw["description"] = f"Questions: {emails[0].upper()} or mail to any.one@elsewhere.example"

    assert await outcome(client, clock, "People", raw) == "imported"
    await settle(client)

    stored = log_bytes(client)
    assert b"https://council.example/contact" in stored  # a contact point's url stays
    assert b"Bidder Ltd" in stored
    for value in [*names, *emails, *phones, emails[0].upper(), "any.one@elsewhere.example"]:
        assert value.encode() not in stored, value


# The board's filters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"vcse": "true"}, "vcse"),
        ({"vcse": "YES"}, "vcse"),
        ({"vcse": ""}, "vcse"),
        ({"open": "maybe"}, "open"),
        ({"open": ""}, "open"),
        ({"source": "a\x00b"}, "source"),
        ({"source": "x" * 201}, "source"),
        ({"cpv": "5552000'"}, "cpv"),
        ({"cpv": "x" * 3000}, "cpv"),
        ({"region": "TL\x00"}, "region"),
        ({"region": "TLC" * 10}, "region"),
        ({"page": "100001"}, "page"),
        ({"page": str(2**70)}, "page"),
        ({"per_page": "101"}, "per_page"),
        ({"per_page": "-1"}, "per_page"),
        ({"position": "marketplace:" + "9" * 40}, "position"),
    ],
)
async def test_odd_filters_are_named_problems_never_a_500(
    client: Client, params: dict[str, str], field: str
) -> None:
    response = await client.get(BOARD, params=params)
    assert response.status_code in (400, 422), (params, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text


@pytest.mark.parametrize(
    "params",
    [
        {"open": "1"},
        {"open": "FALSE"},
        {"source": "' OR 1=1 --"},
        {"source": "%"},
        {"source": "Ünïcödé ✓"},
        {"region": "tll"},
        {"cpv": "55520000-7"},
        {"page": "100000"},
    ],
)
async def test_odd_but_valid_filters_answer(client: Client, params: dict[str, str]) -> None:
    response = await client.get(BOARD, params=params)
    assert response.status_code in (200, 400, 422), (params, response.text)
    if response.status_code != 200:
        assert next(iter(params)) in response.text
    if params.get("source") in ("' OR 1=1 --", "%"):
        assert response.json()["total"] == 0  # compared as text, never as a pattern


async def test_a_lone_surrogate_or_bad_utf8_in_a_filter_is_no_500(client: Client) -> None:
    for query in ("source=%ED%A0%80", "source=%FF", "region=%ED%A0%80", "cpv=%C0%AE"):
        response = await client.get(f"{BOARD}?{query}")
        assert response.status_code in (200, 400, 422), (query, response.text)


async def test_unknown_or_odd_opportunity_ids_are_not_found(client: Client) -> None:
    for path in (str(uuid.uuid4()), "not-a-uuid", "%00", str(uuid.UUID(int=0))):
        response = await client.get(f"{BOARD}/{path}")
        assert response.status_code in (400, 404), (path, response.text)


# Open, closed, cancelled -------------------------------------------------------------------


async def test_a_later_release_that_cancels_takes_it_off_the_open_board_and_recommendations(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    grower, headers = await member(
        client, staff_headers, "Plantain Co-op", [WEED_KILLING], ["TLC3"]
    )
    run = uuid.uuid4().hex[:8]
    source = f"Cancelling {run}"
    notice = martock(f"{run}-cancelled", items=None, classification=WEED_KILLING_CLASS)
    assert await outcome(client, clock, source, notice) == "imported"
    await settle(client)
    url = f"/api/v1/organisations/{grower}/recommended-tenders"
    ocid = notice["ocid"]
    opened = ok(await client.get(url, headers=headers))
    assert ocid in {i["ocid"] for i in opened["items"]}
    assert [i["ocid"] for i in mine(await board(client, source=source, open="true"), source)] == [
        ocid
    ]

    cancelled = copy.deepcopy(notice)
    cancelled["id"] = f"{notice['id']}-cancel"
    cancelled["date"] = "2025-03-12T09:00:00Z"
    cancelled["tag"] = ["tenderCancellation"]
    cancelled["tender"] = {"id": notice["tender"]["id"], "status": "cancelled"}
    assert await outcome(client, clock, source, cancelled) == "updated"
    await settle(client)

    after = ok(await client.get(url, headers=headers))
    assert ocid not in {i["ocid"] for i in after["items"]}
    assert mine(await board(client, source=source, open="true"), source) == []
    [shown] = mine(await board(client, source=source), source)
    assert (shown["status"], shown["open"], shown["releases"]) == ("cancelled", False, 2)
    # The title the first release gave stays (the standard's merge).
    assert shown["title"].startswith("Martock Parish Council")


async def test_one_without_a_deadline_is_never_open_nor_recommended(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    grower, headers = await member(client, staff_headers, "Banana Growers", [PLANTING], ["TLC3"])
    run = uuid.uuid4().hex[:8]
    source = f"No deadline {run}"
    notice = martock(
        f"{run}-nodeadline", items=None, tenderPeriod=None, classification=PLANTING_CLASS
    )
    assert await outcome(client, clock, source, notice) == "imported"
    await settle(client)

    [shown] = mine(await board(client, source=source), source)
    assert (shown["deadline"], shown["open"]) == (None, False)
    assert mine(await board(client, source=source, open="true"), source) == []
    url = f"/api/v1/organisations/{grower}/recommended-tenders"
    assert notice["ocid"] not in {
        i["ocid"] for i in ok(await client.get(url, headers=headers))["items"]
    }


# Two writers -------------------------------------------------------------------------------


async def test_two_importers_of_one_ocid_at_once_lose_neither_release(
    client: Client, clock: ManualClock
) -> None:
    ocid = fresh_ocid()
    assert await outcome(client, clock, "Race", release(ocid)) == "imported"
    later = [
        release(ocid, id=str(n), date=f"2026-03-0{n}T09:00:00Z", tender={"description": f"v{n}"})
        for n in range(2, 8)
    ]

    outcomes = await asyncio.gather(*(outcome(client, clock, "Race", r) for r in later))

    assert sorted(outcomes) == ["updated"] * 6
    opportunity = await services_of(client).run(
        marketplace(client).outside_opportunity, opportunity_id_for(ocid)
    )
    assert len(opportunity.releases) == 7
    assert opportunity.summary.description == "v7"  # the latest by date, whatever the order
    await settle(client)
    assert ok(await client.get(f"{BOARD}/{opportunity_id_for(ocid)}"))["releases"] == 7


# Odd events in the log ---------------------------------------------------------------------


def _summary(**changes: Any) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "title": "Forged",
        "description": "",
        "buyer_name": None,
        "status": "active",
        "deadline": "2026-04-01T12:00:00+00:00",
        "amount": "100",
        "currency": "GBP",
        "cpv_codes": ["55520000-1"],
        "regions": ["TLC"],
        "unresolved_regions": [],
        "vcse": None,
        "url": None,
    }
    summary.update(changes)
    return summary


async def test_odd_opportunity_events_stop_no_projection_and_spoil_nothing_else(
    client: Client, clock: ManualClock
) -> None:
    topic = "marketplace.outside.opportunity:Opportunity."
    at = clock.now()
    merged = uuid.uuid4()
    odd: list[tuple[uuid.UUID, int, str, dict[str, Any]]] = [
        (uuid.uuid4(), 1, "Imported", {"ocid": "x", "source": "s"}),  # no summary
        (uuid.uuid4(), 1, "Imported", {"summary": "text"}),
        (uuid.uuid4(), 1, "Imported", {"summary": _summary(deadline="soon")}),
        (uuid.uuid4(), 1, "Imported", {"summary": _summary(deadline="2026-04-01T12:00:00")}),
        (uuid.uuid4(), 1, "Imported", {"summary": _summary(amount="1E-999999999")}),
        (uuid.uuid4(), 1, "Imported", {"summary": _summary(amount="NaN")}),
        (uuid.uuid4(), 1, "Imported", {"summary": _summary(amount="-5", currency="GBPX")}),
        (uuid.uuid4(), 1, "Imported", {"summary": _summary(amount="9" * 30)}),
        (uuid.uuid4(), 1, "Imported", {"summary": _summary(title="t" * 5000, status="x" * 50)}),
        (
            uuid.uuid4(),
            1,
            "Imported",
            {"summary": _summary(cpv_codes=["\x00" * 40, "5" * 500], regions=["TL\x00" * 9])},
        ),
        (uuid.uuid4(), 1, "Imported", {"summary": _summary(), "ocid": ["a"], "source": 5}),
        (uuid.uuid4(), 1, "Imported", {"summary": _summary(), "timestamp": "yesterday"}),
        (uuid.uuid4(), 1, "Imported", {"summary": _summary(vcse="true")}),
        (uuid.uuid4(), 2, "ReleaseMerged", {"summary": _summary()}),  # never imported
        (merged, 1, "Imported", {"summary": _summary(), "ocid": f"forged-{merged}"}),
        (merged, 2, "ReleaseMerged", {"summary": None}),
        (merged, 3, "ReleaseMerged", {"summary": _summary(status="cancelled")}),
    ]
    for originator, version, name, payload in odd:
        await forge(client, originator, version, topic + name, **({"timestamp": at} | payload))
    await settle(client)

    assert failures(client) == []
    shown = ok(await client.get(f"{BOARD}/{merged}"))
    # The merge whose summary was not one is left out (not counted); the next one applies.
    assert (shown["status"], shown["releases"], shown["open"]) == ("cancelled", 2, False)
    assert ok(await client.get(BOARD, params={"per_page": 100}))["total"] >= 1
    # A real import after them is projected as ever.
    ocid = fresh_ocid()
    assert await outcome(client, clock, "After", release(ocid)) == "imported"
    await settle(client)
    assert failures(client) == []
    assert ok(await client.get(f"{BOARD}/{opportunity_id_for(ocid)}"))["ocid"] == ocid


# Found by the attack on issue 16 (each failed before its fix) ------------------------------


async def test_not_open_lists_those_with_no_deadline_or_no_status(
    client: Client, clock: ManualClock
) -> None:
    source = f"Closed {uuid.uuid4().hex[:8]}"
    no_deadline = release(fresh_ocid())
    del no_deadline["tender"]["tenderPeriod"]
    no_status = release(fresh_ocid())
    del no_status["tender"]["status"]
    for raw in (no_deadline, no_status):
        assert await outcome(client, clock, source, raw) == "imported"
    await settle(client)
    everything = await board(client, source=source)
    assert everything["total"] == 2
    assert not any(item["open"] for item in everything["items"])
    assert (await board(client, source=source, open="false"))["total"] == 2


@pytest.mark.parametrize("later_date", ["2026-03-01T11:00:00Z", " 2026-03-05T09:00:00Z"])
async def test_releases_merge_in_time_order_whatever_their_offset_or_spacing(
    client: Client, clock: ManualClock, later_date: str
) -> None:
    ocid = fresh_ocid()
    first = release(ocid, id="1", date="2026-03-01T12:00:00+02:00")  # 10:00 UTC
    later = release(ocid, id="2", date=later_date, tender={"status": "cancelled"})
    assert await outcome(client, clock, "Order", first) == "imported"
    assert await outcome(client, clock, "Order", later) == "updated"
    await settle(client)
    item = ok(await client.get(f"{BOARD}/{opportunity_id_for(ocid)}"))
    assert item["status"] == "cancelled"


async def test_people_s_data_in_other_case_keys_the_source_or_other_scripts_is_dropped(
    client: Client, clock: ManualClock
) -> None:
    run = uuid.uuid4().hex[:8]
    name = f"Olwen Pryce{run}"
    other_script = f"ólwen{run}@cyngor.example"
    japanese = f"jane{run}@例え.jp"
    as_key = f"keyed{run}@council.example"
    publisher = f"publisher{run}@portal.example"
    raw = release(fresh_ocid())
    raw["parties"] = [{"name": "Council", "contactPoint": {"name": name, "telephone": 1935822891}}]
    raw["tender"]["description"] = (
        f"Ask {name.upper()} or OLWEN   PRYCE{run} on 1935822891, {other_script} or {japanese}"
    )
    raw["tender"]["notes"] = {as_key: "reply here"}
    assert await outcome(client, clock, f"Portal ({publisher})", raw) == "imported"
    stored = log_bytes(client)
    for value in (name.upper(), f"PRYCE{run}", "1935822891", other_script, japanese, as_key):
        assert value.encode() not in stored, value
        assert value.encode("unicode_escape") not in stored, value
    assert publisher.encode() not in stored


async def test_a_summary_amount_past_decimal_s_range_stops_no_projection(
    client: Client, clock: ManualClock
) -> None:
    await forge(
        client,
        uuid.uuid4(),
        1,
        "marketplace.outside.opportunity:Opportunity.Imported",
        timestamp=clock.now(),
        ocid="forged",
        source="s",
        summary=_summary(amount="1E+999999999"),
    )
    await settle(client)
    assert failures(client) == []
