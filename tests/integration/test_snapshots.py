"""A read of several statements sees one moment (store.snapshots), on both stores: a commit
landing between its statements is in none of them; a connection without it sees each commit."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine, Select, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.tables import projection_positions
from tradehall.store.snapshots import one_snapshot


def rows_of(name: str) -> Select[Any]:
    return (
        select(func.count())
        .select_from(projection_positions)
        .where(projection_positions.c.projection == name)
    )


def commit_row(engine: Engine, name: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(projection_positions).values(projection=name, log="membership", position=1)
        )


async def test_statements_after_one_snapshot_agree_whatever_commits_between_them(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    name = f"test-snapshot-{uuid.uuid4().hex[:8]}"
    try:
        async with async_engine.connect() as connection:
            at_once = await one_snapshot(connection)
            first = await at_once.scalar(rows_of(name))
            commit_row(engine, name)
            second = await at_once.scalar(rows_of(name))
        assert (first, second) == (0, 0)

        async with async_engine.connect() as connection:
            assert await connection.scalar(rows_of(name)) == 1
            other = f"{name}-2"
            before = await connection.scalar(rows_of(other))
            commit_row(engine, other)
            # Without it, each statement reads the newest commit (why the snapshot is asked for).
            after = await connection.scalar(rows_of(other))
        assert (before, after) == (0, 1)
    finally:
        with engine.begin() as connection:
            connection.execute(
                delete(projection_positions).where(
                    projection_positions.c.projection.in_([name, f"{name}-2"])
                )
            )
