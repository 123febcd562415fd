"""Run the real projections and SIGKILL this process in the middle of a batch.

Usage: python -m tests.integration.crash_projector CRASH_AT_POSITION
(the store comes from TRADEHALL_DATABASE_URL / TRADEHALL_DATA_DIR, as for `tradehall`).

The directory projection's writes for the batch holding CRASH_AT_POSITION have been sent to the
database, the position update has not: the process dies inside the open transaction.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

from sqlalchemy import Connection

from membership.application import MembershipApp
from projections.directory import DirectoryProjection
from projections.events import EventSource, RecordedEvent
from projections.registry import all_projections
from projections.runner import BatchProjector
from tradehall.settings import Settings
from tradehall.store import store_from_settings


class DirectoryThatDies(DirectoryProjection):
    def __init__(self, crash_at: int) -> None:
        self.crash_at = crash_at

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        super().apply(connection, events)
        if events[0].position <= self.crash_at <= events[-1].position:
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    crash_at = int(sys.argv[1])
    settings = Settings.from_env()
    store = store_from_settings(settings.database_url, settings.data_dir)
    app = MembershipApp(env=store.application_env("membership", pool_size=2))
    projections = [
        DirectoryThatDies(crash_at) if p.name == "directory" else p for p in all_projections()
    ]
    runner = BatchProjector(
        store.sync_engine(),
        {"membership": EventSource("membership", app.recorder)},
        projections,
        batch_size=100,
        in_commit=store.in_projection_commit,
    )
    runner.ensure_positions()
    runner.catch_up()
    raise SystemExit("the crash position was never reached")


if __name__ == "__main__":
    main()
