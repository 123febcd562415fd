"""Events as the read side sees them: topic and decoded payload, with their log position."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID


@dataclass(frozen=True)
class RecordedEvent:
    log: str
    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    data: dict[str, Any]

    @property
    def name(self) -> str:
        """The event class's qualified name, e.g. `Organisation.Registered`."""
        return self.topic.rpartition(":")[2]


def _decode_value(obj: dict[str, Any]) -> Any:
    # The eventsourcing JSONTranscoder writes {"_type_": ..., "_data_": ...} for non-JSON types.
    kind = obj.get("_type_")
    if kind is None or "_data_" not in obj or len(obj) != 2:
        return obj
    data = obj["_data_"]
    if kind == "datetime_iso":
        return datetime.fromisoformat(data)
    if kind == "uuid_hex":
        return UUID(hex=data)
    if kind == "decimal_str":
        return Decimal(data)
    return obj


def decode_state(state: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(state, object_hook=_decode_value)
    return decoded


class NotificationLike(Protocol):
    id: int
    originator_id: Any
    originator_version: int
    topic: str
    state: bytes


class RecorderLike(Protocol):
    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Sequence[Any]: ...

    def max_notification_id(self) -> int | None: ...


class EventSource:
    """One event log, read in order through the eventsourcing library's recorder."""

    def __init__(self, log: str, recorder: RecorderLike) -> None:
        self.log = log
        self._recorder = recorder

    def read(self, after: int, limit: int) -> list[RecordedEvent]:
        notifications = self._recorder.select_notifications(start=after + 1, limit=limit)
        return [
            RecordedEvent(
                log=self.log,
                position=n.id,
                originator_id=n.originator_id
                if isinstance(n.originator_id, UUID)
                else UUID(str(n.originator_id)),
                originator_version=n.originator_version,
                topic=n.topic,
                data=decode_state(n.state),
            )
            for n in notifications
        ]

    def head(self) -> int:
        return self._recorder.max_notification_id() or 0
