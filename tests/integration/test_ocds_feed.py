"""The OCDS feed poller (issue 16), on each store, against local HTTP servers: two pages followed
by `links.next`, a link to another host not followed, the high-water mark resumed from and a
re-read adding nothing; the page limit; a page too large (refused while streaming), too slow,
not JSON, redirected; gzip; two polls at once; the clock job and tick."""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import FAST_PASSWORDS
from tests.integration.test_ocds_import import as_bytes, head, marketplace_of, sample
from tradehall.clock import ManualClock
from tradehall.marketplace.outside.feed import (
    FeedParts,
    FeedTick,
    next_page,
    ocds_feed_tick,
    poll_feed,
    poll_ocds_feed,
)
from tradehall.marketplace.outside.tables import ocds_feeds
from tradehall.services import Services, build_services
from tradehall.settings import Settings
from tradehall.store.base import Store

# --- local HTTP servers --------------------------------------------------------------------------

# path -> what the server does: (status, headers, body), or a callable given the handler.
Answer = tuple[int, dict[str, str], bytes] | Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Server:
    """An HTTP server on 127.0.0.1 in a thread of its own, answering from `pages`, recording
    every path asked for."""

    pages: dict[str, Answer] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    # Set at the end of the test: handlers told to hang wait on it.
    released: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def servers() -> Iterator[Callable[[], Server]]:
    made: list[tuple[ThreadingHTTPServer, Server]] = []

    def make() -> Server:
        server = Server()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.asked.append(self.path)
                answer = server.pages.get(self.path, (404, {}, b"not here"))
                if callable(answer):
                    answer(self)
                    return
                status, headers, body = answer
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        http.daemon_threads = True
        server.port = http.server_address[1]
        threading.Thread(target=http.serve_forever, args=(0.02,), daemon=True).start()
        made.append((http, server))
        return server

    yield make
    for http, server in made:
        server.released.set()
        http.shutdown()
        http.server_close()


def json_page(package: dict[str, Any], next_url: str | None = None) -> Answer:
    if next_url is not None:
        package = {**package, "links": {"next": next_url}}
    return (200, {"Content-Type": "application/json"}, as_bytes(package))


def pages_of(package: dict[str, Any], split: int) -> tuple[dict[str, Any], dict[str, Any]]:
    releases = package["releases"]
    return {**package, "releases": releases[:split]}, {**package, "releases": releases[split:]}


# --- services with a feed ------------------------------------------------------------------------


@pytest.fixture
async def services(settings: Settings, store: Store, clock: ManualClock) -> AsyncIterator[Services]:
    await asyncio.to_thread(store.prepare_for_serving)
    built = build_services(settings, clock=clock, store=store, passwords=FAST_PASSWORDS)
    await built.prepare_data()
    try:
        yield built
    finally:
        await built.close()


def feed_parts(services: Services, url: str, **limits: Any) -> FeedParts:
    """The poller's parts for a feed at `url` (its query made unique: PostgreSQL's database,
    where the mark is kept by address, is shared by the whole run)."""
    unique = f"{url}{'&' if '?' in url else '?'}run={uuid.uuid4().hex[:12]}"
    settings = replace(
        services.settings,
        ocds_feed_url=unique,
        ocds_feed_max_bytes=limits.get("max_bytes", 10 * 1024 * 1024),
        ocds_feed_timeout_seconds=limits.get("timeout", 10.0),
        ocds_feed_max_pages=limits.get("max_pages", 10),
    )
    parts = FeedParts.of(replace(services, settings=settings))
    assert parts is not None
    return parts


def served_at(parts: FeedParts, server: Server) -> str:
    """The feed's first page's path on the server, as the poller asks for it."""
    return parts.feed.url.removeprefix(f"http://127.0.0.1:{server.port}")


async def mark(services: Services, parts: FeedParts) -> Any:
    async with services.engine.connect() as connection:
        query = select(ocds_feeds).where(ocds_feeds.c.feed_url == parts.feed.url)
        return (await connection.execute(query)).one()


# --- two pages, then another host ----------------------------------------------------------------


async def test_two_pages_are_read_a_link_to_another_host_is_not_and_the_mark_is_resumed(
    services: Services, servers: Callable[[], Server]
) -> None:
    feed, elsewhere = servers(), servers()
    package = sample()
    first, second = pages_of(package, 20)
    parts = feed_parts(services, feed.url("/releases?stage=tender"))
    page_two = feed.url("/releases?stage=tender&cursor=2")
    feed.pages[served_at(parts, feed)] = json_page(first, page_two)
    feed.pages["/releases?stage=tender&cursor=2"] = json_page(second, elsewhere.url("/page3"))
    elsewhere.pages["/page3"] = json_page(sample())  # would import 43 more, if followed
    marketplace = marketplace_of(services)
    before = head(marketplace)

    tick = await poll_feed(parts)

    assert tick.pages == 2
    assert (tick.report.imported, tick.report.unchanged, tick.report.skipped) == (43, 0, [])
    assert tick.report.source == "Crown Commercial Service (Contracts Finder)"
    assert elsewhere.asked == []
    assert tick.error is not None
    assert f"links.next leads to another host (http://127.0.0.1:{elsewhere.port})" in tick.error
    assert head(marketplace) - before == 43
    row = await mark(services, parts)
    assert row.next_url == page_two  # the last page read is read again (a last page grows)
    assert (row.pages, row.imported, row.unchanged, row.skipped) == (2, 43, 0, 0)
    assert row.read_at == services.clock.now()
    assert "another host" in row.last_error
    asked = len(feed.asked)

    again = await poll_feed(parts)

    assert feed.asked[asked:] == ["/releases?stage=tender&cursor=2"]  # from the mark
    assert (again.pages, again.report.imported, again.report.unchanged) == (1, 0, 23)
    assert head(marketplace) - before == 43  # the re-read added nothing
    assert elsewhere.asked == []
    row = await mark(services, parts)
    assert (row.next_url, row.pages, row.imported, row.unchanged) == (page_two, 3, 43, 23)


async def test_the_page_limit_ends_a_tick_and_the_next_goes_on_from_the_mark(
    services: Services, servers: Callable[[], Server]
) -> None:
    feed = servers()
    first, second = pages_of(sample(), 30)
    parts = feed_parts(services, feed.url("/feed"), max_pages=1)
    feed.pages[served_at(parts, feed)] = json_page(first, "/feed/2")  # relative: on the host
    feed.pages["/feed/2"] = json_page(second)

    one = await poll_feed(parts)
    row = await mark(services, parts)
    two = await poll_feed(parts)
    three = await poll_feed(parts)

    assert (one.pages, one.report.imported, one.error) == (1, 30, None)
    assert row.next_url == feed.url("/feed/2")
    assert row.last_error is None
    assert (two.pages, two.report.imported, two.error) == (1, 13, None)
    assert (three.pages, three.report.imported, three.report.unchanged) == (1, 0, 13)
    assert feed.asked == [served_at(parts, feed), "/feed/2", "/feed/2"]
    assert one.line() == "OCDS feed: pages read 1, imported 30, updated 0, unchanged 0, skipped 0"


# --- pages refused -------------------------------------------------------------------------------


async def refused(services: Services, parts: FeedParts) -> FeedTick:
    """A tick whose first page is refused: nothing imported, the mark where it was, the error
    recorded."""
    marketplace = marketplace_of(services)
    before = head(marketplace)
    started = time.monotonic()
    tick = await poll_feed(parts)
    assert time.monotonic() - started < parts.feed.timeout_seconds + 5
    assert (tick.pages, tick.report.imported, head(marketplace) - before) == (0, 0, 0)
    row = await mark(services, parts)
    assert (row.next_url, row.version, row.pages, row.read_at) == (parts.feed.url, 0, 0, None)
    assert tick.error is not None
    assert row.last_error == tick.error
    assert row.last_error_at == services.clock.now()
    return tick


async def test_a_page_over_the_size_limit_is_refused_as_it_streams_in(
    services: Services, servers: Callable[[], Server]
) -> None:
    feed = servers()
    limit = 64 * 1024

    def endless(handler: BaseHTTPRequestHandler) -> None:
        # No length said, twice the limit sent, and then the page never ends: only a reader
        # that counts as it streams stops at the limit (one reading it whole would time out).
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        handler.wfile.write(b'{"releases": [' + b'"' + b"x" * (2 * limit) + b'",')
        handler.wfile.flush()
        feed.released.wait()

    parts = feed_parts(services, feed.url("/endless"), max_bytes=limit, timeout=30.0)
    feed.pages[served_at(parts, feed)] = endless
    tick = await refused(services, parts)
    assert tick.error == f"{parts.feed.url}: larger than {limit} bytes"

    said = feed_parts(services, feed.url("/said"), max_bytes=limit)
    feed.pages[served_at(said, feed)] = json_page(sample())  # about 350 kB, and says so
    tick = await refused(services, said)
    assert f"larger than {limit} bytes (it says" in (tick.error or "")


async def test_a_server_that_never_answers_ends_the_tick_after_the_timeout(
    services: Services, servers: Callable[[], Server]
) -> None:
    feed = servers()

    def silent(handler: BaseHTTPRequestHandler) -> None:
        feed.released.wait()

    parts = feed_parts(services, feed.url("/silent"), timeout=0.5)
    feed.pages[served_at(parts, feed)] = silent
    tick = await refused(services, parts)
    assert tick.error == f"{parts.feed.url}: not answered in full within 0.5 seconds"


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ((200, {"Content-Type": "text/html"}, b"<html>Down for maintenance</html>"), "not JSON"),
        ((200, {}, b'{"records": []}'), "an OCDS record package, not a release package"),
        ((200, {}, b'{"uri": "x"}'), "not an OCDS release package"),
        ((200, {}, b'{"releases": [], "n": 1e9999999999999999999}'), "not JSON"),
        ((503, {}, b"busy"), "answered HTTP 503"),
        ((200, {"Content-Encoding": "br"}, b"\x00"), "sent in an encoding not asked for (br)"),
        ((200, {"Content-Encoding": "gzip"}, b"not gzip"), "its gzip compression is broken"),
    ],
)
async def test_a_page_that_is_not_a_release_package_imports_nothing(
    services: Services, servers: Callable[[], Server], answer: Answer, says: str
) -> None:
    feed = servers()
    parts = feed_parts(services, feed.url("/feed"))
    feed.pages[served_at(parts, feed)] = answer
    tick = await refused(services, parts)
    assert says in (tick.error or "")


async def test_a_redirect_is_not_followed(
    services: Services, servers: Callable[[], Server]
) -> None:
    feed, elsewhere = servers(), servers()
    elsewhere.pages["/feed"] = json_page(sample())
    parts = feed_parts(services, feed.url("/feed"))
    feed.pages[served_at(parts, feed)] = (302, {"Location": elsewhere.url("/feed")}, b"")

    tick = await refused(services, parts)

    assert elsewhere.asked == []
    assert (
        f"redirected (HTTP 302) to http://127.0.0.1:{elsewhere.port}: redirects are not followed"
    ) in (tick.error or "")


async def test_a_gzip_page_is_read_and_one_that_expands_past_the_limit_is_refused(
    services: Services, servers: Callable[[], Server]
) -> None:
    feed = servers()
    package = sample()
    parts = feed_parts(services, feed.url("/gzip"), max_bytes=len(as_bytes(package)))
    feed.pages[served_at(parts, feed)] = (
        200,
        {"Content-Encoding": "gzip"},
        gzip.compress(as_bytes(package)),
    )
    tick = await poll_feed(parts)
    assert (tick.pages, tick.report.imported, tick.error) == (1, 43, None)

    limit = 1024 * 1024
    bomb = gzip.compress(b" " * (64 * limit))  # 64 MB of spaces in about 64 kB
    assert len(bomb) < limit
    small = feed_parts(services, feed.url("/bomb"), max_bytes=limit)
    feed.pages[served_at(small, feed)] = (200, {"Content-Encoding": "gzip"}, bomb)
    tick = await refused(services, small)
    assert tick.error == f"{small.feed.url}: larger than {limit} bytes"


# --- concurrency ---------------------------------------------------------------------------------


async def test_two_polls_at_once_import_each_release_once_and_only_one_moves_the_mark(
    services: Services, servers: Callable[[], Server]
) -> None:
    feed = servers()
    first, second = pages_of(sample(), 25)
    parts = feed_parts(services, feed.url("/feed"))
    both_asked = threading.Barrier(2, timeout=10)
    body = as_bytes({**first, "links": {"next": feed.url("/feed/2")}})

    def together(handler: BaseHTTPRequestHandler) -> None:
        # Both polls have read the same mark and asked for the same page before either
        # gets it: a real race.
        both_asked.wait()
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    feed.pages[served_at(parts, feed)] = together
    feed.pages["/feed/2"] = json_page(second)
    marketplace = marketplace_of(services)
    before = head(marketplace)

    ticks = await asyncio.gather(poll_feed(parts), poll_feed(parts))

    assert sum(t.report.imported for t in ticks) == 43
    assert head(marketplace) - before == 43  # one event per opportunity: none twice
    overtaken = [t for t in ticks if t.overtaken]
    assert len(overtaken) == 1
    assert overtaken[0].pages == 1
    assert "another poll" in overtaken[0].line()
    [leader] = [t for t in ticks if not t.overtaken]
    assert leader.pages == 2
    row = await mark(services, parts)
    assert (row.next_url, row.version) == (feed.url("/feed/2"), 2)
    assert (row.pages, row.imported, row.unchanged) == (3, 43, 25)
    assert feed.asked.count("/feed/2") == 1


# --- the clock -----------------------------------------------------------------------------------


async def test_the_clock_job_polls_until_stopped_and_the_tick_reports(
    services: Services, servers: Callable[[], Server]
) -> None:
    feed = servers()
    first, second = pages_of(sample(), 10)
    parts = feed_parts(services, feed.url("/feed"))
    with_feed = replace(services, settings=replace(services.settings, ocds_feed_url=parts.feed.url))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    feed.pages[served_at(parts, feed)] = json_page(first, "/feed/2")
    second_page = json_page(second)
    assert not callable(second_page)

    def last(handler: BaseHTTPRequestHandler) -> None:
        loop.call_soon_threadsafe(stop.set)  # the job ends after this tick
        status, _, body = second_page
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    feed.pages["/feed/2"] = last

    await asyncio.wait_for(poll_ocds_feed(with_feed, 3600, stop), timeout=30)

    row = await mark(services, parts)
    assert (row.next_url, row.imported) == (feed.url("/feed/2"), 43)
    line = await ocds_feed_tick(with_feed)
    assert line == "OCDS feed: pages read 1, imported 0, updated 0, unchanged 33, skipped 0"
    without = replace(services, settings=replace(services.settings, ocds_feed_url=None))
    assert await ocds_feed_tick(without) == "OCDS feed: none (TRADEHALL_OCDS_FEED_URL is unset)"
    await asyncio.wait_for(poll_ocds_feed(without, 3600, asyncio.Event()), timeout=5)


# --- which links are followed --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "followed", "why"),
    [
        (None, None, None),
        ("https://feed.example/r?page=2", "https://feed.example/r?page=2", None),
        ("https://FEED.example:443/r?page=2", "https://feed.example/r?page=2", None),
        ("?page=2", "https://feed.example/r?page=2", None),
        ("https://feed.example/r?page=2#top", "https://feed.example/r?page=2", None),
        ("https://feed.example/r?page=1", None, None),  # itself: the end
        ("http://feed.example/r?page=2", None, "another host (http://feed.example:80)"),
        ("https://feed.example:8443/r", None, "another host (https://feed.example:8443)"),
        ("https://evil.example/r", None, "another host (https://evil.example:443)"),
        ("//evil.example/r", None, "another host (https://evil.example:443)"),
        ("https://u:p@feed.example/r", None, "a user or password"),
        ("https://feed.example/" + "x" * 2000, None, "longer than 2000"),
    ],
)
def test_only_links_on_the_feeds_own_scheme_host_and_port_are_followed(
    link: str | None, followed: str | None, why: str | None
) -> None:
    found, reason = next_page("https://feed.example/r", "https://feed.example/r?page=1", link)
    assert found == followed
    if why is None:
        assert reason is None
    else:
        assert reason is not None
        assert why in reason
