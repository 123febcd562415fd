"""Wiring of the read side: the projector, its thread, and read-your-writes for the API."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventsourcing.application import Application
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.events import EventSource
from projections.runner import BatchProjector, Waker
from projections.tables import projection_positions
from tradehall.context import ContextDeclaration
from tradehall.store.base import Store

if TYPE_CHECKING:
    from tradehall.settings import Settings

READ_YOUR_WRITES_LIMIT = 2.0


def build_projector(
    store: Store,
    contexts: Sequence[ContextDeclaration],
    applications: Mapping[str, Application[Any]],
    settings: Settings,
) -> BatchProjector:
    """The projector over every log the contexts keep but the sealed ones: each context's read
    models, then its followers (such as the notice writer that fills the outbox: followed the
    same way, never rebuilt)."""
    # Each context's projections then its followers; read_side refuses a sealed log's.
    covered = [(declared, declared.read_side(settings)) for declared in contexts]
    sources = {
        declared.log.name: EventSource(declared.log.name, applications[declared.log.name].recorder)
        for declared in contexts
        if not declared.sealed
    }
    projections = [p for _, read_side in covered for p in read_side]
    return BatchProjector(
        store.sync_engine(), sources, projections, in_commit=store.in_projection_commit
    )


def channels_of(sources: Mapping[str, EventSource], applications: Mapping[str, Any]) -> list[str]:
    """What wakes the projector: each followed log's channel (PostgreSQL's NOTIFY)."""
    return [getattr(applications[log].recorder, "channel_name", f"{log}_events") for log in sources]


def rebuildable(projector: BatchProjector) -> list[str]:
    return [p.name for p in projector.projections if p.rebuildable]


class PositionBoard:
    """How far each projection has read each log, as the API knows it; readers wait on it.

    Lives on the event loop: the projector's thread and the NOTIFY listener hand it positions
    with `call_soon_threadsafe`, and each advance wakes the readers it satisfies at once.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._positions: dict[tuple[str, str], int] = {}
        self._waiters: list[tuple[str, Mapping[str, int], asyncio.Future[None]]] = []
        self._loop = asyncio.get_running_loop()
        self._refreshing: set[asyncio.Task[None]] = set()

    def advance_threadsafe(self, projection: str, log: str, position: int) -> None:
        """Called by the projector's thread after each commit."""
        self._loop.call_soon_threadsafe(self._advance, projection, log, position)

    def _advance(self, projection: str, log: str, position: int) -> None:
        key = (projection, log)
        if position <= self._positions.get(key, 0):
            return
        self._positions[key] = position
        for waiter in list(self._waiters):
            name, wanted, future = waiter
            if not future.done() and self.reached(name, wanted):
                future.set_result(None)

    def refresh_soon(self, *_: object) -> None:
        """A projector in another process committed: read the positions again."""

        def start() -> None:
            task = self._loop.create_task(self.refresh())
            self._refreshing.add(task)
            task.add_done_callback(self._refreshing.discard)

        self._loop.call_soon_threadsafe(start)

    async def refresh(self) -> None:
        async with self._engine.connect() as connection:
            rows = (await connection.execute(select(projection_positions))).all()
        for row in rows:
            self._advance(row.projection, row.log, row.position)

    async def aclose(self) -> None:
        """Let refreshes under way finish, so their connections go back to the pool."""
        if self._refreshing:
            await asyncio.gather(*self._refreshing, return_exceptions=True)

    def position(self, projection: str, log: str) -> int:
        return self._positions.get((projection, log), 0)

    def reached(self, projection: str, wanted: Mapping[str, int]) -> bool:
        return all(self.position(projection, log) >= at for log, at in wanted.items())

    async def wait_for(
        self, projection: str, wanted: Mapping[str, int], within: float = READ_YOUR_WRITES_LIMIT
    ) -> bool:
        """True once `projection` has applied every log up to `wanted`; False after `within`."""
        if self.reached(projection, wanted):
            return True
        future: asyncio.Future[None] = self._loop.create_future()
        waiter = (projection, wanted, future)
        self._waiters.append(waiter)
        try:
            await self.refresh()  # a projector elsewhere may be ahead of what we heard
            await asyncio.wait_for(asyncio.shield(future), within)
        except TimeoutError:
            return False
        finally:
            self._waiters.remove(waiter)
        return True


@dataclass
class ReadSide:
    projector: BatchProjector
    board: PositionBoard
    channels: list[str]
    stop_listening: Callable[[], Awaitable[None]]
    thread: threading.Thread | None = None
    stop: threading.Event | None = None
    waker: Waker | None = None

    @classmethod
    async def open(
        cls,
        store: Store,
        contexts: Sequence[ContextDeclaration],
        applications: Mapping[str, Application[Any]],
        engine: AsyncEngine,
        settings: Settings,
    ) -> ReadSide:
        board = PositionBoard(engine)
        await board.refresh()
        projector = build_projector(store, contexts, applications, settings)
        return cls(
            projector=projector,
            board=board,
            channels=channels_of(projector.sources, applications),
            # Projectors in other processes (`tradehall projections run`) signal by NOTIFY.
            stop_listening=await store.listen_for_projection_commits(board.refresh_soon),
        )

    def start_projector(self, store: Store, poll_seconds: float) -> None:
        """Run the projections in this process (the embedded default)."""
        waker = self.waker = store.waker(self.channels)
        self.stop = threading.Event()
        self.projector.on_commit.append(self.board.advance_threadsafe)
        self.projector.ensure_positions()
        self.thread = threading.Thread(
            target=self.projector.run_forever,
            args=(self.stop, waker, poll_seconds),
            name="tradehall-projector",
            daemon=True,
        )
        self.thread.start()

    async def close(self) -> None:
        if self.stop is not None and self.thread is not None:
            self.stop.set()
            if self.waker is not None:
                self.waker.interrupt()
            await asyncio.to_thread(self.thread.join, 10)
        if self.waker is not None:
            self.waker.close()
        await self.stop_listening()
        await self.board.aclose()
        self.projector.engine.dispose()
