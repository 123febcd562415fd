"""What a reader of the database sees of one tender's (or request's) sealed work: the rows a
tick writes, as tables and the size of each value, so tests can check that 0, 1 and 3 bids
write the same (ADR 27). Shared by the amendment, ending and cancellation batch tests."""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

from sqlalchemy import select, text

from tests.api.helpers import services_of
from tests.conftest import AppClient
from tradehall.mail.outbox import message_id_for
from tradehall.mail.tables import outbox_messages

Rows = Counter[tuple[str, Any]]


async def sealed_rows(client: AppClient, owner: UUID, batch: str, sealed_ids: list[UUID]) -> Rows:
    """Every row of the main file's tables on SQLite (the test's own database); on PostgreSQL
    (shared by the run) the rows of `owner`'s: its key, the bids log's events of `sealed_ids`
    (its box and its bids or quotes), and the outbox rows whose message id starts `batch`."""
    services = services_of(client)
    engine = services.sealing.engine
    rows: Rows = Counter()

    def read() -> None:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                names = connection.scalars(
                    text("SELECT name FROM sqlite_master WHERE type = 'table'")
                ).all()
                for name in names:
                    query = text(f'SELECT * FROM "{name}"')  # noqa: S608 (its own names)
                    for row in connection.execute(query):
                        rows[(name, tuple(row))] += 1
                return
            found = connection.execute(
                text("SELECT * FROM events.bids_events WHERE originator_id = ANY(:ids)"),
                {"ids": sealed_ids},
            )
            for row in found:
                rows[("bids_events", tuple(row))] += 1
            keys = text("SELECT * FROM sealing_keys WHERE key_id = :id")
            for row in connection.execute(keys, {"id": owner}):
                rows[("sealing_keys", tuple(row))] += 1
            outbox = select(outbox_messages).where(outbox_messages.c.message_id.startswith(batch))
            for row in connection.execute(outbox):
                rows[("outbox_messages", tuple(row))] += 1

    await services.run(read)
    return rows


def shape(rows: Rows) -> list[tuple[str, tuple[int, ...]]]:
    """Each row as its table and the size of each value: what a reader counting rows sees."""
    return sorted(
        (table, tuple(_size(value) for value in row))
        for (table, row), count in rows.items()
        for _ in range(count)
    )


def _size(value: Any) -> int:
    if value is None:
        return -1
    return len(value) if isinstance(value, bytes | memoryview) else len(str(value))


async def batch_rows(client: AppClient, owner: UUID, version: int, template: str) -> list[Any]:
    """The outbox rows of the batch `template` wrote for `owner`'s event `version` (its first
    row's id, and any further parts: ":2", ":3"... before the closing ">")."""
    first = message_id_for(owner, version, template)
    query = select(outbox_messages).where(outbox_messages.c.message_id.startswith(first[:-1]))
    async with services_of(client).engine.connect() as connection:
        return list(await connection.execute(query))


def sealed_size(row: Any) -> int:
    """A batch row's sealed size, once it is seen to hold nothing in the clear: no template,
    organisation, recipient or body outside its ciphertext."""
    assert (row.template, row.organisation_id, row.recipient, row.body) == (
        "sealed",
        None,
        None,
        "",
    )
    return len(row.sealed)
