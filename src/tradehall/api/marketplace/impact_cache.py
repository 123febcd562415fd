"""The impact routes' answers, kept until what they were read from changes (issue 19).

Every impact answer is a function of its parameters, the impact ledger's tables, the
proxy-value table and, for the reports by member or buyer, the organisations' names. The ledger
changes only when the impact projection applies a contract event, and it records that event's
position (projections.impact_tables.impact_changes; a rebuild puts back the same one); the proxy
values change only when their aggregate's version does; the names only when the tenders
projection's position in the membership log moves. So an answer is kept under its parameters
and that state, each part read before what it stands for (the tables are never behind what
they record, so an answer holds at least what its key claims). A request whose state differs
reads afresh, and keeping an answer of a newer state drops every answer of an older one: none
outlives a change. Other marketplace events (tenders and their terms, quotes) leave the answers
kept.

Bounded: at most `max_entries` answers and `max_chars` characters (bytes for JSON, characters
for CSV and SVG), the least recently used going first. Each worker process keeps its own (one a
Litestar app, in its `state`). Requests asking for the same missing answer at once share one
reading of the ledger rather than each reading it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from litestar.datastructures import State

T = TypeVar("T", bytes, str)

STATE_KEY = "impact_answers"
MAX_ENTRIES = 256
MAX_CHARS = 64 * 1024 * 1024


@dataclass(frozen=True)
class LedgerState:
    """What an answer was read from: the ledger's last change (a log position), the proxy
    values' version, and the names' position (None where the answer shows no names)."""

    changed: int
    proxy_version: int
    names: int | None = None

    def older_than(self, other: LedgerState) -> bool:
        """Read from a ledger `other` supersedes. Names count only between answers that both
        show them: an answer without names is no older than one with them at one ledger."""
        ledger, others = (self.changed, self.proxy_version), (other.changed, other.proxy_version)
        if not (ledger[0] <= others[0] and ledger[1] <= others[1]):
            return False
        if self.names is None or other.names is None:
            return ledger != others
        return self.names <= other.names and self != other


class AnswerCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_chars: int = MAX_CHARS) -> None:
        self.max_entries, self.max_chars = max_entries, max_chars
        self._answers: OrderedDict[tuple[Hashable, LedgerState], bytes | str] = OrderedDict()
        self._chars = 0
        self._reading: dict[tuple[Hashable, LedgerState], asyncio.Future[Any]] = {}

    def __len__(self) -> int:
        return len(self._answers)

    @property
    def chars(self) -> int:
        return self._chars

    def clear(self) -> None:
        self._answers.clear()
        self._chars = 0

    async def answer(
        self, key: Hashable, state: LedgerState, read: Callable[[], Awaitable[T]]
    ) -> T:
        """The answer kept under `key` at `state`, or `read()`'s (kept for the next asker)."""
        full = (key, state)
        found = self._answers.get(full)
        if found is not None:
            self._answers.move_to_end(full)
            return cast(T, found)
        reading = self._reading.get(full)
        if reading is None:
            reading = asyncio.ensure_future(read())
            self._reading[full] = cast(asyncio.Future[bytes | str], reading)
            reading.add_done_callback(lambda done: self._done(full, done))
        # Shielded: one asker giving up (its client went away) leaves the others' reading be.
        return cast(T, await asyncio.shield(reading))

    def _done(self, full: tuple[Hashable, LedgerState], done: asyncio.Future[Any]) -> None:
        self._reading.pop(full, None)
        if not done.cancelled() and done.exception() is None:
            self._keep(full, done.result())

    def _keep(self, full: tuple[Hashable, LedgerState], value: bytes | str) -> None:
        state = full[1]
        if any(state.older_than(kept) for _, kept in self._answers):
            return  # read from a ledger already superseded here
        for old in [k for k in self._answers if k[1].older_than(state)]:
            self._drop(old)
        if len(value) > self.max_chars:
            return
        self._answers[full] = value
        self._chars += len(value)
        while len(self._answers) > self.max_entries or self._chars > self.max_chars:
            self._drop(next(iter(self._answers)))

    def _drop(self, full: tuple[Hashable, LedgerState]) -> None:
        self._chars -= len(self._answers.pop(full))


def answers_of(state: State) -> AnswerCache:
    """This app's cache (made on first use)."""
    found = state.get(STATE_KEY)
    if not isinstance(found, AnswerCache):
        found = AnswerCache()
        state[STATE_KEY] = found
    return found
