"""Open contracting out (issue 15, ADR 31): public bodies' tenders, awards and contracts as OCDS
1.1 release packages, paged by date, and each process's record. Public, read from the OCDS
projection; what is published and how each state maps is in docs/ocds.md.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, QueryParameter
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.ocds_query import ReleaseAt, record_releases, release_page
from sharedkernel.errors import InvalidValue
from sharedkernel.moments import plausible_moment
from sharedkernel.reference.ocds import (
    EXTENSIONS,
    VERSION,
    compiled_release,
    versioned_release,
)
from tradehall.api.access import PUBLIC, rule
from tradehall.api.read_models import ReadModel, read_model
from tradehall.api.reads import PositionParam, with_consistency
from tradehall.clock import Clock
from tradehall.services import Threads
from tradehall.settings import Settings

# The projection whose tables these reads use (read-your-writes waits on it).
PROJECTION = "ocds"
_CURSOR = re.compile(r"(-?[0-9]{1,19})-([0-9]{1,19})")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MAX_POSITION = 2**63 - 1
_MAX_OCID = 120

MomentParam = Annotated[datetime | None, QueryParameter(description="ISO 8601; UTC if no offset")]
AfterParam = Annotated[
    str | None,
    QueryParameter(
        name="after",
        max_length=40,
        description="where the previous page ended: take it from that page's `links.next`",
    ),
]
PerPageParam = Annotated[
    int, QueryParameter(name="per_page", ge=1, le=250, description="releases per page")
]


def _cursor(at: ReleaseAt) -> str:
    """Where a page ended: its last release's date in whole microseconds since 1970 (integer
    arithmetic: a float of them rounds) and its place in the log."""
    return f"{(at.date - _EPOCH) // _MICROSECOND}-{at.position}"


def _parse_cursor(value: str) -> ReleaseAt:
    match = _CURSOR.fullmatch(value)
    if match is None:
        raise InvalidValue("after", "not a page's end: take it from links.next")
    micros, position = int(match[1]), int(match[2])
    if position > _MAX_POSITION:
        raise InvalidValue("after", "not a page's end: take it from links.next")
    try:
        at = _EPOCH + micros * _MICROSECOND
    except OverflowError:
        raise InvalidValue("after", "not a page's end: take it from links.next") from None
    return ReleaseAt(plausible_moment("after", at), position)


def _package(settings: Settings, uri: str, published: datetime) -> dict[str, Any]:
    """A package's metadata; `published`: when it was made (now: it is made on each read)."""
    return {
        "uri": uri,
        "version": VERSION,
        "extensions": list(EXTENSIONS),
        "publisher": {"name": settings.ocds_publisher, "uri": settings.public_url},
        "publishedDate": published.isoformat(),
    }


async def _releases_of(connection: AsyncConnection, ocid: str) -> list[dict[str, Any]]:
    """A process's releases; an ocid longer than any issued names none (not looked up)."""
    if len(ocid) > _MAX_OCID:
        return []
    return await record_releases(connection, ocid)


class OcdsController(Controller):
    path = "/api/v1/ocds"
    tags = ["open contracting (OCDS)"]
    dependencies = {"read_model": read_model(PROJECTION)}

    @get(
        "/releases",
        opt=rule(PUBLIC),
        summary="OCDS release packages: every public tender event, in date order",
        description=(
            "Public bodies' tenders only: their publication, amendments, documents, cancellation"
            " or withdrawal, bid counts once opened (never a bid), lots' outcomes, award notices,"
            " contracts, contract amendments and their end. `since` (inclusive) and `until` "
            "(exclusive) bound the release dates; follow `links.next` for the next page. No "
            "release in the dates asked is a 404 (an OCDS package holds at least one)."
        ),
    )
    async def releases(
        self,
        settings: NamedDependency[Settings],
        clock: NamedDependency[Clock],
        read_model: NamedDependency[ReadModel],
        since: MomentParam = None,
        until: MomentParam = None,
        after: AfterParam = None,
        per_page: PerPageParam = 100,
        position: PositionParam = None,
    ) -> Response[dict[str, Any]]:
        try:
            start = plausible_moment("since", since) if since is not None else None
            end = plausible_moment("until", until) if until is not None else None
            cursor = _parse_cursor(after) if after is not None else None
        except InvalidValue as error:  # a query parameter's: malformed, as Litestar says it
            raise ValidationException(
                f"{error.field}: {error}",
                extra=[{"key": error.field, "message": str(error), "source": "query"}],
            ) from None
        page, consistent = await read_model.query(
            position, release_page, since=start, until=end, after=cursor, limit=per_page
        )
        if not page.releases:
            # A release package holds at least one release (the schema's minItems); a page
            # from `links.next` is never empty.
            raise NotFoundException("no public release in the dates asked")
        query = {"per_page": str(per_page)}
        if start is not None:
            query["since"] = start.isoformat()
        if end is not None:
            query["until"] = end.isoformat()
        base = f"{settings.public_url}{self.path}/releases"
        uri = f"{base}?{urlencode(query | ({'after': after} if after else {}))}"
        package = _package(settings, uri, clock.now())
        package["releases"] = page.releases
        if page.last is not None:
            package["links"] = {
                "next": f"{base}?{urlencode(query | {'after': _cursor(page.last)})}"
            }
        return with_consistency(package, consistent)

    @get(
        "/records/{ocid:str}",
        opt=rule(PUBLIC),
        summary="An OCDS record package: one process's releases, compiled and versioned",
        description=(
            "The compiled and versioned releases are made by the standard's merge library "
            "(ocdsmerge). An ocid that is not a public body's published tender is a 404."
        ),
    )
    async def record(
        self,
        settings: NamedDependency[Settings],
        clock: NamedDependency[Clock],
        threads: NamedDependency[Threads],
        read_model: NamedDependency[ReadModel],
        ocid: FromPath[str],
        position: PositionParam = None,
    ) -> Response[dict[str, Any]]:
        releases, consistent = await read_model.query(position, _releases_of, ocid)
        if not releases:
            raise NotFoundException(f"no published process {ocid}")
        uri = f"{settings.public_url}{self.path}/records/{ocid}"
        package = _package(settings, uri, clock.now())
        package["records"] = [
            {
                "ocid": ocid,
                "releases": releases,
                # Merging is CPU work: off the event loop.
                "compiledRelease": await threads.run(compiled_release, releases),
                "versionedRelease": await threads.run(versioned_release, releases),
            }
        ]
        return with_consistency(package, consistent)


CONTROLLERS = (OcdsController,)
