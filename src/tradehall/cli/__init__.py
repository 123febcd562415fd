"""The `tradehall` command line: one module per command group."""

from __future__ import annotations

import click

from tradehall.cli.clock import clock
from tradehall.cli.demo import demo
from tradehall.cli.mail import mail
from tradehall.cli.members import export_group, import_group
from tradehall.cli.projections import projections
from tradehall.cli.serve import migrate, serve
from tradehall.cli.users import staff, users


@click.group()
def main() -> None:
    """Tradehall: the trading association's backend."""


for command in (
    demo,
    serve,
    migrate,
    staff,
    users,
    clock,
    mail,
    projections,
    import_group,
    export_group,
):
    main.add_command(command)
