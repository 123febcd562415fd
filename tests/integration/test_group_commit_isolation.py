"""Group commit (ADR 36): "each save keeps its own outcome" - a save that fails for a
reason of its own must fail alone, whatever kind of error that reason raises."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from sqlalchemy import select

from membership.application import MembershipApp
from tests.integration.test_group_commit import (
    BOUND_SECONDS,
    event_log_held,
    events_of,
    postgres_dsn,
    registration,
    wait_for_queue,
)
from tests.integration.test_stores import user_row, users_with
from tradehall.identity.tables import users
from tradehall.identity.users import insert_user
from tradehall.store.base import Store
from tradehall.store.group_commit import PendingSave
from tradehall.store.side_writes import _POSTGRES_DIALECT as DIALECT
from tradehall.store.side_writes import prepare


@pytest.fixture
def membership(store: Store) -> Iterator[MembershipApp]:
    store.migrate()
    app = MembershipApp(env=store.application_env("membership", pool_size=4))
    yield app
    app.close()


def test_a_save_whose_side_write_cannot_be_prepared_fails_alone(
    store: Store, membership: MembershipApp
) -> None:
    """A side write the store cannot bind (a naive datetime for a UTC column: ValueError) is one
    save's fault: it is refused in its own thread, before it joins a batch, and the save queued
    beside it commits."""
    group = membership.recorder.group  # type: ignore[attr-defined]
    leader, fine, broken = (uuid.uuid4() for _ in range(3))
    naive_row = insert_user(
        user_id=uuid.uuid4(),
        email=f"{broken.hex}@example.org",
        password_hash="not-a-real-hash",
        organisation_id=broken,
        roles=frozenset(),
        now=datetime(2026, 3, 2, 9, 30),  # naive: the defect under test
    )
    with ThreadPoolExecutor(max_workers=3) as pool, event_log_held(store) as release:
        first = pool.submit(membership.save, registration(leader))
        wait_for_queue(group, lambda s: s.writing, "the leader's batch")
        ok = pool.submit(
            membership.save,
            registration(fine),
            side_writes=[user_row(f"{fine.hex}@example.org", fine)],
        )
        with pytest.raises(ValueError, match="naive"):
            membership.save(registration(broken), side_writes=[naive_row])
        wait_for_queue(group, lambda s: s.queued == 1, "the good save queued")
        release()
        first.result(BOUND_SECONDS)
        ok.result(BOUND_SECONDS)

    assert events_of(store, fine) == 1
    assert users_with(store, f"{fine.hex}@example.org") == 1
    assert events_of(store, broken) == 0


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_a_save_refused_with_an_operational_sqlstate_fails_alone(
    store: Store, membership: MembershipApp
) -> None:
    """A side write that cannot take its row lock (55P03 lock_not_available, what lock_timeout
    raises too) is that save's refusal; psycopg classes it OperationalError, and the recorder
    takes every OperationalError for a lost connection: the whole batch fails (and is retried
    with the same poisoned save in it). The connection is fine throughout."""
    recorder = membership.recorder
    owner = uuid.uuid4()
    email = f"{owner.hex}@example.org"
    membership.save(registration(owner), side_writes=[user_row(email, owner)])
    fine, locked = uuid.uuid4(), uuid.uuid4()

    def stored(organisation_id: uuid.UUID) -> list[object]:
        events = registration(organisation_id).collect_events()
        return [membership.mapper.to_stored_event(event) for event in events]

    lock_the_row = select(users.c.id).where(users.c.email == email).with_for_update(nowait=True)
    batch = [
        PendingSave(stored(fine), prepare([user_row(f"{fine.hex}@example.org", fine)], DIALECT)),
        PendingSave(stored(locked), prepare([lock_the_row], DIALECT)),
    ]
    with psycopg.connect(postgres_dsn(store)) as holder:
        holder.execute("SELECT 1 FROM users WHERE email = %s FOR UPDATE", (email,))
        recorder._commit_batch(batch)  # type: ignore[attr-defined]  # raises today
        holder.rollback()

    assert batch[0].error is None
    assert batch[0].notification_ids
    assert isinstance(batch[1].error, OperationalError)
    assert events_of(store, fine) == 1
    assert events_of(store, locked) == 0
