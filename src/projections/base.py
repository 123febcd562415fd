"""What a projection is: a name, the logs it reads, its tables, and how it applies a batch."""

from __future__ import annotations

import abc
from collections.abc import Sequence

from sqlalchemy import Connection, Table

from projections.events import RecordedEvent
from projections.folding import clear_tables


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
