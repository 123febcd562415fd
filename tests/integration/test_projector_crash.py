"""A projector killed with SIGKILL mid-batch, then restarted, ends where a clean rebuild does."""

from __future__ import annotations

import logging
import os
import random
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner, Result

from membership.application import MembershipApp
from projections.events import EventSource
from projections.registry import all_projections
from projections.runner import BatchProjector
from tests.integration.projection_fixtures import seed, snapshot
from tests.integration.test_projector import database_of_its_own
from tradehall.cli import main
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore
from tradehall.store.sqlite import SQLiteStore


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The API tests share the session's database: these seeded organisations stay out of it.
    SQLite's files are a copy of the process's migrated ones (migrating costs ~0.4 s)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("migrated_sqlite_files")
        shutil.copytree(template, tmp_path / "data")
        yield SQLiteStore(tmp_path / "data")
        return
    with database_of_its_own() as store:
        yield store


@pytest.fixture
def membership(store: Store) -> Iterator[MembershipApp]:
    store.migrate()
    app = MembershipApp(env=store.application_env("membership", pool_size=2))
    yield app
    app.close()


def env_for(store: Store) -> dict[str, str]:
    env = dict(os.environ)
    if isinstance(store, SQLiteStore):
        env |= {"TRADEHALL_DATA_DIR": str(store.data_dir), "TRADEHALL_DATABASE_URL": ""}
    else:
        assert isinstance(store, PostgresStore)
        env |= {"TRADEHALL_DATABASE_URL": store.url.render_as_string(hide_password=False)}
    return env


def tradehall(store: Store, *args: str) -> Result:
    """`tradehall ARGS` on the store, in this process (only the crash needs a process of its
    own: a process's start-up costs ~2.5 s), its logging set-up undone afterwards."""
    keys = ("TRADEHALL_DATA_DIR", "TRADEHALL_DATABASE_URL")
    env = {key: value for key, value in env_for(store).items() if key in keys}
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    try:
        return CliRunner().invoke(main, list(args), env=env)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.configure(**config)


def test_sigkill_mid_batch_then_restart_equals_a_clean_rebuild(
    store: Store, membership: MembershipApp, tmp_path: Path
) -> None:
    # About 330 events: the crash lands in the second batch of 100, after one committed.
    seed(membership, 100, random.Random(99))
    runner = BatchProjector(
        store.sync_engine(),
        {"membership": EventSource("membership", membership.recorder)},
        all_projections(),
    )
    runner.ensure_positions()
    before = {(s.projection, s.log): s.position for s in runner.status()}
    head = membership.recorder.max_notification_id() or 0
    crash_at = (
        before[("directory", "membership")] + (head - before[("directory", "membership")]) // 2
    )

    crashed = subprocess.run(
        [sys.executable, "-m", "tests.integration.crash_projector", str(crash_at)],
        env=env_for(store),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )

    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    after_crash = {(s.projection, s.log): s.position for s in runner.status()}
    # The batch before was kept, the one in flight lost whole: the directory stopped short of
    # the crash point.
    assert before[("directory", "membership")] < after_crash[("directory", "membership")]
    assert after_crash[("directory", "membership")] < crash_at

    restarted = tradehall(store, "projections", "run", "--until-caught-up")
    assert restarted.exit_code == 0, restarted.output
    recovered = snapshot(runner.engine, all_projections())
    assert all(s.lag == 0 for s in runner.status())

    rebuilt = tradehall(store, "projections", "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert snapshot(runner.engine, all_projections()) == recovered
    status = tradehall(store, "projections", "status")
    assert status.exit_code == 0, status.output
    assert "directory" in status.output
    runner.engine.dispose()
