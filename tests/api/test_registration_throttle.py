"""Registrations are limited per client address (ADRs 8 and 14): each asks for a password hash
and a mail, so how fast one client may ask is bounded. An address already taken counts as any
attempt (and is answered as any: 202); past the limit, 429 with Retry-After, nothing kept and
nothing mailed; another client address is not held back. On both stores."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from litestar import Litestar

from tests.api.helpers import confirm, register, registration, registration_secrets
from tests.conftest import AppClient, app_for, running
from tradehall.clock import ManualClock
from tradehall.settings import Settings
from tradehall.store.base import Store

URL = "/api/v1/organisations"


async def test_registrations_from_one_address_wait_past_the_limit(
    settings: Settings, store: Store, clock: ManualClock, built_app: Litestar
) -> None:
    limited = dataclasses.replace(settings, registrations_per_address_per_hour=3)
    app = app_for(built_app, limited, clock=clock, store=store)
    async with running(app), AppClient(app) as client, AppClient(app) as elsewhere:
        first = await register(client)  # asked once (confirming is not limited)
        taken = registration(user={"email": first["email"], "password": "x" * 12})
        assert (await client.post(URL, json=taken)).status_code == 202  # a probe: counted
        assert (await client.post(URL, json=registration())).status_code == 202
        late = registration()

        refused = await client.post(URL, json=late)

        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        wait = int(refused.headers["retry-after"])
        assert wait == refused.json()["retry_after"] == 1200  # an hour's share, then doubling
        # Another client address registers as before.
        await register(elsewhere)
        # The refused one kept nothing and mailed nothing; once the wait is over it is taken.
        assert await registration_secrets(client, late["user"]["email"]) == []
        clock.advance(timedelta(seconds=wait))
        assert (await client.post(URL, json=late)).status_code == 202
        assert (await confirm(client, late["user"]["email"])).status_code == 201
