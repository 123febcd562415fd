"""The suite's own stores: what the fixtures set up beside the service's choices."""

from __future__ import annotations

import psycopg


def test_the_runs_postgresql_database_commits_without_waiting_for_the_disk(
    postgres_url: str,
) -> None:
    with psycopg.connect(postgres_url) as connection:
        setting = connection.execute("SHOW synchronous_commit").fetchone()
    assert setting == ("off",)
