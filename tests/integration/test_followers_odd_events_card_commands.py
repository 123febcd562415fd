"""The card-subscription follower and its sender pass what they cannot act on: an event without
its time is recorded (dated by its effective time), a resignation that says not when it takes
effect cancels at the period's end, and one command whose organisation's log its aggregate
cannot load fails alone, counted with its error, while the later commands are sent to Stripe
(the stand-in). On both stores, each event recorded raw in the log as another writer might.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncEngine

from membership.application import MembershipApp
from membership.dues import default_bands
from membership.marks.application import MarksApp
from projections.events import EventSource
from projections.runner import BatchProjector
from tests.integration.test_projector import store  # noqa: F401
from tests.integration.test_readside_review_payloads import (
    AT,
    ORGANISATION,
    apps,  # noqa: F401
    record,
    registered,
)
from tradehall.clock import ManualClock
from tradehall.dev.stripe_standin import StripeStandIn
from tradehall.membership.card_subscriptions import (
    CANCEL_AT_PERIOD_END,
    CANCEL_NOW,
    DONE,
    NOT_NEEDED,
    PENDING,
    CardSubscriptionFollower,
    CardSubscriptionSender,
    Sent,
)
from tradehall.payments.stripe_gateway import StripeGateway
from tradehall.payments.tables import card_subscription_commands
from tradehall.store.base import Store

T = TypeVar("T")
SECRET_KEY = "sk_test_standin_followers"
WEBHOOK_SECRET = "whsec_standin_followers"
URL = "https://tradehall.example"


@pytest.fixture
def standin() -> Iterator[StripeStandIn]:
    prices = {band.price_reference: (band.annual_due.minor, "GBP") for band in default_bands()}
    fake = StripeStandIn(SECRET_KEY, WEBHOOK_SECRET, prices)
    server = fake.serve()
    yield fake
    server.shutdown()


@pytest.fixture
async def async_engine(store: Store) -> Any:  # noqa: F811
    made: AsyncEngine = store.async_engine(pool_size=1)
    yield made
    await made.dispose()


def subscribed(standin: StripeStandIn, organisation: uuid.UUID) -> tuple[str, str]:
    """A card subscription the member pays by, at the stand-in: (customer, subscription)."""
    price = f"price_{default_bands()[0].price_reference}"
    session = standin.create_checkout_session(
        {
            "mode": "subscription",
            "line_items[0][price]": price,
            "subscription_data[metadata][organisation_id]": str(organisation),
        }
    )
    standin.complete_checkout(session["id"])
    done = standin.sessions[session["id"]]
    return done["customer"], done["subscription"]


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def test_one_command_that_cannot_be_performed_fails_alone_and_the_later_ones_are_sent(
    store: Store,  # noqa: F811
    apps: tuple[MembershipApp, MarksApp, Engine],  # noqa: F811
    async_engine: AsyncEngine,
    standin: StripeStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    membership, _, engine = apps
    broken, untimed, resigned, paying = (uuid.uuid4() for _ in range(4))
    for organisation in (broken, untimed, resigned, paying):
        record(membership, f"{ORGANISATION}.Registered", organisation, 1, **registered())
    # Its aggregate cannot load this standing (not a status the domain knows): its command,
    # the oldest, cannot be performed.
    record(membership, f"{ORGANISATION}.StandingChanged", broken, 2, status="bogus", cause="x")
    record(membership, f"{ORGANISATION}.Expelled", broken, 3, reason="fraud")
    # No time: recorded, dated by its effective time (its aggregate cannot load it either:
    # its command fails alone too).
    later = AT + timedelta(hours=1)
    record(
        membership,
        f"{ORGANISATION}.Expelled",
        untimed,
        2,
        reason="fraud",
        timestamp=...,
        effective_at=later,
    )
    # A resignation that says not when it takes effect.
    record(
        membership,
        f"{ORGANISATION}.ResignationGiven",
        resigned,
        2,
        resigns_at=None,
        timestamp=later,
    )
    customer, subscription = subscribed(standin, paying)
    record(
        membership,
        f"{ORGANISATION}.PaymentProcessorLinked",
        paying,
        2,
        processor="stripe",
        customer_id=customer,
        subscription_id=subscription,
        timestamp=later,
    )
    record(membership, f"{ORGANISATION}.Expelled", paying, 3, reason="fraud", timestamp=later)
    runner = BatchProjector(
        engine,
        {"membership": EventSource("membership", membership.recorder)},
        [CardSubscriptionFollower()],
        in_commit=store.in_projection_commit,
    )

    runner.catch_up()

    [status] = runner.status()
    assert (status.position, status.failure) == (membership.recorder.max_notification_id(), None)
    gateway = StripeGateway(SECRET_KEY, URL, api_base=standin.base_url)
    clock = ManualClock(later + timedelta(minutes=1))
    sender = CardSubscriptionSender(async_engine, membership, gateway, clock, in_thread)

    sent = await sender.send_due()

    assert sent == Sent(done=1, not_needed=1, retrying=2)
    assert standin.changes.count(("DELETE", f"/v1/subscriptions/{subscription}")) == 1
    with engine.connect() as connection:
        rows = {
            row.organisation_id: row
            for row in connection.execute(select(card_subscription_commands))
        }
    failed = rows[broken]
    assert (failed.action, failed.status, failed.attempts) == (CANCEL_NOW, PENDING, 1)
    assert failed.last_error.startswith("ValueError: ")
    assert failed.next_attempt_at is not None
    untimed_row = rows[untimed]
    assert (untimed_row.action, untimed_row.status, untimed_row.created_at) == (
        CANCEL_NOW,
        PENDING,
        later,
    )
    assert untimed_row.last_error.startswith("AttributeError: ")
    assert (rows[resigned].action, rows[resigned].status) == (CANCEL_AT_PERIOD_END, NOT_NEEDED)
    assert (rows[paying].action, rows[paying].status) == (CANCEL_NOW, DONE)
    assert "cancelled at the period's end" in caplog.text
