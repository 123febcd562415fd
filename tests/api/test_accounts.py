"""Account e-mails: confirm an address, reset a password, invite a colleague."""

from __future__ import annotations

from datetime import timedelta
from email.message import Message

from tests.api.conftest import Mailbox
from tests.api.helpers import PASSWORD, register, services_of, token, token_in
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.mail.sender import send_pending

NEW_PASSWORD = "a much better passphrase"


async def mail_to(client: AppClient, box: Mailbox, address: str) -> list[str]:
    """Send the whole outbox, then the bodies of every message this address has received.

    The whole: on PostgreSQL the tests share one database, so other tests' messages wait in
    the outbox too, and one round sends only the oldest hundred."""
    services = services_of(client)
    while await send_pending(services, services.settings.smtp):
        pass
    return [body_of(m) for m in box.messages if address in str(m["To"])]


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


async def test_a_registered_address_is_verified_and_a_verification_link_works_once(
    mail_client: AppClient, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    org = await register(mail_client)
    headers = await token(mail_client, org["email"])
    me = (await mail_client.get("/api/v1/auth/me", headers=headers)).json()
    # The registration's link came from the mailbox: no verification mail besides it.
    assert me["email_verified"] is True
    assert sorted(me["roles"]) == ["admin", "member"]
    [registration_mail] = await mail_to(mail_client, box, org["email"])
    assert "confirm the registration" in registration_mail

    asked = await mail_client.post("/api/v1/auth/verification", headers=headers)
    assert asked.status_code == 202, asked.text
    [_, body] = await mail_to(mail_client, box, org["email"])
    confirmed = await mail_client.post(
        "/api/v1/auth/verification/confirmation", json={"token": token_in(body)}
    )
    again = await mail_client.post(
        "/api/v1/auth/verification/confirmation", json={"token": token_in(body)}
    )

    assert confirmed.status_code == 200, confirmed.text
    assert again.status_code == 422
    assert again.json()["errors"][0]["field"] == "token"


async def test_a_password_reset_changes_the_password_once(
    mail_client: AppClient, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    org = await register(mail_client)
    asked = await mail_client.post("/api/v1/auth/password-reset", json={"email": org["email"]})
    unknown = await mail_client.post(
        "/api/v1/auth/password-reset", json={"email": "nobody@example.org"}
    )
    assert asked.status_code == unknown.status_code == 202
    assert asked.json() == unknown.json()
    bodies = await mail_to(mail_client, box, org["email"])
    reset_body = next(b for b in bodies if "reset" in b)
    assert await mail_to(mail_client, box, "nobody@example.org") == []

    changed = await mail_client.post(
        "/api/v1/auth/password-reset/confirmation",
        json={"token": token_in(reset_body), "password": NEW_PASSWORD},
    )
    replayed = await mail_client.post(
        "/api/v1/auth/password-reset/confirmation",
        json={"token": token_in(reset_body), "password": "yet another password"},
    )

    assert changed.status_code == 200, changed.text
    assert replayed.status_code == 422
    old = await mail_client.post(
        "/api/v1/auth/token", json={"email": org["email"], "password": PASSWORD}
    )
    new = await mail_client.post(
        "/api/v1/auth/token", json={"email": org["email"], "password": NEW_PASSWORD}
    )
    assert old.status_code == 401
    assert new.status_code == 200


async def test_an_expired_reset_link_is_refused(
    mail_client: AppClient, mailbox: tuple[Mailbox, int], clock: ManualClock
) -> None:
    box, _ = mailbox
    org = await register(mail_client)
    await mail_client.post("/api/v1/auth/password-reset", json={"email": org["email"]})
    body = next(b for b in await mail_to(mail_client, box, org["email"]) if "reset" in b)
    clock.advance(timedelta(hours=2))

    late = await mail_client.post(
        "/api/v1/auth/password-reset/confirmation",
        json={"token": token_in(body), "password": NEW_PASSWORD},
    )

    assert late.status_code == 422


async def test_an_admin_invites_a_colleague_who_joins_the_organisation(
    mail_client: AppClient, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    org = await register(mail_client)
    admin = await token(mail_client, org["email"])
    colleague = f"colleague-{org['id'][:8]}@example.org"

    invited = await mail_client.post(
        f"/api/v1/organisations/{org['id']}/invitations", json={"email": colleague}, headers=admin
    )

    assert invited.status_code == 202, invited.text
    [body] = await mail_to(mail_client, box, colleague)
    joined = await mail_client.post(
        "/api/v1/invitations/acceptance", json={"token": token_in(body), "password": PASSWORD}
    )
    assert joined.status_code == 201, joined.text
    colleague_headers = await token(mail_client, colleague)
    shown = await mail_client.get(f"/api/v1/organisations/{org['id']}", headers=colleague_headers)
    assert shown.status_code == 200
    me = (await mail_client.get("/api/v1/auth/me", headers=colleague_headers)).json()
    assert me["roles"] == ["member"]  # a colleague, not an admin
    # The colleague cannot invite in turn; nor can another organisation's admin.
    refused = await mail_client.post(
        f"/api/v1/organisations/{org['id']}/invitations",
        json={"email": "third@example.org"},
        headers=colleague_headers,
    )
    assert refused.status_code == 403
    other = await register(mail_client)
    outsider = await mail_client.post(
        f"/api/v1/organisations/{org['id']}/invitations",
        json={"email": "fourth@example.org"},
        headers=await token(mail_client, other["email"]),
    )
    assert outsider.status_code == 403


async def test_an_invitation_says_nothing_of_whether_the_address_has_an_account(
    mail_client: AppClient, mailbox: tuple[Mailbox, int]
) -> None:
    """ADR 8: any organisation's admin could otherwise test addresses. The owner of a taken
    address is told, with no link, and its account is not moved."""
    box, _ = mailbox
    org = await register(mail_client)
    other = await register(mail_client)
    admin = await token(mail_client, org["email"])
    path = f"/api/v1/organisations/{org['id']}/invitations"
    free = f"free-{org['id'][:8]}@example.org"

    to_taken = await mail_client.post(path, json={"email": other["email"]}, headers=admin)
    to_free = await mail_client.post(path, json={"email": free}, headers=admin)

    assert to_taken.status_code == to_free.status_code == 202, to_taken.text
    assert to_taken.content == to_free.content
    varying = {"date", "x-request-id"}
    assert {k: v for k, v in to_taken.headers.items() if k not in varying} == {
        k: v for k, v in to_free.headers.items() if k not in varying
    }
    [notice] = [b for b in await mail_to(mail_client, box, other["email"]) if "invited" in b]
    assert "already has an account" in notice
    assert "token=" not in notice
    [invitation] = await mail_to(mail_client, box, free)
    assert "token=" in invitation
    me = (
        await mail_client.get("/api/v1/auth/me", headers=await token(mail_client, other["email"]))
    ).json()
    assert me["organisation_id"] == other["id"]


async def test_a_sent_account_mail_keeps_no_copy_of_its_link(
    mail_client: AppClient, mailbox: tuple[Mailbox, int]
) -> None:
    from sqlalchemy import select

    from tradehall.mail.tables import outbox_messages

    box, _ = mailbox
    org = await register(mail_client)
    await mail_to(mail_client, box, org["email"])
    services = services_of(mail_client)
    async with services.engine.connect() as connection:
        bodies = list(
            (
                await connection.execute(
                    select(outbox_messages.c.body).where(
                        outbox_messages.c.recipient == org["email"]
                    )
                )
            ).scalars()
        )
    assert bodies
    assert all("token=" not in body for body in bodies)


async def test_a_reset_revokes_the_other_reset_links(
    mail_client: AppClient, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    org = await register(mail_client)
    for _ in range(2):
        await mail_client.post("/api/v1/auth/password-reset", json={"email": org["email"]})
    first, second = [b for b in await mail_to(mail_client, box, org["email"]) if "reset" in b]

    used = await mail_client.post(
        "/api/v1/auth/password-reset/confirmation",
        json={"token": token_in(first), "password": NEW_PASSWORD},
    )
    other = await mail_client.post(
        "/api/v1/auth/password-reset/confirmation",
        json={"token": token_in(second), "password": "someone else's choice"},
    )

    assert used.status_code == 200
    assert other.status_code == 422
