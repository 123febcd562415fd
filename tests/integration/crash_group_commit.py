"""Save through group commit and be SIGKILLed half-way through a batch of two saves.

Usage: python -m tests.integration.crash_group_commit DSN HOLD_KEY ACKNOWLEDGED DOOMED DOOMED

The test holds the advisory locks HOLD_KEY and HOLD_KEY + 1. ACKNOWLEDGED's save waits on the
first inside its batch while the two DOOMED saves queue behind it (prints "queued"); once the
test lets it go it commits (prints "acknowledged <id>") and the DOOMED saves are written as one
batch, whose side writes end by waiting on the second lock: the batch stops half-written, and
the test kills the process there.
"""

from __future__ import annotations

import sys
import threading
import uuid

from sqlalchemy import func, select

from membership.application import MembershipApp
from tests.integration.test_group_commit import registration
from tests.integration.test_stores import user_row
from tradehall.store.postgres import PostgresStore


def hold(key: int) -> object:
    return select(func.pg_advisory_xact_lock(key))


def main() -> None:
    dsn, hold_key = sys.argv[1], int(sys.argv[2])
    acknowledged, *doomed = (uuid.UUID(value) for value in sys.argv[3:6])
    store = PostgresStore(dsn)
    app = MembershipApp(env=store.application_env("membership", pool_size=2))
    group = app.recorder.group  # type: ignore[attr-defined]

    def save_acknowledged() -> None:
        app.save(registration(acknowledged), side_writes=[hold(hold_key)])
        print(f"acknowledged {acknowledged}", flush=True)

    threading.Thread(target=save_acknowledged, daemon=True).start()
    assert group.wait_for(lambda s: s.writing, 20)
    for index, organisation_id in enumerate(doomed):
        side_writes = [user_row(f"{organisation_id.hex}@example.org", organisation_id)]
        if index == len(doomed) - 1:
            side_writes.append(hold(hold_key + 1))
        threading.Thread(
            target=app.save,
            args=(registration(organisation_id),),
            kwargs={"side_writes": side_writes},
            daemon=True,
        ).start()
    assert group.wait_for(lambda s: s.queued == len(doomed), 20)
    print("queued", flush=True)
    threading.Event().wait()  # until killed


if __name__ == "__main__":
    main()
