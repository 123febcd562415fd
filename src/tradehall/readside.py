"""Wiring of the read side: the projector, its thread, and read-your-writes for the API."""

from __future__ import annotations

import asyncio
import logging
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
# Beside a projector in this process, how long a reader waits on its hand-over before it also
# reads the positions (a projector elsewhere may have applied the write meanwhile).
LOCAL_CHECK_SECONDS = 0.2
_log = logging.getLogger("tradehall.readside")


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

    Lives on the event loop. This process's projector hands it each batch's positions as the
    batch commits (`advance_batch_threadsafe`, one hop to the loop a batch), which wakes the
    readers they satisfy at once. While that projector runs, a reader waits on the board
    without asking the database first; it asks only if the wait lasts `LOCAL_CHECK_SECONDS`
    (a projector elsewhere may have applied its write: a rebuild, `tradehall projections
    run`). Without one here, a reader reads the positions before it waits, and a projector
    elsewhere tells of its commits by NOTIFY (`refresh_soon`).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._positions: dict[tuple[str, str], int] = {}
        # Readers waiting, by projection: what they wait for and the future that wakes them.
        self._waiters: dict[str, list[tuple[Mapping[str, int], asyncio.Future[None]]]] = {}
        self._loop = asyncio.get_running_loop()
        self._refreshing: asyncio.Task[None] | None = None
        self._refresh_again = False
        self._local: threading.Thread | None = None

    def follow_local(self, thread: threading.Thread | None) -> None:
        """This process's projector runs in `thread` (None: no longer), handing over each
        commit: while it lives, readers wait on it rather than read the positions first."""
        self._local = thread

    @property
    def local_projector(self) -> bool:
        return self._local is not None and self._local.is_alive()

    def advance_batch_threadsafe(self, log: str, positions: Mapping[str, int]) -> None:
        """Called by the projector's thread once after each commit, with every position the
        commit moved in `log` (projections.runner.BatchListener)."""
        self._loop.call_soon_threadsafe(self._advance_many, log, dict(positions))

    def advance_threadsafe(self, projection: str, log: str, position: int) -> None:
        """One projection's position, from another thread (runner.CommitListener)."""
        self._loop.call_soon_threadsafe(self._advance_many, log, {projection: position})

    def _advance_many(self, log: str, positions: Mapping[str, int]) -> None:
        moved = []
        for projection, position in positions.items():
            key = (projection, log)
            if position > self._positions.get(key, 0):
                self._positions[key] = position
                moved.append(projection)
        for projection in moved:
            for wanted, future in self._waiters.get(projection, ()):
                if not future.done() and self.reached(projection, wanted):
                    future.set_result(None)

    def refresh_soon(self, payload: str | None = None) -> None:
        """A projector committed and said so by NOTIFY (`payload`, when the listener passes
        it on: "[origin:]projection[,projection...]:log:position", runner.CommitHook's names).

        A payload is taken as it stands: the NOTIFY is delivered only once its commit is
        done. Without one, the positions are read again, but only while a reader waits: one
        that comes later reads them itself (or, beside a projector here, is handed them)."""
        told = _told_positions(payload)
        if told is not None:
            self._loop.call_soon_threadsafe(self._advance_many, *told)
            return
        self._loop.call_soon_threadsafe(self._refresh_if_waited_on)

    def _refresh_if_waited_on(self) -> None:
        if any(self._waiters.values()):
            self._refresh_in_background()

    def _refresh_in_background(self) -> None:
        """Read the positions again, once at a time: a call while a read is under way asks
        for one more after it (it may have begun before the commit that called)."""
        if self._refreshing is not None and not self._refreshing.done():
            self._refresh_again = True
            return
        self._refreshing = self._loop.create_task(self._refresh_while_asked())

    async def _refresh_while_asked(self) -> None:
        while True:
            self._refresh_again = False
            try:
                await self.refresh()
            except Exception:  # the database is away: the next call or reader tries again
                _log.warning("cannot read the projections' positions", exc_info=True)
                return
            if not self._refresh_again:
                return

    async def refresh(self) -> None:
        async with self._engine.connect() as connection:
            rows = (await connection.execute(select(projection_positions))).all()
        by_log: dict[str, dict[str, int]] = {}
        for row in rows:
            by_log.setdefault(row.log, {})[row.projection] = row.position
        for log, positions in by_log.items():
            self._advance_many(log, positions)

    async def aclose(self) -> None:
        """Let a refresh under way finish, so its connection goes back to the pool."""
        if self._refreshing is not None:
            await asyncio.gather(self._refreshing, return_exceptions=True)

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
        waiter = (wanted, future)
        waiters = self._waiters.setdefault(projection, [])
        waiters.append(waiter)
        check: asyncio.TimerHandle | None = None
        try:
            if self.local_projector:
                # Handed over as the batch commits; ask the database only if that is slow.
                check = self._loop.call_later(LOCAL_CHECK_SECONDS, self._refresh_in_background)
            else:
                await self.refresh()  # a projector elsewhere may be ahead of what we heard
            if not future.done():
                async with asyncio.timeout(within):
                    await future
        except TimeoutError:
            return False
        finally:
            if check is not None:
                check.cancel()
            waiters.remove(waiter)
            if not waiters and self._waiters.get(projection) is waiters:
                del self._waiters[projection]
        return True


def _told_positions(payload: str | None) -> tuple[str, dict[str, int]] | None:
    """(log, {projection: position}) from a commit's NOTIFY payload ("[origin:]names:log:
    position", the names joined by ","); None if it is not one."""
    parts = (payload or "").rsplit(":", 3)
    if len(parts) < 3:
        return None
    names, log, position = parts[-3:]
    if not names or not log or not position.isascii() or not position.isdigit():
        return None
    return log, dict.fromkeys(names.split(","), int(position))


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
        if self.board.advance_batch_threadsafe not in self.projector.on_batch:
            self.projector.on_batch.append(self.board.advance_batch_threadsafe)
        self.projector.ensure_positions()
        self.thread = threading.Thread(
            target=self.projector.run_forever,
            args=(self.stop, waker, poll_seconds, self.channel_logs()),
            name="tradehall-projector",
            daemon=True,
        )
        self.thread.start()
        self.board.follow_local(self.thread)

    def channel_logs(self) -> dict[str, str]:
        """Each followed log, by the channel that tells of its new events."""
        return dict(zip(self.channels, self.projector.sources, strict=True))

    async def stop_projector(self) -> None:
        """Stop this process's projector, leaving the read side open: readers then read the
        positions themselves, and hear of a projector elsewhere by NOTIFY. It may start again."""
        stop, thread, waker = self.stop, self.thread, self.waker
        self.board.follow_local(None)
        if stop is not None and thread is not None:
            stop.set()
            if waker is not None:
                waker.interrupt()
            await asyncio.to_thread(thread.join, 10)
        if waker is not None:
            waker.close()
        self.stop = self.thread = self.waker = None

    async def close(self) -> None:
        await self.stop_projector()
        await self.stop_listening()
        await self.board.aclose()
        self.projector.engine.dispose()
