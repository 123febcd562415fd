"""Helpers that drive the API as a client would."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, create_engine, event, select

from tests.conftest import AppClient
from tradehall.mail.tables import outbox_messages

PASSWORD = "correct horse battery"
# £250,000 a year: the "small" dues band (£150).
APPLICATION = {"annual_turnover": {"amount_minor": 25_000_000, "currency": "GBP"}}
SMALL_BAND_DUE = 15_000


@dataclass(frozen=True)
class SignedIn:
    user_id: uuid.UUID
    email: str
    headers: dict[str, str]


def company_number() -> str:
    return f"{random.randrange(10**7, 10**8)}"


def registration(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Riverside Bakery CIC",
        "kind": "social_enterprise",
        "legal_form": "cic",
        "registry_identifier": {"scheme": "GB-COH", "identifier": company_number()},
        "social_purpose": "Training and jobs for people leaving prison",
        "regions": ["TLC", "TLC3"],
        "cpv_codes": ["15810000-9", "55520000"],
        "user": {"email": f"founder-{uuid.uuid4().hex[:10]}@example.org", "password": PASSWORD},
    }
    body.update(overrides)
    return body


CONFIRMATIONS = "/api/v1/organisations/confirmations"


async def register(client: AppClient, **overrides: Any) -> dict[str, Any]:  # type: ignore[type-arg]
    """Register as a person would: ask (202), then confirm with the mailed link (201)."""
    body = registration(**overrides)
    asked = await client.post("/api/v1/organisations", json=body)
    assert asked.status_code == 202, asked.text
    response = await confirm(client, body["user"]["email"], body["user"]["password"])
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    result["email"] = body["user"]["email"]
    return result


async def confirm(client: AppClient, email: str, password: str = PASSWORD) -> Any:  # type: ignore[type-arg]
    """POST the registration link mailed to `email` (the one), with the password asked with,
    to the confirmation route."""
    secret = await registration_secret(client, email)
    return await client.post(CONFIRMATIONS, json={"token": secret, "password": password})


def token_in(body: str) -> str:
    """The secret of the link in a mail's body."""
    found = re.search(r"token=([A-Za-z0-9_\-]+)", body)
    assert found, body
    return found.group(1)


def registration_links(email: str) -> Select[Any]:
    """The bodies of the registration links mailed to `email` and waiting in the outbox (read
    before the sender runs: a sent account mail keeps no copy)."""
    table = outbox_messages
    return (
        select(table.c.body)
        .where(table.c.recipient == email.strip().lower())
        .where(table.c.template == "account_registration", table.c.sent_at.is_(None))
    )


async def registration_secrets(client: AppClient, email: str) -> list[str]:  # type: ignore[type-arg]
    """The secrets of the registration links mailed to `email`, waiting to be sent."""
    async with services_of(client).engine.connect() as connection:
        bodies = (await connection.execute(registration_links(email))).scalars()
        return [token_in(body) for body in bodies]


async def registration_secret(client: AppClient, email: str) -> str:  # type: ignore[type-arg]
    """The secret of the one registration link mailed to `email`."""
    [secret] = await registration_secrets(client, email)
    return secret


def registration_secret_at(url: str, email: str) -> str:
    """As `registration_secret`, from the database of an app served in another process
    (a SQLAlchemy URL: `postgresql+psycopg://…`, `sqlite:///…`)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return token_in(connection.execute(registration_links(email)).scalar_one())
    finally:
        engine.dispose()


async def token(client: AppClient, email: str, password: str = PASSWORD) -> dict[str, str]:  # type: ignore[type-arg]
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def services_of(client: AppClient) -> Any:
    """The running app's services, to look at the event log behind the API."""
    return client.app.state.services


def events_of(client: AppClient, aggregate_id: str) -> list[Any]:  # type: ignore[type-arg]
    return list(services_of(client).membership.events.get(uuid.UUID(aggregate_id)))


def event_count(client: AppClient, topic_suffix: str) -> int:  # type: ignore[type-arg]
    """How many events in the membership log have a topic ending in `topic_suffix`."""
    recorder = services_of(client).membership.recorder
    notifications = recorder.select_notifications(start=1, limit=1_000_000)
    return sum(1 for n in notifications if n.topic.endswith(topic_suffix))


async def statements_of(
    client: AppClient,  # type: ignore[type-arg]
    send: Callable[[], Awaitable[Any]],
    tables: tuple[str, ...] = ("throttles", "account_", "pending_", "outbox_", "users"),
) -> list[str]:
    """The SQL statements the app runs while `send` is awaited that name one of `tables`
    (identity's and the outbox's by default: the projector shares the engine)."""
    engine = services_of(client).engine.sync_engine
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if any(table in statement for table in tables):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        await send()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen
