"""Group commit (ADR 36): each save of a multi-save batch gets the positions of its own events,
none is acknowledged while its commit is pending, and a retry after a lost commit recognises
its own events."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from eventsourcing.persistence import Recording

from membership.application import MembershipApp
from tests.integration.test_group_commit import (
    BOUND_SECONDS,
    event_log_held,
    registration,
    wait_for_queue,
)
from tradehall.store.base import Store


@pytest.fixture
def membership(store: Store) -> Iterator[MembershipApp]:
    store.migrate()
    app = MembershipApp(env=store.application_env("membership", pool_size=4))
    yield app
    app.close()


def test_each_save_of_a_batch_gets_the_positions_of_its_own_events(
    store: Store, membership: MembershipApp
) -> None:
    group = membership.recorder.group  # type: ignore[attr-defined]
    leader, *queued = (uuid.uuid4() for _ in range(6))
    with ThreadPoolExecutor(max_workers=6) as pool, event_log_held(store) as release:
        first = pool.submit(membership.save, registration(leader))
        wait_for_queue(group, lambda s: s.writing, "the leader's batch")
        saves: dict[uuid.UUID, Future[list[Recording[uuid.UUID]]]] = {
            o: pool.submit(membership.save, registration(o)) for o in queued
        }
        wait_for_queue(group, lambda s: s.queued == len(queued), "the saves queued")
        release()
        first.result(BOUND_SECONDS)
        returned = {o: future.result(BOUND_SECONDS) for o, future in saves.items()}

    assert group.figures.largest == len(queued)
    logged = {
        n.originator_id: n.id
        for n in membership.recorder.select_notifications(start=1, limit=10_000)
    }
    for organisation_id, recordings in returned.items():
        assert [r.domain_event.originator_id for r in recordings] == [organisation_id]
        assert [r.notification.id for r in recordings] == [logged[organisation_id]]


COMMIT_HOLD_KEY = 719_021


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_a_save_is_not_acknowledged_while_its_commit_is_pending(
    store: Store, membership: MembershipApp
) -> None:
    """The committed test holds the batch at its LOCK, before anything is written, so it would
    pass if a save were acknowledged after its INSERT but before COMMIT. Here the batch stops
    at COMMIT itself (a deferred constraint trigger waiting on an advisory lock)."""
    import threading

    import psycopg

    from tests.integration.test_group_commit import (
        _backend_waiting_on_hold,
        events_of,
        postgres_dsn,
    )

    organisation_id = uuid.uuid4()
    done = threading.Event()
    with psycopg.connect(postgres_dsn(store), autocommit=True) as holder:
        holder.execute(
            "CREATE FUNCTION public.review_hold_commit() RETURNS trigger LANGUAGE plpgsql AS"
            f" $$ BEGIN PERFORM pg_advisory_xact_lock({COMMIT_HOLD_KEY}); RETURN NULL; END $$"
        )
        holder.execute(
            "CREATE CONSTRAINT TRIGGER review_hold_commit AFTER INSERT"
            " ON events.membership_events DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
            " EXECUTE FUNCTION public.review_hold_commit()"
        )
        try:
            holder.execute("SELECT pg_advisory_lock(%s)", (COMMIT_HOLD_KEY,))
            with ThreadPoolExecutor(1) as pool:

                def save() -> None:
                    membership.save(registration(organisation_id))
                    done.set()

                saving = pool.submit(save)
                _backend_waiting_on_hold(holder, COMMIT_HOLD_KEY)  # the COMMIT waits
                assert not done.is_set()
                assert events_of(store, organisation_id) == 0
                holder.execute("SELECT pg_advisory_unlock(%s)", (COMMIT_HOLD_KEY,))
                saving.result(BOUND_SECONDS)
        finally:
            holder.execute("DROP TRIGGER review_hold_commit ON events.membership_events")
            holder.execute("DROP FUNCTION public.review_hold_commit()")
    assert events_of(store, organisation_id) == 1


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_a_retry_after_a_lost_commit_finds_its_own_events_and_only_them(
    store: Store, membership: MembershipApp
) -> None:
    """A connection lost after PostgreSQL committed: the retry finds these very events there and
    the save is done; other events at those versions (another writer's) are not taken for it."""
    recorder = membership.recorder
    organisation = registration(uuid.uuid4())
    stored = [membership.mapper.to_stored_event(e) for e in organisation.collect_events()]
    recorder.insert_events(stored)
    positions = recorder._already_recorded(stored)  # type: ignore[attr-defined]
    assert positions is not None
    assert len(positions) == len(stored)

    rival = registration(organisation.id)  # the same id and version, other content
    rival_events = [membership.mapper.to_stored_event(e) for e in rival.collect_events()]
    assert recorder._already_recorded(rival_events) is None  # type: ignore[attr-defined]
    unsaved = [
        membership.mapper.to_stored_event(e) for e in registration(uuid.uuid4()).collect_events()
    ]
    assert recorder._already_recorded(unsaved) is None  # type: ignore[attr-defined]
