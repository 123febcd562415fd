"""Contract events another writer could store, probed on both stores (the "probe" helper): a
payload holding a transcoder's wrapper whose value is not its type (a time that is a word, an
id that is not hex, a number that is not one) or a state that is not a JSON object stops no
projection (ADR 16): the contracts, impact, matching and OCDS projections each leave such an
event out by their own rules, go on with the next, and the tender's record stays valid."""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.persistence import StoredEvent

from tests.api.helpers import services_of
from tests.api.test_contracts import signed_contract
from tests.api.test_ocds import record_of
from tests.api.test_ocds_probe import failures, forge
from tests.api.test_probe_contracts_ocds import signed_and_recorded, signing, topic
from tests.api.test_tenders import settle
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
BAD_WRAPPERS: list[dict[str, Any]] = [
    {"_type_": "datetime_iso", "_data_": "yesterday"},
    {"_type_": "uuid_hex", "_data_": "zz"},
    {"_type_": "decimal_str", "_data_": "x"},
    {"_type_": "decimal_str", "_data_": [1]},
]


async def test_a_payload_no_reader_can_decode_stops_no_projection(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    signed, ocid, before = await signed_and_recorded(client, staff_headers, clock)
    at = clock.now()
    for bad in BAD_WRAPPERS:
        # A signing naming this tender's lot, each of its values in turn a bad wrapper.
        forged = signing(signed, at)
        for key in forged:
            await forge(client, uuid.uuid4(), 1, topic("Signed"), **(forged | {key: bad}))
        # A stored contract's later events, their time a bad wrapper.
        contract = uuid.uuid4()
        await forge(client, contract, 1, topic("Signed"), **forged)
        await forge(client, contract, 2, topic("Completed"), reason="x", timestamp=bad)
        await forge(client, contract, 3, topic("DeliveryConfirmed"), report_id=bad, timestamp=at)
    app = services_of(client).applications["marketplace"]
    for n, state in enumerate((b"not json", b"[1, 2]", b"null")):
        stored = StoredEvent(uuid.uuid4(), 1, topic(("Signed", "Completed", "Amended")[n]), state)
        await services_of(client).run(app.recorder.insert_events, [stored])
    await settle(client)

    assert failures(client) == []
    # Valid: each field OCDS publishes was read as its type or its event left out (the
    # signings whose odd values are in fields it does not publish are published as signed).
    assert len((await record_of(client, ocid))["releases"]) > len(before["releases"])


async def test_a_time_past_the_range_of_utc_stops_no_projection(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """A time with an offset whose UTC instant is before the first datetime or after the last
    (year 1 ahead of UTC, year 9999 behind it) could not be stored in a column of UTC times:
    the contracts projection failed on it. It is stored as that first or last instant, and
    every contracts and impact route still answers."""
    (signed,) = await signed_contract(client, staff_headers, clock)
    await settle(client)
    at = clock.now()
    for edge in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        moment = {"_type_": "datetime_iso", "_data_": edge}
        period = {"start": edge, "end": edge}
        jobs = [{"measure": "local_jobs", "quantity": 1, "unit": "jobs"}]
        edged = signing(signed, at, period=period, commitments=jobs, timestamp=moment)
        await forge(client, uuid.uuid4(), 1, topic("Signed"), **edged)
        contract, report = uuid.uuid4(), uuid.uuid4()
        await forge(client, contract, 1, topic("Signed"), **(edged | {"timestamp": at}))
        delivered = [{"measure": "local_jobs", "quantity": 1}]
        await forge(
            client,
            contract,
            2,
            topic("DeliveryReported"),
            report_id=report,
            reporter_id=uuid.UUID(signed.a),
            period=period,
            delivered=delivered,
            note="",
            timestamp=moment,
        )
        await forge(client, contract, 3, topic("DeliveryConfirmed"), report_id=report, timestamp=at)
        await forge(client, contract, 4, topic("Amended"), value_minor=5, period=period, reason="x")
    await settle(client)

    assert failures(client) == []
    reports = [f"/api/v1/impact/report?by={by}" for by in ("member", "buyer", "year", "quarter")]
    for url in (
        "/api/v1/contracts?per_page=100",
        "/api/v1/impact",
        *reports,
        "/api/v1/impact/report.csv?by=quarter",
        "/api/v1/ocds/releases?per_page=250",
    ):
        answered = await client.get(url, headers=staff_headers)
        assert answered.status_code == 200, (url, answered.text)
    mine = await client.get(f"/api/v1/organisations/{signed.a}/impact", headers=signed.a_headers)
    assert mine.status_code == 200, mine.text
