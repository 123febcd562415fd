"""What a projection is: a name, the logs it reads, its tables, and how it applies a batch.

`Projection` is the general shape. `RowPerAggregate` is the usual one: a row a key in one
table, made by the aggregate's first event and changed by some later ones; a read model on it
writes only its mapping (`create`, `change`, and any `children` a first event brings), and the
base does the rest of a batch: pick the events it handles, load the rows they touch, fold,
write back (projections.folding).
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Iterable, Sequence
from typing import ClassVar, Protocol
from uuid import UUID

from sqlalchemy import Connection, Table

from projections.events import RecordedEvent
from projections.folding import (
    Row,
    clear_tables,
    delete_rows,
    insert_rows,
    load_touched,
    save_rows,
)

MARKETPLACE, MEMBERSHIP = "marketplace", "membership"


class Projection(abc.ABC):
    name: str
    logs: tuple[str, ...]
    # Its own tables, children before parents. A rebuild builds them anew beside the live
    # ones and swaps them in (projections.shadow): `apply` names them unqualified, as
    # SQLAlchemy and `projections.folding` do, and touches no other table it writes.
    tables: tuple[Table, ...]
    # False for a projection whose rows are a record rather than a view (the outbox).
    rebuildable: bool = True

    @abc.abstractmethod
    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        """Apply a batch of one log's events, in order, inside the caller's transaction.

        The events are shared with the other projections that follow the log: read them,
        never change them (nor their `data`).
        """

    def clear(self, connection: Connection) -> None:
        clear_tables(connection, self.tables)


class RowPerAggregate(Projection):
    """One row an aggregate in `table`, keyed by its id (the table's one-column primary key);
    `child_tables` hold rows its first event makes beside it. `tables` follows from these."""

    table: ClassVar[Table]
    child_tables: ClassVar[tuple[Table, ...]] = ()
    key: ClassVar[str]
    # The aggregate's first event, which makes its row; and the later events that change it.
    created_by: ClassVar[str]
    changed_by: ClassVar[frozenset[str]]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "table" in cls.__dict__:
            (cls.key,) = [column.name for column in cls.table.primary_key]
            cls.tables = (*cls.child_tables, cls.table)

    @abc.abstractmethod
    def create(self, event: RecordedEvent) -> Row:
        """The row the aggregate's first event makes."""

    @abc.abstractmethod
    def change(self, row: Row, event: RecordedEvent) -> None:
        """Change the row (in place) as a later event says."""

    def children(self, event: RecordedEvent) -> Iterable[tuple[Table, Iterable[Row]]]:
        """Rows of other tables the first event makes, a table at a time (none by default)."""
        return ()

    def replaced_children(self, event: RecordedEvent) -> Iterable[tuple[Table, Iterable[Row]]]:
        """For a later event: the aggregate's rows of each child table it names, whole (they
        replace the rows there, keyed by the table's `key` column). None by default."""
        return ()

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        first, later = self.created_by, self.changed_by
        relevant = [e for e in events if e.name == first or e.name in later]
        if not relevant:
            return
        rows, created = load_touched(connection, self.table, self.key, relevant, first)
        # Each child table's new rows, by aggregate; and the aggregates whose stored rows a
        # later event replaced (deleted before the new rows go in).
        children: dict[Table, dict[UUID, list[Row]]] = {}
        replaced: dict[Table, set[UUID]] = {}
        for event in relevant:
            aggregate_id = event.originator_id
            if event.name == first:
                rows[aggregate_id] = self.create(event)
                # An aggregate's first event, applied once: its child rows are new.
                for table, new in self.children(event):
                    children.setdefault(table, {}).setdefault(aggregate_id, []).extend(new)
                continue
            row = rows.get(aggregate_id)
            if row is None:  # an aggregate made before the log began
                continue
            self.change(row, event)
            for table, new in self.replaced_children(event):
                children.setdefault(table, {})[aggregate_id] = list(new)
                if aggregate_id not in created:
                    replaced.setdefault(table, set()).add(aggregate_id)
        save_rows(connection, self.table, self.key, rows, created=created)
        for table in self.child_tables:
            delete_rows(connection, table, self.key, replaced.get(table, set()))
            insert_rows(
                connection, table, [r for new in children.get(table, {}).values() for r in new]
            )


class _Folder(Protocol):
    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None: ...


class BesideOrganisations(Projection):
    """A marketplace read model that keeps what it shows of organisations beside its own rows:
    the membership log's events go to `organisations`, the marketplace log's events it handles
    (`marketplace_events`) to `apply_marketplace`."""

    logs = (MARKETPLACE, MEMBERSHIP)
    organisations: _Folder
    marketplace_events: Collection[str]

    @abc.abstractmethod
    def apply_marketplace(self, connection: Connection, events: list[RecordedEvent]) -> None:
        """Apply the batch's marketplace events this projection handles, in order."""

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        members = [e for e in events if e.log == MEMBERSHIP]
        if members:
            self.organisations.apply(connection, members)
        mine = [e for e in events if e.log == MARKETPLACE and e.name in self.marketplace_events]
        if mine:
            self.apply_marketplace(connection, mine)
