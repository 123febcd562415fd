"""A tender's sealing key and its publication, on both stores (ADR 27): the key is made before
the publication is saved (the opening clock finds the tenders to open from the keys, so a
published tender always has one), and only for a publication the domain takes. Before, a
refused publication (an unverified public body, too little social-value weight, a deadline
passed) left a key for the draft, and the opening clock loaded that draft at every tick for as
long as it stayed one; published later, the draft's key was read at the next tick and its
deadline kept (never stale).

Each test asserts on its own tenders' rows only (the PostgreSQL database is shared)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.api.helpers import services_of, token
from tests.api.test_bid_scenario import at
from tests.api.test_buyers import register_council, verification
from tests.api.test_opening_clock_reads import opening_parts, tick
from tests.api.test_tenders import DEADLINE, draft, terms, verified_council
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.marketplace.sealing.tables import sealing_keys

Client = AppClient
Headers = dict[str, str]


async def key_of(client: Client, tender: str) -> Any:
    """The tender's sealing key row (its deadline seen and settling), or None."""
    async with services_of(client).engine.connect() as connection:
        found = await connection.execute(
            select(sealing_keys.c.deadline_seen, sealing_keys.c.settled_at).where(
                sealing_keys.c.key_id == uuid.UUID(tender)
            )
        )
        return found.one_or_none()


async def publish(client: Client, tender: str, headers: Headers, **body: Any) -> Any:
    return await client.post(f"/api/v1/tenders/{tender}/publication", json=body, headers=headers)


async def test_a_refused_publication_makes_no_key_and_the_clock_never_loads_the_draft(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    council, headers = await verified_council(client, staff_headers)
    parts, loads = opening_parts(client, clock)
    # Too little social-value weight: 422 naming it.
    light = (await draft(client, council, headers, terms(social=5)))["id"]
    refused = await publish(client, light, headers)
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["evaluation.social_value.weight"]
    # A public body not verified: 409.
    unverified = await register_council(client, f"Lowland Council {uuid.uuid4().hex[:6]}")
    unverified_headers = await token(client, unverified["email"])
    waiting = (await draft(client, unverified["id"], unverified_headers))["id"]
    assert (await publish(client, waiting, unverified_headers)).status_code == 409
    # A deadline passed (active, not planned): 422 naming it.
    late = (await draft(client, council, headers))["id"]
    clock.set(at(DEADLINE) + timedelta(hours=1))
    refused = await publish(client, late, headers, planned=False)
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["tender_period.end"]
    drafts = (light, waiting, late)
    assert [await key_of(client, t) for t in drafts] == [None, None, None]
    for _ in range(3):
        await tick(client, parts)
    assert [loads.counts.get(uuid.UUID(t), 0) for t in drafts] == [0, 0, 0]

    # Taken later, each gets its key, and the clock reads its deadline at the next tick.
    clock.set(at(DEADLINE) - timedelta(days=10))
    revised = await client.put(f"/api/v1/tenders/{light}", json=terms(), headers=headers)
    assert revised.status_code == 200, revised.text
    assert (await publish(client, light, headers)).status_code == 200
    ok = await client.post(
        verification(unverified["id"]), json={"evidence": "GOV.UK"}, headers=staff_headers
    )
    assert ok.status_code == 200, ok.text
    assert (await publish(client, waiting, unverified_headers)).status_code == 200
    await tick(client, parts)
    for tender in (light, waiting):
        row = await key_of(client, tender)
        assert (row.deadline_seen, row.settled_at) == (at(DEADLINE), None)
        assert loads.counts[uuid.UUID(tender)] == 1
    await tick(client, parts)
    assert [loads.counts[uuid.UUID(t)] for t in (light, waiting)] == [1, 1]


async def test_a_draft_s_key_is_loaded_at_every_tick_and_read_afresh_once_published(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """What a key made for a draft costs (one left by a refused publication before, or by a
    crash between the key and the save): the clock loads its draft at every tick and keeps no
    deadline for it (a draft's may move earlier); once published, the next tick reads the
    deadline it was published with, not one seen before."""
    council, headers = await verified_council(client, staff_headers)
    parts, loads = opening_parts(client, clock)
    tender = (await draft(client, council, headers))["id"]
    services = services_of(client)
    await services.run(services.sealing.ensure_tender_key, uuid.UUID(tender), clock.now())
    for n in (1, 2, 3):
        await tick(client, parts)
        assert loads.counts[uuid.UUID(tender)] == n
        assert (await key_of(client, tender)).deadline_seen is None
    later = "2026-04-20T12:00:00Z"
    revised = await client.put(
        f"/api/v1/tenders/{tender}", json=terms(deadline=later), headers=headers
    )
    assert revised.status_code == 200, revised.text
    assert (await publish(client, tender, headers)).status_code == 200
    await tick(client, parts)
    await tick(client, parts)
    assert loads.counts[uuid.UUID(tender)] == 4
    row = await key_of(client, tender)
    assert (row.deadline_seen, row.settled_at) == (at(later), None)
