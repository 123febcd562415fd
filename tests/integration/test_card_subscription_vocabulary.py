"""The domain speaks of a card subscription in its own words; events stored before it did hold
Stripe's ("canceled", processor "stripe"). They still load, as they are: never rewritten."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from membership.application import ExternalMessage, MembershipApp
from membership.card_subscription import CardSubscription, CardSubscriptionStatus
from sharedkernel.events import SYSTEM, Context
from sharedkernel.money import Money
from tests.integration.test_stores import details
from tradehall.membership.card_payments import subscription_status
from tradehall.store.base import Store

AT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def context(request_id: str) -> Context:
    return Context(SYSTEM, request_id, AT)


@pytest.fixture
def app(store: Store) -> Iterator[MembershipApp]:
    store.migrate()
    application = MembershipApp(env=store.application_env("membership", pool_size=2))
    yield application
    application.close()


def admitted(app: MembershipApp) -> uuid.UUID:
    app.ensure_dues_schedule(context("schedule"))
    organisation_id = uuid.uuid4()
    app.register_organisation(context("register"), organisation_id, details(), uuid.uuid4())
    app.apply_for_membership(context("apply"), organisation_id, Money("GBP", 5_000_000))
    app.admit(context("admit"), organisation_id)
    return organisation_id


def test_a_subscription_change_stored_in_stripes_words_still_loads(
    app: MembershipApp, store: Store
) -> None:
    organisation_id = admitted(app)
    organisation = app.get_organisation(organisation_id)
    # What older versions recorded, word for word.
    ctx = context("older").event_kwargs()
    organisation.trigger_event(
        organisation.PaymentProcessorLinked,
        processor="stripe",
        customer_id="cus_1",
        subscription_id="sub_1",
        **ctx,
    )
    organisation.trigger_event(
        organisation.SubscriptionChanged,
        subscription_id="sub_1",
        status="canceled",
        cancel_at_period_end=False,
        **ctx,
    )
    app.save(organisation)

    later = MembershipApp(env=store.application_env("membership", pool_size=2))
    try:
        loaded = later.get_organisation(organisation_id)
        [stored] = [
            e
            for e in later.organisation_events(organisation_id)
            if hasattr(e, "cancel_at_period_end")
        ]
    finally:
        later.close()
    assert loaded.card_subscription == CardSubscription("sub_1", CardSubscriptionStatus.CANCELLED)
    assert loaded.card_subscription.ended
    assert stored.status == "canceled"  # read as it was stored, not rewritten


def test_new_changes_are_recorded_in_the_domains_words(app: MembershipApp) -> None:
    organisation_id = admitted(app)
    message = ExternalMessage("stripe", "evt_1", organisation_id)
    app.link_card_subscription(context("link"), message, "cus_1", "sub_1")
    deleted = ExternalMessage("stripe", "evt_2", organisation_id)
    status = subscription_status("customer.subscription.deleted", "canceled")
    app.record_card_subscription_change(context("end"), deleted, "sub_1", status, False)

    events = app.organisation_events(organisation_id)
    [changed] = [e for e in events if hasattr(e, "cancel_at_period_end")]
    assert changed.status == "cancelled"
    assert app.card_subscription(organisation_id) == CardSubscription(
        "sub_1", CardSubscriptionStatus.CANCELLED
    )


@pytest.mark.parametrize(
    ("stripe_status", "ours"),
    [
        ("active", CardSubscriptionStatus.ACTIVE),
        ("trialing", CardSubscriptionStatus.ACTIVE),
        ("past_due", CardSubscriptionStatus.PAST_DUE),
        ("canceled", CardSubscriptionStatus.CANCELLED),
        ("incomplete_expired", CardSubscriptionStatus.CANCELLED),
        ("something_new", CardSubscriptionStatus.OTHER),
    ],
)
def test_the_adapter_translates_stripes_statuses(
    stripe_status: str, ours: CardSubscriptionStatus
) -> None:
    assert subscription_status("customer.subscription.updated", stripe_status) is ours
    assert CardSubscriptionStatus.read(stripe_status) is ours
