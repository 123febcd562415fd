"""A command without an expected version is retried when another process's write clashes with
it: two Applications on one store stand for two API workers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from membership.application import CLASH_ATTEMPTS, ConcurrentChange, MembershipApp
from membership.domain import Organisation
from sharedkernel.events import SYSTEM, Context
from sharedkernel.money import Money
from tests.integration.test_stores import details
from tradehall.store.base import Store

AT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def context(request_id: str) -> Context:
    return Context(SYSTEM, request_id, AT)


@pytest.fixture
def workers(store: Store) -> Iterator[tuple[MembershipApp, MembershipApp]]:
    store.migrate()
    one = MembershipApp(env=store.application_env("membership", pool_size=2))
    other = MembershipApp(env=store.application_env("membership", pool_size=2))
    yield one, other
    one.close()
    other.close()


def admitted(app: MembershipApp) -> uuid.UUID:
    app.ensure_dues_schedule(context("schedule"))
    organisation_id = uuid.uuid4()
    app.register_organisation(context("register"), organisation_id, details(), uuid.uuid4())
    app.apply_for_membership(context("apply"), organisation_id, Money("GBP", 5_000_000))
    app.admit(context("admit"), organisation_id)
    return organisation_id


def payments(app: MembershipApp, organisation_id: uuid.UUID) -> list[str]:
    ledger = app.get_organisation(organisation_id).ledger
    return [entry.reference for entry in ledger if entry.kind == "payment"]


def test_a_clash_with_another_worker_is_decided_again_on_the_reloaded_organisation(
    workers: tuple[MembershipApp, MembershipApp],
) -> None:
    one, other = workers
    organisation_id = admitted(one)
    seen_versions: list[int] = []

    def decide(organisation: Organisation) -> None:
        seen_versions.append(organisation.version)
        if len(seen_versions) == 1:  # the other worker writes between our load and our save
            other.record_payment(
                context("other"), organisation_id, Money("GBP", 1_000), "cheque", "CHQ 1"
            )
        organisation.record_payment(
            context("ours"), "pay_ours", Money("GBP", 2_000), "bank_transfer", "BACS 2"
        )

    saved = one.handle_external_event(context("ours"), "test", "message-1", organisation_id, decide)

    assert saved is not None
    assert len(seen_versions) == 2
    assert seen_versions[1] > seen_versions[0]  # decided again on what the other wrote
    assert sorted(payments(one, organisation_id)) == ["BACS 2", "CHQ 1"]


def test_clashing_every_time_gives_up_after_a_few_attempts_and_records_nothing(
    workers: tuple[MembershipApp, MembershipApp],
) -> None:
    one, other = workers
    organisation_id = admitted(one)
    attempts: list[int] = []

    def decide(organisation: Organisation) -> None:
        attempts.append(organisation.version)
        other.record_payment(
            context("other"), organisation_id, Money("GBP", 1_000), "cheque", f"CHQ {len(attempts)}"
        )
        organisation.record_payment(
            context("ours"), "pay_ours", Money("GBP", 2_000), "bank_transfer", "BACS ours"
        )

    with pytest.raises(ConcurrentChange):
        one.handle_external_event(context("ours"), "test", "message-2", organisation_id, decide)

    assert len(attempts) == CLASH_ATTEMPTS
    assert "BACS ours" not in payments(one, organisation_id)
    assert len(payments(one, organisation_id)) == CLASH_ATTEMPTS
