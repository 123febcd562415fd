"""The suite's own stores: what the fixtures set up beside the service's choices."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from tests.conftest import POSTGRES_TEMPLATE
from tests.database_state import state_of
from tradehall.store.migrations import alembic_heads


def test_the_runs_postgresql_database_commits_without_waiting_for_the_disk(
    postgres_url: str,
) -> None:
    with psycopg.connect(postgres_url) as connection:
        setting = connection.execute("SHOW synchronous_commit").fetchone()
    assert setting == ("off",)


@contextmanager
def copy_connected(prefix: str) -> Iterator[tuple[str, psycopg.Connection[Any]]]:
    """A copy of the template (its URL), and a connection to it."""
    with (
        POSTGRES_TEMPLATE.copy(prefix) as url,
        psycopg.connect(url, autocommit=True) as connection,
    ):
        yield url, connection


def database_oid(connection: psycopg.Connection[Any]) -> int:
    [(oid,)] = connection.execute(
        "SELECT oid FROM pg_database WHERE datname = current_database()"
    ).fetchall()
    return oid


def test_a_database_given_back_is_the_next_ones_in_the_templates_state_under_a_new_name() -> None:
    with copy_connected("tradehall_given") as (url, connection):
        first = database_oid(connection)
        connection.execute("UPDATE alembic_version SET version_num = 'elsewhere'")
        connection.execute("INSERT INTO alembic_version VALUES ('another')")
        connection.execute("SELECT nextval('events.bids_events_notification_id_seq')")
        connection.execute("CREATE TABLE events.extra_events (id int)")
        connection.execute("CREATE FUNCTION events.extra() RETURNS int AS 'SELECT 1' LANGUAGE sql")
        held = psycopg.connect(url)  # left open, as a leaked pool's would be
    with pytest.raises(psycopg.OperationalError):
        held.execute("SELECT 1")
    held.close()
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(url)
    with copy_connected("tradehall_given") as (again, connection):
        assert again != url
        assert database_oid(connection) == first
        assert state_of(connection) == POSTGRES_TEMPLATE._state
        versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        assert versions == [(head,) for head in alembic_heads()]
        position = connection.execute("SELECT nextval('events.bids_events_notification_id_seq')")
        assert position.fetchone() == (1,)


def test_a_database_whose_schema_a_test_changed_is_dropped_not_given_again() -> None:
    with copy_connected("tradehall_changed") as (_, connection):
        changed = database_oid(connection)
        connection.execute("ALTER TABLE alembic_version ADD COLUMN extra int")
    with copy_connected("tradehall_changed") as (_, connection):
        assert database_oid(connection) != changed
        assert state_of(connection) == POSTGRES_TEMPLATE._state
    with psycopg.connect(POSTGRES_TEMPLATE._admin_dsn()) as admin:
        left = admin.execute("SELECT count(*) FROM pg_database WHERE oid = %s", (changed,))
        assert left.fetchone() == (0,)
