"""Registering an organisation and its first user, by a link e-mailed to the address (ADR 8):
`POST /api/v1/organisations` records nothing and answers the same whether or not the address is
taken; `POST /api/v1/organisations/confirmations` records the organisation when the link comes
back. On both stores."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select

from tests.api.conftest import Mailbox
from tests.api.helpers import (
    CONFIRMATIONS,
    PASSWORD,
    company_number,
    confirm,
    event_count,
    register,
    registration,
    registration_secret,
    registration_secrets,
    services_of,
    statements_of,
    token,
)
from tests.api.test_accounts import mail_to
from tests.conftest import AppClient, app_for, running
from tradehall.clock import ManualClock
from tradehall.identity.sessions import purge_expired
from tradehall.identity.tables import pending_registrations, users
from tradehall.identity.tokens import token_hash
from tradehall.mail.tables import outbox_messages
from tradehall.settings import Settings
from tradehall.store.base import Store

Client = AppClient
URL = "/api/v1/organisations"


async def ask(client: Client, body: dict[str, Any]) -> httpx.Response:
    response = await client.post(URL, json=body)
    assert response.status_code == 202, response.text
    return response


async def rows_of(client: Client, query: Any) -> list[Any]:
    async with services_of(client).engine.connect() as connection:
        return list(await connection.execute(query))


async def user_row(client: Client, email: str) -> Any:
    rows = await rows_of(client, select(users).where(users.c.email == email.lower()))
    return rows[0] if rows else None


async def pending_row(client: Client, secret: str) -> Any:
    table = pending_registrations
    [row] = await rows_of(client, select(table).where(table.c.token_hash == token_hash(secret)))
    return row


async def test_a_link_confirms_the_registration_and_records_the_organisation(
    client: Client,
) -> None:
    number = company_number()
    body = registration(
        name="  Riverside   Bakery CIC ",
        registry_identifier={"scheme": "gb-coh", "identifier": f" {number[:4]} {number[4:]} "},
        regions=["tlc", "TLC3", "TLC"],
        cpv_codes=["15810000", "55520000-1"],
    )
    before = event_count(client, "Organisation.Registered")

    asked = await ask(client, body)

    assert "location" not in asked.headers
    assert "etag" not in asked.headers
    assert asked.json()["status"] == "e-mailed"
    # Nothing is recorded until the link comes back: no event, no user.
    assert event_count(client, "Organisation.Registered") == before
    assert await user_row(client, body["user"]["email"]) is None
    secret = await registration_secret(client, body["user"]["email"])

    response = await client.post(CONFIRMATIONS, json={"token": secret, "password": PASSWORD})

    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/api/v1/organisations/{created['id']}"
    assert response.headers["etag"] == '"1"'
    assert created["version"] == 1
    assert created["position"]["membership"] >= 1
    assert event_count(client, "Organisation.Registered") == before + 1
    headers = await token(client, body["user"]["email"])
    me = (await client.get("/api/v1/auth/me", headers=headers)).json()
    assert (me["id"], me["organisation_id"]) == (created["user_id"], created["id"])
    assert me["email_verified"] is True  # the link came from the mailbox
    shown = await client.get(f"/api/v1/organisations/{created['id']}", headers=headers)
    assert shown.status_code == 200, shown.text
    view = shown.json()
    assert view["name"] == "Riverside Bakery CIC"
    assert view["kind"] == "social_enterprise"
    assert view["legal_form"] == "cic"
    assert view["registry_identifier"] == {"scheme": "GB-COH", "identifier": number}
    assert view["regions"] == ["TLC", "TLC3"]
    assert view["cpv_codes"] == ["15810000-9", "55520000-1"]
    assert view["membership"]["status"] == "none"
    # The used link keeps nothing of the person.
    used = await pending_row(client, secret)
    assert used.used_at is not None
    assert (used.email, used.password_hash, used.details) == (None, None, None)


async def test_a_buyer_registers_without_purpose_regions_or_codes(client: Client) -> None:
    created = await register(
        client,
        name="Borough Council of Example",
        kind="public_body",
        legal_form="other",
        registry_identifier={"scheme": "GB-LAE", "identifier": f"EX{company_number()}"},
        social_purpose="",
        regions=[],
        cpv_codes=[],
    )
    headers = await token(client, created["email"])
    view = (await client.get(f"/api/v1/organisations/{created['id']}", headers=headers)).json()
    assert view["kind"] == "public_body"
    me = (await client.get("/api/v1/auth/me", headers=headers)).json()
    assert sorted(me["roles"]) == ["admin", "buyer"]


async def test_a_sole_trader_may_register_without_a_registry_identifier(client: Client) -> None:
    await register(client, legal_form="sole_trader_or_partnership", registry_identifier=None)


async def exchange(client: Client, body: dict[str, Any]) -> tuple[int, bytes, dict[str, str]]:
    """A response as the caller sees it, but for the headers made afresh for each request."""
    response = await client.post(URL, json=body)
    headers = {k: v for k, v in response.headers.items() if k not in {"x-request-id", "date"}}
    return response.status_code, response.content, headers


async def test_a_taken_address_gets_the_very_answer_a_free_one_gets(client: Client) -> None:
    owner = await register(client)
    # As long as the owner's (the answer's length is a header), in capitals: normalised.
    free = f"Founder-{uuid.uuid4().hex[:10]}@Example.org"
    assert len(free) == len(owner["email"])
    # The same address in the answer, as given after normalising: the same bytes either way.
    taken_body = registration(user={"email": owner["email"], "password": "x" * 12})
    free_body = registration(user={"email": free, "password": "x" * 12})

    taken, answered = await exchange(client, taken_body), await exchange(client, free_body)

    assert taken[0] == answered[0] == 202
    assert taken[2] == answered[2]
    assert taken[1].replace(owner["email"].encode(), b"<address>") == answered[1].replace(
        free.lower().encode(), b"<address>"
    )
    assert b"e-mailed" in taken[1]


async def test_the_owner_of_a_taken_address_is_told_and_their_account_is_unchanged(
    mail_client: Client, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    owner = await register(mail_client)
    await mail_to(mail_client, box, owner["email"])  # the owner's own registration link
    before = await user_row(mail_client, owner["email"])
    registered = event_count(mail_client, "Organisation.Registered")
    body = registration(user={"email": owner["email"].upper(), "password": "another password"})

    await ask(mail_client, body)

    [*_, notice] = await mail_to(mail_client, box, owner["email"])
    assert "already has an account" in notice
    assert "token=" not in notice  # nothing that registers anything
    assert await registration_secrets(mail_client, owner["email"]) == []
    assert await user_row(mail_client, owner["email"]) == before
    assert event_count(mail_client, "Organisation.Registered") == registered
    refused = await mail_client.post(
        "/api/v1/auth/token", json={"email": owner["email"], "password": "another password"}
    )
    assert refused.status_code == 401
    assert (await token(mail_client, owner["email"]))["Authorization"]


async def test_asking_does_the_same_work_whether_or_not_the_address_is_taken(
    client: Client,
) -> None:
    owner = await register(client)

    async def statements_for(email: str) -> list[str]:
        body = registration(user={"email": email, "password": PASSWORD})
        return await statements_of(client, lambda: ask(client, body))

    taken = await statements_for(owner["email"])
    free = await statements_for(f"nobody-{company_number()}@example.org")

    assert taken == free
    assert any("INSERT INTO pending_registrations" in statement for statement in taken)
    assert any("INSERT INTO outbox_messages" in statement for statement in taken)


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"name": None}, 400, "name"),
        ({"name": "   "}, 400, "name"),
        ({"kind": "charity"}, 400, "kind"),
        ({"legal_form": "plc"}, 400, "legal_form"),
        ({"nickname": "x"}, 400, "nickname"),
        ({"regions": ["TLC", "XX9"]}, 422, "regions[1]"),
        ({"cpv_codes": ["99999999-9"]}, 422, "cpv_codes[0]"),
        ({"regions": []}, 422, "regions"),
        ({"social_purpose": ""}, 422, "social_purpose"),
        ({"registry_identifier": None}, 422, "registry_identifier"),
        (
            {"registry_identifier": {"scheme": "XX-ABC", "identifier": "1"}},
            422,
            "registry_identifier.scheme",
        ),
        (
            {"registry_identifier": {"scheme": "GB-COH", "identifier": "12A45"}},
            422,
            "registry_identifier.identifier",
        ),
        ({"user": {"email": "not-an-address", "password": PASSWORD}}, 400, "user.email"),
        ({"user": {"email": "short@example.org", "password": "short"}}, 400, "user.password"),
        ({"user": {"email": "x@example.org"}}, 400, "user.password"),
        (
            {"user": {"email": "x@example.org", "password": PASSWORD, "admin": True}},
            400,
            "user.admin",
        ),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field_and_mails_nothing(
    client: Client, change: dict[str, Any], status: int, field: str
) -> None:
    body = registration()
    for key, value in change.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    email = body.get("user", {}).get("email", "")

    response = await client.post(URL, json=body)

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    assert field in [error["field"] for error in problem["errors"]], problem
    mailed = select(func.count()).where(outbox_messages.c.recipient == email)
    assert await rows_of(client, mailed) == [(0,)]


async def test_malformed_json_is_a_bad_request(client: Client) -> None:
    response = await client.post(
        URL, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "body"


async def test_an_oversized_body_is_refused(client: Client) -> None:
    body = registration(social_purpose="x" * 70_000)
    response = await client.post(URL, json=body)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("0{n}", "{n}"),
        ("{n}", "0 {n3} {rest}"),
    ],
)
async def test_a_claimed_registry_identifier_is_a_conflict_after_normalising(
    client: Client, first: str, second: str
) -> None:
    """Before any mail: registry identifiers are public (the identifier, not the address)."""
    n = company_number()[1:]  # seven digits: companies house pads to eight with a zero
    values = {"n": n, "n3": n[:3], "rest": n[3:]}
    await register(
        client, registry_identifier={"scheme": "GB-COH", "identifier": first.format(**values)}
    )
    body = registration(
        registry_identifier={"scheme": "gb-coh", "identifier": second.format(**values)}
    )

    response = await client.post(URL, json=body)

    assert response.status_code == 409, response.text
    assert "already registered" in response.json()["detail"]
    assert await registration_secrets(client, body["user"]["email"]) == []


async def test_the_link_records_only_with_the_password_it_was_asked_with(client: Client) -> None:
    """The link proves the mailbox, the password that its holder is who asked: someone asking
    with another person's address, who then persuades them to open the link, gets no account
    under that address."""
    victim = f"finance-{company_number()}@example.org"
    chosen = "the asker's own secret"
    await ask(client, registration(user={"email": victim, "password": chosen}))
    before = event_count(client, "Organisation.Registered")

    opened = await confirm(client, victim, PASSWORD)  # the owner, with a password of their own

    assert opened.status_code == 422, opened.text
    assert [e["field"] for e in opened.json()["errors"]] == ["password"]
    assert event_count(client, "Organisation.Registered") == before
    assert await user_row(client, victim) is None
    refused = await client.post("/api/v1/auth/token", json={"email": victim, "password": chosen})
    assert refused.status_code == 401
    # Not used up: whoever asked and holds the mailbox confirms with the password they gave.
    assert (await confirm(client, victim, chosen)).status_code == 201


async def test_a_link_is_used_once(client: Client) -> None:
    body = registration()
    await ask(client, body)
    secret = await registration_secret(client, body["user"]["email"])
    assert (
        await client.post(CONFIRMATIONS, json={"token": secret, "password": PASSWORD})
    ).status_code == 201
    before = event_count(client, "Organisation.Registered")

    replayed = await client.post(CONFIRMATIONS, json={"token": secret, "password": PASSWORD})

    assert replayed.status_code == 422, replayed.text
    assert replayed.json()["errors"] == [
        {"field": "token", "message": "this link has been used already"}
    ]
    assert event_count(client, "Organisation.Registered") == before


@pytest.mark.parametrize("token_given", ["x" * 43, "not a token at all"])
async def test_an_unknown_link_is_refused_as_account_links_are(
    client: Client, token_given: str
) -> None:
    response = await client.post(CONFIRMATIONS, json={"token": token_given, "password": PASSWORD})
    reset = await client.post(
        "/api/v1/auth/password-reset/confirmation",
        json={"token": token_given, "password": PASSWORD},
    )
    assert response.status_code == reset.status_code == 422, response.text
    assert response.json()["errors"] == reset.json()["errors"]


async def test_a_link_expires_after_a_day_and_the_clock_forgets_it(
    client: Client, clock: ManualClock
) -> None:
    body = registration()
    await ask(client, body)
    secret = await registration_secret(client, body["user"]["email"])
    services = services_of(client)
    clock.advance(timedelta(days=1, seconds=1))
    before = event_count(client, "Organisation.Registered")

    late = await client.post(CONFIRMATIONS, json={"token": secret, "password": PASSWORD})

    assert late.status_code == 422, late.text
    assert late.json()["errors"][0]["message"] == "this link is unknown or has expired"
    assert event_count(client, "Organisation.Registered") == before
    assert await user_row(client, body["user"]["email"]) is None
    # The clock's purge deletes it (it holds the address and the password's hash).
    await purge_expired(services.engine, clock.now(), services.settings.throttle_decay_seconds)
    table = pending_registrations
    left = select(func.count()).where(table.c.token_hash == token_hash(secret))
    assert await rows_of(client, left) == [(0,)]


async def test_two_confirmations_of_one_link_at_once_record_one_organisation(
    client: Client,
) -> None:
    body = registration()
    await ask(client, body)
    secret = await registration_secret(client, body["user"]["email"])
    before = event_count(client, "Organisation.Registered")

    responses = await asyncio.gather(
        *(
            client.post(CONFIRMATIONS, json={"token": secret, "password": PASSWORD})
            for _ in range(4)
        )
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 422, 422, 422], [r.text for r in responses]
    assert event_count(client, "Organisation.Registered") == before + 1
    for response in responses:
        if response.status_code == 422:
            assert response.json()["errors"][0]["message"] == "this link has been used already"


async def test_of_two_registrations_of_one_address_the_second_confirmed_is_a_conflict(
    client: Client,
) -> None:
    email = f"twice-{company_number()}@example.org"
    first, second = (registration(user={"email": email, "password": PASSWORD}) for _ in "12")
    await ask(client, first)
    await ask(client, second)
    secrets = await registration_secrets(client, email)
    assert len(secrets) == 2
    before = event_count(client, "Organisation.Registered")

    confirmed = [
        await client.post(CONFIRMATIONS, json={"token": s, "password": PASSWORD}) for s in secrets
    ]

    assert [r.status_code for r in confirmed] == [201, 409], [r.text for r in confirmed]
    assert "already registered" in confirmed[1].json()["detail"]
    assert event_count(client, "Organisation.Registered") == before + 1
    # The loser claimed nothing: its registry identifier is free.
    declared = json.loads((await pending_row(client, secrets[1])).details)
    identifier = {"scheme": declared["registry_scheme"], "identifier": declared["registry_id"]}
    assert identifier in (first["registry_identifier"], second["registry_identifier"])
    await register(client, registry_identifier=identifier)


async def test_an_identifier_claimed_before_the_link_comes_back_records_nothing(
    client: Client,
) -> None:
    """All or nothing: the refused confirmation leaves no user, no event, its link unused."""
    identifier = {"scheme": "GB-COH", "identifier": company_number()}
    late = registration(registry_identifier=identifier)
    await ask(client, late)
    await register(client, registry_identifier=identifier)
    before = event_count(client, "Organisation.Registered")

    refused = await confirm(client, late["user"]["email"])

    assert refused.status_code == 409, refused.text
    assert "already registered" in refused.json()["detail"]
    assert event_count(client, "Organisation.Registered") == before
    assert await user_row(client, late["user"]["email"]) is None
    secret = await registration_secret(client, late["user"]["email"])
    assert (await pending_row(client, secret)).used_at is None


async def test_racing_confirmations_of_one_identifier_admit_exactly_one(client: Client) -> None:
    identifier = {"scheme": "GB-COH", "identifier": company_number()}
    bodies = [registration(registry_identifier=identifier) for _ in range(6)]
    for body in bodies:
        await ask(client, body)
    before = event_count(client, "Organisation.Registered")

    responses = await asyncio.gather(*(confirm(client, body["user"]["email"]) for body in bodies))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
    assert event_count(client, "Organisation.Registered") == before + 1
    for body, response in zip(bodies, responses, strict=True):
        signed_in = await client.post(
            "/api/v1/auth/token", json={"email": body["user"]["email"], "password": PASSWORD}
        )
        # A losing registration left no user row behind: its events and its user go together.
        assert signed_in.status_code == (200 if response.status_code == 201 else 401)


async def test_racing_confirmations_of_one_address_leave_no_orphan_events(
    client: Client,
) -> None:
    email = f"race-{company_number()}@example.org"
    bodies = [registration(user={"email": email, "password": PASSWORD}) for _ in range(3)]
    for body in bodies:
        await ask(client, body)
    secrets = await registration_secrets(client, email)
    before = event_count(client, "Organisation.Registered")

    responses = await asyncio.gather(
        *(
            client.post(CONFIRMATIONS, json={"token": secret, "password": PASSWORD})
            for secret in secrets
        )
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409, 409], [r.text for r in responses]
    assert event_count(client, "Organisation.Registered") == before + 1
    # The losers' registry identifiers were not claimed either: only the winner's is taken.
    asked = [await client.post(URL, json=registration(**_identifier_of(b))) for b in bodies]
    assert sorted(response.status_code for response in asked) == [202, 202, 409]


def _identifier_of(body: dict[str, Any]) -> dict[str, Any]:
    return {"registry_identifier": body["registry_identifier"]}


async def test_mails_to_one_address_are_throttled_alike_taken_or_free(
    settings: Settings, store: Store, clock: ManualClock, built_app: Litestar
) -> None:
    """The per-recipient account-mail throttle holds registrations too (no stream of mail to a
    stranger), and answers a taken address as it answers a free one."""
    limited = dataclasses.replace(settings, account_mail_free_per_address=2)
    app = app_for(built_app, limited, clock=clock, store=store)
    async with running(app), AppClient(app) as client:
        owner = await register(client)  # a confirmed link clears the address's mail count
        free = f"free-{company_number()}@example.org"

        async def answers(email: str) -> list[tuple[int, str | None]]:
            said = []
            for _ in range(4):
                response = await client.post(
                    URL, json=registration(user={"email": email, "password": PASSWORD})
                )
                said.append((response.status_code, response.headers.get("retry-after")))
            return said

        taken, answered = await answers(owner["email"]), await answers(free)

        assert taken == answered == [(202, None), (202, None), (429, "60"), (429, "60")]
        assert len(await registration_secrets(client, free)) == 2
