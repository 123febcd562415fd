from __future__ import annotations

from litestar.testing import AsyncTestClient

from tests.api.helpers import register, token


async def test_register_apply_admit(client: AsyncTestClient, staff_headers: dict[str, str]) -> None:  # type: ignore[type-arg]
    org = await register(client)
    headers = await token(client, org["email"])
    response = await client.get(f"/api/v1/organisations/{org['id']}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"1"'
    applied = await client.post(f"/api/v1/organisations/{org['id']}/membership/application", headers={**headers, "If-Match": '"1"'})
    assert applied.status_code == 200, applied.text
    admitted = await client.post(f"/api/v1/organisations/{org['id']}/membership/admission", headers=staff_headers)
    assert admitted.status_code == 200, admitted.text
    view = (await client.get(f"/api/v1/organisations/{org['id']}", headers=headers)).json()
    assert view["membership"]["status"] == "admitted"
