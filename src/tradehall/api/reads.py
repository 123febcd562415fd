"""What every projection-backed read does alike: read-your-writes and paging; the CPV and region
filters the public boards (directory, listings, tenders) share."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Response
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

from sharedkernel.reference import canonical_cpv, canonical_region, itl_regions
from tradehall.readside import PositionBoard

# [0-9], not \d: \d matches any script's digits, and int() reads them ("1\u0661" would be 11).
_TOKEN_PART = re.compile(r"^([a-z][a-z0-9_]{0,40}):([0-9]{1,18})$")
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
RegionParam = Annotated[
    str | None,
    QueryParameter(
        name="region", max_length=10, description="ITL code; matches up and down the tree"
    ),
]
CpvParam = Annotated[
    str | None,
    QueryParameter(name="cpv", max_length=12, description="CPV code; matches up and down the tree"),
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


@dataclass(frozen=True)
class PlaceFilter:
    """A board's `cpv` and `region` filters, checked and made canonical, with the ITL tree
    (each region's parent) that the region matches up and down."""

    cpv_code: str | None
    region: str | None
    region_parents: dict[str, str | None]


def place_filter(cpv: str | None, region: str | None) -> PlaceFilter:
    """The filters as given; a code that is not one is refused, naming its parameter."""
    region_code = canonical_region(region, field="region") if region else None
    cpv_code = canonical_cpv(cpv, field="cpv") if cpv else None
    parents = {code: r.parent for code, r in itl_regions().items()}
    return PlaceFilter(cpv_code=cpv_code, region=region_code, region_parents=parents)
