"""The stores: migrations, refusal to serve a database that is behind, and side writes that
commit or fail with their events."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError
from sqlalchemy import func, make_url, select

from membership.application import MembershipApp
from membership.domain import RegistrationDetails
from membership.dues import default_bands
from sharedkernel.events import Context
from sharedkernel.money import Money
from tests.conftest import admin_database_url
from tradehall.identity.tables import users
from tradehall.identity.users import Role, insert_user
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore

AT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def details() -> RegistrationDetails:
    return RegistrationDetails.parse(
        name="Hillside Co-operative",
        kind="social_enterprise",
        legal_form="co_operative_society",
        registry_scheme="GB-MPR",
        registry_id=f"{uuid.uuid4().int % 10**6}R",
        social_purpose="Affordable food",
        regions=["TLD"],
        cpv_codes=["15000000-8"],
    )


def user_row(email: str, organisation_id: uuid.UUID) -> object:
    return insert_user(
        user_id=uuid.uuid4(),
        email=email,
        password_hash="not-a-real-hash",
        organisation_id=organisation_id,
        roles=frozenset({Role.MEMBER}),
        now=AT,
    )


@pytest.fixture
def membership(store: Store) -> Iterator[MembershipApp]:
    store.migrate()
    app = MembershipApp(env=store.application_env("membership", pool_size=2))
    yield app
    app.close()


def users_with(store: Store, email: str) -> int:
    engine = store.sync_engine()
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count()).select_from(users).where(users.c.email == email)
                ).scalar_one()
            )
    finally:
        engine.dispose()


@pytest.mark.fresh_store
def test_migrate_is_idempotent(store: Store) -> None:
    store.migrate()
    store.migrate()
    assert store.schema_is_current().ok


def test_a_user_row_commits_with_the_events_it_accompanies(
    store: Store, membership: MembershipApp
) -> None:
    organisation_id, email = uuid.uuid4(), f"{uuid.uuid4().hex}@example.org"
    context = Context("system", "req-1", AT)

    saved = membership.register_organisation(
        context,
        organisation_id,
        details(),
        uuid.uuid4(),
        side_writes=[user_row(email, organisation_id)],
    )

    assert saved.version == 1
    assert users_with(store, email) == 1
    assert membership.get_organisation(organisation_id).name == "Hillside Co-operative"


def test_a_failing_user_row_leaves_no_events(store: Store, membership: MembershipApp) -> None:
    email = f"{uuid.uuid4().hex}@example.org"
    first = uuid.uuid4()
    membership.register_organisation(
        Context("system", "req-1", AT),
        first,
        details(),
        uuid.uuid4(),
        side_writes=[user_row(email, first)],
    )
    second = uuid.uuid4()
    before = membership.recorder.max_notification_id()

    with pytest.raises(IntegrityError):
        membership.save(*_registration(membership, second), side_writes=[user_row(email, second)])

    assert membership.recorder.max_notification_id() == before
    assert users_with(store, email) == 1


def test_failing_events_leave_no_user_row(store: Store, membership: MembershipApp) -> None:
    organisation_id = uuid.uuid4()
    aggregates = _registration(membership, organisation_id)
    membership.save(*aggregates)
    email = f"{uuid.uuid4().hex}@example.org"

    # The same events again: a version clash, so the user row must roll back with them.
    with pytest.raises(IntegrityError):
        membership.save(
            *_registration(membership, organisation_id),
            side_writes=[user_row(email, organisation_id)],
        )

    assert users_with(store, email) == 0


def _registration(membership: MembershipApp, organisation_id: uuid.UUID) -> list[object]:
    from membership.domain import Organisation

    return [
        Organisation.register(Context("system", "r", AT), organisation_id, details(), uuid.uuid4())
    ]


@pytest.fixture
def empty_postgres_database() -> Iterator[str]:
    admin = make_url(admin_database_url())
    name = f"tradehall_behind_{uuid.uuid4().hex[:10]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield admin.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_api_refuses_a_postgresql_database_that_is_behind(
    empty_postgres_database: str,
) -> None:
    store = PostgresStore(empty_postgres_database)
    with pytest.raises(RuntimeError, match="tradehall migrate"):
        store.prepare_for_serving()
    store.migrate()
    store.prepare_for_serving()
    assert store.schema_is_current().ok


def test_two_decisions_on_the_same_version_cannot_both_be_recorded(
    store: Store, membership: MembershipApp
) -> None:
    organisation_id = uuid.uuid4()
    context = Context("system", "req", AT)
    membership.register_organisation(context, organisation_id, details(), uuid.uuid4())
    membership.ensure_dues_schedule(context)
    membership.apply_for_membership(context, organisation_id, Money("GBP", 5_000_000))
    first = membership.get_organisation(organisation_id)
    second = membership.get_organisation(organisation_id)
    first.admit(context, default_bands(), "inv_1")
    second.reject(context, "duplicate application")

    membership.save(first)
    with pytest.raises(IntegrityError):
        membership.save(second)

    assert membership.get_organisation(organisation_id).membership_status.value == (
        "awaiting_first_payment"
    )


def test_the_process_environment_cannot_switch_off_the_side_writes(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library reads os.environ too; the store's settings must win over stray variables."""
    store.migrate()
    monkeypatch.setenv("POSTGRES_ENABLE_DB_FUNCTIONS", "y")
    monkeypatch.setenv("MEMBERSHIP_POSTGRES_ENABLE_DB_FUNCTIONS", "y")
    monkeypatch.setenv("MEMBERSHIP_PERSISTENCE_MODULE", "eventsourcing.popo")
    app = MembershipApp(env=store.application_env("membership", pool_size=2))
    try:
        organisation_id, email = uuid.uuid4(), f"{uuid.uuid4().hex}@example.org"
        app.register_organisation(
            Context("system", "req", AT),
            organisation_id,
            details(),
            uuid.uuid4(),
            side_writes=[user_row(email, organisation_id)],
        )
    finally:
        app.close()
    assert users_with(store, email) == 1
