"""Events as the read side sees them: topic and decoded payload, with their log position.

A log is read once a batch for every projection that follows it, so the events are shared:
projections read them and never change them. A payload is decoded the first time a projection
asks for it; most projections skip most events by name without decoding them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from uuid import UUID

import msgspec

_log = logging.getLogger("tradehall.projections")
T = TypeVar("T")

# The eventsourcing JSONTranscoder writes {"_type_": name, "_data_": value} for non-JSON types.
# msgspec decodes the usual payload (values, lists of values, these three wrappers) in one pass,
# parsing the wrapped values itself; any other shape is decoded by the library's own method.


class _DateTime(msgspec.Struct, tag_field="_type_", tag="datetime_iso", forbid_unknown_fields=True):
    value: datetime = msgspec.field(name="_data_")


class _Uuid(msgspec.Struct, tag_field="_type_", tag="uuid_hex", forbid_unknown_fields=True):
    value: UUID = msgspec.field(name="_data_")


class _Decimal(msgspec.Struct, tag_field="_type_", tag="decimal_str", forbid_unknown_fields=True):
    value: Decimal = msgspec.field(name="_data_")


_Wrapped = _DateTime | _Uuid | _Decimal
_WRAPPED = frozenset({_DateTime, _Uuid, _Decimal})
_Value = None | bool | int | float | str | _Wrapped
_usual_payload = msgspec.json.Decoder(dict[str, _Value | list[_Value]])


_READERS: dict[str, Callable[[Any], Any]] = {
    "datetime_iso": datetime.fromisoformat,
    "uuid_hex": lambda data: UUID(hex=data),
    "decimal_str": Decimal,
}


def _decode_value(obj: dict[str, Any]) -> Any:
    """A wrapper's value as its type; any other object, or a wrapper whose value is not of its
    type (another writer's: a time that is a word), as it was stored: no reader takes a dict
    for a time, an id or a number, so each leaves its event out by its own rules (ADR 16)."""
    kind = obj.get("_type_")
    if kind is None or "_data_" not in obj or len(obj) != 2:
        return obj
    read = _READERS.get(kind)
    if read is None:
        return obj
    try:
        return read(obj["_data_"])
    except (ValueError, TypeError, AttributeError, ArithmeticError):
        return obj


def decode_state(state: bytes) -> dict[str, Any]:
    """An event's payload; never raises (ADR 16). A state that is not a JSON object (never the
    library's: another writer's) is read as an empty payload, with a log line."""
    try:
        decoded: dict[str, Any] = _usual_payload.decode(state)
    # Nested objects, other transcodings, a wrapper whose value is not its type, or what
    # msgspec refuses that the library's JSON reads (an escaped lone surrogate, written by
    # another writer): the general way.
    except msgspec.DecodeError:
        try:
            general: Any = json.loads(state, object_hook=_decode_value)
        except (ValueError, RecursionError):
            general = None
        if not isinstance(general, dict):
            _log.warning("an event's state is not a JSON object: read as an empty payload")
            return {}
        return general
    for key, value in decoded.items():
        kind = type(value)
        if kind in _WRAPPED:
            decoded[key] = value.value
        elif kind is list:
            decoded[key] = [v.value if type(v) in _WRAPPED else v for v in value]
    return decoded


class _Names(dict[str, str]):
    """Topic -> event name, worked out once a topic."""

    def __missing__(self, topic: str) -> str:
        name = self[topic] = topic.rpartition(":")[2]
        return name


_NAMES = _Names()


def _as_uuid(value: Any) -> UUID:
    if type(value) is UUID:
        return value
    if type(value) is bytes:
        return UUID(bytes=value)
    return UUID(str(value))


def payload_uuid(value: Any) -> UUID | None:
    """A payload's value as a UUID (a UUID, or text that reads as one); None if it is not one."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        return None


class RecordedEvent:
    """One event of a log. `name` is the event class's qualified name, e.g.
    `Organisation.Registered`; `data` its payload, decoded on first use."""

    __slots__ = (
        "_data",
        "_state",
        "log",
        "name",
        "originator_id",
        "originator_version",
        "position",
        "topic",
    )

    def __init__(
        self,
        log: str,
        position: int,
        originator_id: UUID,
        originator_version: int,
        topic: str,
        state: bytes,
    ) -> None:
        self.log = log
        self.position = position
        self.originator_id = originator_id
        self.originator_version = originator_version
        self.topic = topic
        self.name = _NAMES[topic]
        self._state = state
        self._data: dict[str, Any] | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = decode_state(self._state)
        return self._data

    def __repr__(self) -> str:
        return f"RecordedEvent({self.log}:{self.position} {self.name} of {self.originator_id})"

    def payload_as(self, shape: type[T], reader: str) -> T | None:
        """The payload in this shape (checked whole); None, with a log line naming `reader`,
        if it is not what the domain writes (ADR 16: such an event is left out)."""
        try:
            return msgspec.convert(self.data, shape)
        except (msgspec.ValidationError, TypeError, ValueError) as error:
            leave_out(reader, self, f"not what the domain writes ({error})")
            return None


@dataclass(frozen=True)
class LeftOut:
    """An event a projection left out (ADR 16), and why."""

    reader: str
    log: str
    position: int
    topic: str
    originator_id: UUID
    originator_version: int
    why: str

    def __str__(self) -> str:
        return (
            f"{self.log}:{self.position} {self.topic} of {self.originator_id} "
            f"v{self.originator_version}: {self.why}"
        )


# The events left out while the caller collects (a rebuild: projections.runner); None, not
# collecting (the live path: a log line is all).
_LEFT_OUT: ContextVar[list[LeftOut] | None] = ContextVar("left_out", default=None)
_LEFT_OUT_TEXT = "%(reader)s: %(event)r left out: %(why)s"
# For a `why` that says it all ("carries no status; left out").
EVENT_THEN_WHY = "%(reader)s: %(event)r %(why)s"


def leave_out(
    reader: str, event: RecordedEvent, why: object, *, text: str = _LEFT_OUT_TEXT
) -> None:
    """Leave `event` out of `reader` (ADR 16: it is not what the domain writes, or not what
    `reader` can apply): a WARNING line, and counted if the caller is collecting. `text` is the
    log line's format over `reader`, `event` and `why` (by name)."""
    _log.warning(text, {"reader": reader, "event": event, "why": why})
    found = _LEFT_OUT.get()
    if found is not None:
        found.append(
            LeftOut(
                reader,
                event.log,
                event.position,
                event.topic,
                event.originator_id,
                event.originator_version,
                str(why),
            )
        )


@contextmanager
def collecting_left_out() -> Iterator[list[LeftOut]]:
    """Collect, within the block (and this thread or task), the events `leave_out` is told of."""
    found: list[LeftOut] = []
    token = _LEFT_OUT.set(found)
    try:
        yield found
    finally:
        _LEFT_OUT.reset(token)


# (position, originator id as a UUID, its 16 bytes or text, originator version, topic, state),
# in position order.
Row = tuple[int, Any, int, str, bytes]


class RecorderLike(Protocol):
    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Sequence[Any]: ...

    def max_notification_id(self) -> int | None: ...


def _through_the_library(recorder: RecorderLike) -> Callable[[int, int], Iterable[Row]]:
    def rows(after: int, limit: int) -> Iterable[Row]:
        return (
            (n.id, n.originator_id, n.originator_version, n.topic, n.state)
            for n in recorder.select_notifications(start=after + 1, limit=limit)
        )

    return rows


def _from_postgres(recorder: RecorderLike) -> Callable[[int, int], Iterable[Row]] | None:
    """The PostgreSQL recorder's table, read as plain tuples on the recorder's own pool.

    `select_notifications` builds a dict and a `Notification` per row: about three times the
    cost of this query, which asks for the same rows in the same order.
    """
    from eventsourcing.postgres import PostgresApplicationRecorder
    from psycopg.rows import tuple_row
    from psycopg.sql import SQL, Identifier

    if not isinstance(recorder, PostgresApplicationRecorder):
        return None
    datastore = recorder.datastore
    # An originator's id as its 16 bytes: made a UUID once a batch, not once an event.
    statement = SQL(
        "SELECT notification_id, uuid_send(originator_id), originator_version, topic, state "
        "FROM {}.{} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
    ).format(Identifier(datastore.schema), Identifier(recorder.events_table_name))

    def rows(after: int, limit: int) -> Iterable[Row]:
        with (
            datastore.get_connection() as connection,
            connection.cursor(row_factory=tuple_row, binary=True) as cursor,
        ):
            cursor.execute(statement, (after, limit), prepare=True)
            return cursor.fetchall()

    return rows


class EventSource:
    """One event log, read in order from the eventsourcing library's recorder."""

    def __init__(self, log: str, recorder: RecorderLike) -> None:
        self.log = log
        self._recorder = recorder
        self._rows = _from_postgres(recorder) or _through_the_library(recorder)

    def read(self, after: int, limit: int) -> list[RecordedEvent]:
        """Up to `limit` events after position `after`, in order."""
        log = self.log
        # One UUID object an originator: fewer made, and the projections' lookups by id
        # then match on identity.
        ids: dict[Any, UUID] = {}
        events = []
        for position, raw_id, version, topic, state in self._rows(after, limit):
            originator_id = ids.get(raw_id)
            if originator_id is None:
                originator_id = ids[raw_id] = _as_uuid(raw_id)
            events.append(RecordedEvent(log, position, originator_id, version, topic, state))
        return events

    def head(self) -> int:
        return self._recorder.max_notification_id() or 0
