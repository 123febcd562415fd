"""The scale generator (bench/scale_data.py, issue 19) is repeatable: the same seed records the
same events, in the same order, through the Applications; another seed records others."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from bench.scale_data import load
from sqlalchemy import make_url

from tests.conftest import admin_database_url

pytestmark = pytest.mark.postgres
LOGS = ("membership", "marketplace")
_COLUMNS = "SELECT originator_id, originator_version, topic, state FROM events."
IN_ORDER = {log: _COLUMNS + log + "_events ORDER BY notification_id" for log in LOGS}


@pytest.fixture
def empty_url() -> Iterator[str]:
    """A database of its own (the generator's ids are seeded: they would clash in a shared
    one) with its event logs' schema, dropped at the end. Not migrated (slow on a busy machine):
    the Applications make their own event tables, all the generator writes to."""
    admin = make_url(admin_database_url()).set(drivername="postgresql")
    name = f"tradehall_test_scale_{uuid.uuid4().hex[:10]}"
    admin_dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("CREATE SCHEMA events")
        yield url
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def recorded(url: str) -> dict[str, str]:
    """Each log's events in order (id, version, topic, stored state), as one digest."""
    digests = {}
    with psycopg.connect(url, autocommit=True) as connection:
        for log in LOGS:
            digest = hashlib.sha256()
            rows = connection.execute(IN_ORDER[log])
            for originator_id, version, topic, state in rows:
                digest.update(f"{originator_id}|{version}|{topic}|".encode())
                digest.update(bytes(state))
            digests[log] = digest.hexdigest()
    return digests


def emptied(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("TRUNCATE events.membership_events, events.marketplace_events")


def test_the_same_seed_records_the_same_events_and_another_seed_others(empty_url: str) -> None:
    first = load(empty_url, orgs=60, tenders=12, seed=7, create_tables=True)
    first_events = recorded(empty_url)
    emptied(empty_url)
    again = load(empty_url, orgs=60, tenders=12, seed=7, create_tables=True)
    assert recorded(empty_url) == first_events
    assert again["counts"] == first["counts"]
    counts = first["counts"]
    assert counts["buyers"] == 1
    assert sum(v for k, v in counts.items() if k.startswith("members_")) == 59
    assert sum(v for k, v in counts.items() if k.startswith("tenders_")) == 12
    emptied(empty_url)
    load(empty_url, orgs=60, tenders=12, seed=8, create_tables=True)
    other = recorded(empty_url)
    assert all(other[log] != first_events[log] for log in LOGS)
