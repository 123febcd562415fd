"""Migration 0035: addresses kept before sign-in normalised domains (daa7164) are put in the one
form it looks up, so their accounts still sign in; a user whose new form another has is left."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import Engine, select

from tests.integration.test_tender_text_migration import _alembic
from tradehall.identity.tables import users
from tradehall.identity.users import Role, insert_user, normalise_email

# "example" in fullwidth letters (U+FF41…): one mailbox's domain written another way.
FULLWIDTH = "".join(chr(ord(letter) + 0xFEE0) for letter in "example")
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
MIGRATION = (
    Path(__file__).parents[2] / "migrations" / "versions" / "0035_addresses_in_their_one_form.py"
)


def migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("migration_0035", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "address",
    [
        "owner@xn--exmple-cua.org",
        f"a@{FULLWIDTH.upper()}.org",
        "Mixed.Case@Example.ORG",
        "x@example.org",
    ],
)
def test_the_migration_s_rule_is_the_one_sign_in_uses(address: str) -> None:
    assert migration().one_form(address) == normalise_email(address)


def _user(engine: Engine, email: str) -> uuid.UUID:
    user_id = uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            insert_user(
                user_id=user_id,
                email=email,
                password_hash="not-a-hash",
                organisation_id=None,
                roles=frozenset({Role.MEMBER}),
                now=NOW,
            )
        )
    return user_id


def _email(engine: Engine, user_id: uuid.UUID) -> str:
    with engine.connect() as connection:
        found: str = connection.execute(
            select(users.c.email).where(users.c.id == user_id)
        ).scalar_one()
        return found


@pytest.mark.own_database  # it migrates down and up: never the run's shared database
def test_former_forms_are_rewritten_and_a_clash_is_left(engine: Engine) -> None:
    tag = uuid.uuid4().hex[:8]
    a_label = _user(engine, f"owner-{tag}@xn--exmple-cua.org")
    fullwidth = _user(engine, f"fw-{tag}@{FULLWIDTH}.org")
    plain = _user(engine, f"plain-{tag}@example.org")
    # Two accounts that are one mailbox in the one form: the one written so stays, the other
    # is left for staff.
    kept = _user(engine, f"both-{tag}@exämple.org")
    clash = _user(engine, f"both-{tag}@xn--exmple-cua.org")
    _alembic(engine, "downgrade", "0034")
    _alembic(engine, "upgrade", "head")
    assert _email(engine, a_label) == f"owner-{tag}@exämple.org"
    assert _email(engine, fullwidth) == f"fw-{tag}@example.org"
    assert _email(engine, plain) == f"plain-{tag}@example.org"
    assert _email(engine, kept) == f"both-{tag}@exämple.org"
    assert _email(engine, clash) == f"both-{tag}@xn--exmple-cua.org"
