"""Importing members from CiviCRM and Wild Apricot exports, and exporting them, on each store."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from membership.history import standing_at
from membership.standing import MembershipStatus
from sharedkernel.events import CLOCK, Context
from tests.conftest import FAST_PASSWORDS
from tradehall.cli import main
from tradehall.clock import ManualClock
from tradehall.identity import accounts
from tradehall.identity.tables import users
from tradehall.mail.tables import outbox_messages
from tradehall.membership.members_csv import IMPORT_NAMESPACE, Source
from tradehall.membership.members_export import COLUMNS, members_csv
from tradehall.membership.members_import import (
    IMPORT_REQUEST_PREFIX,
    UNUSABLE_PASSWORD_HASH,
    ImportRefused,
    import_members,
)
from tradehall.services import Services, build_services
from tradehall.settings import Settings
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore
from tradehall.store.sqlite import SQLiteStore

DATA = Path(__file__).parent.parent / "data"
CIVICRM_HEADER = [
    "Contact ID",
    "Organization Name",
    "Display Name",
    "Email",
    "Membership Type",
    "Membership Status",
    "Member Since",
    "Membership Start Date",
    "Membership Expiration Date",
    "Legal Form",
    "Registry Scheme",
    "Registry ID",
    "Regions",
    "CPV Codes",
    "Social Purpose",
    "Annual Turnover",
]
# The clock of these tests stands at 2026-03-02 09:30 UTC (tests/conftest.py).


def civicrm_row(**fields: str) -> dict[str, str]:
    """A good CiviCRM row, unique in every store (contact id, e-mail, company number)."""
    contact = str(random.randrange(10**8, 10**9))
    row = {
        "Contact ID": contact,
        "Organization Name": f"Riverside Bakery {contact} CIC",
        "Display Name": "",
        "Email": f"member-{contact}@import.example",
        "Membership Type": "Small",
        "Membership Status": "Current",
        "Member Since": "2019-03-15",
        "Membership Start Date": "2025-12-01",
        "Membership Expiration Date": "2026-11-30",
        "Legal Form": "CIC",
        "Registry Scheme": "GB-COH",
        "Registry ID": str(random.randrange(10**7, 10**8)),
        "Regions": "TLC3;TLC4",
        "CPV Codes": "15810000-9",
        "Social Purpose": "Jobs and training for people leaving prison",
        "Annual Turnover": "£240,000",
    }
    row.update(fields)
    return row


def csv_text(rows: list[dict[str, str]], header: list[str] | None = None) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header or CIVICRM_HEADER, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def organisation_id(row: dict[str, str], source: str = "civicrm") -> uuid.UUID:
    key = row.get("Contact ID") or row["User ID"]
    return uuid.uuid5(IMPORT_NAMESPACE, f"{source}:{key}")


def start_of(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.min, tzinfo=UTC)


def end_of(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.max, tzinfo=UTC)


@pytest.fixture
async def services(settings: Settings, store: Store, clock: ManualClock) -> AsyncIterator[Services]:
    await asyncio.to_thread(store.prepare_for_serving)
    built = build_services(settings, clock=clock, store=store, passwords=FAST_PASSWORDS)
    await built.prepare_data()
    try:
        yield built
    finally:
        await built.close()


def head(services: Services) -> int:
    """The membership log's last notification id: any recorded event moves it."""
    return services.membership.recorder.max_notification_id() or 0


async def user_count(services: Services, emails: list[str]) -> int:
    async with services.engine.connect() as connection:
        result = await connection.execute(
            select(func.count()).select_from(users).where(users.c.email.in_(emails))
        )
        return int(result.scalar_one())


async def test_a_good_file_imports_every_member_with_its_standing_from_its_dates(
    services: Services,
) -> None:
    current = civicrm_row()
    new = civicrm_row(**{"Member Since": "2026-01-20", "Membership Expiration Date": "2027-01-19"})
    grace = civicrm_row(
        **{"Membership Status": "Grace", "Membership Expiration Date": "2026-02-20"}
    )
    lapsed = civicrm_row(
        **{"Membership Status": "Expired", "Membership Expiration Date": "2025-12-31"}
    )
    resigned = civicrm_row(
        **{"Membership Status": "Cancelled", "Membership Expiration Date": "2025-05-04"}
    )
    leaving = civicrm_row(**{"Membership Status": "Cancelled"})  # at the end of 2026-11-30
    pending = civicrm_row(**{"Membership Status": "Pending", "Regions": "", "CPV Codes": ""})
    # No organisation name: the display name is used; no turnover: the type names the band.
    unnamed = civicrm_row(
        **{"Organization Name": "", "Display Name": "Valley Care", "Annual Turnover": ""}
    )
    rows = [current, new, grace, lapsed, resigned, leaving, pending, unnamed]

    report = await import_members(services, csv_text(rows))

    assert (report.source, report.rows, report.imported) == (Source.CIVICRM, 8, 7)
    assert [(s.row, s.reason) for s in report.skipped] == [(8, "status Pending: not a member")]
    expected = {
        "current": (current, MembershipStatus.CURRENT),
        "new": (new, MembershipStatus.NEW),
        "grace": (grace, MembershipStatus.GRACE),
        "lapsed": (lapsed, MembershipStatus.LAPSED),
        "resigned": (resigned, MembershipStatus.RESIGNED),
        "leaving": (leaving, MembershipStatus.CURRENT),
        "unnamed": (unnamed, MembershipStatus.CURRENT),
    }
    for label, (row, status) in expected.items():
        organisation = services.membership.get_organisation(organisation_id(row))
        assert organisation.membership_status is status, label
        assert organisation.paid_up_until == end_of(row["Membership Expiration Date"]), label
    first = services.membership.get_organisation(organisation_id(current))
    assert first.name == current["Organization Name"]
    assert first.legal_form.value == "cic"
    assert str(first.registry_identifier) == f"GB-COH-{current['Registry ID']}"
    assert first.regions == ["TLC3", "TLC4"]
    assert first.cpv_codes == ["15810000-9"]
    assert first.tier is not None
    assert first.tier.code == "small"  # £240,000
    assert first.declared_turnover is not None
    assert first.declared_turnover.minor == 24_000_000
    assert first.ledger == []  # the old system's dues history stays there
    valley = services.membership.get_organisation(organisation_id(unnamed))
    assert valley.name == "Valley Care"
    assert valley.tier is not None
    assert valley.tier.code == "small"
    assert valley.declared_turnover is None
    leaver = services.membership.get_organisation(organisation_id(leaving))
    assert leaver.resignation_at == end_of("2026-11-30")  # the clock ends it then
    assert not services.membership.is_registered(organisation_id(pending))
    now = services.clock.now()
    assert services.membership.is_in_good_standing(organisation_id(grace), now)
    assert not services.membership.is_in_good_standing(organisation_id(lapsed), now)


async def test_imported_users_have_no_usable_password(services: Services) -> None:
    row = civicrm_row(Email=f"  Founder-{uuid.uuid4().hex[:12]}@Import.Example ")
    await import_members(services, csv_text([row]))

    email = row["Email"].strip().lower()
    found = await services.users.credentials(email)
    assert found is not None
    user, password_hash = found
    assert user.organisation_id == organisation_id(row)
    assert sorted(role.value for role in user.roles) == ["admin", "member"]
    assert password_hash == UNUSABLE_PASSWORD_HASH
    assert not services.passwords.verify(password_hash, "")
    assert not services.passwords.verify(password_hash, UNUSABLE_PASSWORD_HASH)

    # The password-reset e-mail is how they get in.
    await accounts.request_password_reset(services, email)
    async with services.engine.connect() as connection:
        body = (
            await connection.execute(
                select(outbox_messages.c.body).where(
                    outbox_messages.c.recipient == email,
                    outbox_messages.c.template == "account_reset",
                )
            )
        ).scalar_one()
    secret = body.split("token=")[1].split()[0]
    await accounts.confirm_password_reset(services, secret, "a password of their own")
    found = await services.users.credentials(email)
    assert found is not None
    assert services.passwords.verify(found[1], "a password of their own")


async def test_a_bad_row_is_reported_by_row_and_column_and_nothing_is_imported(
    services: Services,
) -> None:
    good = civicrm_row()
    bad = civicrm_row(Email="not-an-email", Regions="TLC3;TLZ9")
    also_good = civicrm_row()
    bad_dates = civicrm_row(
        **{"Member Since": "31/02/2020", "Membership Expiration Date": "", "Legal Form": "trust"}
    )
    rows = [good, bad, also_good, bad_dates]
    before = head(services)

    with pytest.raises(ImportRefused) as refused:
        await import_members(services, csv_text(rows))

    assert [str(error) for error in refused.value.errors] == [
        'row 3, column "Email": not an e-mail address',
        "row 3, column \"Regions\": 'TLZ9' is not an ITL 2025 region code",
        "row 5, column \"Member Since\": '31/02/2020' is not a date "
        "(YYYY-MM-DD, 15 Mar 2024 or 15/03/2024)",
        'row 5, column "Membership Expiration Date": empty: give the paid-up-until date '
        "(lifetime memberships have none: give one)",
        "row 5, column \"Legal Form\": 'trust' is not one of: cic, co_operative_society, "
        "community_benefit_society, charitable_incorporated_organisation, "
        "company_limited_by_guarantee, company_limited_by_shares, sole_trader_or_partnership, "
        "other",
    ]
    assert head(services) == before
    for row in rows:
        assert not services.membership.is_registered(organisation_id(row))
    assert await user_count(services, [good["Email"], also_good["Email"]]) == 0


async def test_rows_that_clash_with_each_other_or_the_store_import_nothing(
    services: Services,
) -> None:
    registered = civicrm_row()
    await import_members(services, csv_text([registered]))
    first = civicrm_row()
    same_member = civicrm_row(**{"Contact ID": first["Contact ID"]})
    same_email = civicrm_row(Email=first["Email"].upper())
    email_taken = civicrm_row(Email=registered["Email"])
    spaced = f"{registered['Registry ID'][:4]} {registered['Registry ID'][4:]}"
    identifier_taken = civicrm_row(**{"Registry ID": spaced})
    rows = [first, same_member, same_email, email_taken, identifier_taken]
    before = head(services)

    with pytest.raises(ImportRefused) as refused:
        await import_members(services, csv_text(rows))

    number = registered["Registry ID"]
    assert [(e.row, e.column, e.message) for e in refused.value.errors] == [
        (3, "Contact ID", "the same member as row 2"),
        (4, "Email", "the same e-mail address as row 2"),
        (5, "Email", "already registered to another user"),
        (6, "Registry ID", f"GB-COH-{number} is already registered to another organisation"),
    ]
    assert head(services) == before
    assert not services.membership.is_registered(organisation_id(first))


async def test_a_file_without_our_columns_says_which_are_missing(services: Services) -> None:
    header = [h for h in CIVICRM_HEADER if h not in {"Regions", "CPV Codes"}]
    row = {k: v for k, v in civicrm_row().items() if k in header}

    with pytest.raises(ImportRefused) as refused:
        await import_members(services, csv_text([row], header))

    assert [str(e) for e in refused.value.errors] == [
        'row 1, column "Regions": missing: add a column "Regions"',
        'row 1, column "CPV Codes": missing: add a column "CPV Codes"',
    ]


async def test_without_turnover_the_membership_type_must_name_a_dues_band(
    services: Services,
) -> None:
    row = civicrm_row(**{"Annual Turnover": "", "Membership Type": "General"})

    with pytest.raises(ImportRefused) as refused:
        await import_members(services, csv_text([row]))

    (error,) = refused.value.errors
    assert (error.row, error.column) == (2, "Annual Turnover")
    assert "'General' names no dues band (micro, small, medium, large)" in error.message


async def test_importing_the_same_file_twice_adds_nothing(services: Services) -> None:
    rows = [civicrm_row(), civicrm_row(**{"Membership Status": "Cancelled"}), civicrm_row()]
    text = csv_text(rows)
    first = await import_members(services, text)
    after_first = head(services)

    second = await import_members(services, text)

    assert (first.imported, first.already_present) == (3, 0)
    assert (second.imported, second.already_present) == (0, 3)
    assert head(services) == after_first
    assert await user_count(services, [row["Email"] for row in rows]) == 3


async def test_join_and_paid_up_dates_are_the_events_effective_dates(
    services: Services, clock: ManualClock
) -> None:
    row = civicrm_row(
        **{
            "Membership Status": "Expired",
            "Member Since": "2019-03-15",
            "Membership Expiration Date": "2025-12-31",
        }
    )
    await import_members(services, csv_text([row]))

    events = services.membership.organisation_events(organisation_id(row))
    effective = [(type(e).__qualname__.rpartition(".")[2], e.effective_at) for e in events]
    joined, paid_up_until = start_of("2019-03-15"), end_of("2025-12-31")
    assert effective == [
        ("Registered", joined),
        ("TurnoverDeclared", joined),
        ("MembershipAdmitted", joined),
        ("TierAssigned", joined),
        ("PaidUpUntilMoved", joined),
        ("StandingChanged", joined),  # new
        ("StandingChanged", start_of("2019-06-13")),  # current, 90 days on
        ("StandingChanged", paid_up_until),  # grace
        ("StandingChanged", end_of("2026-01-31")),  # lapsed, a month on
    ]
    assert [e.status for e in events if hasattr(e, "status")] == [
        "new",
        "current",
        "grace",
        "lapsed",
    ]
    assert {e.timestamp for e in events} == {clock.now()}  # recorded now, effective then
    assert {e.actor for e in events} == {"importer"}
    assert all(e.request_id.startswith(IMPORT_REQUEST_PREFIX) for e in events)
    # The history answers for any date by effective time.
    assert standing_at(events, datetime(2018, 1, 1, tzinfo=UTC)) is None
    in_2022 = standing_at(events, datetime(2022, 6, 1, tzinfo=UTC))
    assert in_2022 is not None
    assert (in_2022.status, in_2022.good_standing) == ("current", True)
    in_january = standing_at(events, datetime(2026, 1, 15, tzinfo=UTC))
    assert in_january is not None
    assert in_january.status == "grace"


async def test_the_clock_renews_an_imported_member_like_any_other(
    services: Services, clock: ManualClock
) -> None:
    """An imported member has no invoice: at paid-up-until the clock invoices the next year."""
    row = civicrm_row(**{"Membership Expiration Date": "2026-03-20"})
    await import_members(services, csv_text([row]))
    org_id = organisation_id(row)
    clock.set(datetime(2026, 3, 25, tzinfo=UTC))
    context = Context(CLOCK, "tick", clock.now())

    first = services.membership.observe_time(context, org_id)
    second = services.membership.observe_time(context, org_id)

    assert first is not None
    assert second is None
    organisation = services.membership.get_organisation(org_id)
    assert organisation.membership_status is MembershipStatus.GRACE
    (invoice,) = organisation.ledger
    assert invoice.period_start == end_of("2026-03-20")
    assert invoice.amount.minor == 15_000  # the small band


async def test_a_wild_apricot_export_imports(services: Services) -> None:
    header = [
        "User ID",
        "First name",
        "Last name",
        "Organization",
        "Email",
        "Membership level",
        "Membership status",
        "Member since",
        "Renewal due",
        "Legal Form",
        "Registry Scheme",
        "Registry ID",
        "Regions",
        "CPV Codes",
        "Social Purpose",
        "Annual Turnover",
    ]

    def wa_row(**fields: str) -> dict[str, str]:
        user = str(random.randrange(10**8, 10**9))
        row = {
            "User ID": user,
            "First name": "Amira",
            "Last name": "Khan",
            "Organization": f"Harbour Digital {user} CIC",
            "Email": f"wa-{user}@import.example",
            "Membership level": "Micro",
            "Membership status": "Active",
            "Member since": "12 Apr 2022",
            "Renewal due": "12/04/2026",
            "Legal Form": "Community Interest Company",
            "Registry Scheme": "GB-COH",
            "Registry ID": str(random.randrange(10**7, 10**8)),
            "Regions": "TLK5",
            "CPV Codes": "72000000",
            "Social Purpose": "Websites built by apprentices",
            "Annual Turnover": "",
        }
        row.update(fields)
        return row

    active = wa_row()
    lapsed = wa_row(**{"Membership status": "Lapsed", "Renewal due": "Sep 1, 2025"})
    suspended = wa_row(**{"Membership status": "Suspended"})
    pending = wa_row(**{"Membership status": "Pending - New"})

    report = await import_members(services, csv_text([active, lapsed, suspended, pending], header))

    assert (report.source, report.imported, len(report.skipped)) == (Source.WILD_APRICOT, 3, 1)
    app = services.membership
    found = app.get_organisation(organisation_id(active, "wildapricot"))
    assert found.membership_status is MembershipStatus.CURRENT
    assert found.paid_up_until == end_of("2026-04-12")  # day first: 12 April
    assert found.legal_form.value == "cic"
    assert found.cpv_codes == ["72000000-5"]
    assert found.tier is not None
    assert found.tier.code == "micro"
    lapsed_org = app.get_organisation(organisation_id(lapsed, "wildapricot"))
    assert lapsed_org.membership_status is MembershipStatus.LAPSED
    suspended_org = app.get_organisation(organisation_id(suspended, "wildapricot"))
    assert suspended_org.membership_status is MembershipStatus.SUSPENDED
    assert suspended_org.suspension_reason == "suspended in wildapricot before the import"


async def test_the_export_gives_back_what_was_imported(services: Services) -> None:
    rows = [
        civicrm_row(),
        civicrm_row(
            **{"Membership Status": "Cancelled", "Membership Expiration Date": "2025-05-04"}
        ),
    ]
    await import_members(services, csv_text(rows))

    text = await services.run(members_csv, services.membership, services.clock.now())

    exported = list(csv.DictReader(io.StringIO(text)))
    assert tuple(exported[0]) == COLUMNS
    by_id = {line["organisation_id"]: line for line in exported}
    for row in rows:
        line = by_id[str(organisation_id(row))]
        assert line["name"] == row["Organization Name"]
        assert line["kind"] == "social_enterprise"
        assert line["legal_form"] == "cic"
        assert line["registry_identifier"] == f"GB-COH-{row['Registry ID']}"
        assert line["regions"] == row["Regions"]
        assert line["cpv_codes"] == row["CPV Codes"]
        assert line["tier"] == "small"
        assert line["paid_up_until"] == row["Membership Expiration Date"]
        assert line["joined"] == row["Member Since"]
    first, second = (by_id[str(organisation_id(row))] for row in rows)
    assert (first["status"], first["good_standing"]) == ("current", "true")
    assert (second["status"], second["good_standing"]) == ("resigned", "false")


async def test_the_export_defuses_spreadsheet_formulas(services: Services) -> None:
    row = civicrm_row(**{"Organization Name": '=HYPERLINK("http://evil.example") CIC'})
    await import_members(services, csv_text([row]))

    text = await services.run(members_csv, services.membership, services.clock.now())

    line = next(
        line
        for line in csv.DictReader(io.StringIO(text))
        if line["organisation_id"] == str(organisation_id(row))
    )
    assert line["name"] == '\'=HYPERLINK("http://evil.example") CIC'


# The command line, on the sample files in tests/data.


def cli_env(store: Store, tmp_path: Path) -> dict[str, str]:
    if isinstance(store, PostgresStore):
        url = store.url.render_as_string(hide_password=False)
        return {"TRADEHALL_DATABASE_URL": url, "TRADEHALL_DATA_DIR": str(tmp_path)}
    assert isinstance(store, SQLiteStore)
    return {"TRADEHALL_DATABASE_URL": "", "TRADEHALL_DATA_DIR": str(tmp_path / "data")}


def exported_rows(output: str) -> dict[str, dict[str, Any]]:
    return {line["name"]: line for line in csv.DictReader(io.StringIO(output))}


@pytest.fixture
def fresh_process_logging() -> Iterator[None]:
    """Logging as a fresh `tradehall` process has it (an earlier test in this process may have
    configured JSON logs on standard output, where the export's CSV goes)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers[:] = []
    root.setLevel(logging.WARNING)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("fresh_process_logging")
def test_the_import_and_export_commands(store: Store, tmp_path: Path) -> None:
    runner = CliRunner()
    env = cli_env(store, tmp_path)
    good, bad = DATA / "civicrm-members.csv", DATA / "civicrm-members-bad-row.csv"

    refused = runner.invoke(main, ["import", "members", str(bad)], env=env)
    first = runner.invoke(main, ["import", "members", str(good), "--format", "civicrm"], env=env)
    again = runner.invoke(main, ["import", "members", str(good)], env=env)
    apricot = runner.invoke(
        main, ["import", "members", str(DATA / "wildapricot-members.csv")], env=env
    )
    exported = runner.invoke(main, ["export", "members"], env=env)
    to_file = runner.invoke(main, ["export", "members", "-o", str(tmp_path / "m.csv")], env=env)

    assert refused.exit_code == 1, refused.output
    assert "2 errors, nothing imported" in refused.output
    assert 'row 3, column "Email": not an e-mail address' in refused.output
    assert 'row 3, column "Regions"' in refused.output
    assert first.exit_code == 0, first.output
    assert "imported 5 members from civicrm (0 already present, 1 skipped)" in first.output
    assert "row 7 skipped: status Pending" in first.output
    assert again.exit_code == 0, again.output
    assert "imported 0 members from civicrm (5 already present, 1 skipped)" in again.output
    assert apricot.exit_code == 0, apricot.output
    assert "imported 3 members from wildapricot" in apricot.output
    assert exported.exit_code == 0, exported.output
    rows = exported_rows(exported.stdout)
    assert "Hillside Grounds CIC" not in rows  # the refused file's good rows too
    assert rows["Riverside Bakery CIC"]["joined"] == "2019-03-15"
    assert rows["Riverside Bakery CIC"]["paid_up_until"] == "2026-03-14"
    assert rows["Valley Care Co-operative"]["registry_identifier"] == "GB-MPR-29911R"
    assert rows["Glen Skills Academy"]["tier"] == "large"
    assert rows["Old Town Events CIC"]["status"] == "resigned"
    assert rows["Canal Cleaning Co-op"]["status"] == "suspended"
    assert to_file.exit_code == 0, to_file.output
    assert exported_rows((tmp_path / "m.csv").read_text()) == rows


def test_an_unknown_export_is_refused(tmp_path: Path) -> None:
    strange = tmp_path / "strange.csv"
    strange.write_text("Name,Email\nSomeone,someone@example.org\n")

    result = CliRunner().invoke(
        main,
        ["import", "members", str(strange)],
        env={"TRADEHALL_DATABASE_URL": "", "TRADEHALL_DATA_DIR": str(tmp_path / "data")},
    )

    assert result.exit_code == 1
    assert "which system is this export from?" in result.output


async def test_an_import_queues_no_notices_of_the_old_systems_history(
    services: Services,
) -> None:
    from tradehall.mail.tables import outbox_messages
    from tradehall.readside import build_projector

    rows = [civicrm_row(), civicrm_row(**{"Membership Status": "Cancelled"})]
    await import_members(services, csv_text(rows))
    projector = build_projector(
        services.store, services.contexts, services.applications, services.settings
    )
    try:
        await services.run(projector.catch_up)
    finally:
        projector.engine.dispose()

    ids = [organisation_id(row) for row in rows]
    async with services.engine.connect() as connection:
        queued = await connection.execute(
            select(outbox_messages.c.template).where(outbox_messages.c.organisation_id.in_(ids))
        )
        assert list(queued) == []


def test_the_import_holds_e_mail_addresses_to_the_api_s_rule() -> None:
    """One e-mail rule for the API, the CLI and imports: a NUL or a bidi override is refused."""
    from sharedkernel.errors import InvalidValue
    from tradehall.identity.users import normalise_email

    assert normalise_email(" Someone@Example.ORG ") == "someone@example.org"
    for bad in ("a\u0000b@example.org", "a\u202eb@example.org", "no-at-sign.example.org"):
        with pytest.raises(InvalidValue, match="not an e-mail address"):
            normalise_email(bad)


async def test_an_imported_cell_is_held_to_the_api_s_text_policy(services: Services) -> None:
    bad = civicrm_row(**{"Organization Name": "Hidden\u202e Co-op"})
    before = head(services)

    with pytest.raises(ImportRefused) as refused:
        await import_members(services, csv_text([civicrm_row(), bad]))

    assert [str(error) for error in refused.value.errors] == [
        'row 3, column "Organization Name": contains a bidirectional control character (U+202E)'
    ]
    assert head(services) == before
