"""Apply, admit, reject, withdraw: over HTTP, with versions and races."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sharedkernel.events import user_actor
from tests.api.helpers import APPLICATION, SignedIn, events_of, register, token
from tests.conftest import AppClient

Client = AppClient


async def applicant(client: Client) -> tuple[dict[str, Any], dict[str, str]]:
    org = await register(client)
    return org, await token(client, org["email"])


def url(org: dict[str, Any], action: str = "") -> str:
    return f"/api/v1/organisations/{org['id']}{action}"


APPLY = "/membership/application"
WITHDRAW = "/membership/application/withdrawal"
ADMIT = "/membership/admission"
REJECT = "/membership/rejection"


async def status_of(client: Client, org: dict[str, Any], headers: dict[str, str]) -> str:
    response = await client.get(url(org), headers=headers)
    assert response.status_code == 200, response.text
    status: str = response.json()["membership"]["status"]
    return status


async def test_an_applicant_is_admitted_and_each_event_records_who_acted(
    client: Client, staff: SignedIn
) -> None:
    org, headers = await applicant(client)
    applied = await client.post(url(org, APPLY), json=APPLICATION, headers=headers)
    assert applied.status_code == 200, applied.text
    # Applying records the application and the turnover it declares.
    assert applied.json()["version"] == 3
    assert applied.headers["etag"] == '"3"'
    assert await status_of(client, org, headers) == "pending"

    admitted = await client.post(url(org, ADMIT), headers=staff.headers)

    assert admitted.status_code == 200, admitted.text
    # Admission sets the tier from the declared turnover and invoices the first year.
    assert admitted.json()["version"] == 6
    assert admitted.json()["position"]["membership"] > applied.json()["position"]["membership"]
    view = (await client.get(url(org), headers=headers)).json()
    assert view["membership"]["status"] == "awaiting_first_payment"
    assert view["membership"]["good_standing"] is False
    assert view["membership"]["tier"] == "small"
    assert view["membership"]["decided_at"] is not None
    events = events_of(client, org["id"])
    assert [type(e).__name__ for e in events] == [
        "Registered",
        "MembershipApplied",
        "TurnoverDeclared",
        "MembershipAdmitted",
        "TierAssigned",
        "DuesInvoiced",
    ]
    assert events[1].actor == user_actor(events[0].first_user_id)
    assert events[3].actor == user_actor(staff.user_id)
    assert all(e.request_id for e in events)


async def test_staff_reject_with_a_reason_and_the_applicant_may_apply_again(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, headers = await applicant(client)
    await client.post(url(org, APPLY), json=APPLICATION, headers=headers)

    rejected = await client.post(
        url(org, REJECT), json={"reason": "No asset lock in the articles"}, headers=staff_headers
    )

    assert rejected.status_code == 200, rejected.text
    view = (await client.get(url(org), headers=headers)).json()
    assert view["membership"]["status"] == "rejected"
    assert view["membership"]["rejection_reason"] == "No asset lock in the articles"
    again = await client.post(url(org, APPLY), json=APPLICATION, headers=headers)
    assert again.status_code == 200
    assert await status_of(client, org, headers) == "pending"


async def test_an_applicant_withdraws_a_pending_application(client: Client) -> None:
    org, headers = await applicant(client)
    await client.post(url(org, APPLY), json=APPLICATION, headers=headers)

    withdrawn = await client.post(url(org, WITHDRAW), headers=headers)

    assert withdrawn.status_code == 200, withdrawn.text
    assert await status_of(client, org, headers) == "withdrawn"


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "x", "extra": 1}])
async def test_a_rejection_without_a_reason_is_refused_and_changes_nothing(
    client: Client, staff_headers: dict[str, str], body: dict[str, Any]
) -> None:
    org, headers = await applicant(client)
    await client.post(url(org, APPLY), json=APPLICATION, headers=headers)

    response = await client.post(url(org, REJECT), json=body, headers=staff_headers)

    assert response.status_code == 400, response.text
    fields = [error["field"] for error in response.json()["errors"]]
    assert fields == (["extra"] if "extra" in body else ["reason"])
    assert await status_of(client, org, headers) == "pending"


@pytest.mark.parametrize(
    ("setup", "action", "actor"),
    [
        ([], ADMIT, "staff"),
        ([], REJECT, "staff"),
        ([], WITHDRAW, "member"),
        ([APPLY], APPLY, "member"),
        ([APPLY, ADMIT], APPLY, "member"),
        ([APPLY, ADMIT], ADMIT, "staff"),
        ([APPLY, ADMIT], WITHDRAW, "member"),
        ([APPLY, WITHDRAW], ADMIT, "staff"),
    ],
)
async def test_a_transition_the_state_forbids_is_a_conflict_and_records_nothing(
    client: Client,
    staff_headers: dict[str, str],
    setup: list[str],
    action: str,
    actor: str,
) -> None:
    org, headers = await applicant(client)
    as_whom = {"member": headers, "staff": staff_headers}
    for step in setup:
        done = await client.post(
            url(org, step),
            json=APPLICATION if step == APPLY else None,
            headers=staff_headers if step == ADMIT else headers,
        )
        assert done.status_code == 200, done.text
    before = len(events_of(client, org["id"]))

    body = {REJECT: {"reason": "not now"}, APPLY: APPLICATION}.get(action)
    response = await client.post(url(org, action), json=body, headers=as_whom[actor])

    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert len(events_of(client, org["id"])) == before


async def test_a_buyer_cannot_apply_for_membership(client: Client) -> None:
    org = await register(
        client, kind="business", legal_form="company_limited_by_shares", social_purpose=""
    )
    headers = await token(client, org["email"])

    response = await client.post(url(org, APPLY), json=APPLICATION, headers=headers)

    assert response.status_code == 409
    assert "social enterprises" in response.json()["detail"]


async def test_a_stale_if_match_is_a_conflict_and_changes_nothing(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, headers = await applicant(client)
    shown = await client.get(url(org), headers=headers)
    seen = shown.headers["etag"]
    await client.post(url(org, APPLY), json=APPLICATION, headers={**headers, "If-Match": seen})

    # The applicant withdraws on a version it saw before applying: stale.
    stale = await client.post(url(org, WITHDRAW), headers={**headers, "If-Match": seen})

    assert stale.status_code == 409
    problem = stale.json()
    assert problem["expected_version"] == 1
    assert problem["current_version"] == 3
    assert await status_of(client, org, headers) == "pending"
    current = (await client.get(url(org), headers=headers)).headers["etag"]
    admitted = await client.post(url(org, ADMIT), headers={**staff_headers, "If-Match": current})
    assert admitted.status_code == 200


@pytest.mark.parametrize("tag", ["yesterday", 'W/"1"', "1"])
async def test_a_malformed_or_weak_if_match_is_a_bad_request_naming_the_header(
    client: Client, tag: str
) -> None:
    org, headers = await applicant(client)

    response = await client.post(
        url(org, APPLY), json=APPLICATION, headers={**headers, "If-Match": tag}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "If-Match"
    assert await status_of(client, org, headers) == "none"


async def test_two_admissions_at_once_one_succeeds_one_conflicts_one_event(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, headers = await applicant(client)
    await client.post(url(org, APPLY), json=APPLICATION, headers=headers)

    responses = await asyncio.gather(
        client.post(url(org, ADMIT), headers=staff_headers),
        client.post(url(org, ADMIT), headers=staff_headers),
    )

    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    admissions = [
        e for e in events_of(client, org["id"]) if type(e).__name__ == "MembershipAdmitted"
    ]
    assert len(admissions) == 1


async def test_two_decisions_racing_with_the_same_if_match_leave_one_decision(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, headers = await applicant(client)
    applied = await client.post(url(org, APPLY), json=APPLICATION, headers=headers)
    version = applied.headers["etag"]

    responses = await asyncio.gather(
        client.post(url(org, ADMIT), headers={**staff_headers, "If-Match": version}),
        client.post(
            url(org, REJECT),
            json={"reason": "duplicate application"},
            headers={**staff_headers, "If-Match": version},
        ),
    )

    assert sorted(r.status_code for r in responses) == [200, 409]
    decisions = {"MembershipAdmitted", "MembershipRejected"}
    assert sum(type(e).__name__ in decisions for e in events_of(client, org["id"])) == 1


async def test_an_unknown_organisation_is_not_found(
    client: Client, staff_headers: dict[str, str]
) -> None:
    missing = {"id": "00000000-0000-4000-8000-000000000000"}
    shown = await client.get(url(missing), headers=staff_headers)
    admitted = await client.post(url(missing, ADMIT), headers=staff_headers)
    assert shown.status_code == 404
    assert admitted.status_code == 404
    assert shown.headers["content-type"].startswith("application/problem+json")
