"""Addresses kept before daa7164 put in the one form sign-in now looks up (ADR 8): the domain as
IDNA resolves it (fullwidth letters as ASCII, an `xn--` A-label as its U-label), lower case.
Before, an address was only lowered, so an account registered as `owner@xn--exmple-cua.org`
could no longer sign in or be sent a reset once sign-in normalised what is typed.

Users, account links and pending registrations are rewritten. A user whose new form
another user already has is left as it is (two accounts that are now one mailbox: staff decide
which stays) and counted in the migration's log line, without the address. The rule is written
out here, not imported, so this revision does what it did whatever the code does later.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-02
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op
from email_validator import EmailNotValidError, validate_email

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def one_form(address: str) -> str | None:
    """The form `normalise_email` keeps (daa7164), or None for text that is not an address."""
    try:
        parts = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    return f"{parts.local_part}@{parts.domain}".lower()


def _rewritten(connection: sa.Connection, table: sa.TableClause, key: str) -> int:
    rows = connection.execute(
        sa.select(table.c[key], table.c.email).where(table.c.email.is_not(None))
    ).all()
    changed = 0
    for row_key, email in rows:
        new = one_form(email)
        if new is None or new == email:
            continue
        connection.execute(sa.update(table).where(table.c[key] == row_key).values(email=new))
        changed += 1
    return changed


def upgrade() -> None:
    connection = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Uuid()), sa.column("email", sa.String()))
    taken = set(connection.execute(sa.select(users.c.email)).scalars())
    left = 0
    for user_id, email in connection.execute(sa.select(users.c.id, users.c.email)).all():
        new = one_form(email)
        if new is None or new == email:
            continue
        if new in taken:
            left += 1
            continue
        connection.execute(sa.update(users).where(users.c.id == user_id).values(email=new))
        taken.discard(email)
        taken.add(new)
    tokens = sa.table(
        "account_tokens", sa.column("token_hash", sa.String()), sa.column("email", sa.String())
    )
    pending = sa.table(
        "pending_registrations",
        sa.column("token_hash", sa.String()),
        sa.column("email", sa.String()),
    )
    _rewritten(connection, tokens, "token_hash")
    _rewritten(connection, pending, "token_hash")
    if left:
        log.warning(
            "%d users left as they were: another user has the address in its one form", left
        )


def downgrade() -> None:
    # Nothing to undo: the former code lowered addresses, and one in its one form is lowered.
    pass
