"""`tradehall import ocds FILE`: a national portal's OCDS release package, from a file, as
outside opportunities (issue 16; docs/outside-opportunities.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tradehall.cli import common
from tradehall.cli.common import _settings, _with_services
from tradehall.marketplace.outside.packages import MAX_FILE_BYTES

# This context's commands of `tradehall import`.
import_group = common.import_group()


@import_group.command("ocds")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=MAX_FILE_BYTES,
    show_default=True,
    help="refuse a larger file",
)
def import_ocds_command(file: Path, max_bytes: int) -> None:
    """Import an OCDS release package (Find a Tender, Contracts Finder) as outside
    opportunities, one per ocid.

    Each release is imported, updates its opportunity (a later release of its ocid, merged by
    the standard's rules), is unchanged (seen before), or is skipped with the reason; the rest
    are imported all the same. Importing the same file again adds nothing. Contact points'
    names, e-mails and numbers are dropped first.
    """
    from sharedkernel.errors import DomainError
    from sharedkernel.events import IMPORTER, Context
    from tradehall.marketplace.outside.importing import import_package
    from tradehall.marketplace.outside.packages import NotAPackage, read_package

    try:
        if file.stat().st_size > max_bytes:
            raise click.ClickException(f"{file}: larger than {max_bytes} bytes (--max-bytes)")
        with file.open("rb") as opened:
            data = opened.read(max_bytes + 1)
    except OSError as error:
        raise click.ClickException(f"{file}: cannot be read ({error.strerror})") from None
    try:
        package = read_package(data, max_bytes=max_bytes)
    except NotAPackage as refused:
        raise click.ClickException(f"{file}: {refused}") from None
    settings = _settings()

    async def work(services: Any) -> Any:
        now = services.clock.now()
        context = Context(IMPORTER, f"ocds-import-{now:%Y%m%dT%H%M%S}", now)
        marketplace = services.applications["marketplace"]
        report = await services.run(import_package, marketplace, context, package)
        await services.run(services.readside.projector.catch_up)
        return report

    try:
        report = _with_services(settings, work)
    except DomainError as error:
        # Writes kept clashing: what was imported stays, and a second run adds nothing twice.
        raise click.ClickException(
            f"{file}: the import stopped ({error}); run it again to import the rest"
        ) from None
    for skipped in report.skipped:
        click.echo(f"skipped {skipped}")
    click.echo(f"{file}: {len(package.releases)} releases from {report.source}: {report.counts()}")


# What the marketplace's declaration adds to `tradehall` (merged with the other `import`s).
OCDS_IMPORT_COMMANDS: tuple[click.Group, ...] = (import_group,)
