"""The clock's purge (`sessions.purge_expired`) deletes one-use tokens past their expiry each
tick: its DELETE must be able to find them by an index on both stores, not scan every token
kept (account links live up to 14 days, refresh tokens a sign-in's lifetime)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Table, delete

from tradehall.identity.tables import account_tokens, pending_registrations, refresh_tokens
from tradehall.store.base import Store

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "table", [account_tokens, refresh_tokens, pending_registrations], ids=lambda t: t.name
)
def test_the_purge_of_expired_tokens_uses_an_index(store: Store, table: Table) -> None:
    compiled_for = delete(table).where(table.c.expires_at < NOW)
    engine = store.sync_engine()
    try:
        compiled = compiled_for.compile(dialect=engine.dialect)
        params: object = (
            tuple(compiled.params[name] for name in compiled.positiontup or ())
            if compiled.positional
            else compiled.params
        )
        with engine.begin() as connection:
            if store.name == "postgresql":
                # A table of a test's few rows is scanned whatever its indexes: say whether
                # an index can serve, as it would for a table of many.
                connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
                explain = "EXPLAIN "
            else:
                explain = "EXPLAIN QUERY PLAN "
            plan = " ".join(
                str(row[-1])
                for row in connection.exec_driver_sql(explain + str(compiled), params)  # type: ignore[arg-type]
            )
            connection.rollback()
    finally:
        engine.dispose()

    assert f"ix_{table.name}_expires_at" in plan, plan
