"""Shapes shared by every context's responses."""

from __future__ import annotations

from uuid import UUID

import msgspec


class CommandResult(msgspec.Struct, kw_only=True):
    """What every command answers: the aggregate, its new version and the log positions.

    `position` maps each event log's name to the notification id of the command's last event;
    pass it back on a read to read your own write.
    """

    id: UUID
    version: int
    position: dict[str, int]
