"""The load -> decide -> save loop when a command saves a second aggregate beside the one the
caller named a version of: a clash on the second is no reason to call the caller stale."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from sharedkernel.errors import StaleVersion
from sharedkernel.writing import Writes

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


class Counter(Aggregate):
    def __init__(self) -> None:
        self.count = 0

    @event("Counted")
    def count_one(self) -> None:
        self.count += 1


class Counters(Application[Any], Writes):
    def __init__(self) -> None:
        super().__init__(IN_MEMORY)
        self._init_writes()


def test_a_clash_on_the_other_aggregate_is_decided_again_with_the_callers_version() -> None:
    app = Counters()
    mine, other = Counter(), Counter()
    app.save(mine, other)
    interruptions = [1]  # another writer changes `other` once, between load and save

    def decide(counter: Counter) -> list[Counter]:
        beside = app.repository.get(other.id)
        if interruptions:
            interruptions.pop()
            rival = app.repository.get(other.id)
            rival.count_one()
            app.save(rival)
        counter.count_one()
        beside.count_one()
        return [beside]

    saved = app._change_one(mine.id, 1, lambda: app.repository.get(mine.id), decide, "clash")
    assert saved.version == 2
    assert app.repository.get(other.id).count == 2  # the rival's and ours, none lost


def test_a_clash_on_the_named_aggregate_is_a_stale_version() -> None:
    app = Counters()
    mine = Counter()
    app.save(mine)

    def decide(counter: Counter) -> list[Counter]:
        rival = app.repository.get(mine.id)
        rival.count_one()
        app.save(rival)
        counter.count_one()
        return []

    with pytest.raises(StaleVersion) as stale:
        app._change_one(mine.id, 1, lambda: app.repository.get(mine.id), decide, "clash")
    assert (stale.value.expected, stale.value.actual) == (1, 2)
    assert app.repository.get(mine.id).count == 1
