"""The stores: everything that differs between SQLite and PostgreSQL lives in this package.

No other module branches on them. Two stores: the embedded default (SQLite files in a data
directory, sqlite.py) and PostgreSQL (postgres.py). Each provides the eventsourcing settings for
an Application, the SQLAlchemy URLs for migrations and async reads, and recorders that run "side
writes" (SQLAlchemy Core statements, such as the user row written at registration) in the same
transaction as the events they accompany (side_writes.py); wakeups.py is what wakes the
projector, base.py what every store does alike, migrations.py runs Alembic.
"""

from __future__ import annotations

from pathlib import Path

from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore
from tradehall.store.sqlite import SQLiteStore


def store_from_settings(database_url: str | None, data_dir: Path) -> Store:
    if database_url:
        return PostgresStore(database_url)
    return SQLiteStore(data_dir)
