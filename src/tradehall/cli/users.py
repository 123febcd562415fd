"""`tradehall staff create` and `tradehall users disable | enable | roles`."""

from __future__ import annotations

import uuid
from typing import Any

import click

from sharedkernel.errors import InvalidValue
from tradehall.cli.common import _contexts, _settings, _store
from tradehall.clock import SystemClock
from tradehall.context import event_logs
from tradehall.identity.users import (
    Role,
    check_password_policy,
    create_user,
    insert_user,
    normalise_email,
)


@click.group()
def staff() -> None:
    """Association staff accounts."""


@staff.command("create")
@click.argument("email")
@click.password_option(envvar="TRADEHALL_STAFF_PASSWORD", help="or TRADEHALL_STAFF_PASSWORD")
def staff_create(email: str, password: str) -> None:
    """Create a staff user who can sign in with EMAIL."""
    settings = _settings()
    store = _store(settings)
    store.prepare_for_serving(event_logs(_contexts()))
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


@click.group()
def users() -> None:
    """Users: disable, enable, set roles (each ends the user's tokens where it takes away)."""


def _change_user(email: str, change: Any) -> None:
    from sqlalchemy import select

    from tradehall.identity.tables import users as users_table

    try:
        # The form the address is kept in (its domain as IDNA resolves it), as sign-in looks it
        # up: a domain typed as an A-label or in fullwidth letters names the same user.
        address = normalise_email(email)
    except InvalidValue:  # not an address by today's rules: looked up as given
        address = email.strip().lower()
    settings = _settings()
    store = _store(settings)
    store.prepare_for_serving(event_logs(_contexts()))
    engine = store.sync_engine()
    try:
        with engine.begin() as connection:
            user_id = connection.execute(
                select(users_table.c.id).where(users_table.c.email == address)
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
