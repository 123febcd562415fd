"""Fixtures the read-side tests share: the store migrated, its engines (both stores)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from tradehall.store.base import Store


@pytest.fixture
def engine(store: Store) -> Iterator[Engine]:
    store.migrate()
    made = store.sync_engine()
    yield made
    made.dispose()


@pytest.fixture
async def async_engine(store: Store, engine: Engine) -> AsyncIterator[AsyncEngine]:
    made: AsyncEngine = store.async_engine(pool_size=1)
    yield made
    await made.dispose()
