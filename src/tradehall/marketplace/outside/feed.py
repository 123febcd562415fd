"""The OCDS feed poller: each clock tick reads a national portal's release package feed from
its saved high-water mark, follows `links.next` on the feed's own host only (never a redirect),
and imports each page's releases as outside opportunities.

A page is read streamed with a size limit (and a gzip page decompressed within that limit)
and a time limit from asking to its last byte; a page refused (too large, too slow, not JSON,
not a release package) or a link off the host is recorded as the tick's error and imports
nothing. The mark moves by compare-and-set only after a page's releases are imported, so a
crash or a refusal reads the page again (adding nothing twice: the domain knows each release),
and of two polls at once only one moves it; the other stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import httpx
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.application import MarketplaceApp
from sharedkernel.events import CLOCK, Context
from tradehall.clock import Clock
from tradehall.marketplace.outside.importing import ImportReport, import_package
from tradehall.marketplace.outside.packages import NotAPackage, ReleasePackage, read_package
from tradehall.marketplace.outside.tables import ocds_feeds
from tradehall.settings import MAX_FEED_URL, Settings

log = logging.getLogger("tradehall.ocds_feed")
Run = Callable[..., Coroutine[Any, Any, Any]]
MAX_ERROR = 1000
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HEADERS = {
    "Accept": "application/json",
    # gzip is decompressed here, within the size limit; nothing else is asked for.
    "Accept-Encoding": "gzip",
    "User-Agent": "Tradehall OCDS importer",
}


class PageRefused(Exception):
    """A feed page that could not be read: why."""


@dataclass(frozen=True)
class FeedSettings:
    url: str
    max_bytes: int
    timeout_seconds: float
    max_pages: int

    @classmethod
    def of(cls, settings: Settings) -> FeedSettings | None:
        """The feed the settings name; None when TRADEHALL_OCDS_FEED_URL is unset."""
        if settings.ocds_feed_url is None:
            return None
        return cls(
            settings.ocds_feed_url,
            settings.ocds_feed_max_bytes,
            settings.ocds_feed_timeout_seconds,
            settings.ocds_feed_max_pages,
        )


@dataclass(frozen=True)
class FeedParts:
    """What a tick uses: the marketplace (its imports run in worker threads, `run`), the
    database for the mark, the clock, the feed."""

    marketplace: MarketplaceApp
    engine: AsyncEngine
    clock: Clock
    run: Run
    feed: FeedSettings

    @classmethod
    def of(cls, services: Any) -> FeedParts | None:
        """The parts from the container (`tradehall.services.Services`); None without a feed."""
        feed = FeedSettings.of(services.settings)
        if feed is None:
            return None
        marketplace = cast(MarketplaceApp, services.applications["marketplace"])
        return cls(marketplace, services.engine, services.clock, services.run, feed)


@dataclass
class FeedTick:
    """What one tick did: pages read whole and imported, what their releases did, where the
    next tick starts; its error (recorded with the mark: a page refused, a link not followed,
    an import failed), or that it stopped because another poll had moved the mark."""

    next_url: str
    pages: int = 0
    report: ImportReport = field(default_factory=lambda: ImportReport(""))
    error: str | None = None
    overtaken: bool = False

    def line(self) -> str:
        said = f"OCDS feed: pages read {self.pages}, {self.report.counts()}"
        if self.overtaken:
            return f"{said}; stopped: another poll moved the feed's mark meanwhile"
        return f"{said}; stopped: {self.error}" if self.error else said


async def poll_feed(parts: FeedParts, stop: asyncio.Event | None = None) -> FeedTick:
    """One tick: up to the feed's page limit, from the mark on."""
    feed = parts.feed
    url, version = await _mark(parts.engine, feed.url)
    tick = FeedTick(url)
    async with httpx.AsyncClient(
        follow_redirects=False, timeout=httpx.Timeout(feed.timeout_seconds), headers=_HEADERS
    ) as client:
        while tick.pages < feed.max_pages and not (stop is not None and stop.is_set()):
            try:
                package = await read_page(client, url, feed.max_bytes, feed.timeout_seconds)
            except PageRefused as refused:
                tick.error = f"{url}: {refused}"
                break
            now = parts.clock.now()
            context = Context(CLOCK, f"ocds-feed-{now:%Y%m%dT%H%M%S}", now)
            try:
                report = await parts.run(import_package, parts.marketplace, context, package)
            except Exception as error:
                # The store failed mid-page: the mark stays, the page is read again next tick.
                log.exception("an OCDS feed page could not be imported")
                tick.error = f"{url}: its releases could not be imported ({type(error).__name__})"
                break
            tick.report.add(report)
            tick.pages += 1
            following, why_not = next_page(feed.url, url, package.next_url)
            moved = await _advance(parts.engine, feed.url, version, following or url, report, now)
            if not moved:
                tick.overtaken = True  # that poll reads on; nothing is imported twice
                return tick
            version += 1
            tick.next_url = following or url
            if following is None:
                tick.error = why_not
                break
            url = following
    await _record_error(parts.engine, feed.url, tick.error, parts.clock.now())
    return tick


async def read_page(
    client: httpx.AsyncClient, url: str, max_bytes: int, timeout_seconds: float
) -> ReleasePackage:
    """The release package at `url`, read streamed: refused as soon as it passes `max_bytes`
    (decompressed), or when it is not whole within `timeout_seconds`."""
    try:
        async with asyncio.timeout(timeout_seconds):
            body = await _body(client, url, max_bytes)
    except (TimeoutError, httpx.TimeoutException):
        raise PageRefused(f"not answered in full within {timeout_seconds:g} seconds") from None
    except httpx.HTTPError as error:
        raise PageRefused(f"could not be read ({type(error).__name__})") from None
    try:
        return read_package(body, max_bytes=max_bytes)
    except NotAPackage as refused:
        raise PageRefused(str(refused)) from None


async def _body(client: httpx.AsyncClient, url: str, max_bytes: int) -> bytes:
    async with client.stream("GET", url) as response:
        if response.is_redirect:
            location = response.headers.get("location", "")
            raise PageRefused(
                f"redirected (HTTP {response.status_code}) to {_host_of(url, location)}: "
                "redirects are not followed"
            )
        if response.status_code != 200:
            raise PageRefused(f"answered HTTP {response.status_code}")
        declared = response.headers.get("content-length", "")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding == "identity" and declared.isdigit() and int(declared) > max_bytes:
            raise PageRefused(f"larger than {max_bytes} bytes (it says {declared})")
        body = _Body(encoding, max_bytes)
        async for chunk in response.aiter_raw():
            body.take(chunk)
        return body.whole()


class _Body:
    """A response's body as it arrives, decompressed if gzip, refused past the limit."""

    def __init__(self, encoding: str, limit: int) -> None:
        if encoding not in {"identity", "gzip"}:
            raise PageRefused(f"sent in an encoding not asked for ({encoding[:40]})")
        self.limit = limit
        self.data = bytearray()
        self.gzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None

    def take(self, chunk: bytes) -> None:
        if self.gzip is None:
            self._keep(chunk)
            return
        try:
            # Never more than the limit (and a byte) out of any one chunk: a small compressed
            # page cannot expand into memory past the limit.
            self._keep(self.gzip.decompress(chunk, self._room()))
            while self.gzip.unconsumed_tail:
                self._keep(self.gzip.decompress(self.gzip.unconsumed_tail, self._room()))
        except zlib.error:
            raise PageRefused("its gzip compression is broken") from None

    def whole(self) -> bytes:
        if self.gzip is not None:
            self._keep(self.gzip.flush())
        return bytes(self.data)

    def _room(self) -> int:
        return self.limit - len(self.data) + 1

    def _keep(self, data: bytes) -> None:
        self.data += data
        if len(self.data) > self.limit:
            raise PageRefused(f"larger than {self.limit} bytes")


def next_page(feed_url: str, page_url: str, link: str | None) -> tuple[str | None, str | None]:
    """(the next page's address, None), or (None, why it is not followed: None when the page
    gave none, or only itself). Only an address on the feed's own scheme, host and port."""
    if link is None:
        return None, None
    if len(link) > MAX_FEED_URL:
        return None, f"links.next is longer than {MAX_FEED_URL} characters: not followed"
    try:
        target = httpx.URL(page_url).join(link)
    except httpx.InvalidURL:
        return None, "links.next is not an address: not followed"
    if target.userinfo:
        return None, "links.next carries a user or password: not followed"
    if _origin(target) != _origin(httpx.URL(feed_url)):
        return None, f"links.next leads to another host ({_shown(target)}): not followed"
    following = str(target.copy_with(fragment=None))
    if following == page_url:
        return None, None
    return following, None


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


def _shown(url: httpx.URL) -> str:
    port = url.port or _DEFAULT_PORTS.get(url.scheme)
    return f"{url.scheme}://{url.host[:200]}:{port}"


def _host_of(page_url: str, location: str) -> str:
    try:
        return _shown(httpx.URL(page_url).join(location))
    except httpx.InvalidURL:
        return "an address that is not one"


# The high-water mark ---------------------------------------------------------------------------


async def _mark(engine: AsyncEngine, feed_url: str) -> tuple[str, int]:
    """The next page to read and the mark's version; a feed read for the first time starts at
    its own address."""
    query = select(ocds_feeds.c.next_url, ocds_feeds.c.version).where(
        ocds_feeds.c.feed_url == feed_url
    )
    async with engine.begin() as connection:
        row = (await connection.execute(query)).first()
    if row is not None:
        return str(row.next_url), int(row.version)
    counts = dict.fromkeys(("pages", "imported", "updated", "unchanged", "skipped"), 0)
    with contextlib.suppress(IntegrityError):  # another poll made it first: read theirs
        async with engine.begin() as connection:
            await connection.execute(
                insert(ocds_feeds).values(feed_url=feed_url, next_url=feed_url, version=0, **counts)
            )
    async with engine.begin() as connection:
        made = (await connection.execute(query)).one()
    return str(made.next_url), int(made.version)


async def _advance(
    engine: AsyncEngine,
    feed_url: str,
    version: int,
    next_url: str,
    report: ImportReport,
    now: datetime,
) -> bool:
    """Move the mark past a page imported, if no other poll moved it since `version` was read
    (compare-and-set); the page's counts are added either way (its imports happened)."""
    table = ocds_feeds.c
    counts = {
        "pages": table.pages + 1,
        "imported": table.imported + report.imported,
        "updated": table.updated + report.updated,
        "unchanged": table.unchanged + report.unchanged,
        "skipped": table.skipped + len(report.skipped),
    }
    async with engine.begin() as connection:
        moved = await connection.execute(
            update(ocds_feeds)
            .where(table.feed_url == feed_url, table.version == version)
            .values(next_url=next_url, version=table.version + 1, read_at=now, **counts)
        )
        if moved.rowcount == 1:
            return True
        await connection.execute(
            update(ocds_feeds).where(table.feed_url == feed_url).values(**counts)
        )
    return False


async def _record_error(
    engine: AsyncEngine, feed_url: str, error: str | None, now: datetime
) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            update(ocds_feeds)
            .where(ocds_feeds.c.feed_url == feed_url)
            .values(
                last_error=error[:MAX_ERROR] if error else None,
                last_error_at=now if error else None,
            )
        )


# The clock -------------------------------------------------------------------------------------


async def poll_ocds_feed(services: Any, interval: float, stop: asyncio.Event) -> None:
    """The feed's clock job (`ContextDeclaration.clock_jobs`): a tick now and every `interval`
    seconds until `stop` is set; nothing without TRADEHALL_OCDS_FEED_URL."""
    parts = FeedParts.of(services)
    if parts is None:
        return
    while not stop.is_set():
        try:
            tick = await poll_feed(parts, stop)
            log.info(tick.line())
        except Exception:
            log.exception("the OCDS feed tick failed; trying again at the next tick")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def ocds_feed_tick(services: Any) -> str:
    """The feed's tick for `tradehall clock tick` (`ContextDeclaration.clock_ticks`)."""
    parts = FeedParts.of(services)
    if parts is None:
        return "OCDS feed: none (TRADEHALL_OCDS_FEED_URL is unset)"
    return (await poll_feed(parts)).line()
