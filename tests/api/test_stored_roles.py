"""A users row naming a role this code does not know (dropped or renamed without a migration
of `users.roles`): each request of its user was a 500 (`Role(name)` raised). Now the name
grants nothing, is never read as another role, and is logged once, without personal data."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import update

from tests.api.helpers import PASSWORD, register, services_of, token
from tests.conftest import AppClient
from tradehall.identity.tables import users


async def test_an_unknown_stored_role_is_ignored_not_a_500(
    client: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    org = await register(client)
    gone = f"gone_{uuid.uuid4().hex[:8]}"
    # The admin role replaced by a name no code knows: as if `admin` had been renamed.
    async with services_of(client).engine.begin() as connection:
        await connection.execute(
            update(users).where(users.c.email == org["email"]).values(roles=f"{gone} member")
        )
    caplog.set_level(logging.WARNING, logger="tradehall.identity")

    signed_in = await token(client, org["email"], PASSWORD)
    me = await client.get("/api/v1/auth/me", headers=signed_in)
    again = await client.get("/api/v1/auth/me", headers=signed_in)
    invite = await client.post(
        f"/api/v1/organisations/{org['id']}/invitations",
        json={"email": f"x-{uuid.uuid4().hex[:8]}@example.org"},
        headers=signed_in,
    )

    assert me.status_code == 200, me.text
    assert again.status_code == 200, again.text
    assert me.json()["roles"] == ["member"]
    # Ignored for access, never widened: the admin's route is refused.
    assert invite.status_code == 403, invite.text
    logged = [r for r in caplog.records if r.name == "tradehall.identity" and gone in r.message]
    assert len(logged) == 1
    assert org["email"] not in logged[0].message
    assert org["email"].split("@")[0] not in logged[0].message
