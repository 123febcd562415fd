"""Registration and account links probed as an attacker (or an unlucky user) would: through the
app, on both stores."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.api.helpers import (
    CONFIRMATIONS,
    PASSWORD,
    event_count,
    register,
    registration,
    registration_secret,
    registration_secrets,
    services_of,
    token_in,
)
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.identity.accounts import registration_for_address
from tradehall.identity.tables import pending_registrations, users
from tradehall.identity.tokens import token_hash
from tradehall.mail.tables import outbox_messages
from tradehall.membership.registration import _DECLARED

Client = AppClient
URL = "/api/v1/organisations"


async def rows_of(client: Client, query: Any) -> list[Any]:
    async with services_of(client).engine.connect() as connection:
        return list(await connection.execute(query))


async def pending_as_the_route_writes_it(client: Client, email: str, details: str) -> str:
    """A pending registration written by the very statements `POST /organisations` runs, with
    `details` as stored; the secret of its link."""
    services = services_of(client)
    statements = registration_for_address(
        email,
        password_hash=services.passwords.hash(PASSWORD),
        details=details,
        organisation_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        now=services.clock.now(),
        public_url=services.settings.public_url,
    )
    async with services.engine.begin() as connection:
        for statement in statements:
            await connection.execute(statement)
    query = select(outbox_messages.c.body).where(
        outbox_messages.c.recipient == email, outbox_messages.c.template == "account_registration"
    )
    [(body,)] = await rows_of(client, query)
    return token_in(body)


def declared(**changes: Any) -> dict[str, Any]:
    """The details as `request_registration` stores them (NewOrganisation's fields)."""
    body = registration()
    registry = body["registry_identifier"]
    stored = {
        "name": body["name"],
        "kind": body["kind"],
        "legal_form": body["legal_form"],
        "registry_scheme": registry["scheme"],
        "registry_id": registry["identifier"],
        "social_purpose": body["social_purpose"],
        "regions": body["regions"],
        "cpv_codes": body["cpv_codes"],
    }
    assert set(stored) == set(_DECLARED)
    stored.update(changes)
    return stored


@pytest.mark.parametrize(
    "details",
    [
        # A rule tightened between asking and confirming: a name the parser now refuses.
        declared(name="   "),
        declared(regions=["XX9"]),
        # A field the parser no longer takes, or one it now requires.
        {**declared(), "website": "https://example.org"},
        {k: v for k, v in declared().items() if k != "cpv_codes"},
    ],
    ids=["name", "regions", "unknown-field", "missing-field"],
)
async def test_a_registration_whose_details_no_longer_parse_must_be_asked_again(
    client: Client, details: dict[str, Any]
) -> None:
    """The confirmation's body is {token, password}: a problem naming a field the user is not
    sending could not be mended. The link is the thing at fault, and it is used up (with what
    it held of the person), so it cannot be tried again and again."""
    email = f"outdated-{uuid.uuid4().hex[:10]}@example.org"
    secret = await pending_as_the_route_writes_it(client, email, json.dumps(details))
    before = event_count(client, "Organisation.Registered")

    first = await client.post(CONFIRMATIONS, json={"token": secret, "password": PASSWORD})

    assert first.status_code == 422, first.text
    assert first.headers["content-type"].startswith("application/problem+json")
    [error] = first.json()["errors"]
    assert error["field"] == "token"
    assert "ask for the registration again" in error["message"]
    table = pending_registrations
    [row] = await rows_of(client, select(table).where(table.c.token_hash == token_hash(secret)))
    assert row.used_at is not None
    assert (row.email, row.password_hash, row.details) == (None, None, None)
    again = await client.post(CONFIRMATIONS, json={"token": secret, "password": PASSWORD})
    assert again.status_code == 422, again.text
    assert again.json()["errors"] == [
        {"field": "token", "message": "this link has been used already"}
    ]
    assert event_count(client, "Organisation.Registered") == before
    assert await rows_of(client, select(func.count()).where(users.c.email == email)) == [(0,)]


async def test_an_outdated_registration_with_a_wrong_password_says_only_that(
    client: Client,
) -> None:
    """The password is checked first: whoever holds only the link learns nothing of the
    details, and cannot use the link up."""
    email = f"outdated-{uuid.uuid4().hex[:10]}@example.org"
    secret = await pending_as_the_route_writes_it(client, email, json.dumps(declared(name=" ")))

    wrong = await client.post(CONFIRMATIONS, json={"token": secret, "password": "x" * 12})

    assert wrong.status_code == 422, wrong.text
    assert [e["field"] for e in wrong.json()["errors"]] == ["password"]
    table = pending_registrations
    [row] = await rows_of(client, select(table).where(table.c.token_hash == token_hash(secret)))
    assert row.used_at is None


def written_otherwise(email: str) -> list[str]:
    """The same mailbox, the domain written as IDNA maps it to the same name: fullwidth letters
    (UTS 46 maps each to its ASCII letter), capitals."""
    local, domain = email.split("@")
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in domain)
    return [f"{local}@{fullwidth}", f"{local}@{domain[0].upper()}{fullwidth[1:]}"]


async def test_a_mailbox_s_mail_throttle_holds_however_its_domain_is_written(
    client: Client,
) -> None:
    """Each form of the address had a throttle of its own: anyone could send a stranger's
    mailbox registration links (and any admin invitations) without end, a few per form."""
    email = f"stranger-{uuid.uuid4().hex[:10]}@example.org"
    for _ in range(services_of(client).settings.account_mail_free_per_address):
        asked = await client.post(
            URL, json=registration(user={"email": email, "password": PASSWORD})
        )
        assert asked.status_code == 202, asked.text

    for other in written_otherwise(email):
        body = registration(user={"email": other, "password": PASSWORD})
        refused = await client.post(URL, json=body)
        assert refused.status_code == 429, (other, refused.text)


async def test_a_mailbox_has_one_account_however_its_domain_is_written(client: Client) -> None:
    owner = await register(client)
    [fullwidth, capitals] = written_otherwise(owner["email"])
    registered = event_count(client, "Organisation.Registered")

    for other in (fullwidth, capitals):
        body = registration(user={"email": other, "password": PASSWORD})
        assert (await client.post(URL, json=body)).status_code == 202

    # The owner was sent notices, with no link (the one link is the owner's own, used): nothing
    # can register a second account for the mailbox.
    links = select(func.count()).where(
        outbox_messages.c.template == "account_registration",
        outbox_messages.c.sent_at.is_(None),
        outbox_messages.c.recipient.in_([owner["email"], fullwidth, capitals.lower()]),
    )
    assert await rows_of(client, links) == [(1,)]
    assert event_count(client, "Organisation.Registered") == registered
    # And the owner signs in with the address written either way.
    for other in (fullwidth, capitals):
        signed_in = await client.post(
            "/api/v1/auth/token", json={"email": other, "password": PASSWORD}
        )
        assert signed_in.status_code == 200, (other, signed_in.text)


async def test_an_idn_address_is_one_account_as_a_label_or_u_label(client: Client) -> None:
    local = f"owner-{uuid.uuid4().hex[:10]}"
    owner = await register(client, user={"email": f"{local}@exämple.org", "password": PASSWORD})
    ascii_form = f"{local}@xn--exmple-cua.org"

    body = registration(user={"email": ascii_form, "password": PASSWORD})
    assert (await client.post(URL, json=body)).status_code == 202

    assert await registration_secrets(client, ascii_form) == []
    assert len(await registration_secrets(client, owner["email"])) == 1  # the owner's own, used
    signed_in = await client.post(
        "/api/v1/auth/token", json={"email": ascii_form, "password": PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text


async def test_guesses_at_a_registration_s_password_are_throttled_per_link(
    client: Client, clock: ManualClock
) -> None:
    """Whoever holds a link (a mailbox's reader, a leaked URL) could guess the password it was
    asked with at will, each guess an argon2 check of the server's: counted per link before
    the check, as sign-in counts per account (ADR 14)."""
    body = registration()
    await client.post(URL, json=body)
    secret = await registration_secret(client, body["user"]["email"])
    free = services_of(client).settings.login_account_free_failures

    for guess in range(free):
        wrong = await client.post(
            CONFIRMATIONS, json={"token": secret, "password": f"guess number {guess}"}
        )
        assert wrong.status_code == 422, wrong.text
    held = await client.post(CONFIRMATIONS, json={"token": secret, "password": PASSWORD})

    assert held.status_code == 429, held.text
    assert held.headers["retry-after"] == "1"
    clock.advance(timedelta(seconds=1))
    confirmed = await client.post(CONFIRMATIONS, json={"token": secret, "password": PASSWORD})
    assert confirmed.status_code == 201, confirmed.text
    schema = (await client.get("/schema/openapi.json")).json()
    assert "429" in schema["paths"][CONFIRMATIONS]["post"]["responses"]


async def test_a_mailbox_s_mail_throttle_holds_for_its_subaddresses(client: Client) -> None:
    """`name+anything@` reaches `name@` at most providers: each tag was a throttle of its own,
    so a stranger's mailbox could be sent registration links a few per tag without end."""
    local = f"stranger-{uuid.uuid4().hex[:10]}"
    for tag in range(services_of(client).settings.account_mail_free_per_address):
        body = registration(user={"email": f"{local}+{tag}@example.org", "password": PASSWORD})
        assert (await client.post(URL, json=body)).status_code == 202

    for other in (f"{local}@example.org", f"{local}+more@example.org"):
        body = registration(user={"email": other, "password": PASSWORD})
        refused = await client.post(URL, json=body)
        assert refused.status_code == 429, (other, refused.text)
