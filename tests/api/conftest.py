from __future__ import annotations

import uuid

import pytest
from litestar.testing import AsyncTestClient

from tests.api.helpers import PASSWORD, token
from tradehall.clock import ManualClock
from tradehall.identity.users import Passwords, Role, create_user, insert_user
from tradehall.store import Store


def add_user(store: Store, clock: ManualClock, roles: frozenset[Role]) -> str:
    """A user created as `tradehall staff create` does (identity is not event-sourced)."""
    email = f"{'-'.join(sorted(roles))}-{uuid.uuid4().hex[:10]}@association.example"
    engine = store.sync_engine()
    try:
        with engine.begin() as connection:
            create_user(
                connection,
                insert_user(
                    user_id=uuid.uuid4(),
                    email=email,
                    password_hash=Passwords().hash(PASSWORD),
                    organisation_id=None,
                    roles=roles,
                    now=clock.now(),
                ),
            )
    finally:
        engine.dispose()
    return email


@pytest.fixture
async def staff_headers(
    client: AsyncTestClient, store: Store, clock: ManualClock  # type: ignore[type-arg]
) -> dict[str, str]:
    return await token(client, add_user(store, clock, frozenset({Role.STAFF})))
