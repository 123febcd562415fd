"""Registrations are limited per client address (ADRs 8 and 14): registration says when an
e-mail address is taken, so how fast one address may ask is bounded. A taken address counts as
any attempt; past the limit, 429 with Retry-After and nothing recorded; another address is not
held back. On both stores."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from litestar import Litestar

from tests.api.helpers import register, registration
from tests.conftest import AppClient, app_for, running
from tradehall.clock import ManualClock
from tradehall.settings import Settings
from tradehall.store.base import Store

URL = "/api/v1/organisations"


async def test_registrations_from_one_address_wait_past_the_limit(
    settings: Settings, store: Store, clock: ManualClock, built_app: Litestar
) -> None:
    limited = dataclasses.replace(settings, registrations_per_address_per_hour=2)
    app = app_for(built_app, limited, clock=clock, store=store)
    async with running(app), AppClient(app) as client, AppClient(app) as elsewhere:
        first = await register(client)
        taken = registration(user={"email": first["email"], "password": "x" * 12})
        assert (await client.post(URL, json=taken)).status_code == 409  # a probe: counted
        body = registration()

        refused = await client.post(URL, json=body)

        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        wait = int(refused.headers["retry-after"])
        assert wait == refused.json()["retry_after"] == 1800  # an hour's share, then doubling
        # Another client address registers as before.
        assert (await elsewhere.post(URL, json=registration())).status_code == 201
        # Nothing was recorded: once the wait is over, the same registration is taken.
        clock.advance(timedelta(seconds=wait))
        assert (await client.post(URL, json=body)).status_code == 201
