"""Helpers that drive the API as a client would."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

from tests.conftest import AppClient

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


async def register(client: AppClient, **overrides: Any) -> dict[str, Any]:  # type: ignore[type-arg]
    body = registration(**overrides)
    response = await client.post("/api/v1/organisations", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    result["email"] = body["user"]["email"]
    return result


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
