"""`tradehall import members` and `tradehall export members`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tradehall.cli import common
from tradehall.cli.common import _settings, _with_services

# This context's commands of `tradehall import`.
import_group = common.import_group()


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
    from tradehall.membership.members_csv import DateOrder, Source, UnreadableExport
    from tradehall.membership.members_import import ImportRefused, import_with_progress

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


@click.group("export")
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
    from tradehall.membership.members_export import members_csv, write_members_csv

    settings = _settings()

    async def work(services: Any) -> Any:
        if output is None:
            return await services.run(members_csv, services.membership, services.clock.now())
        with output.open("w", encoding="utf-8", newline="") as out:
            return await services.run(
                write_members_csv, services.membership, out, services.clock.now()
            )

    result = _with_services(settings, work)
    if output is None:
        click.echo(result, nl=False)
    else:
        click.echo(f"exported {result} organisations to {output}", err=True)
