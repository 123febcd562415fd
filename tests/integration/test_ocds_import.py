"""Importing OCDS release packages as outside opportunities (issue 16), on each store: the real
Contracts Finder sample, a second import adding nothing, a later release merged, invalid
releases reported and skipped, no contact point's personal data in the event log, and
`tradehall import ocds FILE`."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner

from marketplace.application import MarketplaceApp
from marketplace.outside.opportunity import Opportunity, opportunity_id_for
from marketplace.outside.releases import PERSONAL
from sharedkernel.events import IMPORTER, Context
from tests.conftest import FAST_PASSWORDS
from tradehall.cli import cli_for
from tradehall.cli.ocds_import import OCDS_IMPORT_COMMANDS
from tradehall.clock import ManualClock
from tradehall.context import ContextDeclaration
from tradehall.contexts import CONTEXTS
from tradehall.marketplace.outside.importing import ImportReport, import_package
from tradehall.marketplace.outside.packages import (
    NotAPackage,
    ReleasePackage,
    package_of,
    read_package,
)
from tradehall.services import Services, build_services
from tradehall.settings import Settings
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore
from tradehall.store.sqlite import SQLiteStore

SAMPLE = (
    Path(__file__).parent.parent / "data" / "ocds" / "samples" / "contracts-finder-2025-sample.json"
)
PUBLISHER = "Crown Commercial Service (Contracts Finder)"
_decoder = msgspec.json.Decoder(float_hook=Decimal)
_encoder = msgspec.json.Encoder(decimal_format="number")


# --- the sample, each test's own -----------------------------------------------------------------


def sample(run: str | None = None) -> dict[str, Any]:
    """The real sample (JSON numbers as Decimals), each ocid given this run's suffix: PostgreSQL's
    database is shared by a whole test run, and each test needs opportunities of its own."""
    package: dict[str, Any] = _decoder.decode(SAMPLE.read_bytes())
    suffix = run or uuid.uuid4().hex[:12]
    for release in package["releases"]:
        release["ocid"] = f"{release['ocid']}-{suffix}"
    return package


def as_bytes(package: dict[str, Any]) -> bytes:
    return _encoder.encode(package)


def ocids(package: dict[str, Any]) -> list[str]:
    return [release["ocid"] for release in package["releases"]]


def personal_values(value: Any, under_contact: bool = False) -> set[str]:
    """Every name, e-mail, telephone and fax number of a contact point in the raw package."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if under_contact and key in PERSONAL and isinstance(item, str):
                found.add(item.strip())
            else:
                found |= personal_values(item, key in {"contactPoint", "additionalContactPoints"})
    elif isinstance(value, list):
        for item in value:
            found |= personal_values(item, under_contact)
    return found


def event_states(marketplace: MarketplaceApp) -> list[bytes]:
    """The state bytes of every event in the marketplace's log, as stored."""
    states: list[bytes] = []
    start = 1
    while True:
        page = marketplace.recorder.select_notifications(start, 500)
        states += [notification.state for notification in page]
        if len(page) < 500:
            return states
        start = page[-1].id + 1


def head(marketplace: MarketplaceApp) -> int:
    return marketplace.recorder.max_notification_id() or 0


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
async def services(settings: Settings, store: Store, clock: ManualClock) -> AsyncIterator[Services]:
    await asyncio.to_thread(store.prepare_for_serving)
    built = build_services(settings, clock=clock, store=store, passwords=FAST_PASSWORDS)
    await built.prepare_data()
    try:
        yield built
    finally:
        await built.close()


def marketplace_of(services: Services) -> MarketplaceApp:
    app = services.applications["marketplace"]
    assert isinstance(app, MarketplaceApp)
    return app


async def imported(services: Services, package: dict[str, Any] | bytes) -> ImportReport:
    data = package if isinstance(package, bytes) else as_bytes(package)
    read = read_package(data, max_bytes=10 * 1024 * 1024)
    now = services.clock.now()
    context = Context(IMPORTER, "test-ocds-import", now)
    return await services.run(import_package, marketplace_of(services), context, read)


async def opportunity(services: Services, ocid: str) -> Opportunity:
    return await services.run(
        marketplace_of(services).outside_opportunity, opportunity_id_for(ocid)
    )


# --- the real sample -----------------------------------------------------------------------------


async def test_the_real_sample_imports_every_release_and_a_second_import_adds_nothing(
    services: Services,
) -> None:
    package = sample()
    marketplace = marketplace_of(services)
    before = head(marketplace)

    first = await imported(services, package)

    assert (first.imported, first.updated, first.unchanged, first.skipped) == (43, 0, 0, [])
    assert first.source == PUBLISHER
    assert head(marketplace) - before == 43  # one event per opportunity
    assert first.position == head(marketplace)
    without_id = [r["ocid"] for r in package["releases"] if "id" not in r]
    assert len(without_id) == 10
    for ocid in without_id:  # told apart by their content
        [key] = (await opportunity(services, ocid)).keys
        assert key.startswith("sha256:")
    merton = await opportunity(services, package["releases"][0]["ocid"])
    assert merton.source == PUBLISHER
    assert merton.summary.title == "Parking Pilot - CEO"
    assert merton.summary.buyer_name == "London Borough of Merton"
    assert merton.summary.vcse is False
    # A fractional amount stays exactly as published (never a float's nearest value).
    fractional = await opportunity(services, package["releases"][16]["ocid"])
    assert fractional.summary.amount == Decimal("263321.17")
    assert (await opportunity(services, package["releases"][23]["ocid"])).summary.vcse is None

    again = await imported(services, package)

    assert (again.imported, again.updated, again.unchanged, again.skipped) == (0, 0, 43, [])
    assert again.position is None
    assert head(marketplace) - before == 43  # no new events


async def test_a_later_release_of_the_same_ocid_updates_its_opportunity_by_the_merge(
    services: Services,
) -> None:
    package = sample()
    active = package["releases"][7]  # an active tender, with a deadline and a value
    assert active["tender"]["status"] == "active"
    await imported(services, package)
    first = (await opportunity(services, active["ocid"])).summary
    later = {
        "ocid": active["ocid"],
        "id": f"{active['id']}-update",
        "date": "2025-04-01T09:00:00Z",
        "tag": ["tenderUpdate"],
        "tender": {
            "id": active["tender"]["id"],
            "status": "cancelled",
            "tenderPeriod": {"endDate": "2025-05-30T12:00:00Z"},
        },
    }
    update = {**package, "releases": [later, active]}
    marketplace = marketplace_of(services)
    before = head(marketplace)

    report = await imported(services, update)

    assert (report.imported, report.updated, report.unchanged) == (0, 1, 1)
    assert head(marketplace) - before == 1
    merged = await opportunity(services, active["ocid"])
    assert len(merged.releases) == 2
    assert merged.summary.status == "cancelled"
    assert merged.summary.deadline == datetime(2025, 5, 30, 12, tzinfo=UTC)
    assert merged.summary.deadline != first.deadline
    # What the later release did not repeat stays as the first said it (the standard's merge).
    assert merged.summary.title == first.title
    assert merged.summary.amount == first.amount == Decimal(10000)
    assert merged.summary.buyer_name == first.buyer_name
    # Imported again, in either order: nothing more.
    again = await imported(services, {**package, "releases": [active, later]})
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 2)
    assert head(marketplace) - before == 1


async def test_invalid_releases_are_reported_with_why_and_skipped_the_rest_imported(
    services: Services, settings: Settings
) -> None:
    package = sample()
    good = package["releases"][:3]
    template = copy.deepcopy(good[0])
    suffix = uuid.uuid4().hex[:8]

    def broken(**changes: Any) -> dict[str, Any]:
        release = {**copy.deepcopy(template), "ocid": f"ocds-b5fd17-broken-{suffix}"}
        for key, value in changes.items():
            if value is None:
                release.pop(key, None)
            else:
                release[key] = value
        return release

    deep: Any = "bottom"
    for _ in range(40):
        deep = {"nested": deep}
    ours = f"{settings.ocid_prefix}-{uuid.uuid4()}"
    releases = [
        good[0],
        broken(ocid=None),  # 1
        broken(ocid=ours),  # 2
        broken(date=None),  # 3
        broken(date="last Tuesday"),  # 4
        broken(tag=None),  # 5
        broken(tag="tender"),  # 6
        "not a release",  # 7
        broken(tender=deep),  # 8
        good[1],
        broken(ocid="   "),  # 10
        good[2],
        broken(ocid="ocds-b5fd17-\x1b[2J", date=None),  # 12: not an ocid, shown escaped
    ]
    marketplace = marketplace_of(services)
    before = head(marketplace)

    report = await imported(services, {**package, "releases": releases})

    assert (report.imported, report.updated, report.unchanged) == (3, 0, 0)
    assert head(marketplace) - before == 3
    fields = {s.index: (s.ocid, s.field) for s in report.skipped}
    broken_ocid = f"ocds-b5fd17-broken-{suffix}"
    assert fields == {
        1: (None, "ocid"),
        2: (ours, "ocid"),
        3: (broken_ocid, "date"),
        4: (broken_ocid, "date"),
        5: (broken_ocid, "tag"),
        6: (broken_ocid, "tag"),
        7: (None, "release"),
        8: (broken_ocid, "release"),
        10: (None, "ocid"),
        12: ("'ocds-b5fd17-\\x1b[2J'", "ocid"),
    }
    reasons = {s.index: s.reason for s in report.skipped}
    assert reasons[1] == "missing"
    assert "our own prefix" in reasons[2]
    assert "ISO 8601" in reasons[4]
    assert "nested more than 32 deep" in reasons[8]
    assert str(report.skipped[0]) == "release 1 (no ocid): ocid: missing"
    for release in good:
        assert (await opportunity(services, release["ocid"])).summary.title
    with pytest.raises(Exception, match="no opportunity"):
        await opportunity(services, broken_ocid)


async def test_no_contact_points_personal_data_reaches_the_event_log(services: Services) -> None:
    package = sample()
    personal = {value for value in personal_values(package) if len(value) >= 3}
    assert len(personal) > 100  # the sample's names, e-mails, telephone and fax numbers
    assert "Commercial.services@merton.gov.uk" in personal

    await imported(services, package)

    states = event_states(marketplace_of(services))
    stored = b"\n".join(states)
    # The check can fail: what is not personal is there, as the events' bytes hold it.
    assert b"London Borough of Merton" in stored
    assert package["releases"][0]["ocid"].encode() in stored
    for value in personal:
        for form in {value, json.dumps(value)[1:-1]}:
            assert form.encode() not in stored, value
    assert b"@merton.gov.uk" not in stored


# --- reading packages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"<html>Service unavailable</html>", "not JSON"),
        (b'{"releases": [', "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
        (b"[]", "the JSON is a list, not an object"),
        (b"42", "the JSON is a single value"),
        (b'{"records": []}', "an OCDS record package, not a release package"),
        (b'{"ocid": "ocds-b5fd17-1", "date": "2025-01-01T00:00:00Z"}', "a single OCDS release"),
        (b'{"releases": {"ocid": "x"}}', "it has no list of releases"),
        (b'{"uri": "https://example.org", "version": "1.1"}', "it has no list of releases"),
    ],
)
def test_what_is_not_a_release_package_is_refused_saying_what_it_is(data: bytes, says: str) -> None:
    with pytest.raises(NotAPackage, match=says):
        read_package(data, max_bytes=10_000_000)


def test_a_package_gives_its_publisher_releases_and_next_page_and_its_size_is_bounded() -> None:
    data = (
        b'\xef\xbb\xbf{"publisher": {"name": "  Find a\\n Tender  "}, "releases": [{"a": 1.10}],'
        b' "links": {"next": " https://feed.example/page2 "}}'
    )
    package = read_package(data, max_bytes=len(data))
    assert package == ReleasePackage(
        "Find a Tender", [{"a": Decimal("1.10")}], "https://feed.example/page2"
    )
    assert isinstance(package.releases[0]["a"], Decimal)
    assert package_of({"releases": []}) == ReleasePackage("", [], None)
    assert package_of({"releases": [], "publisher": "CCS", "links": {"next": 3}}).next_url is None
    with pytest.raises(NotAPackage, match=f"larger than {len(data) - 1} bytes"):
        read_package(data, max_bytes=len(data) - 1)


async def test_a_package_without_a_publisher_is_imported_from_an_unknown_source(
    services: Services,
) -> None:
    package = sample()
    del package["publisher"]
    release = package["releases"][4]
    report = await imported(services, {**package, "releases": [release]})
    assert report.source == "unknown"
    assert (await opportunity(services, release["ocid"])).source == "unknown"


# --- the command line ----------------------------------------------------------------------------


def with_import_command(contexts: Sequence[ContextDeclaration]) -> list[ContextDeclaration]:
    """The declared contexts, the marketplace's with `import ocds` (which its declaration adds)."""
    return [
        replace(c, commands=(*c.commands, *OCDS_IMPORT_COMMANDS)) if c.name == "marketplace" else c
        for c in contexts
    ]


def cli_env(store: Store, tmp_path: Path) -> dict[str, str]:
    if isinstance(store, PostgresStore):
        url = store.url.render_as_string(hide_password=False)
        return {"TRADEHALL_DATABASE_URL": url, "TRADEHALL_DATA_DIR": str(tmp_path)}
    assert isinstance(store, SQLiteStore)
    return {"TRADEHALL_DATABASE_URL": "", "TRADEHALL_DATA_DIR": str(tmp_path / "data")}


def test_the_import_command_counts_and_reports_each_skipped_release(
    store: Store, tmp_path: Path
) -> None:
    main = cli_for(with_import_command(CONTEXTS))
    assert {"members", "ocds"} <= set(main.commands["import"].commands)  # type: ignore[attr-defined]
    runner = CliRunner()
    env = cli_env(store, tmp_path)
    package = sample()
    package["releases"].append({"id": "no-ocid", "date": "2025-02-01T00:00:00Z", "tag": ["tender"]})
    file = tmp_path / "releases.json"
    file.write_bytes(as_bytes(package))

    first = runner.invoke(main, ["import", "ocds", str(file)], env=env)
    again = runner.invoke(main, ["import", "ocds", str(file)], env=env)

    assert first.exit_code == 0, first.output
    assert f"44 releases from {PUBLISHER}: imported 43, updated 0, unchanged 0, skipped 1" in (
        first.output
    )
    assert "skipped release 43 (no ocid): ocid: missing" in first.output
    assert again.exit_code == 0, again.output
    assert "imported 0, updated 0, unchanged 43, skipped 1" in again.output


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"not json at all", "not JSON"),
        (b'{"records": []}', "an OCDS record package, not a release package"),
        (b"[1, 2]", "not an OCDS release package"),
    ],
)
def test_the_import_command_refuses_a_file_that_is_not_a_release_package(
    tmp_path: Path, content: bytes, says: str
) -> None:
    main = cli_for(with_import_command(CONTEXTS))
    file = tmp_path / "package.json"
    file.write_bytes(content)
    env = {"TRADEHALL_DATABASE_URL": "", "TRADEHALL_DATA_DIR": str(tmp_path / "data")}

    result = CliRunner().invoke(main, ["import", "ocds", str(file)], env=env)

    assert result.exit_code == 1
    assert f"{file}: " in result.output
    assert says in result.output
    assert not (tmp_path / "data").exists()  # refused before the store was opened


def test_the_import_command_refuses_a_file_too_large_or_missing(tmp_path: Path) -> None:
    main = cli_for(with_import_command(CONTEXTS))
    env = {"TRADEHALL_DATABASE_URL": "", "TRADEHALL_DATA_DIR": str(tmp_path / "data")}
    file = tmp_path / "package.json"
    file.write_bytes(SAMPLE.read_bytes())
    runner = CliRunner()

    large = runner.invoke(main, ["import", "ocds", str(file), "--max-bytes", "1000"], env=env)
    missing = runner.invoke(main, ["import", "ocds", str(tmp_path / "nowhere.json")], env=env)

    assert large.exit_code == 1
    assert "larger than 1000 bytes (--max-bytes)" in large.output
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
