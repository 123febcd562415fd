"""Fixtures the read-side tests share: the store migrated, its engines (both stores)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from tradehall.store.base import Store


@pytest.fixture
def engine(store: Store) -> Iterator[Engine]:
    # The shared fixtures' stores are copies of migrated ones: migrating again re-created each
    # log's event tables (on PostgreSQL ~0.15 s of pools and DDL a test) to no effect.
    if not store.schema_is_current().ok:
        store.migrate()
    made = store.sync_engine()
    yield made
    made.dispose()


@pytest.fixture
async def async_engine(store: Store, engine: Engine) -> AsyncIterator[AsyncEngine]:
    made: AsyncEngine = store.async_engine(pool_size=1)
    yield made
    await made.dispose()
