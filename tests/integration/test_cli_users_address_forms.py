"""`tradehall users` finds a user by the address however its domain is written, as sign-in
does (daa7164 keeps the domain as IDNA resolves it): an A-label, fullwidth letters, capitals.
Before, the CLI looked the address up only lowered, so staff disabling an account typed as the
user gave it were told no user has it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.api.helpers import PASSWORD
from tests.integration.test_cli import env_for
from tradehall.cli import main
from tradehall.identity.tables import users
from tradehall.store.sqlite import SQLiteStore

KEPT = "officer@exämple.org"


def fullwidth(text: str) -> str:
    """ASCII letters as their fullwidth forms (IDNA maps each back)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalpha() else c for c in text)


def disabled(data_dir: Path) -> bool:
    engine = SQLiteStore(data_dir).sync_engine()
    try:
        with engine.connect() as connection:
            row = connection.execute(select(users).where(users.c.email == KEPT)).one()
    finally:
        engine.dispose()
    return row.disabled_at is not None


@pytest.mark.parametrize(
    "typed",
    ["officer@xn--exmple-cua.org", f"officer@{fullwidth('exämple.org')}", "Officer@EXÄMPLE.org"],
    ids=["a-label", "fullwidth", "capitals"],
)
def test_a_user_is_disabled_by_any_form_of_its_address(tmp_path: Path, typed: str) -> None:
    runner, data_dir = CliRunner(), tmp_path / "data"
    env = env_for(data_dir)
    assert runner.invoke(main, ["migrate"], env=env).exit_code == 0
    created = runner.invoke(
        main, ["staff", "create", KEPT], env=env | {"TRADEHALL_STAFF_PASSWORD": PASSWORD}
    )
    assert created.exit_code == 0, created.output

    done = runner.invoke(main, ["users", "disable", typed], env=env)

    assert done.exit_code == 0, done.output
    assert disabled(data_dir)
