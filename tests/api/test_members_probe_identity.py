"""Probes, as an attacker, of identity's account mails."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.api.helpers import register, services_of, token
from tests.conftest import AppClient
from tradehall.mail.tables import outbox_messages


async def invitation_mails(client: AppClient, address: str) -> int:
    async with services_of(client).engine.connect() as connection:
        return int(
            (
                await connection.execute(
                    select(func.count())
                    .select_from(outbox_messages)
                    .where(
                        outbox_messages.c.recipient == address,
                        outbox_messages.c.template == "account_invite",
                    )
                )
            ).scalar_one()
        )


async def test_invitation_mails_to_one_address_are_throttled(client: AppClient) -> None:
    """Anyone may register an organisation and so be its admin; its admin invites any address
    as often as it likes. Every other account mail (reset, verification) is throttled per
    recipient, so invitations were the way to send one stranger an unbounded stream of mail
    from the association. They share the recipient's throttle now: 429 with Retry-After."""
    org = await register(client)
    admin = await token(client, org["email"])
    victim = f"victim-{org['id'][:8]}@example.org"
    path = f"/api/v1/organisations/{org['id']}/invitations"

    answers = [await client.post(path, json={"email": victim}, headers=admin) for _ in range(6)]

    assert [a.status_code for a in answers] == [202] * 3 + [429] * 3, answers[-1].text
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert answers[-1].headers["content-type"].startswith("application/problem+json")
    assert await invitation_mails(client, victim) == 3
