"""Events as a projector reads them from a log, made by hand for read-side tests."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from projections.events import RecordedEvent


def _tagged(value: Any) -> Any:
    """A value as the library's transcoder writes it: UUIDs and datetimes tagged."""
    if isinstance(value, uuid.UUID):
        return {"_type_": "uuid_hex", "_data_": value.hex}
    if isinstance(value, datetime):
        return {"_type_": "datetime_iso", "_data_": value.isoformat()}
    return value


def recorded(
    log: str, position: int, originator: uuid.UUID, version: int, topic: str, data: dict[str, Any]
) -> RecordedEvent:
    """The event `topic` ("module:Aggregate.Event") at `position` of `log`, holding `data`."""
    state = json.dumps({key: _tagged(value) for key, value in data.items()}).encode()
    return RecordedEvent(log, position, originator, version, topic, state)
