"""`GET /api/v1/members.csv`: every organisation with its membership, for staff only."""

from __future__ import annotations

import csv
import io

from tests.api.helpers import APPLICATION, register, services_of, token
from tests.conftest import AppClient
from tests.integration.test_members_csv import civicrm_row, csv_text, organisation_id
from tradehall.membership.members_export import COLUMNS
from tradehall.membership.members_import import import_members

EXPORT = "/api/v1/members.csv"


async def test_anonymous_callers_are_refused(client: AppClient) -> None:
    response = await client.get(EXPORT)

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_members_are_refused(client: AppClient) -> None:
    org = await register(client)
    headers = await token(client, org["email"])

    response = await client.get(EXPORT, headers=headers)

    assert response.status_code == 403


async def test_staff_get_every_organisation_with_its_membership(
    client: AppClient, staff_headers: dict[str, str]
) -> None:
    imported = civicrm_row(**{"Membership Expiration Date": "2026-12-31"})
    await import_members(services_of(client), csv_text([imported]))
    applicant = await register(client)
    applied = await client.post(
        f"/api/v1/organisations/{applicant['id']}/membership/application",
        json=APPLICATION,
        headers=await token(client, applicant["email"]),
    )
    assert applied.status_code == 200, applied.text

    response = await client.get(EXPORT, headers=staff_headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="members.csv"' in response.headers["content-disposition"]
    lines = list(csv.DictReader(io.StringIO(response.text)))
    assert tuple(lines[0]) == COLUMNS
    by_id = {line["organisation_id"]: line for line in lines}
    member = by_id[str(organisation_id(imported))]
    assert member == {
        "organisation_id": str(organisation_id(imported)),
        "name": imported["Organization Name"],
        "kind": "social_enterprise",
        "legal_form": "cic",
        "registry_identifier": f"GB-COH-{imported['Registry ID']}",
        "regions": "TLC3;TLC4",
        "cpv_codes": "15810000-9",
        "status": "current",
        "good_standing": "true",
        "tier": "small",
        "paid_up_until": "2026-12-31",
        "joined": "2019-03-15",
    }
    waiting = by_id[applicant["id"]]
    assert (waiting["status"], waiting["good_standing"]) == ("pending", "false")
    assert (waiting["tier"], waiting["paid_up_until"], waiting["joined"]) == ("", "", "")
