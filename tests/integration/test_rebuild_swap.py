"""A rebuild never shows an empty or half-built view: it builds new tables and swaps them in with
one transaction. Readers see the old view, whole, until then; a failed rebuild leaves it
serving; no position moves backwards; the swapped-in tables are the ones Alembic made."""

from __future__ import annotations

import itertools
import json
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Connection, inspect, select, text
from sqlalchemy.engine import Engine

from membership.application import MembershipApp
from membership.details import RegistrationDetails
from membership.domain import Organisation
from projections.applications import ApplicationsProjection
from projections.base import Projection
from projections.directory import DirectoryProjection
from projections.events import RecordedEvent
from projections.registry import all_projections
from projections.tables import metadata as read_side
from projections.tables import projection_positions
from sharedkernel.events import Context
from tests.integration.projection_fixtures import seed, snapshot
from tests.integration.test_projector import (  # noqa: F401
    database_of_its_own,
    membership,
    projector,
    store,
)
from tradehall.cli import main
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore
from tradehall.store.sqlite import SQLiteStore

Positions = dict[tuple[str, str], int]


def positions(engine: Engine) -> Positions:
    with engine.connect() as connection:
        rows = connection.execute(select(projection_positions)).all()
    return {(row.projection, row.log): row.position for row in rows}


@pytest.fixture
def reader(store: Store) -> Iterator[Engine]:  # noqa: F811
    """Another connection pool, as the API's readers have."""
    engine = store.sync_engine()
    yield engine
    engine.dispose()


def test_readers_see_the_old_whole_view_until_the_new_one_is_swapped_in(
    store: Store,  # noqa: F811
    membership: MembershipApp,  # noqa: F811
    reader: Engine,
) -> None:
    seed(membership, 60, random.Random(31))
    projections = all_projections()
    runner = projector(store, membership, projections, rebuild_batch_size=40)
    runner.catch_up()
    before = snapshot(reader, projections)
    at = positions(reader)
    seen: list[tuple[dict[str, Any], Positions]] = []

    def between_batches(name: str, log: str, count: int) -> None:
        seen.append((snapshot(reader, projections), positions(reader)))

    runner.rebuild(progress=between_batches)

    assert len(seen) >= 2 * 4  # both projections, several batches each
    for view, where in seen:
        assert view == before  # never empty, never half-built
        assert where == at  # nor a position moved back: the API's board reads these
    assert snapshot(reader, projections) == before
    assert positions(reader) == at


class BreaksOnRebuild(DirectoryProjection):
    """The directory, failing on the events from `breaks_at` once armed (a bug, a crash)."""

    breaks_at: int | None = None

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        if self.breaks_at is not None and events[-1].position >= self.breaks_at:
            raise RuntimeError("the rebuild broke")
        super().apply(connection, events)


def test_a_rebuild_that_fails_midway_leaves_the_old_view_serving(
    store: Store,  # noqa: F811
    membership: MembershipApp,  # noqa: F811
    reader: Engine,
) -> None:
    seed(membership, 60, random.Random(32))
    directory = BreaksOnRebuild()
    projections: list[Projection] = [directory, ApplicationsProjection()]
    runner = projector(store, membership, projections, rebuild_batch_size=40)
    runner.catch_up()
    before = snapshot(reader, projections)
    at = positions(reader)
    head = membership.recorder.max_notification_id() or 0
    directory.breaks_at = head // 2

    with pytest.raises(RuntimeError, match="the rebuild broke"):
        runner.rebuild()

    assert snapshot(reader, projections) == before
    assert positions(reader) == at
    if isinstance(store, PostgresStore):
        with reader.connect() as connection:
            left = connection.execute(
                text("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rebuild_%'")
            ).scalar()
        assert left == 0  # the shadow tables are gone
    # The live view goes on, and a later rebuild succeeds.
    directory.breaks_at = None
    seed(membership, 10, random.Random(33))
    runner.catch_up()
    incremental = snapshot(reader, projections)
    runner.rebuild()
    assert snapshot(reader, projections) == incremental
    assert len(incremental["directory_members"]) > len(before["directory_members"])


def test_a_rebuild_takes_in_what_a_runner_applied_meanwhile_and_no_position_goes_back(
    store: Store,  # noqa: F811
    membership: MembershipApp,  # noqa: F811
    reader: Engine,
) -> None:
    seed(membership, 40, random.Random(34))
    projections = all_projections()
    follower = projector(store, membership, projections, batch_size=15)
    rebuilder = projector(store, membership, all_projections(), rebuild_batch_size=30)
    follower.catch_up()
    rng = random.Random(35)
    seen: list[Positions] = [positions(reader)]

    def meanwhile(name: str, log: str, count: int) -> None:
        if len(seen) < 4:  # new events, applied to the live tables during the rebuild
            seed(membership, 4, rng)
            follower.catch_up()
        seen.append(positions(reader))

    rebuilder.rebuild(progress=meanwhile)
    seen.append(positions(reader))
    rebuilt = snapshot(reader, projections)
    follower.catch_up()  # it notices it has nothing left to apply

    head = membership.recorder.max_notification_id()
    assert set(seen[-1].values()) == {head}
    for earlier, later in itertools.pairwise(seen):
        assert all(later[key] >= position for key, position in earlier.items())
    assert snapshot(reader, projections) == rebuilt
    rebuilder.rebuild()  # undisturbed, from the same log
    assert snapshot(reader, projections) == rebuilt


def schema(engine: Engine) -> dict[str, Any]:
    """The read side's tables as the database describes them: columns, keys, index names."""
    found = inspect(engine)
    described: dict[str, Any] = {}
    for name in sorted(read_side.tables):
        described[name] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in found.get_columns(name)
            ],
            "primary_key": found.get_pk_constraint(name),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in found.get_indexes(name)
            ),
            "unique": found.get_unique_constraints(name),
        }
    return described


@pytest.fixture
def fresh(store: Store, tmp_path: Path) -> Iterator[Store]:  # noqa: F811
    """Another store of the same kind, just migrated."""
    if isinstance(store, SQLiteStore):
        made = SQLiteStore(tmp_path / "fresh")
        made.migrate()
        yield made
        return
    with database_of_its_own() as made:
        yield made


def test_after_a_rebuild_the_tables_are_those_a_fresh_migration_makes(
    store: Store,  # noqa: F811
    membership: MembershipApp,  # noqa: F811
    fresh: Store,
) -> None:
    seed(membership, 20, random.Random(36))
    runner = projector(store, membership, all_projections())
    runner.catch_up()

    runner.rebuild()

    fresh_engine = fresh.sync_engine()
    try:
        assert schema(runner.engine) == schema(fresh_engine)
    finally:
        fresh_engine.dispose()
    assert store.schema_is_current().ok
    with runner.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_name": lambda name, kind, _: kind != "table" or name in read_side.tables
            },
        )
        assert compare_metadata(context, read_side) == []


def test_a_rebuild_drops_the_shadow_schema_of_a_rebuild_that_died_not_of_one_at_work() -> None:
    # PostgreSQL alone: SQLite's shadow tables are TEMP tables, gone with their connection.
    with database_of_its_own() as postgres:
        app = MembershipApp(env=postgres.application_env("membership", pool_size=2))
        seed(app, 5, random.Random(37))
        runner = projector(postgres, app, all_projections())
        runner.catch_up()
        lock = "SELECT pg_advisory_lock(x'7468'::int, hashtext(:schema))"
        try:
            with runner.engine.connect() as at_work:
                for schema in ("rebuild_died", "rebuild_at_work"):
                    at_work.execute(text(f"CREATE SCHEMA {schema}"))
                    at_work.execute(text(f"CREATE TABLE {schema}.directory_members (x int)"))
                at_work.execute(text(lock), {"schema": "rebuild_at_work"})
                at_work.commit()

                runner.rebuild()

                left = at_work.execute(
                    text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild_%'")
                ).scalars()
                assert sorted(left) == ["rebuild_at_work"]
        finally:
            runner.engine.dispose()
            app.close()


def record_without_a_name(app: MembershipApp) -> uuid.UUID:
    """A registration stored without its name (an older version, another writer): the
    directory leaves it out (ADR 16), so a rebuild of it refuses. Its organisation's id."""
    context = Context("system", "nameless", datetime(2026, 3, 2, tzinfo=UTC))
    details = RegistrationDetails.parse(
        name="Nameless",
        kind="social_enterprise",
        legal_form="sole_trader_or_partnership",
        registry_scheme=None,
        registry_id=None,
        social_purpose="x",
        regions=["TLC"],
        cpv_codes=["45000000-7"],
    )
    organisation = Organisation.register(context, uuid.uuid4(), details, uuid.uuid4())
    stored = app.mapper.to_stored_event(organisation.collect_events()[0])
    payload = json.loads(stored.state)
    del payload["name"]
    app.recorder.insert_events([replace(stored, state=json.dumps(payload).encode())])
    return organisation.id


def test_tradehall_projections_rebuild_that_fails_says_so_and_the_directory_serves_on(
    store: Store,  # noqa: F811
    membership: MembershipApp,  # noqa: F811
    reader: Engine,
) -> None:
    seed(membership, 30, random.Random(38))
    runner = projector(store, membership, all_projections())
    runner.catch_up()
    runner.engine.dispose()
    before = snapshot(reader, all_projections())
    at = positions(reader)
    # An event the directory leaves out: the rebuild would swap in a view without it, and the
    # same is what a bug in the directory's code makes of every event it raises on
    # (tests/integration/test_rebuild_left_out_events.py): it refuses.
    nameless = record_without_a_name(membership)
    if isinstance(store, PostgresStore):
        env = {"TRADEHALL_DATABASE_URL": store.url.render_as_string(hide_password=False)}
    else:
        assert isinstance(store, SQLiteStore)
        env = {"TRADEHALL_DATABASE_URL": "", "TRADEHALL_DATA_DIR": str(store.data_dir)}

    result = CliRunner().invoke(main, ["projections", "rebuild", "directory"], env=env)

    said = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert "the rebuild of directory would leave events out (directory left out 1 event: " in said
    assert f"Organisation.Registered of {nameless} v1: not what the domain writes ('name')" in said
    assert "nothing was swapped in, the old view still serves" in said
    assert "--leave-out-odd-events" in said
    assert snapshot(reader, all_projections()) == before
    now = positions(reader)  # (the command added the notice writer's row, at 0)
    assert {key: now[key] for key in at} == at

    # Told to, it swaps in the directory without the event, as the live path shows it.
    result = CliRunner().invoke(
        main, ["projections", "rebuild", "directory", "--leave-out-odd-events"], env=env
    )

    said = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "rebuilt directory from " in said
    assert "directory left out 1 event: membership:" in said
    assert f"of {nameless} v1: not what the domain writes ('name') (swapped in without" in said
    directory = [DirectoryProjection()]
    assert snapshot(reader, directory) == {t: before[t] for t in snapshot(reader, directory)}
    head = membership.recorder.max_notification_id()
    assert positions(reader)[("directory", "membership")] == head
