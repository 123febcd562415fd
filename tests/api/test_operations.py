"""Health, readiness, the OpenAPI contract, problem details for HTTP errors, request ids, logs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from tests.api.helpers import (
    CONFIRMATIONS,
    PASSWORD,
    register,
    registration,
    registration_secret,
)
from tests.conftest import AppClient
from tradehall.logging import configure_logging

Client = AppClient


async def test_health_and_readiness(client: Client, store: object) -> None:
    health = await client.get("/health")
    ready = await client.get("/ready")
    assert health.status_code == 200
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"read_store": "ok", "event_store": "ok"}
    assert ready.json()["store"] in {"sqlite", "postgresql"}
    assert ready.json()["payments"] == "manual"  # no Stripe keys in these settings


async def test_the_openapi_contract_and_its_browsable_ui_are_served(client: Client) -> None:
    spec = await client.get("/schema/openapi.json")
    ui = await client.get("/schema/swagger")
    assert spec.status_code == 200
    assert ui.status_code == 200
    assert "text/html" in ui.headers["content-type"]
    paths = spec.json()["paths"]
    assert "/api/v1/organisations" in paths
    assert "/api/v1/organisations/{organisation_id}/membership/admission" in paths
    assert "/api/v1/auth/token" in paths
    schemas = spec.json()["components"]["schemas"]
    assert any(name.endswith("RegisterOrganisation") for name in schemas)
    # Errors are documented as the problem details they are, not Litestar's default shape.
    admission = paths["/api/v1/organisations/{organisation_id}/membership/admission"]["post"]
    for status in ("400", "401", "403", "404", "409"):
        content = admission["responses"][status]["content"]
        assert list(content) == ["application/problem+json"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/v1/nowhere", 404), ("DELETE", "/api/v1/organisations", 405)],
)
async def test_http_errors_are_problem_details(
    client: Client, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["instance"] == path


async def test_a_request_id_is_echoed_or_made(client: Client) -> None:
    given = await client.get("/health", headers={"X-Request-ID": "trace-123"})
    made = await client.get("/health")
    refused = await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert given.headers["x-request-id"] == "trace-123"
    assert len(made.headers["x-request-id"]) == 32
    assert refused.headers["x-request-id"] != "bad id with spaces"


@pytest.fixture
def json_logs() -> Iterator[None]:
    configure_logging("INFO")
    yield
    structlog.reset_defaults()


@pytest.mark.usefixtures("json_logs")
async def test_logs_are_json_and_never_contain_passwords_or_tokens(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    body = registration()
    await client.post("/api/v1/organisations", json=body)
    secret = await registration_secret(client, body["user"]["email"])
    await client.post(CONFIRMATIONS, json={"token": secret, "password": PASSWORD})
    signed_in = await client.post(
        "/api/v1/auth/token", json={"email": body["user"]["email"], "password": PASSWORD}
    )
    access_token = signed_in.json()["access_token"]
    await client.get("/health", headers={"Authorization": f"Bearer {access_token}"})
    await client.post("/api/v1/organisations", json={**body, "nickname": "x"})

    logged = capsys.readouterr().out
    assert '"event": "request"' in logged
    assert '"path": "/api/v1/auth/token"' in logged
    assert PASSWORD not in logged
    assert secret not in logged  # the registration link's
    assert access_token not in logged
    assert access_token.split(".")[2] not in logged


async def test_staff_release_a_wrong_claim_so_the_rightful_owner_can_register(
    client: Client, staff_headers: dict[str, str]
) -> None:
    wrong = await register(client)
    identifier = {"scheme": "GB-COH", "identifier": ""}
    shown = await client.get(f"/api/v1/organisations/{wrong['id']}", headers=staff_headers)
    identifier["identifier"] = shown.json()["registry_identifier"]["identifier"]
    refused = await client.post(
        "/api/v1/organisations", json=registration(registry_identifier=identifier)
    )
    assert refused.status_code == 409

    released = await client.post(
        "/api/v1/registry-claims/release",
        json={**identifier, "reason": "registered by mistake under the wrong number"},
        headers=staff_headers,
    )

    assert released.status_code == 200, released.text
    wrongly = await client.get(f"/api/v1/organisations/{wrong['id']}", headers=staff_headers)
    assert wrongly.json()["registry_identifier"] is None
    await register(client, registry_identifier=identifier)
    again = await client.post(
        "/api/v1/registry-claims/release",
        json={"scheme": "GB-COH", "identifier": "00000001", "reason": "nothing there"},
        headers=staff_headers,
    )
    assert again.status_code == 404
