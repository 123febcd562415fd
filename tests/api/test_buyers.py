"""Buyers over HTTP, on both stores: a council registers, staff verify it with the evidence they
checked, it invites a colleague who acts for it, it is listed as verified; verification is
withdrawn and given again; only public bodies are verified, only by staff; a buyer acts only
for its own organisation."""

from __future__ import annotations

import uuid
from typing import Any

from tests.api.conftest import Mailbox, add_user
from tests.api.helpers import PASSWORD, SignedIn, register, token
from tests.api.test_accounts import mail_to, token_in
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.identity.users import Role
from tradehall.store.base import Store

BUYERS = "/api/v1/buyers"


def gor_number() -> str:
    """A UK government organisation register id (GB-GOR takes letters and digits as given)."""
    return f"EA{uuid.uuid4().hex[:8].upper()}"


async def register_council(client: AppClient, name: str = "Riverside Borough Council") -> Any:  # type: ignore[type-arg]
    return await register(
        client,
        name=name,
        kind="public_body",
        legal_form="other",
        registry_identifier={"scheme": "GB-GOR", "identifier": gor_number()},
    )


async def register_business(client: AppClient) -> Any:  # type: ignore[type-arg]
    return await register(
        client,
        name="Harbour Facilities Ltd",
        kind="business",
        legal_form="company_limited_by_shares",
    )


def verification(org_id: str) -> str:
    return f"/api/v1/organisations/{org_id}/buyer-verification"


def position_of(response: Any) -> str:
    return ",".join(f"{log}:{at}" for log, at in response.json()["position"].items())


async def listed(client: AppClient, org_id: str, position: str) -> dict[str, Any] | None:  # type: ignore[type-arg]
    """The organisation's entry in the public list of buyers (paged through: the PostgreSQL
    database is shared by the whole run), read after `position`."""
    page = 1
    while True:
        response = await client.get(
            BUYERS, params={"position": position, "per_page": 100, "page": page}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["consistent"] is True
        for item in body["items"]:
            if item["id"] == org_id:
                found: dict[str, Any] = item
                return found
        if page * 100 >= body["total"]:
            return None
        page += 1


async def test_a_council_is_verified_invites_a_colleague_and_is_listed_as_verified(
    mail_client: AppClient, mailbox: tuple[Mailbox, int], store: Store, clock: ManualClock
) -> None:
    box, _ = mailbox
    client = mail_client
    staff_id, staff_email = add_user(store, clock, frozenset({Role.STAFF}))
    staff = SignedIn(staff_id, staff_email, await token(client, staff_email))
    council = await register_council(client)
    admin = await token(client, council["email"])
    registered = f"membership:{council['position']['membership']}"

    before = await listed(client, council["id"], registered)
    assert before is not None
    assert before["verified"] is False
    assert before["kind"] == "public_body"
    assert before["name"] == "Riverside Borough Council"

    verified = await client.post(
        verification(council["id"]),
        json={"evidence": "Listed on the GOV.UK register of local authorities"},
        headers=staff.headers,
    )
    assert verified.status_code == 200, verified.text
    assert verified.headers["etag"] == '"1"'

    # The council's own view: verified, since when; not the evidence nor who verified.
    own = await client.get(verification(council["id"]), headers=admin)
    assert own.status_code == 200, own.text
    assert own.headers["etag"] == '"1"'
    assert own.json() == {
        "organisation_id": council["id"],
        "verified": True,
        "since": clock.now().isoformat().replace("+00:00", "Z"),
        "version": 1,
    }
    # Staff see the evidence and who verified it.
    seen = (await client.get(verification(council["id"]), headers=staff.headers)).json()
    assert seen["evidence"] == "Listed on the GOV.UK register of local authorities"
    assert seen["verified_by"] == str(staff.user_id)

    # The council invites a colleague, who acts for the council.
    colleague = f"buyer-{council['id'][:8]}@example.org"
    invited = await client.post(
        f"/api/v1/organisations/{council['id']}/invitations",
        json={"email": colleague},
        headers=admin,
    )
    assert invited.status_code == 202, invited.text
    [body] = await mail_to(client, box, colleague)
    joined = await client.post(
        "/api/v1/invitations/acceptance", json={"token": token_in(body), "password": PASSWORD}
    )
    assert joined.status_code == 201, joined.text
    colleague_headers = await token(client, colleague)
    me = (await client.get("/api/v1/auth/me", headers=colleague_headers)).json()
    assert me["organisation_id"] == council["id"]
    theirs = await client.get(verification(council["id"]), headers=colleague_headers)
    assert theirs.status_code == 200
    assert theirs.json()["verified"] is True
    shown = await client.get(f"/api/v1/organisations/{council['id']}", headers=colleague_headers)
    assert shown.status_code == 200
    # ... but cannot verify its own organisation nor withdraw its verification.
    for path, payload in (
        (verification(council["id"]), {"evidence": "we are a council"}),
        (f"{verification(council['id'])}/withdrawal", {"reason": "x"}),
    ):
        refused = await client.post(path, json=payload, headers=colleague_headers)
        assert refused.status_code == 403, refused.text

    entry = await listed(client, council["id"], position_of(verified))
    assert entry is not None
    assert entry["verified"] is True
    assert entry["verified_since"] is not None

    # Withdrawn (with the version the staff saw): shown unverified.
    withdrawn = await client.post(
        f"{verification(council['id'])}/withdrawal",
        json={"reason": "The register entry was for another council"},
        headers={**staff.headers, "If-Match": '"1"'},
    )
    assert withdrawn.status_code == 200, withdrawn.text
    entry = await listed(client, council["id"], position_of(withdrawn))
    assert entry is not None
    assert entry["verified"] is False
    assert entry["verified_since"] is None
    after = (await client.get(verification(council["id"]), headers=staff.headers)).json()
    assert after["verified"] is False
    assert after["withdrawal_reason"] == "The register entry was for another council"
    assert after["withdrawn_by"] == str(staff.user_id)
    own_after = (await client.get(verification(council["id"]), headers=admin)).json()
    assert "withdrawal_reason" not in own_after
    assert own_after["verified"] is False

    # Verified again.
    again = await client.post(
        verification(council["id"]),
        json={"evidence": "Checked the register again: this council's entry"},
        headers=staff.headers,
    )
    assert again.status_code == 200, again.text
    entry = await listed(client, council["id"], position_of(again))
    assert entry is not None
    assert entry["verified"] is True


async def test_only_a_public_body_is_verified(
    client: AppClient, staff_headers: dict[str, str]
) -> None:
    business = await register_business(client)
    enterprise = await register(client)

    for org in (business, enterprise):
        refused = await client.post(
            verification(org["id"]), json={"evidence": "looked it up"}, headers=staff_headers
        )
        assert refused.status_code == 409, refused.text
        shown = (await client.get(verification(org["id"]), headers=staff_headers)).json()
        assert shown["verified"] is False
        assert shown["version"] is None

    # A business is a buyer, listed unverified; a social enterprise is not a buyer.
    position = f"membership:{enterprise['position']['membership']}"
    entry = await listed(client, business["id"], position)
    assert entry is not None
    assert (entry["kind"], entry["verified"]) == ("business", False)
    assert await listed(client, enterprise["id"], position) is None
    verified_only = await client.get(BUYERS, params={"verified": "true", "per_page": 100})
    assert business["id"] not in {item["id"] for item in verified_only.json()["items"]}


async def test_verification_twice_and_withdrawal_of_none_are_refused(
    client: AppClient, staff_headers: dict[str, str]
) -> None:
    council = await register_council(client)
    never = await client.post(
        f"{verification(council['id'])}/withdrawal", json={"reason": "x"}, headers=staff_headers
    )
    assert never.status_code == 404
    first = await client.post(
        verification(council["id"]), json={"evidence": "register"}, headers=staff_headers
    )
    second = await client.post(
        verification(council["id"]), json={"evidence": "register"}, headers=staff_headers
    )
    assert first.status_code == 200
    assert second.status_code == 409
    stale = await client.post(
        f"{verification(council['id'])}/withdrawal",
        json={"reason": "x"},
        headers={**staff_headers, "If-Match": '"7"'},
    )
    assert stale.status_code == 409
    unknown = await client.post(
        verification(str(uuid.uuid4())), json={"evidence": "register"}, headers=staff_headers
    )
    assert unknown.status_code == 404


async def test_a_buyer_acts_only_for_its_own_organisation(client: AppClient) -> None:
    council = await register_council(client)
    other = await register_council(client, name="Upriver District Council")
    headers = await token(client, council["email"])

    for method, path, payload in (
        ("GET", verification(other["id"]), None),
        ("POST", verification(other["id"]), {"evidence": "x"}),
        ("POST", f"{verification(other['id'])}/withdrawal", {"reason": "x"}),
        ("GET", f"/api/v1/organisations/{other['id']}", None),
        ("POST", f"/api/v1/organisations/{other['id']}/invitations", {"email": "a@example.org"}),
    ):
        response = await client.request(method, path, json=payload, headers=headers)
        assert response.status_code == 403, f"{method} {path}: {response.text}"
    # Its own: readable, not verifiable by itself.
    assert (await client.get(verification(council["id"]), headers=headers)).status_code == 200
    own = await client.post(verification(council["id"]), json={"evidence": "x"}, headers=headers)
    assert own.status_code == 403
    anonymous = await client.get(verification(council["id"]))
    assert anonymous.status_code == 401


async def test_bad_input_is_a_problem_naming_the_field_and_records_nothing(
    client: AppClient, staff_headers: dict[str, str]
) -> None:
    council = await register_council(client)
    for body, field in (
        ({"evidence": ""}, "evidence"),
        ({"evidence": "x" * 4001}, "evidence"),
        ({"evidence": "bad\x00byte"}, "evidence"),
        ({}, "evidence"),
        ({"evidence": "fine", "verified": True}, "verified"),
    ):
        response = await client.post(verification(council["id"]), json=body, headers=staff_headers)
        assert response.status_code == 400, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        fields = [e["field"] for e in response.json()["errors"]]
        assert field in fields, (body, response.json())
    shown = (await client.get(verification(council["id"]), headers=staff_headers)).json()
    assert shown["verified"] is False
    assert shown["version"] is None

    await client.post(verification(council["id"]), json={"evidence": "ok"}, headers=staff_headers)
    empty_reason = await client.post(
        f"{verification(council['id'])}/withdrawal", json={"reason": ""}, headers=staff_headers
    )
    assert empty_reason.status_code == 400
    assert empty_reason.json()["errors"][0]["field"] == "reason"
    assert (await client.get(verification(council["id"]), headers=staff_headers)).json()[
        "verified"
    ] is True


async def test_the_list_of_buyers_checks_its_filters(client: AppClient) -> None:
    bad = await client.get(BUYERS, params={"kind": "social_enterprise"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "kind"
