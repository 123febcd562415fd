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
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Protocol
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Integer,
    Numeric,
    String,
    Table,
    Uuid,
)

from projections.events import RecordedEvent, leave_out
from projections.folding import (
    Row,
    clear_tables,
    delete_rows,
    distinct_rows,
    insert_rows,
    load_touched,
    save_rows,
)
from sharedkernel.sqltypes import UtcDateTime

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
        loaded = {key: dict(row) for key, row in rows.items()}
        fold = _Fold(rows)
        # Quickly, as the domain writes them; then again, an event at a time and each checked,
        # for the aggregates an event of which was not (a payload or row that does not fit).
        odd = self._fold(fold, relevant, created, checked=False)
        odd |= fold.unfit(self.table)
        if odd:
            for aggregate_id in odd:
                fold.restore(aggregate_id, loaded.get(aggregate_id))
            again = [e for e in relevant if e.originator_id in odd]
            self._fold(fold, again, created, checked=True)
        save_rows(connection, self.table, self.key, rows, created=created & rows.keys())
        for table in self.child_tables:
            delete_rows(connection, table, self.key, fold.replaced.get(table, set()))
            new = [r for rows_of in fold.children.get(table, {}).values() for r in rows_of]
            insert_rows(connection, table, distinct_rows(connection, table, new))

    def _fold(
        self, fold: _Fold, events: list[RecordedEvent], created: set[UUID], *, checked: bool
    ) -> set[UUID]:
        """Fold `events` into `fold`. Unchecked, the aggregates an event of which raised (left
        half folded, to be done again checked); checked, each such event is left out."""
        odd: set[UUID] = set()
        rows = fold.rows
        for event in events:
            aggregate_id = event.originator_id
            if aggregate_id in odd:
                continue
            if event.name == self.created_by:
                try:
                    made = self.made(event) if checked else self._made(event)
                except _NOT_WHAT_THE_DOMAIN_WRITES:
                    odd.add(aggregate_id)
                    continue
                if made is None:
                    continue
                rows[aggregate_id], new = made
                # An aggregate's first event, applied once: its child rows are new.
                fold.add_children(aggregate_id, new)
                continue
            row = rows.get(aggregate_id)
            if row is None:  # an aggregate made before the log began (or its first left out)
                continue
            if checked:
                changed = self._changed(row, event)
                if changed is None:
                    continue
                rows[aggregate_id], new = changed
            else:
                try:
                    self.change(row, event)
                    new = _listed(self.replaced_children(event))
                except _NOT_WHAT_THE_DOMAIN_WRITES:
                    odd.add(aggregate_id)
                    continue
            fold.replace_children(aggregate_id, new, stored=aggregate_id not in created)
        return odd

    def _made(self, event: RecordedEvent) -> tuple[Row, list[tuple[Table, list[Row]]]]:
        return self.create(event), _listed(self.children(event))

    def made(self, event: RecordedEvent) -> tuple[Row, list[tuple[Table, list[Row]]]] | None:
        """The row and child rows an aggregate's first event makes; None (logged) if the
        event is not what the domain writes (ADR 16: it is left out, as its aggregate)."""
        try:
            row, new = self._made(event)
        except _NOT_WHAT_THE_DOMAIN_WRITES as error:
            _left_out(self.name, event, error)
            return None
        return self._fitting(event, row, new)

    def _changed(
        self, row: Row, event: RecordedEvent
    ) -> tuple[Row, list[tuple[Table, list[Row]]]] | None:
        """The row (a copy: the stored one is kept if the event is left out) and the child
        rows a later event replaces; None (logged) if the event is not what the domain writes."""
        changed = dict(row)
        try:
            self.change(changed, event)
            new = _listed(self.replaced_children(event))
        except _NOT_WHAT_THE_DOMAIN_WRITES as error:
            _left_out(self.name, event, error)
            return None
        return self._fitting(event, changed, new)

    def _fitting(
        self, event: RecordedEvent, row: Row, new: list[tuple[Table, list[Row]]]
    ) -> tuple[Row, list[tuple[Table, list[Row]]]] | None:
        """The rows, if each fits its table (no None where a value is required, each value
        of its column's kind); else None, logged."""
        for table, rows in [(self.table, [row]), *new]:
            for each in rows:
                unfit = _unfit(table, each)
                if unfit is not None:
                    _left_out(self.name, event, unfit)
                    return None
        return row, new


_Children = list[tuple[Table, list[Row]]]


def _listed(children: Iterable[tuple[Table, Iterable[Row]]]) -> _Children:
    """Child rows made now (so that a payload that does not fit raises here)."""
    return [(table, list(rows)) for table, rows in children]


class _Fold:
    """A batch's rows by aggregate; each child table's new rows, by aggregate; and the
    aggregates whose stored child rows a later event replaced (deleted before the new go in)."""

    def __init__(self, rows: dict[UUID, Row]) -> None:
        self.rows = rows
        self.children: dict[Table, dict[UUID, list[Row]]] = {}
        self.replaced: dict[Table, set[UUID]] = {}

    def add_children(self, aggregate_id: UUID, new: _Children) -> None:
        """The child rows an aggregate's first event makes."""
        for table, rows in new:
            self.children.setdefault(table, {}).setdefault(aggregate_id, []).extend(rows)

    def replace_children(self, aggregate_id: UUID, new: _Children, *, stored: bool) -> None:
        """The child rows a later event states whole (replacing any `stored` ones too)."""
        for table, rows in new:
            self.children.setdefault(table, {})[aggregate_id] = rows
            if stored:
                self.replaced.setdefault(table, set()).add(aggregate_id)

    def unfit(self, table: Table) -> set[UUID]:
        """The aggregates whose row or a child row does not fit its table."""
        odd = {key for key, row in self.rows.items() if _unfit(table, row) is not None}
        for child, by_aggregate in self.children.items():
            for key, rows in by_aggregate.items():
                if any(_unfit(child, row) is not None for row in rows):
                    odd.add(key)
        return odd

    def restore(self, aggregate_id: UUID, loaded: Row | None) -> None:
        """Forget what the batch did to the aggregate: its row as loaded (or none)."""
        if loaded is None:
            self.rows.pop(aggregate_id, None)
        else:
            self.rows[aggregate_id] = dict(loaded)
        for by_aggregate in self.children.values():
            by_aggregate.pop(aggregate_id, None)
        for replaced in self.replaced.values():
            replaced.discard(aggregate_id)


# What reading a payload the domain does not write raises: a key missing, None or a value of
# another kind where a value is expected (KeyError, TypeError, AttributeError, ValueError).
_NOT_WHAT_THE_DOMAIN_WRITES = (LookupError, TypeError, ValueError, AttributeError)


def _left_out(reader: str, event: RecordedEvent, why: object) -> None:
    leave_out(reader, event, f"not what the domain writes ({why})")


def _kind_of(column: Column[Any]) -> tuple[type, ...] | None:
    """The Python types a column's values are written from; None for a type not checked.
    (A time without its zone is taken as UTC when written: projections.folding.)"""
    kind = column.type
    if isinstance(kind, Boolean):
        return (bool,)
    if isinstance(kind, Integer):
        return (int,)
    if isinstance(kind, Numeric):
        return (int, float, Decimal)
    if isinstance(kind, String):
        return (str,)
    if isinstance(kind, Uuid):
        return (UUID,)
    if isinstance(kind, (DateTime, UtcDateTime)):
        return (datetime,)
    if isinstance(kind, Date):
        return (date,)
    return None


_Checks = list[tuple[str, bool, tuple[type, ...] | None]]
_CHECKS: dict[Table, _Checks] = {}


def _checks(table: Table) -> _Checks:
    """(name, nullable, types) for each column of `table`, worked out once."""
    checks = _CHECKS.get(table)
    if checks is None:
        checks = _CHECKS[table] = [
            (column.name, bool(column.nullable), _kind_of(column)) for column in table.columns
        ]
    return checks


def _unfit(table: Table, row: Row) -> str | None:
    """Why `row` cannot be written to `table` as it is, or None if it can."""
    for name, nullable, types in _checks(table):
        value = row.get(name)
        if value is None:
            if not nullable:
                return f"no {name}"
        elif types is not None and not isinstance(value, types):
            return f"{name} is {type(value).__name__}"
    return None


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
