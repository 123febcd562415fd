"""The `tradehall` command line."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import click
import structlog

from sharedkernel.errors import InvalidValue
from tradehall.clock import SystemClock
from tradehall.identity.users import (
    Role,
    check_password_policy,
    create_user,
    insert_user,
    normalise_email,
)
from tradehall.logging import configure_logging
from tradehall.settings import Settings, SettingsError
from tradehall.store import store_from_settings
from tradehall.store.base import Store


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def _store(settings: Settings) -> Store:
    return store_from_settings(settings.database_url, settings.data_dir)


@click.group()
def main() -> None:
    """Tradehall: the trading association's backend."""


def _seed_demo(settings: Settings) -> None:
    import asyncio

    from tradehall.demo import seed_demo
    from tradehall.services import build_services

    if settings.is_production:
        raise click.ClickException("demo data is not for production")
    store = _store(settings)
    store.prepare_for_serving()

    async def seed() -> None:
        services = build_services(settings, store=store)
        try:
            await services.prepare_data()
            report = await seed_demo(services)
        finally:
            await services.close()
        what = f"seeded {report.organisations} organisations" if report.created else "present"
        click.echo(f"Demo data {what}.")
        click.echo(f"  staff:  {report.staff_email} / {report.staff_password}")
        click.echo(f"  member: {report.member_email} / {report.member_password}")

    asyncio.run(seed())


@main.command()
def demo() -> None:
    """Seed demo data: dozens of organisations, applications and decisions, a staff user."""
    settings = _settings()
    _seed_demo(settings)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--demo", "with_demo", is_flag=True, help="seed demo data first (`tradehall demo`)")
def serve(host: str, port: int, with_demo: bool) -> None:
    """Serve the API (embedded SQLite in TRADEHALL_DATA_DIR unless TRADEHALL_DATABASE_URL)."""
    import uvicorn

    from tradehall.api.app import create_app

    settings = _settings()
    configure_logging(settings.log_level)
    if with_demo:
        _seed_demo(settings)
        if not settings.stripe_secret_key:
            from tradehall.payments.demo_stripe import with_stripe_standin

            settings = with_stripe_standin(settings, host, port)
    app = create_app(settings)
    structlog.get_logger("tradehall").info(
        "serving", url=f"http://{host}:{port}", api_docs=f"http://{host}:{port}/schema/swagger"
    )
    uvicorn.run(app, host=host, port=port, access_log=False, log_config=None)


@main.command()
def migrate() -> None:
    """Create the event stores' tables and run the Alembic migrations."""
    settings = _settings()
    store = _store(settings)
    store.migrate()
    click.echo(f"{store.name}: schema current")


@main.group()
def staff() -> None:
    """Association staff accounts."""


@staff.command("create")
@click.argument("email")
@click.password_option(envvar="TRADEHALL_STAFF_PASSWORD", help="or TRADEHALL_STAFF_PASSWORD")
def staff_create(email: str, password: str) -> None:
    """Create a staff user who can sign in with EMAIL."""
    settings = _settings()
    store = _store(settings)
    store.prepare_for_serving()
    try:
        clean_email = normalise_email(email)
        check_password_policy(password)
    except InvalidValue as error:
        raise click.BadParameter(error.message, param_hint=error.field) from None
    from sqlalchemy.exc import IntegrityError

    from tradehall.identity.users import Passwords

    statement = insert_user(
        user_id=uuid.uuid4(),
        email=clean_email,
        password_hash=Passwords().hash(password),
        organisation_id=None,
        roles=frozenset({Role.STAFF}),
        now=SystemClock().now(),
    )
    engine = store.sync_engine()
    try:
        with engine.begin() as connection:
            create_user(connection, statement)
    except IntegrityError:
        raise click.ClickException(f"a user with the e-mail {clean_email} exists already") from None
    finally:
        engine.dispose()
    click.echo(f"staff user {clean_email} created")


@main.group()
def users() -> None:
    """Users: disable, enable, set roles (each ends the user's tokens where it takes away)."""


def _change_user(email: str, change: Any) -> None:
    from sqlalchemy import select

    from tradehall.identity.tables import users as users_table

    settings = _settings()
    store = _store(settings)
    store.prepare_for_serving()
    engine = store.sync_engine()
    try:
        with engine.begin() as connection:
            user_id = connection.execute(
                select(users_table.c.id).where(users_table.c.email == email.strip().lower())
            ).scalar()
            if user_id is None:
                raise click.ClickException(f"no user has the e-mail {email}")
            change(connection, user_id, SystemClock().now())
    finally:
        engine.dispose()


@users.command("disable")
@click.argument("email")
def users_disable(email: str) -> None:
    """Disable the user with EMAIL: no sign-in, and their tokens stop working at once."""
    from tradehall.identity.sessions import disable_user

    _change_user(email, disable_user)
    click.echo(f"{email} disabled")


@users.command("enable")
@click.argument("email")
def users_enable(email: str) -> None:
    """Enable the user with EMAIL again (they sign in afresh)."""
    from tradehall.identity.sessions import enable_user

    _change_user(email, lambda connection, user_id, _now: enable_user(connection, user_id))
    click.echo(f"{email} enabled")


@users.command("roles")
@click.argument("email")
@click.argument("roles", nargs=-1, type=click.Choice([role.value for role in Role]))
def users_roles(email: str, roles: tuple[str, ...]) -> None:
    """Give the user with EMAIL exactly ROLES; a role taken away ends their tokens at once."""
    from tradehall.identity.sessions import set_roles

    chosen = frozenset(Role(role) for role in roles)
    _change_user(
        email, lambda connection, user_id, now: set_roles(connection, user_id, chosen, now)
    )
    click.echo(f"{email}: {' '.join(sorted(chosen)) or 'no roles'}")


@main.group()
def clock() -> None:
    """Time-driven transitions: grace, lapse, renewal invoices and notices."""


def _with_services(settings: Settings, work: Any) -> Any:
    import asyncio

    from tradehall.services import build_services

    store = _store(settings)
    store.prepare_for_serving()

    async def run() -> Any:
        services = build_services(settings, store=store)
        try:
            await services.prepare_data()
            readside = await services.open_read_side_without_projector()
            # The clock picks its candidates from the read model: bring it up to date first.
            await services.run(readside.projector.catch_up)
            return await work(services)
        finally:
            await services.close()

    return asyncio.run(run())


@clock.command("tick")
def clock_tick_command() -> None:
    """Issue every transition that is due now, once (running it twice changes nothing more)."""
    from tradehall.clock_job import clock_tick

    settings = _settings()
    report = _with_services(settings, clock_tick)
    click.echo(
        f"examined {report.examined} members, changed {report.changed}, "
        f"conflicts {report.conflicts}"
    )


@clock.command("run")
@click.option("--interval", default=3600, show_default=True, type=int, help="seconds")
def clock_run(interval: int) -> None:
    """Tick now and every INTERVAL seconds until stopped (the production worker)."""
    import asyncio
    import signal

    from tradehall.clock_job import run_clock

    settings = _settings()
    configure_logging(settings.log_level)

    async def work(services: Any) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_clock(services, interval, stop)

    _with_services(settings, work)


@main.group()
def mail() -> None:
    """The outbox of notices to members."""


@mail.command("send")
def mail_send() -> None:
    """Send what waits in the outbox, once (TRADEHALL_SMTP_HOST must be set)."""
    from tradehall.mail.sender import send_pending

    settings = _settings()
    smtp = settings.smtp
    if smtp is None:
        raise click.ClickException("TRADEHALL_SMTP_HOST is not set: mail stays in the outbox")

    async def work(services: Any) -> int:
        return await send_pending(services, smtp)

    click.echo(f"sent {_with_services(settings, work)} messages")


@main.group()
def projections() -> None:
    """The read models: follow the event logs, rebuild them, see how far they are."""


@projections.command("run")
@click.option("--until-caught-up", is_flag=True, help="apply what is recorded, then exit")
def projections_run(until_caught_up: bool) -> None:
    """Follow the event logs (for a worker beside an API with TRADEHALL_RUN_PROJECTIONS=false)."""
    from tradehall.cli_projections import run_projections

    settings = _settings()
    configure_logging(settings.log_level)
    run_projections(settings, _store(settings), until_caught_up=until_caught_up)


@projections.command("rebuild")
@click.argument("names", nargs=-1)
def projections_rebuild(names: tuple[str, ...]) -> None:
    """Empty the named projections (default: all) and apply every event again."""
    from tradehall.cli_projections import rebuild_projections

    settings = _settings()
    rebuild_projections(settings, _store(settings), names)


@projections.command("status")
def projections_status() -> None:
    """Each projection's position and lag behind each event log."""
    from tradehall.cli_projections import print_status

    settings = _settings()
    print_status(settings, _store(settings))


@main.group("import")
def import_group() -> None:
    """Bring data over from other systems."""


@import_group.command("members")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "source",
    type=click.Choice(["civicrm", "wildapricot"]),
    default=None,
    help="the system the export is from (default: recognised from its columns)",
)
@click.option(
    "--date-order",
    type=click.Choice(["dmy", "mdy"]),
    default="dmy",
    show_default=True,
    help="how to read dates such as 03/04/2024 (ISO dates are always read as such)",
)
def import_members_command(file: Path, source: str | None, date_order: str) -> None:
    """Import members from a CiviCRM or Wild Apricot export (see docs/members-import.md).

    Every row is checked first; if any is wrong, nothing is imported and each error is listed
    by row and column. Importing the same file again adds nothing.
    """
    from tradehall.members_csv import DateOrder, Source, UnreadableExport
    from tradehall.members_import import ImportRefused, import_with_progress

    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException(f"{file} is not UTF-8 text: export it as CSV (UTF-8)") from None
    settings = _settings()

    async def work(services: Any) -> Any:
        report = await import_with_progress(
            services,
            text,
            source=Source(source) if source else None,
            date_order=DateOrder(date_order),
        )
        await services.run(services.readside.projector.catch_up)
        return report

    try:
        report = _with_services(settings, work)
    except UnreadableExport as error:
        raise click.ClickException(f"{file}: {error}") from None
    except ImportRefused as refused:
        lines = "\n".join(f"  {error}" for error in refused.errors)
        raise click.ClickException(
            f"{file}: {len(refused.errors)} errors, nothing imported\n{lines}"
        ) from None
    for skipped in report.skipped:
        click.echo(f"row {skipped.row} skipped: {skipped.reason}")
    click.echo(
        f"imported {report.imported} members from {report.source} "
        f"({report.already_present} already present, {len(report.skipped)} skipped)"
    )
    if report.failed:
        lines = "\n".join(f"  {error}" for error in report.failed)
        raise click.ClickException(
            f"{len(report.failed)} rows could not be saved; fix them and run again:\n{lines}"
        )


@main.group("export")
def export_group() -> None:
    """Data out, for spreadsheets and other systems."""


@export_group.command("members")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="write the CSV here (default: standard output)",
)
def export_members_command(output: Path | None) -> None:
    """Every organisation with its membership (standing, tier, paid-up-until) as CSV."""
    from tradehall.members_export import members_csv, write_members_csv

    settings = _settings()

    async def work(services: Any) -> Any:
        if output is None:
            return await services.run(members_csv, services.membership)
        with output.open("w", encoding="utf-8", newline="") as out:
            return await services.run(write_members_csv, services.membership, out)

    result = _with_services(settings, work)
    if output is None:
        click.echo(result, nl=False)
    else:
        click.echo(f"exported {result} organisations to {output}", err=True)


if __name__ == "__main__":
    main()
