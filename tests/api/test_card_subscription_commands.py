"""Cancelling or repricing a card subscription follows the membership log: whoever recorded
the change, at least once, once at Stripe (idempotency keys), retried with backoff within a
bound, and what failed is shown to staff."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from sharedkernel.events import Context
from tests.api import test_stripe
from tests.api.helpers import services_of
from tests.api.test_stripe import (
    Client,
    admitted,
    card_sender,
    checkout_completed,
    deliver,
    send_card_commands,
    url,
)
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.dev.stripe_standin import StripeStandIn
from tradehall.membership.card_subscriptions import (
    MAX_ATTEMPTS,
    Sent,
    backoff,
    sender_for,
)
from tradehall.store.base import Store

COMMANDS = "/api/v1/dues/card-subscription-commands"
# The Stripe stand-in and an app that calls it, as the Stripe tests have them.
standin = test_stripe.standin
stripe_client = test_stripe.stripe_client


async def paying_member(
    client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> tuple[dict[str, Any], dict[str, str], dict[str, str], dict[str, Any]]:
    org, headers, staff = await admitted(client, store, clock)
    for event in await checkout_completed(client, standin, org, headers):
        await deliver(client, event)
    subscription = next(
        s for s in standin.subscriptions.values() if s["metadata"]["organisation_id"] == org["id"]
    )
    # The repricing the application's turnover asks for goes first: what follows is the test's.
    assert await send_card_commands(client, org) == Sent(done=1)
    return org, headers, staff, subscription


async def resign_now(client: Client, org: dict[str, Any], headers: dict[str, str]) -> None:
    done = await client.post(
        url(org, "/membership/resignation"), json={"effective": "now"}, headers=headers
    )
    assert done.status_code == 200, done.text
    services = services_of(client)
    await services.run(services.readside.projector.catch_up)


async def commands_of(
    client: Client, org: dict[str, Any], staff: dict[str, str]
) -> list[dict[str, Any]]:
    answer = await client.get(COMMANDS, headers=staff)
    assert answer.status_code == 200, answer.text
    assert answer.json()["card_payments_configured"] is True
    return [c for c in answer.json()["commands"] if c["organisation_id"] == org["id"]]


def cancels_of(standin: StripeStandIn, subscription: dict[str, Any]) -> int:
    return standin.changes.count(("DELETE", f"/v1/subscriptions/{subscription['id']}"))


async def test_a_resignation_recorded_by_the_application_itself_cancels_too(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    """As the CLI, an import or the clock record changes: no controller involved."""
    org, _, _, subscription = await paying_member(stripe_client, standin, store, clock)
    services = services_of(stripe_client)
    context = Context("cli:staff", "cli-resign", clock.now())

    await services.run(services.membership.resign, context, UUID(org["id"]), at_period_end=False)

    assert subscription["status"] == "active"
    assert await send_card_commands(stripe_client, org) == Sent(done=1)
    assert subscription["status"] == "canceled"


async def test_a_crash_after_stripe_applied_a_command_sends_it_again_and_stripe_applies_it_once(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, _, subscription = await paying_member(stripe_client, standin, store, clock)
    await resign_now(stripe_client, org, headers)
    sender = card_sender(stripe_client)
    [command] = await sender.due(UUID(org["id"]))
    await sender.perform(command)  # Stripe applied it; the sender died before marking it done

    after_restart = await sender.send_due(UUID(org["id"]))

    assert after_restart == Sent(done=1)
    assert subscription["status"] == "canceled"
    assert cancels_of(standin, subscription) == 1
    assert await sender.send_due(UUID(org["id"])) == Sent()  # done: never sent again


async def test_stripe_failing_twice_is_retried_with_backoff_then_succeeds(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, staff, subscription = await paying_member(stripe_client, standin, store, clock)
    await resign_now(stripe_client, org, headers)
    sender = card_sender(stripe_client)
    standin.fail_next(2)

    assert await sender.send_due(UUID(org["id"])) == Sent(retrying=1)
    [waiting] = await commands_of(stripe_client, org, staff)
    assert (waiting["status"], waiting["attempts"], waiting["action"]) == (
        "pending",
        1,
        "cancel_now",
    )
    assert waiting["last_error"]
    assert await sender.send_due(UUID(org["id"])) == Sent()  # not before its backoff

    clock.advance(backoff(1))
    assert await sender.send_due(UUID(org["id"])) == Sent(retrying=1)
    clock.advance(backoff(2))
    assert await sender.send_due(UUID(org["id"])) == Sent(done=1)

    assert subscription["status"] == "canceled"
    assert cancels_of(standin, subscription) == 1
    assert await commands_of(stripe_client, org, staff) == []


async def test_a_command_stripe_keeps_refusing_is_given_up_and_shown_to_staff_only(
    stripe_client: Client, standin: StripeStandIn, store: Store, clock: ManualClock
) -> None:
    org, headers, staff, subscription = await paying_member(stripe_client, standin, store, clock)
    await resign_now(stripe_client, org, headers)
    sender = card_sender(stripe_client)
    standin.fail_next(MAX_ATTEMPTS + 5)

    outcomes = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        outcomes.append(await sender.send_due(UUID(org["id"])))
        clock.advance(backoff(attempt))
    standin.fail_next(0)

    assert outcomes == [Sent(retrying=1)] * (MAX_ATTEMPTS - 1) + [Sent(failed=1)]
    assert await sender.send_due(UUID(org["id"])) == Sent()  # bounded: given up
    [failed] = await commands_of(stripe_client, org, staff)
    assert (failed["status"], failed["attempts"]) == ("failed", MAX_ATTEMPTS)
    assert subscription["status"] == "active"
    member = await stripe_client.get(COMMANDS, headers=headers)
    assert member.status_code == 403


async def test_without_stripe_nothing_is_sent_and_staff_are_told(
    client: AppClient, store: Store, clock: ManualClock
) -> None:
    org, headers, staff = await admitted(client, store, clock)
    await resign_now(client, org, headers)

    assert sender_for(services_of(client)) is None
    answer = await client.get(COMMANDS, headers=staff)
    assert answer.status_code == 200
    assert answer.json()["card_payments_configured"] is False


def test_the_backoff_doubles_up_to_an_hour() -> None:
    assert [backoff(n) for n in (1, 2, 3)] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
    ]
    assert backoff(20) == timedelta(hours=1)
