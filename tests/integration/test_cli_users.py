"""`tradehall users`: disable, enable and set roles; each taking-away ends the user's tokens."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from tests.api.helpers import PASSWORD
from tests.integration.test_cli import env_for
from tradehall.cli import main
from tradehall.identity.tables import users
from tradehall.store.sqlite import SQLiteStore

EMAIL = "officer@association.example"


def user_row(data_dir: Path) -> tuple[str, int, bool]:
    engine = SQLiteStore(data_dir).sync_engine()
    try:
        with engine.connect() as connection:
            row = connection.execute(select(users).where(users.c.email == EMAIL)).one()
    finally:
        engine.dispose()
    return row.roles, row.token_generation, row.disabled_at is not None


def test_users_are_disabled_enabled_and_given_roles(tmp_path: Path) -> None:
    runner, data_dir = CliRunner(), tmp_path / "data"
    env = env_for(data_dir)
    assert runner.invoke(main, ["migrate"], env=env).exit_code == 0
    created = runner.invoke(
        main, ["staff", "create", EMAIL], env=env | {"TRADEHALL_STAFF_PASSWORD": PASSWORD}
    )
    assert created.exit_code == 0, created.output
    assert user_row(data_dir) == ("staff", 0, False)

    added = runner.invoke(main, ["users", "roles", EMAIL, "staff", "assessor"], env=env)
    assert added.exit_code == 0, added.output
    assert user_row(data_dir) == ("assessor staff", 0, False)  # nothing taken away

    removed = runner.invoke(main, ["users", "roles", EMAIL, "assessor"], env=env)
    assert removed.exit_code == 0, removed.output
    assert user_row(data_dir) == ("assessor", 1, False)

    assert runner.invoke(main, ["users", "disable", EMAIL], env=env).exit_code == 0
    assert user_row(data_dir) == ("assessor", 2, True)
    assert runner.invoke(main, ["users", "enable", EMAIL], env=env).exit_code == 0
    assert user_row(data_dir) == ("assessor", 2, False)

    unknown = runner.invoke(main, ["users", "disable", "nobody@example.org"], env=env)
    assert unknown.exit_code == 1
    assert "no user" in unknown.output
