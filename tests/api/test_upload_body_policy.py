"""Routes marked UPLOAD_BODY take a streamed raw body up to the evidence limit; every other
route keeps the small JSON-only body limit."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, post
from litestar.exceptions import ImproperlyConfiguredException
from litestar.params import JSONBody

from tests import evidence_files as files
from tests.conftest import AppClient
from tradehall.api.request_policy import UPLOAD_BODY, allow_uploads, request_policy_guard
from tradehall.membership.evidence import (
    DirectoryFileStore,
    EvidenceIntake,
    EvidenceRefused,
)

SMALL = 65536
UPLOADS = 1024 * 1024


@post("/json", opt={}, status_code=200)
async def json_route(data: JSONBody[dict[str, Any]]) -> dict[str, int]:
    return {"keys": len(data)}


def policy_app(evidence_root: Path) -> Litestar:
    intake = EvidenceIntake(
        DirectoryFileStore(evidence_root / "files"), evidence_root / "staging", UPLOADS
    )

    @post("/upload", opt={UPLOAD_BODY: True}, status_code=200)
    async def upload(request: Request[Any, Any, Any]) -> dict[str, Any]:
        try:
            stored = await intake.take(request.stream())
        except EvidenceRefused as refused:
            return {"refused": refused.status}
        return {"sha256": stored.sha256, "size": stored.size, "type": stored.content_type}

    app = Litestar(
        route_handlers=[upload, json_route],
        guards=[request_policy_guard],
        request_max_body_size=SMALL,
    )
    allow_uploads(app, UPLOADS)
    return app


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = policy_app(tmp_path / "evidence")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def big_pdf() -> bytes:
    """A valid PDF larger than the JSON limit (a long comment after its end is still a PDF)."""
    return files.pdf() + b"%" + b"x" * (4 * SMALL) + b"\n"


async def test_an_upload_route_takes_a_large_body_of_any_content_type(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    data = big_pdf()
    for content_type in ("application/octet-stream", "image/png", "text/plain"):
        answer = await http.post("/upload", content=data, headers={"content-type": content_type})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "type": "application/pdf",
        }


async def test_an_upload_over_its_limit_is_a_413_and_stores_nothing(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    data = files.pdf() + b"%" + b"x" * UPLOADS
    announced = await http.post("/upload", content=data)
    assert announced.status_code == 413

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for start in range(0, len(data), 65536):
            yield data[start : start + 65536]

    streamed = await http.post("/upload", content=chunked())
    assert streamed.status_code == 413  # Litestar's own count, before the intake's
    assert [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()] == []


async def test_a_large_body_to_a_json_route_is_still_a_413(http: httpx.AsyncClient) -> None:
    body = b'{"a":"' + b"x" * (2 * SMALL) + b'"}'
    answer = await http.post("/json", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 413
    small = await http.post("/json", json={"a": 1})
    assert small.status_code == 200
    not_json = await http.post("/json", content=files.pdf())
    assert not_json.status_code == 415


async def test_a_large_body_to_the_services_json_routes_is_a_413(client: AppClient) -> None:
    body = b'{"email":"' + b"x" * (2 * SMALL) + b'@example.org","password":"p"}'
    answer = await client.post(
        "/api/v1/auth/token", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413


def test_an_upload_route_may_not_parse_its_body() -> None:
    @post("/upload", opt={UPLOAD_BODY: True})
    async def parsed(data: JSONBody[dict[str, Any]]) -> None:
        return None

    app = Litestar(route_handlers=[parsed], request_max_body_size=SMALL)
    with pytest.raises(ImproperlyConfiguredException, match="streams its body"):
        allow_uploads(app, UPLOADS)
