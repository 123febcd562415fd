"""Sealed bids' data keys (ADR 27): made once even when processes race, wrapped by the master key
(never stored), found again after a rotation, lost without it; keyed-hash bid ids; the CLI.

Each test has a database of its own (a SQLite file, or a fresh PostgreSQL database): the service
keys live under fixed ids, and a rotation re-wraps every row, so a shared database would mix the
tests' master keys."""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Engine, func, select, update

from tests.conftest import POSTGRES_TEMPLATE
from tests.integration.test_cli import env_for
from tradehall.cli import main
from tradehall.clock import ManualClock
from tradehall.marketplace.sealing.ids import KeyedBidIds
from tradehall.marketplace.sealing.keys import (
    SERVICE_KEY_IDS,
    SealingError,
    SealingKeyMissing,
    SealingKeys,
)
from tradehall.marketplace.sealing.master import MasterKeys, fingerprint, new_key_text
from tradehall.marketplace.sealing.tables import metadata as sealing_metadata
from tradehall.marketplace.sealing.tables import sealing_keys
from tradehall.settings import Settings, SettingsError, sealing_key_bytes
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore
from tradehall.store.sqlite import SQLiteStore

# The event log the mapper tests write (created with the store's tables).
TEST_LOG = "sealtest"
AT = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
TENDER_AT_ITS_OWN_TIME = uuid.UUID("6c1b8f0e-3f1d-4c8a-9d55-0b7e1f2a3c4d")


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store of this test's own, migrated, with the test log's event tables."""
    if request.param == "sqlite":
        store: Store = SQLiteStore(tmp_path / "data")
        store.migrate(event_logs=[TEST_LOG])
        yield store
        return
    with POSTGRES_TEMPLATE.copy("tradehall_sealing") as url:
        store = PostgresStore(url)
        store.migrate(event_logs=[TEST_LOG])
        yield store


@pytest.fixture
def engine(fresh_store: Store) -> Iterator[Engine]:
    made = fresh_store.sync_engine()
    yield made
    made.dispose()


def master() -> MasterKeys:
    return MasterKeys(os.urandom(32))


def stored_rows(engine: Engine) -> list[tuple[uuid.UUID, str, bytes, str]]:
    with engine.connect() as connection:
        return [
            (row.key_id, row.purpose, bytes(row.wrapped), row.master_fingerprint)
            for row in connection.execute(select(sealing_keys))
        ]


def test_the_migrated_table_is_the_declared_one(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_name": lambda name, type_, parent: (
                    type_ != "table" or name in sealing_metadata.tables
                )
            },
        )
        assert compare_metadata(context, sealing_metadata) == []


def test_racing_processes_make_one_key_per_tender(fresh_store: Store) -> None:
    """Four "processes" (each its own engine and cache) ask for the same new tenders' keys at
    once: every one gets the same key, and one row is stored per tender."""
    masters = master()
    tenders = [uuid.uuid4() for _ in range(12)]
    engines = [fresh_store.sync_engine() for _ in range(4)]
    start = threading.Barrier(len(engines))
    found: list[list[bytes]] = [[] for _ in engines]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        keys = SealingKeys(engines[index], masters)
        try:
            start.wait()
            for tender in tenders:
                found[index].append(keys.tender_key(tender, AT))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for made in engines:
        made.dispose()

    assert errors == []
    assert all(keys == found[0] for keys in found)
    assert len(set(found[0])) == len(tenders)
    assert all(len(key) == 32 for key in found[0])
    engine = fresh_store.sync_engine()
    try:
        with engine.connect() as connection:
            count = connection.execute(select(func.count()).select_from(sealing_keys)).scalar()
        assert count == len(tenders)
    finally:
        engine.dispose()


def test_a_service_key_is_dated_by_the_clock_it_is_given(engine: Engine) -> None:
    keys = SealingKeys(engine, master(), ManualClock(AT))
    keys.outbox_key()
    keys.tender_key(TENDER_AT_ITS_OWN_TIME, AT + timedelta(days=1))
    with engine.connect() as connection:
        found = connection.execute(select(sealing_keys.c.key_id, sealing_keys.c.created_at))
        dated = {key_id: created_at for key_id, created_at in found}
    assert dated[SERVICE_KEY_IDS["outbox"]] == AT
    assert dated[TENDER_AT_ITS_OWN_TIME] == AT + timedelta(days=1)  # a moment given wins


def test_threads_sharing_one_instance_get_one_service_key(engine: Engine) -> None:
    keys = SealingKeys(engine, master())
    start = threading.Barrier(6)
    found: list[bytes] = []

    def work() -> None:
        start.wait()
        found.append(keys.index_key())

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 6
    assert len(set(found)) == 1


def test_service_keys_are_random_rows_never_derived_from_the_master(fresh_store: Store) -> None:
    masters = master()
    engine = fresh_store.sync_engine()
    try:
        keys = SealingKeys(engine, masters)
        service = (keys.index_key(), keys.header_key(), keys.outbox_key())
        again = SealingKeys(engine, masters)  # a new process: from the rows, not its memory
        assert (again.index_key(), again.header_key(), again.outbox_key()) == service
        assert len(set(service)) == 3
        rows = stored_rows(engine)
    finally:
        engine.dispose()
    assert {(key_id, purpose) for key_id, purpose, _, _ in rows} == {
        (SERVICE_KEY_IDS[purpose], purpose) for purpose in ("index", "header", "outbox")
    }
    for _, _, wrapped, wrapped_by in rows:
        assert wrapped_by == masters.current_fingerprint
        assert not any(key in wrapped for key in service)  # stored wrapped, never plain
        assert masters.current not in wrapped


def test_another_database_under_the_same_master_has_other_keys(
    fresh_store: Store, tmp_path: Path
) -> None:
    masters = master()
    other_store = SQLiteStore(tmp_path / "other")
    other_store.migrate(event_logs=[])
    engine, other = fresh_store.sync_engine(), other_store.sync_engine()
    try:
        tender = uuid.uuid4()
        first, second = SealingKeys(engine, masters), SealingKeys(other, masters)
        assert first.header_key() != second.header_key()
        assert first.tender_key(tender) != second.tender_key(tender)
    finally:
        engine.dispose()
        other.dispose()


def test_a_rotation_rewraps_every_key_under_the_new_master(engine: Engine) -> None:
    old_master, new_master = master(), master()
    tender = uuid.uuid4()
    before = SealingKeys(engine, old_master)
    tender_key, header_key = before.tender_key(tender, AT), before.header_key()

    # The new master configured, the old one not yet given: nothing opens.
    with pytest.raises(SealingKeyMissing, match="is not configured") as missing:
        SealingKeys(engine, new_master).tender_key(tender)
    assert old_master.current_fingerprint in str(missing.value)
    assert "lost master key" in str(missing.value)
    assert str(tender) not in str(missing.value)

    # During the rotation: the new master current, the old one kept to unwrap.
    rotating = MasterKeys(new_master.current, (old_master.current,))
    during = SealingKeys(engine, rotating)
    assert during.tender_key(tender) == tender_key
    assert during.header_key() == header_key
    assert during.rewrap() == 2
    assert during.rewrap() == 0
    assert {row[3] for row in stored_rows(engine)} == {new_master.current_fingerprint}

    # After it: the old master is dropped, every key still opens; the old one alone no longer.
    after = SealingKeys(engine, new_master)
    assert after.tender_key(tender) == tender_key
    assert after.header_key() == header_key
    with pytest.raises(SealingKeyMissing):
        SealingKeys(engine, old_master).header_key()


def test_a_rotation_missing_an_old_key_changes_nothing(engine: Engine) -> None:
    first, second, third = master(), master(), master()
    SealingKeys(engine, first).tender_key(uuid.uuid4(), AT)
    SealingKeys(engine, MasterKeys(second.current, (first.current,))).header_key()
    rows = stored_rows(engine)
    assert {row[3] for row in rows} == {first.current_fingerprint, second.current_fingerprint}

    # Only the second master is given as old: the first's row cannot be opened.
    with pytest.raises(SealingKeyMissing):
        SealingKeys(engine, MasterKeys(third.current, (second.current,))).rewrap()
    assert stored_rows(engine) == rows


def test_an_altered_wrapping_is_refused(engine: Engine) -> None:
    masters = master()
    tender = uuid.uuid4()
    SealingKeys(engine, masters).tender_key(tender, AT)
    with engine.begin() as connection:
        wrapped = connection.execute(
            select(sealing_keys.c.wrapped).where(sealing_keys.c.key_id == tender)
        ).scalar_one()
        flipped = bytes(wrapped[:-1]) + bytes([wrapped[-1] ^ 1])
        connection.execute(
            update(sealing_keys).where(sealing_keys.c.key_id == tender).values(wrapped=flipped)
        )
    with pytest.raises(SealingError, match="altered"):
        SealingKeys(engine, masters).tender_key(tender)


def test_a_tender_key_is_bound_to_its_own_row(engine: Engine) -> None:
    """A wrapped key copied to another tender's row does not open there (aad: id, purpose)."""
    masters = master()
    first, second = uuid.uuid4(), uuid.uuid4()
    keys = SealingKeys(engine, masters)
    keys.tender_key(first, AT)
    keys.tender_key(second, AT)
    with engine.begin() as connection:
        wrapped = connection.execute(
            select(sealing_keys.c.wrapped).where(sealing_keys.c.key_id == first)
        ).scalar_one()
        connection.execute(
            update(sealing_keys).where(sealing_keys.c.key_id == second).values(wrapped=wrapped)
        )
    with pytest.raises(SealingError):
        SealingKeys(engine, masters).tender_key(second)


def test_reserved_ids_are_not_tenders(engine: Engine) -> None:
    keys = SealingKeys(engine, master())
    for reserved in SERVICE_KEY_IDS.values():
        with pytest.raises(ValueError, match="reserved"):
            keys.tender_key(reserved)


def test_unsettled_tenders_oldest_first_until_settled(engine: Engine) -> None:
    keys = SealingKeys(engine, master())
    late, early, middle = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    keys.ensure_tender_key(late, AT + timedelta(days=2))
    keys.ensure_tender_key(early, AT)
    keys.ensure_tender_key(middle, AT + timedelta(days=1))
    keys.ensure_tender_key(early, AT + timedelta(days=9))  # exists: nothing changes
    keys.index_key()  # service keys are never tenders

    assert keys.unsettled_tenders() == [early, middle, late]
    keys.settle(middle, AT + timedelta(days=3))
    keys.settle(middle, AT + timedelta(days=4))  # the first settlement stands
    assert keys.unsettled_tenders() == [early, late]
    with engine.connect() as connection:
        row = connection.execute(select(sealing_keys).where(sealing_keys.c.key_id == middle)).one()
    assert row.settled_at == AT + timedelta(days=3)
    assert row.created_at == AT + timedelta(days=1)
    assert row.purpose == "tender"
    # A settled tender's key still opens its bids.
    assert SealingKeys(engine, keys.master).existing_tender_key(middle) == keys.tender_key(middle)


def test_the_clock_s_rows_are_the_unsettled_ones_not_seen_to_be_later(engine: Engine) -> None:
    """`unsettled_tenders(due_by)`: never looked at, or a deadline seen not after `due_by` (the
    last one seen: an extended deadline replaces the earlier); a settled key's deadline seen is
    never written."""
    keys = SealingKeys(engine, master())
    unseen, later, earlier, extended, settled = (uuid.uuid4() for _ in range(5))
    for n, key_id in enumerate((unseen, later, earlier, extended, settled)):
        keys.ensure_tender_key(key_id, AT + timedelta(minutes=n))
    keys.saw_deadlines({later: AT + timedelta(days=30), earlier: AT + timedelta(days=10)})
    keys.saw_deadlines({extended: AT + timedelta(days=10)})
    keys.saw_deadlines({extended: AT + timedelta(days=30)})
    keys.saw_deadlines({})
    keys.settle(settled, AT)
    keys.saw_deadlines({settled: AT + timedelta(days=30)})

    assert keys.unsettled_tenders(due_by=AT) == [unseen]
    assert keys.unsettled_tenders(due_by=AT + timedelta(days=10)) == [unseen, earlier]
    assert keys.unsettled_tenders(due_by=AT + timedelta(days=30)) == [
        unseen,
        later,
        earlier,
        extended,
    ]
    assert keys.unsettled_tenders() == [unseen, later, earlier, extended]
    with engine.connect() as connection:
        seen = dict(
            connection.execute(select(sealing_keys.c.key_id, sealing_keys.c.deadline_seen)).all()
        )
    assert (seen[settled], seen[unseen]) == (None, None)
    assert seen[later] == seen[extended] == AT + timedelta(days=30)


def test_existing_tender_key_never_makes_one(engine: Engine) -> None:
    keys = SealingKeys(engine, master())
    assert keys.existing_tender_key(uuid.uuid4()) is None
    assert stored_rows(engine) == []


def test_bid_ids_are_keyed_hashes_shaped_as_uuid4(engine: Engine) -> None:
    keys = SealingKeys(engine, master())
    ids = KeyedBidIds(keys)
    tender, lead, organisation = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    bid = ids.bid_id(tender, "lot-1", lead)
    expected = hmac.new(
        keys.tender_key(tender), f"bid:{tender}:lot-1:{lead}".encode(), hashlib.sha256
    ).digest()[:16]
    assert bid.version == 4
    assert bid.variant == uuid.RFC_4122
    # All but the version and variant bits are the HMAC's.
    assert bid.bytes[:6] == expected[:6]
    assert bid.bytes[9:] == expected[9:]
    assert ids.bid_id(tender, "lot-1", lead) == bid
    others = {
        ids.bid_id(tender, "lot-2", lead),
        ids.bid_id(tender, "lot-1", organisation),
        ids.bid_id(uuid.uuid4(), "lot-1", lead),
        ids.box_id(tender),
        ids.index_id(lead),
    }
    assert bid not in others
    assert len(others) == 5
    assert ids.box_id(tender).version == 4
    index = hmac.new(keys.index_key(), f"index:{organisation}".encode(), hashlib.sha256).digest()
    assert ids.index_id(organisation).bytes[9:] == index[9:16]
    # Nobody without the key recomputes them, as anyone could a uuid5.
    assert bid not in {
        uuid.uuid5(tender, f"{lead}:lot-1"),
        uuid.uuid5(uuid.NAMESPACE_OID, str(lead)),
    }


def test_master_key_fingerprints() -> None:
    key = bytes(range(32))
    assert fingerprint(key) == hashlib.sha256(b"tradehall-master:" + key).hexdigest()[:16]
    masters = MasterKeys(os.urandom(32), (key,))
    assert masters.fingerprints == (fingerprint(masters.current), fingerprint(key))
    assert masters.by_fingerprint(fingerprint(key)) == key
    assert masters.by_fingerprint("0" * 16) is None
    assert key.hex() not in repr(masters)
    with pytest.raises(ValueError, match="32 bytes"):
        MasterKeys(b"short")


def test_master_keys_from_settings(tmp_path: Path) -> None:
    current, old = new_key_text(), new_key_text()
    base = Settings(environment="embedded", database_url=None, data_dir=tmp_path, jwt_secret="s")
    given = MasterKeys.from_settings(
        replace(base, sealing_key=current, sealing_old_keys=(old, current))
    )
    assert given.current == sealing_key_bytes(current, "x")
    assert given.old == (sealing_key_bytes(old, "x"),)  # the current key is no old key

    key_file = tmp_path / "master"
    key_file.write_text(current + "\n", encoding="utf-8")
    from_file = MasterKeys.from_settings(replace(base, sealing_key_file=key_file))
    assert from_file.current == given.current

    # Neither given, embedded: the data directory's own key, made once, private.
    embedded = MasterKeys.from_settings(base)
    assert MasterKeys.from_settings(base) == embedded
    assert (tmp_path / "sealing-key").stat().st_mode & 0o077 == 0

    with pytest.raises(SettingsError, match="production"):
        MasterKeys.from_settings(replace(base, environment="production"))
    with pytest.raises(SettingsError, match="TRADEHALL_SEALING_OLD_KEYS"):
        MasterKeys.from_settings(replace(base, sealing_old_keys=("nope",)))


def test_the_command_line_makes_keys_and_rotates(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(main, ["sealing", "new-key"])
    assert made.exit_code == 0, made.output
    old_key = made.output.strip()
    assert len(sealing_key_bytes(old_key, "new-key")) == 32
    new_key = runner.invoke(main, ["sealing", "new-key"]).output.strip()
    assert new_key != old_key

    data_dir = tmp_path / "data"
    store = SQLiteStore(data_dir)
    store.migrate()
    engine = store.sync_engine()
    try:
        old_master = MasterKeys(sealing_key_bytes(old_key, "old"))
        tender = uuid.uuid4()
        tender_key = SealingKeys(engine, old_master).tender_key(tender, AT)
        env = env_for(data_dir)

        refused = runner.invoke(
            main, ["sealing", "rotate"], env=env | {"TRADEHALL_SEALING_KEY": new_key}
        )
        assert refused.exit_code == 1
        assert "nothing changed" in refused.output
        assert "is not configured" in refused.output

        rotated = runner.invoke(
            main,
            ["sealing", "rotate"],
            env=env | {"TRADEHALL_SEALING_KEY": new_key, "TRADEHALL_SEALING_OLD_KEYS": old_key},
        )
        assert rotated.exit_code == 0, rotated.output
        new_master = MasterKeys(sealing_key_bytes(new_key, "new"))
        assert f"re-wrapped 1 keys under the master key {new_master.current_fingerprint}" in (
            rotated.output
        )
        assert new_key not in rotated.output
        assert old_key not in rotated.output
        assert SealingKeys(engine, new_master).tender_key(tender) == tender_key
    finally:
        engine.dispose()
