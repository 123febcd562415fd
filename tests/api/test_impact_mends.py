"""The impact ledger's defects found by the probe (issue 17), each mended: huge confirmed
quantities no longer make every impact route a 500; an odd currency is left out, never counted
as pounds; a report made again leaves a confirmed delivery confirmed, whatever the batches; a
confirmation in the batch of a second signing counts; the chart carries no script."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.api.test_contracts import report, signed_contract
from tests.api.test_impact_probe import (
    CONFIRMED,
    REPORTED,
    SIGNED,
    contract_version,
    delivery,
    every_route_answers,
    measure_of,
    mine,
    money_of,
    ok,
    signing,
)
from tests.api.test_ocds_probe import forge
from tests.api.test_outside_probe import failures
from tests.api.test_tenders import settle
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Headers = dict[str, str]


async def test_2_an_odd_currency_is_not_counted_as_pounds(
    client: AppClient, staff_headers: Headers, clock: ManualClock
) -> None:
    """Contract.Signed's currency was cut to 3 characters, so "GBPX" counted as GBP."""
    await settle(client)
    before = ok(await client.get("/api/v1/impact"))["totals"]
    a = uuid.uuid4()
    for currency in ("GBPX", "GBP\u202e", "GBP\x00"):
        await forge(
            client, uuid.uuid4(), 1, SIGNED, **signing([(a, 100)], clock.now(), 5_000, currency)
        )
    await settle(client)
    assert failures(client) == []
    after = ok(await client.get("/api/v1/impact"))["totals"]
    assert money_of(after) == money_of(before)
    assert money_of(await mine(client, a, staff_headers)) == 0


async def test_3_a_report_made_again_leaves_a_confirmed_delivery_confirmed(
    client: AppClient, staff_headers: Headers, clock: ManualClock
) -> None:
    """A DeliveryReported of a report id already stored (in an earlier batch)
    replaced the stored row, status and all: A's confirmed jobs vanish. In one batch the first
    stands (so a rebuild gives other rows than the projector did)."""
    [signed] = await signed_contract(client, staff_headers, clock)
    start = clock.now()
    clock.advance(timedelta(days=40))
    body = report(start.isoformat(), (start + timedelta(days=30)).isoformat())
    url = f"{signed.url}/delivery-reports"
    ok(await client.post(url, json=body, headers=signed.a_headers), 201)
    ok(await client.post(f"{url}/{body['report_id']}/confirmation", headers=signed.buyer_headers))
    await settle(client)
    assert measure_of(await mine(client, signed.a, staff_headers)) == (2, 2)
    version = await contract_version(client, signed)
    again = delivery(
        uuid.UUID(body["report_id"]), uuid.UUID(signed.a), start, start + timedelta(days=30)
    )
    await forge(client, uuid.UUID(signed.contract), version + 1, REPORTED, **again)
    await settle(client)
    assert failures(client) == []
    assert measure_of(await mine(client, signed.a, staff_headers)) == (2, 2)


async def test_4_a_confirmation_in_the_batch_of_a_second_signing_counts(
    client: AppClient, staff_headers: Headers, clock: ManualClock
) -> None:
    """A stored contract signed again (another writer's) in the same batch as a
    confirmation: the batch loaded no stored report for it (`decided - signed`), so the
    confirmation was left out; the contracts projection counts it."""
    [signed] = await signed_contract(client, staff_headers, clock)
    start = clock.now()
    clock.advance(timedelta(days=40))
    body = report(start.isoformat(), (start + timedelta(days=30)).isoformat())
    ok(
        await client.post(f"{signed.url}/delivery-reports", json=body, headers=signed.a_headers),
        201,
    )
    await settle(client)
    version = await contract_version(client, signed)
    contract = uuid.UUID(signed.contract)
    await forge(client, contract, version + 1, SIGNED, **signing([(uuid.uuid4(), 100)], start))
    await forge(
        client, contract, version + 2, CONFIRMED, report_id=body["report_id"], timestamp=start
    )
    await settle(client)
    assert failures(client) == []
    assert measure_of(await mine(client, signed.a, staff_headers)) == (2, 2)


async def test_6_the_chart_carries_no_script(client: AppClient) -> None:
    """Pygal always writes its config as an inline <script> in <defs>; the
    CSP stops it when served, but a saved copy opened as a file, or pasted into a page, runs
    it. A drawing for an annual report should carry none."""
    from xml.etree import ElementTree

    chart = await client.get("/api/v1/impact/chart.svg", params={"year": "2026"})
    root = ElementTree.fromstring(chart.text)  # noqa: S314
    assert [e for e in root.iter() if e.tag.endswith("script")] == []


# It writes impact rows that are in no log: in the shared database, a test that rebuilds the
# ledger from the log (test_impact_accepted_quotes) saw its public figures move by them.
@pytest.mark.own_database
async def test_3b_a_report_made_again_gives_the_same_rows_in_any_batches(
    store: object, clock: ManualClock
) -> None:
    """A report made again, as a rebuild sees it: the same log in one batch and cut after the
    confirmation give the same rows (the first report stands)."""
    from projections.events import RecordedEvent
    from projections.impact import ImpactProjection
    from tests.api.test_impact_probe import impact_log, impact_rows

    store.migrate()  # type: ignore[attr-defined]
    engine = store.sync_engine()  # type: ignore[attr-defined]
    built = []
    for cut in (None, 11):
        events, names = impact_log(clock.now())
        ids = {v: k for k, v in names.items()}
        last = events[-1]
        again = next(e for e in events if e.name == "Contract.DeliveryReported")
        events.append(
            RecordedEvent(
                "marketplace", last.position + 1, ids["one"], 99, again.topic, again._state
            )
        )
        batches = [events] if cut is None else [events[:cut], events[cut:]]
        for batch in batches:
            with engine.begin() as connection:
                ImpactProjection().apply(connection, batch)
        built.append(impact_rows(engine, names)["impact_reports"])
    engine.dispose()
    assert built[0] == built[1]


async def test_1_huge_confirmed_deliveries_are_no_500(
    client: AppClient, staff_headers: Headers, clock: ManualClock
) -> None:
    """Quantities the projections accept (each up to 2**63 - 1) valued at the default
    proxy (local jobs 2,380,000 pence) pass 10**28 pence, and `pence()`'s quantize raises
    decimal.InvalidOperation: GET /api/v1/impact (public), the reports and the chart are 500s
    for good. (Last: it leaves the database's ledger so.)"""
    now = clock.now()
    a, contract, first = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await forge(client, contract, 1, SIGNED, **signing([(a, 100)], now))
    item = {"measure": "local_jobs", "quantity": 2**63 - 1}
    later = now + timedelta(days=20)
    await forge(
        client, contract, 2, REPORTED, **delivery(first, a, now, later, delivered=[item] * 500)
    )
    await forge(client, contract, 3, CONFIRMED, report_id=str(first), timestamp=later)
    await settle(client)
    assert failures(client) == []
    await every_route_answers(client, staff_headers)
