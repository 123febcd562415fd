"""Run the Alembic migrations in migrations/ against an engine, programmatically."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import Engine


def migrations_dir() -> Path:
    """migrations/ at the top of a checkout, or its copy inside an installed wheel."""
    here = Path(__file__).resolve().parents[1]  # the tradehall package
    for candidate in (here / "_migrations", here.parents[1] / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("the Alembic migrations directory is missing")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


@cache
def _scripts() -> ScriptDirectory:
    """The revisions, read once a process. Reading them execs every revision file (and, where
    no bytecode is kept, compiles it): ~35 ms that each start of the API paid again, on
    PostgreSQL to check the schema and on SQLite to migrate, and so each test's app."""
    return ScriptDirectory.from_config(_config())


def upgrade_to_head(engine: Engine) -> None:
    with engine.begin() as connection:
        if current_revisions(connection) == alembic_heads():
            return  # at the head: Alembic would run no revision
        config = _config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def alembic_heads() -> set[str]:
    return set(_scripts().get_heads())


def current_revisions(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())
