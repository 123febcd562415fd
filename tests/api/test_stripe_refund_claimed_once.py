"""One Stripe refund, told by two parked events that staff apply to two organisations, is in
one ledger only: the refund is claimed like a payment (ADR 13)."""

from __future__ import annotations

from tests.api.test_stripe import Client
from tests.api.test_stripe_refunds import (
    ledger_of,
    outcomes,
    paid_by_card,
    refund_id_of,
    refunds_in,
    standin,  # noqa: F401
    stripe_client,  # noqa: F401
)
from tradehall.clock import ManualClock
from tradehall.dev.stripe_standin import StripeStandIn
from tradehall.store.base import Store


async def test_one_parked_refund_cannot_be_applied_to_two_organisations(
    stripe_client: Client,  # noqa: F811
    standin: StripeStandIn,  # noqa: F811
    store: Store,
    clock: ManualClock,
) -> None:
    org, headers, staff, _, _ = await paid_by_card(stripe_client, standin, store, clock)
    other, other_headers, _, _, _ = await paid_by_card(stripe_client, standin, store, clock)
    [created] = standin.refund_payment_intent("pi_takeninthedashboard02", 2_500)
    refund_id = refund_id_of([created])
    [updated] = standin.settle_refund(refund_id)  # the same refund, told again
    assert await outcomes(stripe_client, [created, updated]) == ["parked", "parked"]

    answers = []
    for event, who in ((created, org), (updated, other)):
        answers.append(
            await stripe_client.post(
                f"/api/v1/dues/parked-webhooks/{event.event_id}/resolution",
                json={"action": "apply", "organisation_id": who["id"]},
                headers=staff,
            )
        )

    mine = refund_id in {i for i, _ in refunds_in(await ledger_of(stripe_client, org, headers))}
    theirs = refund_id in {
        i for i, _ in refunds_in(await ledger_of(stripe_client, other, other_headers))
    }
    assert [a.status_code for a in answers] == [200, 409], [a.text for a in answers]
    assert (mine, theirs) == (True, False)
