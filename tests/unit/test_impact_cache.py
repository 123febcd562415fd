"""The impact routes' answer cache (issue 19): an answer is kept under its parameters and the
ledger's state (the impact projection's position, the proxy values' version); a newer state
drops the older answers and an older one is never kept over them; bounded in answers and in
characters, the least recently used going first; askers of one missing answer share its one
reading; a failed reading is not kept."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tradehall.api.marketplace.impact_cache import AnswerCache, LedgerState

AT = LedgerState(changed=10, proxy_version=1)


def reader(value: str, calls: list[str]) -> Callable[[], Awaitable[str]]:
    async def read() -> str:
        calls.append(value)
        return value

    return read


async def test_an_answer_is_kept_under_its_key_and_state() -> None:
    cache, calls = AnswerCache(), list[str]()
    assert await cache.answer("summary", AT, reader("one", calls)) == "one"
    assert await cache.answer("summary", AT, reader("two", calls)) == "one"
    assert await cache.answer("chart", AT, reader("three", calls)) == "three"
    assert calls == ["one", "three"]


@pytest.mark.parametrize(
    "moved",
    [LedgerState(11, 1), LedgerState(10, 2)],
    ids=["the projection moved", "a proxy value changed"],
)
async def test_a_change_of_state_reads_again_and_drops_the_older_answers(
    moved: LedgerState,
) -> None:
    cache, calls = AnswerCache(), list[str]()
    await cache.answer("summary", AT, reader("before", calls))
    await cache.answer("chart", AT, reader("chart before", calls))
    assert await cache.answer("summary", moved, reader("after", calls)) == "after"
    assert len(cache) == 1  # the chart of the older state went with it
    # A slow reader of the older state finishing now is answered, not kept.
    assert await cache.answer("chart", AT, reader("late", calls)) == "late"
    assert len(cache) == 1
    assert await cache.answer("summary", moved, reader("again", calls)) == "after"
    assert calls == ["before", "chart before", "after", "late"]


async def test_states_neither_older_are_both_kept() -> None:
    cache, calls = AnswerCache(), list[str]()
    await cache.answer("a", LedgerState(11, 1), reader("a", calls))
    await cache.answer("b", LedgerState(10, 2), reader("b", calls))
    assert len(cache) == 2


async def test_answers_with_names_and_without_of_one_ledger_are_both_kept() -> None:
    """A report by member (names) beside the summary (none) at one ledger: neither drops the
    other (the bench found every summary read again after each report by member)."""
    cache, calls = AnswerCache(), list[str]()
    named = LedgerState(10, 1, names=7)
    await cache.answer("summary", AT, reader("summary", calls))
    await cache.answer("by member", named, reader("by member", calls))
    assert await cache.answer("summary", AT, reader("again", calls)) == "summary"
    assert await cache.answer("by member", named, reader("again", calls)) == "by member"
    assert len(cache) == 2
    # A newer name drops the older names' answer only; a ledger change drops both.
    await cache.answer("by buyer", LedgerState(10, 1, names=8), reader("by buyer", calls))
    assert len(cache) == 2
    await cache.answer("chart", LedgerState(11, 1), reader("chart", calls))
    assert len(cache) == 1
    assert calls == ["summary", "by member", "by buyer", "chart"]


async def test_bounded_in_answers_least_recently_used_first() -> None:
    cache, calls = AnswerCache(max_entries=2), list[str]()
    await cache.answer(1, AT, reader("one", calls))
    await cache.answer(2, AT, reader("two", calls))
    await cache.answer(1, AT, reader("unread", calls))  # 1 used again: 2 is the oldest
    await cache.answer(3, AT, reader("three", calls))
    assert len(cache) == 2
    assert await cache.answer(1, AT, reader("unread", calls)) == "one"
    assert await cache.answer(2, AT, reader("two again", calls)) == "two again"
    assert calls == ["one", "two", "three", "two again"]


async def test_bounded_in_characters() -> None:
    cache, calls = AnswerCache(max_chars=10), list[str]()
    await cache.answer(1, AT, reader("x" * 6, calls))
    await cache.answer(2, AT, reader("y" * 6, calls))
    assert len(cache) == 1
    assert cache.chars == 6
    # An answer larger than the whole bound is given, never kept.
    assert await cache.answer(3, AT, reader("z" * 11, calls)) == "z" * 11
    assert len(cache) == 1
    assert cache.chars == 6


async def test_askers_of_one_missing_answer_share_one_reading() -> None:
    cache, release, calls = AnswerCache(), asyncio.Event(), list[str]()

    async def read() -> str:
        calls.append("read")
        await release.wait()
        return "answer"

    async def released() -> str:
        release.set()
        return "released"

    # Tasks start in the order made: the three askers reach the cache before the release.
    askers = [cache.answer("report", AT, read) for _ in range(3)]
    found = await asyncio.gather(*askers, released())
    assert found == ["answer", "answer", "answer", "released"]
    assert calls == ["read"]


async def test_one_asker_giving_up_leaves_the_others_their_answer() -> None:
    cache, release = AnswerCache(), asyncio.Event()

    async def read() -> str:
        await release.wait()
        return "answer"

    first = asyncio.ensure_future(cache.answer("report", AT, read))
    second = asyncio.ensure_future(cache.answer("report", AT, read))

    async def give_up() -> None:  # runs once both askers wait (tasks start in order made)
        first.cancel()
        release.set()

    await asyncio.ensure_future(give_up())
    assert await second == "answer"
    assert first.cancelled()
    assert len(cache) == 1


async def test_a_failed_reading_is_not_kept() -> None:
    cache, calls = AnswerCache(), list[str]()

    async def fails() -> str:
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        await cache.answer("summary", AT, fails)
    assert len(cache) == 0
    assert await cache.answer("summary", AT, reader("read again", calls)) == "read again"
