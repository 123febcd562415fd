"""The OCDS import's adapters attacked (issue 16), on each store: hostile packages through
`tradehall import ocds` (JSON nested 100,000 deep, duplicate keys, numbers with huge exponents,
integers past any column, releases 40 deep, an ocid under our prefix) are refused whole or
skipped release by release, never a traceback; a feed whose links.next tries another port by
userinfo tricks, IPv6 and decimal forms of the address, scheme-relative and backslashed links
is never followed off its host; a server trickling bytes each within a read's timeout is cut
off at the page's time limit; a page already half imported (a tick that stopped) is finished by
the next, each release once; a page with invalid releases still moves the mark."""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from marketplace.outside.opportunity import opportunity_id_for
from tests.integration.test_ocds_feed import (
    Server,
    feed_parts,
    json_page,
    mark,
    served_at,
    servers,
    services,
)
from tests.integration.test_ocds_import import (
    as_bytes,
    cli_env,
    head,
    imported,
    marketplace_of,
    sample,
    with_import_command,
)
from tradehall.cli import cli_for
from tradehall.contexts import CONTEXTS
from tradehall.marketplace.outside.feed import next_page, poll_feed
from tradehall.marketplace.outside.packages import read_package
from tradehall.services import Services
from tradehall.store.base import Store

__all__ = ["servers", "services"]  # the feed tests' fixtures, used here


# --- hostile files through the command -----------------------------------------------------------


def run_import(store: Store, tmp_path: Path, content: bytes) -> Any:
    main = cli_for(with_import_command(CONTEXTS))
    file = tmp_path / f"hostile-{uuid.uuid4().hex[:8]}.json"
    file.write_bytes(content)
    return CliRunner().invoke(main, ["import", "ocds", str(file)], env=cli_env(store, tmp_path))


def test_hostile_releases_in_a_file_are_skipped_one_by_one_and_the_rest_imported(
    store: Store, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    good = sample(run)["releases"][0]
    deep = b'{"n": ' * 40 + b'"bottom"' + b"}" * 40
    releases = [
        as_bytes(good),
        # Duplicate keys: the last one counts (as JSON parsers do); an id, so a new release.
        b'{"ocid": "ocds-b5fd17-dup-'
        + run.encode()
        + b'", "ocid": "ocds-b5fd17-dup2-'
        + run.encode()
        + b'", "date": "2025-01-01T00:00:00Z", "tag": ["tender"], "id": "1"}',
        # Amounts far past any column, and integers past 64 bits.
        b'{"ocid": "ocds-b5fd17-big-' + run.encode() + b'", "date": "2025-01-01T00:00:00Z",'
        b' "tag": ["tender"], "tender": {"value": {"amount": 1e999999999, "currency": "GBP"},'
        b' "items": [{"id": 1' + b"0" * 400 + b', "quantity": -1e-999999999}]}}',
        # Nested past the limit the importer takes.
        b'{"ocid": "ocds-b5fd17-deep-' + run.encode() + b'", "date": "2025-01-01T00:00:00Z",'
        b' "tag": ["tender"], "tender": ' + deep + b"}",
        # Tags of every odd type.
        b'{"ocid": "ocds-b5fd17-tag-' + run.encode() + b'", "date": "2025-01-01T00:00:00Z",'
        b' "tag": [1, null]}',
        b'{"ocid": "ocds-thdemo-' + run.encode() + b'", "date": "2025-01-01T00:00:00Z",'
        b' "tag": ["tender"]}',
    ]
    content = b'{"publisher": {"name": "Probe"}, "releases": [' + b", ".join(releases) + b"]}"

    result = run_import(store, tmp_path, content)

    assert result.exit_code == 0, result.output
    assert "6 releases from Probe: imported 3, updated 0, unchanged 0, skipped 3" in result.output
    assert "skipped release 3 (ocds-b5fd17-deep-" in result.output
    assert "nested more than 32 deep" in result.output
    assert "skipped release 4 (ocds-b5fd17-tag-" in result.output
    assert f"skipped release 5 (ocds-thdemo-{run}): ocid:" in result.output
    assert "Traceback" not in result.output

    again = run_import(store, tmp_path, content)
    assert "imported 0, updated 0, unchanged 3, skipped 3" in again.output


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
        (b'{"releases": [' + b"{" * 5000, "not JSON"),
        (b'{"releases": [{"a": NaN}]}', "not JSON"),
        (b'{"releases": [{"a": Infinity}]}', "not JSON"),
        # An exponent past any decimal's (libmpdec's 10**18): no amount this reader can hold.
        (b'{"releases": [{"a": 1e9999999999999999999}]}', "not JSON"),
        (b'{"releases": [{"a": -1e-9999999999999999999, "b": "\\ud800"}]}', "not JSON"),
        (b'{"releases": [{"a": "\xff"}]}', "not JSON"),
        (b"\xef\xbb\xbf\xef\xbb\xbf{}", "not JSON"),
        (b"", "not JSON"),
        (b"null", "a single value"),
    ],
)
def test_packages_that_are_not_json_a_reader_can_take_are_refused_whole_by_name(
    store: Store, tmp_path: Path, content: bytes, says: str
) -> None:
    result = run_import(store, tmp_path, content)
    assert result.exit_code == 1, result.output
    assert says in result.output
    assert "Traceback" not in result.output


# --- the feed: links off the host ----------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "http://127.0.0.1:{feed}@127.0.0.1:{other}/page2",
        "http://feed@127.0.0.1:{other}/page2",
        "http://127.0.0.1:{feed}\\@127.0.0.1:{other}/page2",
        "http://[::ffff:127.0.0.1]:{other}/page2",
        "http://[::1]:{feed}/page2",  # the same port on another form of the host
        "http://2130706433:{feed}/page2",
        "http://127.1:{feed}/page2",
        "http://127.0.0.1.:{feed}/page2",
        "http://localhost:{feed}/page2",
        "//127.0.0.1:{other}/page2",
        "https://127.0.0.1:{feed}/page2",
        "file:///etc/passwd",
        "http://127.0.0.1:{other}/page2#http://127.0.0.1:{feed}/",
    ],
)
async def test_a_next_link_off_the_feeds_host_is_never_asked_for(
    services: Services, servers: Callable[[], Server], link: str
) -> None:
    feed, other = servers(), servers()
    first, rest = sample(), sample()
    parts = feed_parts(services, feed.url("/feed"))
    nxt = link.format(feed=feed.port, other=other.port)
    feed.pages[served_at(parts, feed)] = json_page(
        {**first, "releases": first["releases"][:2]}, nxt
    )
    other.pages["/page2"] = json_page(rest)
    feed.pages["/page2"] = json_page(rest)

    tick = await poll_feed(parts)

    assert other.asked == []
    assert feed.asked == [served_at(parts, feed)]
    assert (tick.pages, tick.report.imported) == (1, 2)
    assert tick.error is not None
    assert "not followed" in tick.error
    row = await mark(services, parts)
    assert row.next_url == parts.feed.url  # the page itself is read again next time


@pytest.mark.parametrize(
    "link",
    [
        "/\\127.0.0.1:{other}/page2",
        "\\\\127.0.0.1:{other}\\page2",
        "http:/\\/127.0.0.1:{other}/page2",
        "http:127.0.0.1:{other}/page2",
    ],
)
def test_backslashed_and_schemeless_links_stay_on_the_feeds_host(link: str) -> None:
    feed = "http://127.0.0.1:8000/feed"
    following, _ = next_page(feed, feed, link.format(other=9000))
    if following is not None:
        assert following.startswith("http://127.0.0.1:8000/")


# --- the feed: time, and a page half imported ----------------------------------------------------


async def test_a_page_trickled_in_is_cut_off_at_the_pages_time_limit(
    services: Services, servers: Callable[[], Server]
) -> None:
    feed = servers()
    body = as_bytes(sample())

    def trickle(handler: BaseHTTPRequestHandler) -> None:
        # A byte every 0.1 s: each read is well within a read's timeout, the page never is.
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        for byte in body:
            if feed.released.is_set():
                return
            try:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
            except OSError:
                return
            feed.released.wait(0.1)

    parts = feed_parts(services, feed.url("/slow"), timeout=1.0)
    feed.pages[served_at(parts, feed)] = trickle
    before = head(marketplace_of(services))
    started = time.monotonic()

    tick = await poll_feed(parts)

    assert time.monotonic() - started < 5
    assert tick.error == f"{parts.feed.url}: not answered in full within 1 seconds"
    assert (tick.pages, head(marketplace_of(services)) - before) == (0, 0)
    row = await mark(services, parts)
    assert (row.next_url, row.version) == (parts.feed.url, 0)


async def test_a_page_half_imported_before_is_finished_by_the_next_tick_each_release_once(
    services: Services, servers: Callable[[], Server]
) -> None:
    feed = servers()
    package = sample()
    # A tick that stopped half way through the page (the store failed): its first 20 releases
    # are in the log, the mark did not move.
    half = {**package, "releases": package["releases"][:20]}
    assert (await imported(services, half)).imported == 20
    parts = feed_parts(services, feed.url("/feed"))
    feed.pages[served_at(parts, feed)] = json_page(package, "/feed/2")
    feed.pages["/feed/2"] = json_page({**package, "releases": []})
    before = head(marketplace_of(services))

    tick = await poll_feed(parts)

    assert (tick.report.imported, tick.report.unchanged, tick.report.skipped) == (23, 20, [])
    assert head(marketplace_of(services)) - before == 23
    row = await mark(services, parts)
    assert row.next_url == feed.url("/feed/2")


async def test_a_page_with_invalid_releases_moves_the_mark_and_reports_them(
    services: Services, servers: Callable[[], Server]
) -> None:
    feed = servers()
    package = sample()
    bad = copy.deepcopy(package["releases"][0])
    bad["ocid"] = f"{bad['ocid']}-bad"
    bad["tender"]["items"] = {"id": "1"}  # fine alone
    clash = copy.deepcopy(bad)
    clash["id"] = "clash"
    clash["date"] = "2025-12-01T00:00:00Z"
    clash["tender"]["items"] = [{"id": "1"}]  # a list where the first had an object
    unhashable = copy.deepcopy(package["releases"][1])
    unhashable["ocid"] = f"{unhashable['ocid']}-unhashable"
    unhashable["tender"]["items"] = [{"id": {"an": "object"}}]
    releases = [package["releases"][2], bad, clash, unhashable, "text", None, 7]
    parts = feed_parts(services, feed.url("/feed"))
    feed.pages[served_at(parts, feed)] = json_page({**package, "releases": releases}, "/feed/2")
    feed.pages["/feed/2"] = json_page({**package, "releases": []})

    tick = await poll_feed(parts)

    assert (tick.report.imported, tick.report.updated) == (2, 0)
    assert [(s.index, s.field) for s in tick.report.skipped] == [
        (2, "release"),
        (3, "release"),
        (4, "release"),
        (5, "release"),
        (6, "release"),
    ]
    assert "cannot be merged" in tick.report.skipped[0].reason
    row = await mark(services, parts)
    assert (row.next_url, row.skipped) == (feed.url("/feed/2"), 5)
    merged = await services.run(
        marketplace_of(services).outside_opportunity, opportunity_id_for(bad["ocid"])
    )
    assert len(merged.releases) == 1  # the clash left it as it was


# Found by the attack on issue 16 (each failed before its fix) ------------------------------


def test_a_lone_surrogate_in_one_release_spoils_only_that_release() -> None:
    data = (
        b'{"releases": [{"ocid": "ocds-x-1", "date": "2025-01-01T00:00:00Z", "tag": ["tender"]},'
        b' {"ocid": "ocds-x-2", "date": "2025-01-01T00:00:00Z", "tag": ["tender"],'
        b' "title": "a\\ud800b"}]}'
    )
    package = read_package(data, max_bytes=10**6)
    assert len(package.releases) == 2


async def test_the_feed_passes_a_page_with_a_lone_surrogate(
    services: Services, servers: Callable[..., Server]
) -> None:
    feed = servers()
    package = sample()
    body = as_bytes(package).replace(
        b'"title":"Parking Pilot - CEO"', b'"title":"Parking \\ud800 Pilot"', 1
    )
    assert body != as_bytes(package)
    parts = feed_parts(services, feed.url("/feed"))
    page = body.replace(b'"releases"', b'"links":{"next":"/feed/2"},"releases"', 1)
    feed.pages[served_at(parts, feed)] = (200, {}, page)
    feed.pages["/feed/2"] = json_page({**package, "releases": []})
    tick = await poll_feed(parts)
    assert tick.report.imported == 43, tick.error
    assert (await mark(services, parts)).next_url == feed.url("/feed/2")


async def test_a_skipped_reason_is_bounded_and_without_control_characters(
    services: Services,
) -> None:
    package = sample()
    first = package["releases"][0]
    key = "x\x1b[31mRED"
    first["tender"][key] = [{"id": str(i)} for i in range(20000)]
    later = {**first, "id": "later", "date": "2025-12-01T00:00:00Z", "tender": {key: {"id": "1"}}}
    report = await imported(services, {**package, "releases": [first, later]})
    [skipped] = report.skipped
    text = str(skipped)
    assert text.isprintable()
    assert len(text) < 2000
