"""The impact routes' kept answers over HTTP, on both stores (issue 19): every route answers the
same bytes warm (kept) as cold (read from the ledger); a kept answer is read again when the
impact projection's position moves (a contract signed) and when a proxy value changes (a new
version, the projection not moved). Other tests share PostgreSQL's database, so a comparison is
made only between answers of one ledger state (that state read before and after). Another
marketplace event (a tender's terms) leaves the answers kept; a reports' names are read again
when an organisation's name changes."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from tests.api.helpers import register, services_of
from tests.api.test_alerts import stop_background_projector
from tests.api.test_impact import add_version
from tests.api.test_impact_probe import CONFIRMED, REPORTED, SIGNED, delivery, ok, signing
from tests.api.test_ocds_probe import forge
from tests.api.test_outside_probe import failures
from tests.api.test_profiles import profile
from tests.api.test_tenders import settle
from tests.conftest import AppClient
from tradehall.api.marketplace.impact import _ledger_state
from tradehall.api.marketplace.impact_cache import LedgerState, answers_of
from tradehall.clock import ManualClock
from tradehall.store.base import Store
from tradehall.store.sqlite import SQLiteStore

Headers = dict[str, str]
REPORT = "/api/v1/impact/report"
DRAFTED = "marketplace.tenders:Tender.Drafted"


async def ledger_state(client: AppClient, names: bool = True) -> LedgerState:
    """The state an answer read now would be kept under (names' part too, by default)."""
    services = services_of(client)
    marketplace = services.applications["marketplace"]
    return await _ledger_state(services.engine, services, marketplace, names)


def routes(member: uuid.UUID, staff: Headers) -> list[tuple[str, dict[str, Any], Headers]]:
    every: list[tuple[str, dict[str, Any], Headers]] = [
        ("/api/v1/impact", {}, {}),
        (f"/api/v1/organisations/{member}/impact", {}, staff),
    ]
    every.append((f"/api/v1/organisations/{member}/impact", {"since": "2020-01-01"}, staff))
    for figure in ("social_value", "contract_value", "jobs", "savings"):
        every.append(("/api/v1/impact/chart.svg", {"figure": figure, "year": 2026}, {}))
    for by in ("member", "buyer", "year", "quarter"):
        for path in ("/api/v1/impact/report", "/api/v1/impact/report.csv"):
            every.append((path, {"by": by}, staff))
    every.append(("/api/v1/impact/report", {"by": "year", "until": "2027-01-01"}, staff))
    return every


async def cold_and_warm(
    client: AppClient, path: str, params: dict[str, Any], headers: Headers
) -> tuple[httpx.Response, httpx.Response]:
    """The answer read from the ledger, then kept, at one ledger state."""
    kept = answers_of(client.app.state)
    for _ in range(20):  # another test's writes may move the state in between: again
        before = await ledger_state(client)
        kept.clear()
        cold = await client.get(path, params=params, headers=headers)
        assert len(kept) == 1, (path, params)
        warm = await client.get(path, params=params, headers=headers)
        if await ledger_state(client) == before:
            return cold, warm
    raise AssertionError("the ledger kept changing")


def same_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k != "x-request-id"}


async def a_contract(
    client: AppClient, member: uuid.UUID, at: datetime, partner: uuid.UUID | None = None
) -> None:
    """A contract signed at `at` (a consortium with `partner`), 3 jobs committed, one
    confirmed delivered a month on."""
    contract, report = uuid.uuid4(), uuid.uuid4()
    parties = [(member, 60), (partner, 40)] if partner else [(member, 100)]
    await forge(client, contract, 1, SIGNED, **signing(parties, at))
    end = at + timedelta(days=30)
    await forge(client, contract, 2, REPORTED, **delivery(report, member, at, end))
    await forge(client, contract, 3, CONFIRMED, report_id=str(report), timestamp=end)


async def test_every_route_answers_the_same_bytes_warm_as_cold(
    client: AppClient, staff_headers: Headers
) -> None:
    member = uuid.uuid4()
    await a_contract(client, member, datetime(2026, 2, 3, 10, tzinfo=UTC), uuid.uuid4())
    await a_contract(client, member, datetime(2026, 8, 9, 10, tzinfo=UTC))
    await settle(client)
    assert failures(client) == []
    for path, params, headers in routes(member, staff_headers):
        cold, warm = await cold_and_warm(client, path, params, headers)
        assert cold.status_code == 200, (path, params, cold.text)
        assert warm.content == cold.content, (path, params)
        assert same_headers(warm) == same_headers(cold), (path, params)
    # Every route's answer kept side by side (one with names drops none without).
    kept = answers_of(client.app.state)
    for _ in range(20):
        before = await ledger_state(client)
        kept.clear()
        for path, params, headers in routes(member, staff_headers):
            await client.get(path, params=params, headers=headers)
        if await ledger_state(client) == before:
            assert len(kept) == len(routes(member, staff_headers))
            break
    mine = ok(await client.get(f"/api/v1/organisations/{member}/impact", headers=staff_headers))
    assert mine["totals"]["contracts"] == 2
    assert [y["key"] for y in mine["years"]] == ["2026"]


async def test_a_kept_answer_is_read_again_when_the_ledger_changes_only(
    client: AppClient, staff_headers: Headers, store: Store
) -> None:
    member = uuid.uuid4()
    url = f"/api/v1/organisations/{member}/impact"
    await a_contract(client, member, datetime(2025, 5, 6, 10, tzinfo=UTC))
    await settle(client)
    first = ok(await client.get(url, headers=staff_headers))
    public = ok(await client.get("/api/v1/impact"))["totals"]["contracts"]
    assert ok(await client.get(url, headers=staff_headers)) == first  # kept
    before = await ledger_state(client, names=False)
    # Another tender's terms: the impact projection moves, its ledger does not.
    lots = [{"id": "lot-1", "value_minor": 5_000, "currency": "GBP"}]
    terms = {"terms": {"lots": lots}, "timestamp": datetime(2025, 5, 7, tzinfo=UTC)}
    await forge(client, uuid.uuid4(), 1, DRAFTED, **terms)
    await settle(client)
    if isinstance(store, SQLiteStore):  # on PostgreSQL other tests write meanwhile
        assert await ledger_state(client, names=False) == before  # the answers stay kept
    await a_contract(client, member, datetime(2025, 7, 8, 10, tzinfo=UTC))
    await settle(client)
    assert (await ledger_state(client, names=False)).changed > before.changed
    second = ok(await client.get(url, headers=staff_headers))
    assert (first["totals"]["contracts"], second["totals"]["contracts"]) == (1, 2)
    assert ok(await client.get("/api/v1/impact"))["totals"]["contracts"] >= public + 1


async def test_a_report_s_names_are_read_again_when_a_name_changes(
    client: AppClient, staff_headers: Headers
) -> None:
    first_name = f"Loaves {uuid.uuid4().hex[:8]} CIC"
    org = await register(client, name=first_name)
    await a_contract(client, uuid.UUID(org["id"]), datetime(2025, 9, 1, 10, tzinfo=UTC))
    await settle(client)

    async def named() -> tuple[str, str]:
        report = ok(await client.get(REPORT, params={"by": "member"}, headers=staff_headers))
        [group] = [g for g in report["groups"] if g["key"] == org["id"]]
        csv = await client.get(f"{REPORT}.csv", params={"by": "member"}, headers=staff_headers)
        [row] = [r for r in csv.text.splitlines() if r.startswith(org["id"])][:1]
        return group["name"], row.split(",")[1]

    assert await named() == (first_name, first_name)
    renamed = "Renamed Loaves CIC"
    changed = await client.put(
        f"/api/v1/organisations/{org['id']}/profile",
        json=profile(name=renamed),
        headers=staff_headers,
    )
    assert changed.status_code == 200, changed.text
    await settle(client)
    assert await named() == (renamed, renamed)


async def test_a_kept_answer_is_read_again_when_a_proxy_value_changes(
    client: AppClient, staff_headers: Headers, clock: ManualClock
) -> None:
    """The version alone moves (this app's projector stopped; on SQLite nothing else applies
    the version's event): the answers valued by the older table are not given again."""
    member = uuid.uuid4()
    url = f"/api/v1/organisations/{member}/impact"
    # A day of its own far ahead, so no other test's version is in effect on it.
    day = date(2090, 1, 1) + timedelta(days=random.randrange(3000))
    await a_contract(client, member, datetime.combine(day, datetime.min.time(), UTC))
    await settle(client)
    await stop_background_projector(client)
    first = ok(await client.get(url, headers=staff_headers))
    summary = (await client.get("/api/v1/impact")).content
    jobs = next(m for m in first["totals"]["measures"] if m["measure"] == "local_jobs")
    before = await ledger_state(client)
    pence = 987_654_321
    assert await add_version(client, staff_headers, day, pence)
    after = await ledger_state(client)
    assert after.proxy_version > before.proxy_version
    second = ok(await client.get(url, headers=staff_headers))
    valued = next(m for m in second["totals"]["measures"] if m["measure"] == "local_jobs")
    assert valued["committed_value_minor"] == 3 * pence != jobs["committed_value_minor"]
    assert valued["delivered_value_minor"] == pence  # the one job delivered, a month on
    assert (await client.get("/api/v1/impact")).content != summary
