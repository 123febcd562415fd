"""The Alembic migrations create exactly the tables the code declares, on both stores."""

from __future__ import annotations

import alembic.util
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from projections.tables import metadata as read_side
from tradehall.identity.tables import metadata as identity
from tradehall.mail.tables import metadata as mail
from tradehall.marketplace.alerts.tables import metadata as alerts
from tradehall.marketplace.outside.tables import metadata as outside
from tradehall.marketplace.sealing.tables import metadata as sealing
from tradehall.payments.tables import metadata as payments
from tradehall.store.base import Store


@pytest.mark.fresh_store
def test_migrated_schema_matches_the_declared_tables(store: Store) -> None:
    store.migrate()
    engine = store.sync_engine()
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "include_name": lambda name, type_, parent: (
                        type_ != "table"
                        or name in identity.tables
                        or name in read_side.tables
                        or name in payments.tables
                        or name in mail.tables
                        or name in sealing.tables
                        or name in outside.tables
                        or name in alerts.tables
                    )
                },
            )
            differences = compare_metadata(
                context, [identity, read_side, payments, mail, sealing, outside, alerts]
            )
    finally:
        engine.dispose()
    assert differences == []


def test_a_store_at_the_head_is_prepared_without_reading_a_revision_file(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each start of the API prepares its store (SQLite: migrate; PostgreSQL: check the
    schema). At the head, once the process has read the revisions, no file is read again."""
    store.prepare_for_serving()
    read: list[str] = []
    load_python_file = alembic.util.load_python_file

    def reading(directory: str, filename: str) -> object:
        read.append(filename)
        return load_python_file(directory, filename)

    monkeypatch.setattr(alembic.util, "load_python_file", reading)
    store.prepare_for_serving()
    assert store.schema_is_current().ok
    assert read == []
