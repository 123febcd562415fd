"""Walking the served OpenAPI document: every operation, a valid body for it, its string fields.

Tests that must cover every route (the text policy, the body fuzz) take their operations from
here, so a new route is covered without editing them.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData, select

from projections.tables import metadata as read_model_metadata
from tradehall.mail.tables import outbox_messages
from tradehall.store.base import Store

METHODS = ("get", "post", "put", "patch", "delete")
# Example values for the patterns our schemas use; a new pattern needs an example here.
PATTERN_EXAMPLES = {
    "^[A-Z]{3}$": "GBP",
    "^[a-z][a-z0-9_]{0,30}$": "band_a",
    "^[A-Za-z0-9_-]+$": "abc-1",
}

# Lists' items whose constraints the OpenAPI document does not carry: a valid one by name.
NAMED_EXAMPLES = {"cpv_prefixes": "72", "regions": "TLC"}

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as documented, with {parameters}
    spec: dict[str, Any]
    body_schema: dict[str, Any] | None

    @property
    def parameters(self) -> list[dict[str, Any]]:
        return list(self.spec.get("parameters", []))

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def operations(document: dict[str, Any]) -> list[Operation]:
    found = []
    for path, item in document["paths"].items():
        for method in METHODS:
            spec = item.get(method)
            if spec is None:
                continue
            content = spec.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            found.append(Operation(method, path, spec, body))
    return found


class Examples:
    """A valid value for a JSON schema (the first choice of every choice)."""

    def __init__(self, document: dict[str, Any], ids: dict[str, str]) -> None:
        self.components = document.get("components", {}).get("schemas", {})
        self.ids = ids

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def value(self, schema: dict[str, Any], name: str = "") -> Any:
        schema = self.resolve(schema)
        for choice in ("oneOf", "anyOf"):
            if choice in schema:
                options = [self.resolve(s) for s in schema[choice]]
                usable = [s for s in options if s.get("type") != "null"]
                # What the choice says of every option (a pattern, a length) holds for it too.
                around = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
                return self.value(around | usable[0], name)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                if "$ref" in part or "properties" in part:
                    merged |= self.value(part, name)
            return merged
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next(k for k in kind if k != "null")
        if kind == "object" or "properties" in schema:
            return {key: self.value(sub, key) for key, sub in schema.get("properties", {}).items()}
        if kind == "array":
            return [self.value(schema.get("items", {}), name)] * max(1, schema.get("minItems", 1))
        if kind in ("integer", "number"):
            low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
            return max(1, low)
        if kind == "boolean":
            return False
        return self.string(schema, name)

    def string(self, schema: dict[str, Any], name: str) -> str:
        fmt = schema.get("format")
        if fmt == "date":
            return "2026-06-01"
        if fmt == "date-time":
            return "2026-06-01T09:00:00Z"
        if fmt == "uuid":
            return self.ids.get(name, str(uuid.uuid4()))
        if fmt == "email" or "email" in name:
            return f"walker-{uuid.uuid4().hex[:8]}@example.org"
        if name in NAMED_EXAMPLES:
            return NAMED_EXAMPLES[name]
        if "pattern" in schema:
            example = PATTERN_EXAMPLES[schema["pattern"]]
            # As long as the schema asks (the examples of a repeatable pattern repeat).
            return example * -(-schema.get("minLength", 0) // len(example)) or example
        return "w" * max(schema.get("minLength", 0), 12)


def string_paths(value: Any, at: Path = ()) -> Iterator[Path]:
    """Every place in a JSON value that holds a string."""
    if isinstance(value, str):
        yield at
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from string_paths(item, (*at, index))


def replaced(value: Any, at: Path, new: Any) -> Any:
    changed = copy.deepcopy(value)
    target = changed
    for step in at[:-1]:
        target = target[step]
    target[at[-1]] = new
    return changed


def dotted(at: Path) -> str:
    """The field as a problem names it: objects dotted, list items by their list's name."""
    return ".".join(str(step) for step in at if isinstance(step, str))


class Snapshot:
    """What a refused request must leave as it was: each event log's head and the content of
    every table a request writes. The projections' tables follow the logs, so they are left out
    (their runner may still be catching up with earlier, accepted requests)."""

    def __init__(self, store: Store, logs: dict[str, Any]) -> None:
        self.logs = logs
        self.engine = store.sync_engine()
        found = MetaData()
        found.reflect(self.engine)
        followed = set(read_model_metadata.tables) | {outbox_messages.name}
        self.tables = [
            table
            for name, table in sorted(found.tables.items())
            if name not in followed
            and not name.endswith("_events")
            and not name.startswith(("alembic", "projection"))
        ]

    def take(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            f"log:{name}": app.recorder.max_notification_id() or 0
            for name, app in self.logs.items()
        }
        with self.engine.connect() as connection:
            for table in self.tables:
                rows = connection.execute(select(table)).all()
                state[table.name] = sorted(repr(tuple(row)) for row in rows)
        return state

    def close(self) -> None:
        self.engine.dispose()
