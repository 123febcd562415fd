"""Rebuilding the read models from a large membership log, against the library's stock runner.

1. Seed `--events` membership events on PostgreSQL quickly: sole-trader social enterprises
   (no registry claim) registered, applied (declaring a turnover), admitted and paid up in
   memory with one fixed-time Context (9 events each), saved `--per-save` aggregates per
   `app.save(...)`.
2. Time `BatchProjector.rebuild()` of the read models (`all_projections()`, which
   `tradehall projections rebuild` rebuilds), `--rebuild-batch-size` events a transaction, then
   of the directory alone. Then time a catch-up of the same projections from empty tables at
   the live batch size (`--batch-size`), the path a running projector takes.
3. Run the library's `ProjectionRunner` with a `Projection` and a `PostgresTrackingRecorder` view
   that upserts an equivalent directory row per event and records its tracking in the same
   transaction (the pattern of the library's examples), over the same log, for at most
   `--stock-events` events or `--stock-seconds` seconds.

Run: `.venv/bin/python -m bench.rebuild --help`.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from psycopg.sql import SQL

from bench._common import (
    BENCH_TURNOVER,
    admin_url_default,
    bench_database,
    details_for,
    emit,
    leaf_cpv_codes,
    machine,
    postgres_settings,
    run_migrate,
    server_env,
)
from membership.application import MembershipApp
from membership.domain import Organisation
from membership.dues import band_for
from projections.codes import cpv_stem
from projections.directory import LISTED_STATUSES
from projections.events import EventSource
from projections.registry import all_projections
from projections.runner import DEFAULT_BATCH_SIZE, REBUILD_BATCH_SIZE, BatchProjector
from sharedkernel.events import SYSTEM, Context
from tradehall.store.postgres import PostgresStore

SEED_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


# --- seeding -------------------------------------------------------------------------------------


def member(context: Context, details: Any, bands: Any) -> Organisation:
    """An organisation registered, applied, admitted and paid up: a listed member."""
    organisation = Organisation.register(context, uuid.uuid4(), details, uuid.uuid4())
    organisation.apply_for_membership(context, BENCH_TURNOVER)
    organisation.admit(context, bands, f"inv_{uuid.uuid4().hex[:20]}")
    due = band_for(bands, BENCH_TURNOVER).annual_due
    organisation.record_payment(
        context, f"pay_{uuid.uuid4().hex[:20]}", due, "bank_transfer", "bench seed"
    )
    return organisation


def seed(app: MembershipApp, events: int, per_save: int) -> dict[str, Any]:
    """Members (see `member`) saved `per_save` at a time until `events` are recorded."""
    context = Context(SYSTEM, "bench-rebuild-seed", SEED_TIME)
    app.ensure_dues_schedule(context)
    bands = app.dues_schedule().bands_at(SEED_TIME)
    details = [
        details_for(f"Seeded enterprise {i:03d}", code)
        for i, code in enumerate(leaf_cpv_codes(100))
    ]
    started = time.perf_counter()
    organisations = recorded = 0
    while recorded < events:
        batch = []
        while recorded < events and len(batch) < per_save:
            organisation = member(context, details[organisations % len(details)], bands)
            recorded += len(organisation.pending_events)
            organisations += 1
            batch.append(organisation)
        app.save(*batch)
    elapsed = time.perf_counter() - started
    return {
        "organisations": organisations,
        "events": recorded,
        "events_per_organisation": round(recorded / organisations, 2),
        "seconds": round(elapsed, 1),
        "events_per_s": round(recorded / elapsed),
    }


# --- ours ----------------------------------------------------------------------------------------


def time_rebuild(
    app: MembershipApp,
    store: PostgresStore,
    head: int,
    names: list[str] | None,
    rebuild_batch_size: int,
) -> dict[str, Any]:
    """`BatchProjector.rebuild` of the read models, as `tradehall projections rebuild` runs it."""
    projector = BatchProjector(
        store.sync_engine(),
        {"membership": EventSource("membership", app.recorder)},
        all_projections(),
        rebuild_batch_size=rebuild_batch_size,
        in_commit=store.in_projection_commit,
    )
    try:
        projector.ensure_positions()
        started = time.perf_counter()
        applied = projector.rebuild(names)
        elapsed = time.perf_counter() - started
    finally:
        projector.engine.dispose()
    chosen = names or [p.name for p in projector.projections]
    return {
        "projections": chosen,
        "rebuild_batch_size": rebuild_batch_size,
        "log_events": head,
        "events_applied": applied,  # each projection reads the whole log
        "seconds": round(elapsed, 2),
        "log_events_per_s": round(head / elapsed),
        "projection_events_per_s": round(applied / elapsed),
    }


def time_catch_up(
    app: MembershipApp, store: PostgresStore, head: int, batch_size: int
) -> dict[str, Any]:
    """`BatchProjector.catch_up` of the read models from empty tables and positions at 0, in
    batches of the live size: what a running projector does, a batch per transaction."""
    projections = all_projections()
    projector = BatchProjector(
        store.sync_engine(),
        {"membership": EventSource("membership", app.recorder)},
        projections,
        batch_size=batch_size,
        in_commit=store.in_projection_commit,
    )
    try:
        projector.ensure_positions()
        with projector.engine.begin() as connection:
            for projection in projections:
                projection.clear(connection)
            connection.exec_driver_sql("UPDATE projection_positions SET position = 0")
        started = time.perf_counter()
        applied = projector.catch_up()
        elapsed = time.perf_counter() - started
    finally:
        projector.engine.dispose()
    return {
        "projections": [p.name for p in projections],
        "batch_size": batch_size,
        "log_events": head,
        "events_applied": applied,
        "seconds": round(elapsed, 2),
        "log_events_per_s": round(head / elapsed),
    }


# --- the library's stock runner ---------------------------------------------------------------


class StockDirectoryView(PostgresTrackingRecorder):
    """The directory's rows, written one event per transaction with the tracking row."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend(
            [
                SQL(
                    "CREATE TABLE IF NOT EXISTS stock_directory_members ("
                    "organisation_id uuid PRIMARY KEY, name text NOT NULL, kind text NOT NULL, "
                    "legal_form text NOT NULL, social_purpose text NOT NULL, "
                    "status text NOT NULL, listed boolean NOT NULL, "
                    "registered_at timestamptz NOT NULL, admitted_at timestamptz)"
                ),
                SQL(
                    "CREATE TABLE IF NOT EXISTS stock_directory_member_regions ("
                    "organisation_id uuid, region text, PRIMARY KEY (organisation_id, region))"
                ),
                SQL(
                    "CREATE TABLE IF NOT EXISTS stock_directory_member_cpv ("
                    "organisation_id uuid, cpv_code text, cpv_stem text NOT NULL, "
                    "PRIMARY KEY (organisation_id, cpv_code))"
                ),
            ]
        )
        self.processed = 0
        self.first_position = self.last_position = 0
        self.first_at: float | None = None
        self.last_at = 0.0
        self.limit = 0
        self.reached = threading.Event()

    def _count(self, tracking: Tracking) -> None:
        now = time.perf_counter()
        if self.first_at is None:
            self.first_at = now
            self.first_position = tracking.notification_id
        self.last_at = now
        self.last_position = tracking.notification_id
        self.processed += 1
        if self.processed >= self.limit:
            self.reached.set()

    def register(self, event: Organisation.Registered, tracking: Tracking) -> None:
        organisation_id = event.originator_id
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "INSERT INTO stock_directory_members VALUES "
                "(%s, %s, %s, %s, %s, 'none', false, %s, NULL) "
                "ON CONFLICT (organisation_id) DO UPDATE SET name = EXCLUDED.name, "
                "kind = EXCLUDED.kind, legal_form = EXCLUDED.legal_form, "
                "social_purpose = EXCLUDED.social_purpose, status = 'none', listed = false, "
                "registered_at = EXCLUDED.registered_at, admitted_at = NULL",
                (
                    organisation_id,
                    event.name,
                    event.kind,
                    event.legal_form,
                    event.social_purpose,
                    event.timestamp,
                ),
            )
            curs.execute(
                "DELETE FROM stock_directory_member_regions WHERE organisation_id = %s",
                (organisation_id,),
            )
            curs.executemany(
                "INSERT INTO stock_directory_member_regions VALUES (%s, %s)",
                [(organisation_id, region) for region in event.regions],
            )
            curs.execute(
                "DELETE FROM stock_directory_member_cpv WHERE organisation_id = %s",
                (organisation_id,),
            )
            curs.executemany(
                "INSERT INTO stock_directory_member_cpv VALUES (%s, %s, %s)",
                [(organisation_id, code, cpv_stem(code)) for code in event.cpv_codes],
            )
            self._insert_tracking(curs, tracking)
        self._count(tracking)

    def set_status(
        self, organisation_id: UUID, status: str, admitted_at: datetime | None, tracking: Tracking
    ) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "UPDATE stock_directory_members SET status = %s, listed = %s, "
                "admitted_at = coalesce(%s, admitted_at) WHERE organisation_id = %s",
                (status, status in LISTED_STATUSES, admitted_at, organisation_id),
            )
            self._insert_tracking(curs, tracking)
        self._count(tracking)


_PREFIX = "membership.domain:Organisation."
# The events our directory handles, with the state each leads to (None: the event carries it).
_STOCK_STATUS_AFTER: dict[str, str | None] = {
    "MembershipApplied": "pending",
    "MembershipAdmitted": "awaiting_first_payment",
    "MembershipRejected": "rejected",
    "MembershipApplicationWithdrawn": "withdrawn",
    "Suspended": "suspended",
    "Expelled": "expelled",
    "StandingChanged": None,
    "Reinstated": None,
}


class StockDirectoryProjection(Projection[StockDirectoryView]):
    name = "stock_directory"
    topics = tuple(_PREFIX + name for name in ("Registered", *_STOCK_STATUS_AFTER))

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        name = type(domain_event).__name__
        if name not in _STOCK_STATUS_AFTER:
            self.view.insert_tracking(tracking)
            return
        status = _STOCK_STATUS_AFTER[name] or domain_event.status
        admitted_at = domain_event.effective_at if name == "MembershipAdmitted" else None
        self.view.set_status(domain_event.originator_id, status, admitted_at, tracking)

    @process_event.register(Organisation.Registered)
    def _(self, domain_event: Organisation.Registered, tracking: Tracking) -> None:
        self.view.register(domain_event, tracking)


def run_stock(store: PostgresStore, events: int, seconds: float) -> dict[str, Any]:
    prefix = StockDirectoryProjection.name.upper() + "_"
    env = store.application_env("membership", pool_size=2) | {
        prefix + "POSTGRES_SCHEMA": "public",
        prefix + "CREATE_TABLE": "y",
        prefix + "POSTGRES_POOL_SIZE": "2",
    }
    started = time.perf_counter()
    with ProjectionRunner(
        application_class=MembershipApp,
        projection_class=StockDirectoryProjection,
        view_class=StockDirectoryView,
        env=env,
    ) as runner:
        view = runner.view
        view.limit = events
        view.reached.wait(timeout=seconds)
        runner.stop()
    elapsed = view.last_at - (view.first_at or started)
    # It reads only the topics it handles: its progress through the log is the span of
    # positions it has tracked, which is what a rebuild of the same log must cover.
    span = view.last_position - view.first_position
    return {
        "events_processed": view.processed,
        "log_positions_covered": span,
        "seconds": round(elapsed, 2),
        "events_processed_per_s": round(view.processed / elapsed) if elapsed > 0 else 0,
        "log_events_per_s": round(span / elapsed) if elapsed > 0 else 0,
        "bounded_by": "events" if view.processed >= events else "time",
    }


# --- the run -------------------------------------------------------------------------------------


def settle(url: str) -> None:
    """CHECKPOINT, so a timed phase does not pay for the WAL of the one before it."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CHECKPOINT")


def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"benchmark": "rebuild", "machine": machine(), "options": vars(args)}
    with bench_database(args.admin_url, keep=args.keep_db) as url:
        result["postgres"] = postgres_settings(url)
        run_migrate(server_env(database_url=url, data_dir=None, pool_size=2, extra={}))
        store = PostgresStore(url)
        app = MembershipApp(env=store.application_env("membership", pool_size=2))
        try:
            result["seed"] = seed(app, args.events, args.per_save)
            with psycopg.connect(url, autocommit=True) as connection:
                # As autovacuum would soon after a bulk load (the library sets a low threshold).
                connection.execute("ANALYZE events.membership_events")
                head = connection.execute(
                    "SELECT max(notification_id) FROM events.membership_events"
                ).fetchone()[0]  # type: ignore[index]
            size = args.rebuild_batch_size
            settle(url)
            result["ours_all"] = time_rebuild(app, store, head, None, size)
            print(f"ours, all projections: {result['ours_all']}", flush=True)
            settle(url)
            result["ours_directory"] = time_rebuild(app, store, head, ["directory"], size)
            print(f"ours, directory: {result['ours_directory']}", flush=True)
            settle(url)
            result["ours_catch_up"] = time_catch_up(app, store, head, args.batch_size)
            print(f"ours, catch-up: {result['ours_catch_up']}", flush=True)
        finally:
            app.close()
        settle(url)
        result["stock_directory"] = run_stock(store, args.stock_events, args.stock_seconds)
        print(f"stock runner, directory: {result['stock_directory']}", flush=True)
    # Per log event: how much sooner the same log is rebuilt. Per handled event: against the
    # events the stock runner is handed (it asks only for the topics it handles).
    stock = result["stock_directory"]
    ours_directory, ours_all = (
        result[k]["log_events_per_s"] for k in ("ours_directory", "ours_all")
    )
    result["ratios"] = {
        "ours_directory_over_stock": round(ours_directory / stock["log_events_per_s"], 1),
        "ours_all_over_stock": round(ours_all / stock["log_events_per_s"], 1),
        "ours_directory_over_stock_handled": round(
            ours_directory / stock["events_processed_per_s"], 1
        ),
        "ours_all_over_stock_handled": round(ours_all / stock["events_processed_per_s"], 1),
    }
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.rebuild",
        description="Rebuild the read models from >=200k events vs the library's ProjectionRunner.",
    )
    parser.add_argument("--events", type=int, default=210_000, help="events to seed (210000)")
    parser.add_argument("--per-save", type=int, default=1000, help="aggregates per save (1000)")
    parser.add_argument(
        "--stock-events", type=int, default=20_000, help="stop the stock runner after (20000)"
    )
    parser.add_argument(
        "--stock-seconds", type=float, default=60.0, help="or after this many seconds (60)"
    )
    parser.add_argument(
        "--rebuild-batch-size",
        type=int,
        default=REBUILD_BATCH_SIZE,
        help=f"events a rebuild applies a transaction ({REBUILD_BATCH_SIZE}, the default)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"events a catch-up applies a transaction ({DEFAULT_BATCH_SIZE}, the live default)",
    )
    parser.add_argument("--admin-url", default=admin_url_default(), help="where to create the db")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    emit(run(args), args.json)


if __name__ == "__main__":
    main()
