"""What every projection-backed read does alike: read-your-writes and paging."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Response
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

from tradehall.readside import PositionBoard

_TOKEN_PART = re.compile(r"^([a-z][a-z0-9_]{0,40}):(\d{1,18})$")
CONSISTENT_HEADER = "X-Read-Consistent"

PositionParam = Annotated[
    str | None,
    QueryParameter(
        name="position",
        description=(
            "Read your own write: the `position` of a command's response as `log:id` pairs "
            "(comma-separated). The read waits up to 2 s for the projection to reach it, then "
            "answers with what it has and says so in `consistent`."
        ),
        max_length=200,
    ),
]
PageParam = Annotated[
    int, QueryParameter(name="page", ge=1, le=100_000, description="1-based page")
]
PerPageParam = Annotated[
    int, QueryParameter(name="per_page", ge=1, le=100, description="page size")
]


def parse_position(token: str | None, known_logs: Collection[str]) -> dict[str, int]:
    if not token:
        return {}
    wanted: dict[str, int] = {}
    for part in token.split(","):
        match = _TOKEN_PART.match(part.strip())
        if match is None or match.group(1) not in known_logs:
            raise ValidationException(
                "position must be log:id pairs such as membership:42",
                extra=[
                    {
                        "key": "position",
                        "message": f"{part.strip()!r} is not a position of a known event log",
                        "source": "query",
                    }
                ],
            )
        wanted[match.group(1)] = int(match.group(2))
    return wanted


@dataclass(frozen=True)
class ReadYourWrites:
    """Given to controllers as the `reads` dependency: the board, and the logs it follows
    (every declared log but the sealed ones: a position in a sealed log is refused)."""

    board: PositionBoard
    logs: frozenset[str]

    async def after(self, projection: str, token: str | None) -> bool:
        """Wait (bounded) until `projection` has applied the caller's write; True if it has."""
        wanted = parse_position(token, self.logs)
        if not wanted:
            return True
        return await self.board.wait_for(projection, wanted)


def with_consistency(body: Any, consistent: bool) -> Response[Any]:
    return Response(body, headers={CONSISTENT_HEADER: "true" if consistent else "false"})
