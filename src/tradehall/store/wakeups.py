"""What wakes the projector: a signal within the process (SQLite), LISTEN/NOTIFY (PostgreSQL)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

_log = logging.getLogger("tradehall.store")


class LocalSignal:
    """Wakes this process's projector when this process records events (SQLite has no NOTIFY)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0

    def fire(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait(self, timeout: float) -> None:
        """Until the next save in this process, or `timeout`; it does not say which log
        (None: the runner reads them all)."""
        with self._condition:
            seen = self._generation
            self._condition.wait_for(lambda: self._generation != seen, timeout=timeout)

    def interrupt(self) -> None:
        self.fire()

    def close(self) -> None:
        return None


LOCAL_EVENTS_RECORDED = LocalSignal()


class PostgresWaker:
    """LISTENs on the event tables' channels (the library NOTIFYs on every insert).

    Reconnects when the connection drops; the runner's poll interval covers the gap.
    """

    def __init__(self, conninfo: str, channels: Sequence[str]) -> None:
        self._conninfo = conninfo
        self._channels = list(channels)
        self._connection: psycopg.Connection[Any] | None = None
        self._interrupted = threading.Event()
        # Set while a LISTEN connection is open (operators' status, and tests, wait on it).
        self.listening = threading.Event()

    def _connect(self) -> psycopg.Connection[Any]:
        connection = psycopg.connect(self._conninfo, autocommit=True)
        for channel in self._channels:
            connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        self.listening.set()
        return connection

    def wait(self, timeout: float) -> set[str] | None:
        """Until a NOTIFY, `timeout` or `interrupt`. Returns the channels heard (each NOTIFY
        already delivered, not only the first), so the runner reads only their logs; None when
        it cannot say (a timeout, a connection made or lost), and the runner reads every log.
        """
        deadline = time.monotonic() + timeout
        if self._connection is None or self._connection.closed:
            try:
                self._connection = self._connect()
            except psycopg.Error:
                _log.warning("cannot LISTEN for new events; polling", exc_info=True)
                self._interrupted.wait(min(timeout, RECONNECT_BACKOFF_SECONDS))
                return None
            # Listening now: let the runner read once more, for events committed before the
            # LISTEN, whose NOTIFY nobody heard. After that, every commit wakes us.
            return None
        try:
            # Short slices, so `interrupt` (shutdown) is noticed within a tenth of a second.
            while not self._interrupted.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                heard = {
                    notify.channel
                    for notify in self._connection.notifies(
                        timeout=min(remaining, 0.1), stop_after=1
                    )
                }
                if heard:
                    # And those that came with it or since, without waiting for more.
                    for notify in self._connection.notifies(timeout=0):
                        heard.add(notify.channel)
                    return heard
        except psycopg.Error:
            # Dropped: return at once, so the runner reads what it may have missed, then
            # reconnects on its next wait.
            _log.warning("projection wake-up connection lost; reconnecting", exc_info=True)
            self.close()
        return None

    def interrupt(self) -> None:
        self._interrupted.set()

    def close(self) -> None:
        self.listening.clear()
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()
            self._connection = None


PROJECTIONS_CHANNEL = "tradehall_projections"
RECONNECT_BACKOFF_SECONDS = 1.0
