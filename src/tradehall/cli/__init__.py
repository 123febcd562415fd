"""The `tradehall` command line: one module per command group; each context adds its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from tradehall.cli.common import Declared
from tradehall.cli.demo import demo
from tradehall.cli.mail import mail
from tradehall.cli.projections import projections
from tradehall.cli.sealing import sealing
from tradehall.cli.serve import migrate, serve
from tradehall.cli.users import staff, users
from tradehall.context import ContextDeclaration

SHARED_COMMANDS: tuple[click.Command, ...] = (
    demo,
    serve,
    migrate,
    staff,
    users,
    mail,
    projections,
    sealing,
)


def cli_for(contexts: Sequence[ContextDeclaration]) -> click.Group:
    """The command line over these contexts: the shared commands, then each context's.

    Groups of the same name (`import`, `export`) are merged: each context adds its commands."""

    @click.group()
    @click.pass_context
    def main(click_context: click.Context) -> None:
        """Tradehall: the trading association's backend."""
        click_context.obj = Declared(contexts)

    for command in SHARED_COMMANDS:
        main.add_command(command)
    for declared in contexts:
        for command in declared.commands:
            present = main.commands.get(command.name or "")
            if isinstance(present, click.Group) and isinstance(command, click.Group):
                merged = click.Group(present.name, help=present.help)
                merged.commands = {**present.commands, **command.commands}
                main.add_command(merged)
            else:
                main.add_command(command)
    return main


# `tradehall` (the console script `tradehall.cli:main`): the command line over every declared
# context, made on first use, since the contexts' declarations import their command groups from
# this package.
main: click.Group


def __getattr__(name: str) -> Any:
    if name != "main":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from tradehall.contexts import CONTEXTS

    command = globals()["main"] = cli_for(CONTEXTS)
    return command
