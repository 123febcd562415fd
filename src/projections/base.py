"""What a projection is: a name, the logs it reads, its tables, and how it applies a batch."""

from __future__ import annotations

import abc
from collections.abc import Sequence

from sqlalchemy import Connection, Table, delete

from projections.events import RecordedEvent


class Projection(abc.ABC):
    name: str
    logs: tuple[str, ...]
    # Its own tables, children before parents (cleared in this order on rebuild).
    tables: tuple[Table, ...]

    @abc.abstractmethod
    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        """Apply a batch of one log's events, in order, inside the caller's transaction."""

    def clear(self, connection: Connection) -> None:
        for table in self.tables:
            connection.execute(delete(table))
