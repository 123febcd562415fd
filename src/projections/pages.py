"""A page of a read's entries: what every paged read of the read side returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

Entry = TypeVar("Entry")


@dataclass(frozen=True)
class Page(Generic[Entry]):
    """One page of entries, and how many entries the read finds in all."""

    entries: list[Entry]
    total: int
