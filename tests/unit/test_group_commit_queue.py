"""The group commit's queue alone: who leads, what a batch holds, and whose outcome is whose."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tradehall.store.group_commit import GroupCommit, PendingSave, QueueState

BOUND_SECONDS = 10.0


def wait_for_queue(group: GroupCommit, reached: Callable[[QueueState], bool], what: str) -> None:
    """Wait (bounded) for the other threads to bring the queue to a state: the group tells."""
    assert group.wait_for(reached, BOUND_SECONDS), f"the queue never reached: {what}"


class HeldBatches:
    """A commit that records each batch and holds the first until released."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.first_started = threading.Event()
        self.release_first = threading.Event()
        self.next_id = 1

    def __call__(self, batch: list[PendingSave]) -> None:
        self.batches.append([str(pending.stored_events[0]) for pending in batch])
        if len(self.batches) == 1:
            self.first_started.set()
            assert self.release_first.wait(BOUND_SECONDS)
        for pending in batch:
            if pending.stored_events[0] == "clash":
                pending.fail(ValueError("clash"))
                continue
            ids = list(range(self.next_id, self.next_id + len(pending.stored_events)))
            self.next_id += len(ids)
            pending.succeed(ids)


def test_saves_that_arrive_while_a_batch_is_written_form_the_next_batch() -> None:
    commit = HeldBatches()
    group = GroupCommit(commit)
    with ThreadPoolExecutor(max_workers=5) as pool:
        first = pool.submit(group.save, ["a"])
        assert commit.first_started.wait(BOUND_SECONDS)
        later = [pool.submit(group.save, [name, name]) for name in ("b", "c", "d")]
        wait_for_queue(group, lambda s: s.queued == 3, "saves queued")
        commit.release_first.set()
        results = [first.result(BOUND_SECONDS)] + [f.result(BOUND_SECONDS) for f in later]

    assert commit.batches[0] == ["a"]
    assert sorted(commit.batches[1]) == ["b", "c", "d"]
    assert len(commit.batches) == 2
    assert results[0] == [1]
    # Each save gets its own ids, two apiece, none shared.
    later_ids = [tuple(ids) for ids in results[1:] if ids is not None]
    assert len(later_ids) == 3
    assert all(len(ids) == 2 for ids in later_ids)
    assert len({i for ids in later_ids for i in ids}) == 6
    assert (group.figures.batches, group.figures.saves, group.figures.largest) == (2, 4, 3)


def test_one_refused_save_fails_alone() -> None:
    commit = HeldBatches()
    group = GroupCommit(commit)
    with ThreadPoolExecutor(max_workers=4) as pool:
        first = pool.submit(group.save, ["a"])
        assert commit.first_started.wait(BOUND_SECONDS)
        ok = pool.submit(group.save, ["b"])
        clash = pool.submit(group.save, ["clash"])
        wait_for_queue(group, lambda s: s.queued == 2, "saves queued")
        commit.release_first.set()
        first.result(BOUND_SECONDS)
        assert ok.result(BOUND_SECONDS) is not None
        with pytest.raises(ValueError, match="clash"):
            clash.result(BOUND_SECONDS)
    assert len(commit.batches) == 2


def test_a_failed_transaction_fails_every_save_of_its_batch_and_only_those() -> None:
    calls: list[int] = []
    failing = threading.Event()
    started = threading.Event()
    release = threading.Event()

    def commit(batch: list[PendingSave]) -> None:
        calls.append(len(batch))
        if len(calls) == 1:
            started.set()
            assert release.wait(BOUND_SECONDS)
        for pending in batch:
            pending.succeed([len(calls)])
        if failing.is_set() and len(calls) == 2:
            raise ConnectionError("lost")  # after each save was marked a success

    group = GroupCommit(commit)
    with ThreadPoolExecutor(max_workers=4) as pool:
        first = pool.submit(group.save, ["a"])
        assert started.wait(BOUND_SECONDS)
        failing.set()
        doomed: list[Future[object]] = [pool.submit(group.save, [n]) for n in ("b", "c")]
        wait_for_queue(group, lambda s: s.queued == 2, "saves queued")
        release.set()
        assert first.result(BOUND_SECONDS) == [1]
        for future in doomed:
            with pytest.raises(ConnectionError):
                future.result(BOUND_SECONDS)
        # The group leads again after a failed batch.
        assert group.save(["e"]) == [3]


def test_a_batch_is_bounded_and_every_save_is_written_once() -> None:
    seen: list[str] = []
    sizes: list[int] = []
    lock = threading.Lock()

    def commit(batch: list[PendingSave]) -> None:
        with lock:
            sizes.append(len(batch))
            for pending in batch:
                seen.append(str(pending.stored_events[0]))
                pending.succeed([len(seen)])

    group = GroupCommit(commit, max_batch=4)
    names = [f"s{i}" for i in range(200)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        ids = list(pool.map(lambda name: group.save([name]), names))

    assert sorted(seen) == sorted(names)
    assert max(sizes) <= 4
    assert sorted(i for found in ids if found is not None for i in found) == list(range(1, 201))
