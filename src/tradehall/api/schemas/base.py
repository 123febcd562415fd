"""The base of every request body: unknown fields refused, every string held to the text policy.

A request Struct subclasses `RequestBody`; msgspec runs `__post_init__` as it decodes, so every
string field (in lists and dicts too) is checked against `sharedkernel.text` and replaced by its
NFC form before a handler sees it. How a field is checked follows from its annotation:

- a plain `str` with a `max_length` is one line of text;
- `FREE_TEXT` in its `Meta(extra=...)` allows tabs and line breaks (descriptions, reasons);
- `EMAIL` checks an e-mail address's syntax (RFC 5322 / 6531, no DNS look-up);
- `PASSWORD` is checked but not normalised here: identity normalises it, and tries the form given
  for passwords set before the policy (identity.users).

A string without a `max_length` is a mistake in the schema and fails at its first use (and in the
test that walks every request schema).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar

import msgspec
import msgspec.inspect as mi

from sharedkernel.text import TextRejected, check_email, clean_text
from tradehall.identity.users import MAX_PASSWORD, MIN_PASSWORD

FREE_TEXT: dict[str, Any] = {"text": "free"}
EMAIL: dict[str, Any] = {"text": "email"}
PASSWORD: dict[str, Any] = {"text": "password"}

Clean = Callable[[Any], Any]


class InvalidText(ValueError):
    """Raised inside msgspec's decoding: its message names the field (see `field_of_error`)."""


def field_message(field: str, reason: str) -> str:
    return f"`{field}` {reason}"


def _string_check(info: mi.StrType, kind: str | None) -> Clean:
    if info.max_length is None:
        raise TypeError("a request string needs a max_length")
    limit = info.max_length

    def clean(value: str) -> str:
        text = clean_text(value, multiline=kind == "free", max_length=limit)
        if kind == "email":
            return check_email(text)
        if kind == "password":
            return value  # checked above; normalised by identity, which knows old hashes
        return text

    return clean


def _python_types(info: mi.Type) -> tuple[type, ...]:
    while isinstance(info, mi.Metadata):
        info = info.type
    if isinstance(info, mi.StrType):
        return (str,)
    if isinstance(info, mi.DictType):
        return (dict,)
    return (list, tuple, set, frozenset)


def _cleaner(info: mi.Type, kind: str | None = None) -> Clean | None:
    """How to check a value of this type, or None if it holds no client text of its own."""
    if isinstance(info, mi.Metadata):
        extra = info.extra or {}
        return _cleaner(info.type, extra.get("text", kind))
    if isinstance(info, mi.StrType):
        return _string_check(info, kind)
    if isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        item = _cleaner(info.item_type, kind)
        if item is None:
            return None

        def each(values: Any) -> Any:
            cleaned = [item(value) for value in values]
            return tuple(cleaned) if isinstance(values, tuple) else type(values)(cleaned)

        return each
    if isinstance(info, mi.DictType):
        key, value = _cleaner(info.key_type, kind), _cleaner(info.value_type, kind)
        if key is None and value is None:
            return None

        def entries(mapping: dict[Any, Any]) -> dict[Any, Any]:
            return {(key(k) if key else k): (value(v) if value else v) for k, v in mapping.items()}

        return entries
    if isinstance(info, mi.UnionType):
        # msgspec allows one str-like, one array-like and one dict-like type in a union, so the
        # Python type of a decoded value says which member it is.
        by_type: list[tuple[tuple[type, ...], Clean]] = []
        for member in info.types:
            check = _cleaner(member, kind)
            if check is not None:
                by_type.append((_python_types(member), check))
        if not by_type:
            return None

        def maybe(value: Any) -> Any:
            for types, check in by_type:
                if isinstance(value, types):
                    return check(value)
            return value

        return maybe
    if isinstance(info, mi.StructType) and not issubclass(info.cls, RequestBody):
        raise TypeError(f"{info.cls.__name__} is inside a request: make it a RequestBody")
    # Nested RequestBody Structs check themselves; enums, literals, numbers and dates hold no text.
    return None


class RequestBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Every request body's base (see the module's doc)."""

    _plans: ClassVar[dict[type, list[tuple[str, str, Clean]]]] = {}

    @classmethod
    def text_plan(cls) -> list[tuple[str, str, Clean]]:
        """(attribute, name in JSON, how to check it) for each field that holds client text."""
        plan = RequestBody._plans.get(cls)
        if plan is None:
            info = mi.type_info(cls)
            assert isinstance(info, mi.StructType)
            plan = []
            for field in info.fields:
                clean = _cleaner(field.type)
                if clean is not None:
                    plan.append((field.name, field.encode_name, clean))
            RequestBody._plans[cls] = plan
        return plan

    def __post_init__(self) -> None:
        for attribute, name, clean in self.text_plan():
            value = getattr(self, attribute)
            try:
                setattr(self, attribute, clean(value))
            except TextRejected as error:
                raise InvalidText(field_message(name, error.reason)) from None


# The text types request schemas share.
Email = Annotated[
    str, msgspec.Meta(min_length=3, max_length=320, extra=EMAIL, description="an e-mail address")
]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256, extra=PASSWORD)]
NewPassword = Annotated[
    str,
    msgspec.Meta(
        min_length=MIN_PASSWORD,
        max_length=MAX_PASSWORD,
        extra=PASSWORD,
        description=f"{MIN_PASSWORD} to {MAX_PASSWORD} characters",
    ),
]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=4000, extra=FREE_TEXT)]
FreeText = Annotated[str, msgspec.Meta(max_length=4000, extra=FREE_TEXT)]
