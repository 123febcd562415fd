"""Every route declares who may call it; the route table drives these checks."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jwt
import pytest
from litestar import Litestar, get
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from tests.api.helpers import APPLICATION, register, token
from tests.conftest import JWT_SECRET, AppClient
from tradehall.api.access import declared_access, is_declared
from tradehall.api.app import create_app, undeclared_routes
from tradehall.identity.users import Role
from tradehall.settings import Settings

Client = AppClient


def our_routes(app: Litestar) -> list[tuple[str, str, Any]]:
    """(method, path, handler) for every route of ours, as the app registered them."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                found.append((method, route.path, handler))
    return found


def concrete(path: str, organisation_id: str) -> str:
    """The path with the organisation given, any other id a random one, any text "x"."""
    path = re.sub(r"\{organisation_id:uuid\}", organisation_id, path)
    path = re.sub(r"\{\w+:uuid\}", lambda _: str(uuid.uuid4()), path)
    return re.sub(r"\{\w+:str\}", "x", path)


def _messages(error: BaseException) -> list[str]:
    """Messages of an exception and, for a group, of everything inside it."""
    inner = getattr(error, "exceptions", ())
    return [str(error), *(m for e in inner for m in _messages(e))]


def settings_for(tmp_path: Path) -> Settings:
    return Settings(
        environment="embedded",
        database_url=None,
        data_dir=tmp_path,
        jwt_secret=JWT_SECRET,
        jwt_lifetime_seconds=900,
        db_pool_size=2,
        max_body_bytes=65536,
        log_level="INFO",
    )


ORG = "/api/v1/organisations/{organisation_id:uuid}"
PUBLIC_, STAFF, OWN, OWN_OR_STAFF = (
    "public",
    "staff",
    "own organisation",
    "own organisation or staff",
)
OWN_ADMIN, SIGNED_IN_ = "own organisation's admins", "anyone signed in"
ASSESSORS = "assessors or staff"
# Signed in, then checked against the application itself (its parties; others get 404).
PARTY = SIGNED_IN_
MARK_APP = "/api/v1/mark-applications/{application_id:uuid}"
# Signed in, then checked against the listing's organisation (others get 404).
LISTING_USERS = SIGNED_IN_
LISTING = "/api/v1/listings/{listing_id:uuid}"
# Signed in, then checked against the tender's buyer organisation (others, staff too, get 404).
TENDER_BUYERS = SIGNED_IN_
TENDER = "/api/v1/tenders/{tender_id:uuid}"
# Signed in, then checked against the tender (its buyer's users: others 404; suppliers: anyone
# of another organisation, the buyer's own refused).
TENDER_Q = "/api/v1/tenders/{tender_id:uuid}"
QUESTION = "/api/v1/questions/{clarification_id:uuid}"
# Signed in, then checked against the bid (its lead's and partners' users; anyone else, the
# buyer and staff too, gets the same 404 as for a bid that does not exist).
BIDDERS = SIGNED_IN_
BID = "/api/v1/bids/{bid_id:uuid}"
# Signed in, then checked against the tender (its buyer's users, or staff) and its opening
# (before it, the same 404 to everyone).
OPENED_BIDS = SIGNED_IN_
# Signed in, then checked against the lot's evaluation (its tender's buyer's users; staff read
# it; anyone else, and before opening, the same 404 as for a lot with none).
LOT = f"{TENDER}/lots/{{lot_id:str}}"
LOT_BUYERS = SIGNED_IN_
# Signed in, then checked against the contract (its buyer's and parties' users, staff to read;
# anyone else gets the same 404 as for a contract that does not exist).
CONTRACT_USERS = SIGNED_IN_
CONTRACT = "/api/v1/contracts/{contract_id:uuid}"
# Signed in, then checked against the request for quote: its requester's users act on it; they,
# the suppliers it is open to (invited, or any where open) and staff read it; anyone else gets
# the same 404 as for a request that does not exist.
RFQ_USERS = SIGNED_IN_
RFQ = "/api/v1/requests-for-quote/{request_id:uuid}"
# Who may call what, written down on purpose: a new route, or a changed rule, must change this
# table too, so a route made public by mistake fails here.
EXPECTED_RULES = {
    ("GET", "/health"): PUBLIC_,
    ("GET", "/ready"): PUBLIC_,
    ("POST", "/api/v1/auth/token"): PUBLIC_,
    ("POST", "/api/v1/auth/token/refresh"): PUBLIC_,
    ("POST", "/api/v1/auth/logout"): PUBLIC_,
    ("POST", "/api/v1/organisations"): PUBLIC_,
    # The mailed link's token confirms a registration (ADR 8): whoever holds it.
    ("POST", "/api/v1/organisations/confirmations"): PUBLIC_,
    ("GET", ORG): OWN_OR_STAFF,
    # Organisation profiles (issue 10); contact points are people's data, in a table (ADR 4).
    ("PUT", f"{ORG}/profile"): OWN_OR_STAFF,
    ("GET", f"{ORG}/contact-points"): OWN_OR_STAFF,
    ("PUT", f"{ORG}/contact-points"): OWN_OR_STAFF,
    ("DELETE", f"{ORG}/contact-points"): OWN_OR_STAFF,
    ("POST", f"{ORG}/membership/application"): OWN,
    ("GET", f"{ORG}/membership/application"): OWN_OR_STAFF,
    ("POST", f"{ORG}/membership/application/withdrawal"): OWN,
    ("POST", f"{ORG}/membership/admission"): STAFF,
    ("POST", f"{ORG}/membership/rejection"): STAFF,
    ("POST", "/api/v1/registry-claims/release"): STAFF,
    ("GET", "/api/v1/directory"): PUBLIC_,
    ("GET", "/api/v1/directory/search"): PUBLIC_,
    ("GET", "/api/v1/membership/applications"): STAFF,
    ("POST", f"{ORG}/membership/turnover"): OWN,
    ("POST", f"{ORG}/membership/resignation"): OWN,
    ("POST", f"{ORG}/membership/suspension"): STAFF,
    ("POST", f"{ORG}/membership/reinstatement"): STAFF,
    ("POST", f"{ORG}/membership/expulsion"): STAFF,
    ("GET", f"{ORG}/membership/history"): OWN_OR_STAFF,
    ("GET", f"{ORG}/dues/ledger"): OWN_OR_STAFF,
    ("POST", f"{ORG}/dues/payments"): STAFF,
    ("POST", f"{ORG}/dues/refunds"): STAFF,
    ("POST", f"{ORG}/dues/credit-notes"): STAFF,
    ("GET", "/api/v1/dues/schedule"): PUBLIC_,
    ("POST", "/api/v1/dues/schedule"): STAFF,
    ("GET", "/api/v1/dues/ledger.csv"): STAFF,
    ("GET", "/api/v1/members.csv"): STAFF,
    ("GET", "/api/v1/operations/projections"): STAFF,
    ("GET", "/api/v1/operations/mail/failed"): STAFF,
    ("POST", "/api/v1/operations/mail/{message_id:str}/retry"): STAFF,
    ("POST", "/api/v1/operations/mail/failed/retry"): STAFF,
    ("POST", f"{ORG}/dues/checkout"): OWN,
    ("POST", f"{ORG}/dues/portal"): OWN,
    ("POST", "/api/v1/webhooks/stripe"): PUBLIC_,
    ("GET", "/api/v1/dues/parked-webhooks"): STAFF,
    ("GET", "/api/v1/dues/card-subscription-commands"): STAFF,
    ("POST", "/api/v1/dues/parked-webhooks/{event_id:str}/resolution"): STAFF,
    ("GET", "/api/v1/auth/me"): SIGNED_IN_,
    ("POST", "/api/v1/auth/verification"): SIGNED_IN_,
    ("POST", "/api/v1/auth/verification/confirmation"): PUBLIC_,
    ("POST", "/api/v1/auth/password-reset"): PUBLIC_,
    ("POST", "/api/v1/auth/password-reset/confirmation"): PUBLIC_,
    ("POST", f"{ORG}/invitations"): OWN_ADMIN,
    ("POST", "/api/v1/invitations/acceptance"): PUBLIC_,
    # The quality mark (ADR 23).
    ("POST", f"{ORG}/mark-applications"): OWN,
    ("GET", MARK_APP): PARTY,
    ("PUT", f"{MARK_APP}/declarations"): PARTY,
    ("POST", f"{MARK_APP}/evidence/{{criterion:str}}"): PARTY,
    ("GET", f"{MARK_APP}/evidence/{{sha256:str}}"): PARTY,
    ("POST", f"{MARK_APP}/submission"): PARTY,
    ("POST", f"{MARK_APP}/withdrawal"): PARTY,
    ("POST", f"{MARK_APP}/information-reply"): PARTY,
    ("POST", f"{MARK_APP}/assessor"): STAFF,
    ("POST", f"{MARK_APP}/information-requests"): ASSESSORS,
    ("POST", f"{MARK_APP}/referral"): ASSESSORS,
    ("POST", f"{MARK_APP}/decision"): STAFF,
    ("GET", f"{ORG}/mark"): OWN_OR_STAFF,
    ("POST", f"{ORG}/mark/suspension"): STAFF,
    ("POST", f"{ORG}/mark/reinstatement"): STAFF,
    ("POST", f"{ORG}/mark/revocation"): STAFF,
    ("GET", "/api/v1/marks/{certificate_number:str}"): PUBLIC_,
    ("GET", "/api/v1/marks/{certificate_number:str}/badge.svg"): PUBLIC_,
    ("GET", "/api/v1/mark-criteria"): PUBLIC_,
    ("GET", "/api/v1/mark-applications"): STAFF,
    ("GET", "/api/v1/mark-assignments"): ASSESSORS,
    # Buyers (issue 10): staff verify; a buyer reads its own; anyone lists.
    ("POST", f"{ORG}/buyer-verification"): STAFF,
    ("POST", f"{ORG}/buyer-verification/withdrawal"): STAFF,
    ("GET", f"{ORG}/buyer-verification"): OWN_OR_STAFF,
    ("GET", "/api/v1/buyers"): PUBLIC_,
    # Service listings (issue 10): a member publishes for its own organisation; only the
    # listing's organisation acts on it (checked in the handler: others 404); anyone reads.
    ("POST", f"{ORG}/listings"): OWN,
    ("GET", f"{ORG}/listings"): OWN_OR_STAFF,
    ("GET", "/api/v1/listings"): PUBLIC_,
    ("GET", LISTING): PUBLIC_,
    ("PUT", LISTING): LISTING_USERS,
    ("POST", f"{LISTING}/withdrawal"): LISTING_USERS,
    ("POST", f"{LISTING}/republication"): LISTING_USERS,
    # Tenders (issue 11): a buyer drafts for its own organisation and reads its own, drafts too
    # (not staff: a draft is the buyer's alone); only the tender's buyer acts on it (checked in
    # the handler: others 404); anyone reads the board, published tenders and their documents.
    ("POST", f"{ORG}/tenders"): OWN,
    ("GET", f"{ORG}/tenders"): OWN,
    ("GET", f"{ORG}/tenders/{{tender_id:uuid}}"): OWN,
    ("GET", f"{ORG}/tenders/{{tender_id:uuid}}/documents/{{sha256:str}}"): OWN,
    ("GET", "/api/v1/tenders"): PUBLIC_,
    # Matching (issue 14): a lot's matches for the buyer's users (its tender, else 404) and
    # staff; an organisation's recommended open lots for its users and staff.
    ("GET", f"{ORG}/tenders/{{tender_id:uuid}}/lots/{{lot_id:str}}/matches"): OWN_OR_STAFF,
    ("GET", f"{ORG}/recommended-tenders"): OWN_OR_STAFF,
    # OCDS (issue 15): public bodies' releases and records, for anyone.
    ("GET", "/api/v1/ocds/releases"): PUBLIC_,
    ("GET", "/api/v1/ocds/records/{ocid:str}"): PUBLIC_,
    # Outside opportunities (issue 16): imported from national portals; public.
    ("GET", "/api/v1/opportunities"): PUBLIC_,
    ("GET", "/api/v1/opportunities/{opportunity_id:uuid}"): PUBLIC_,
    # Saved searches and alerts (issue 17): an organisation's own users only (another's search
    # or alert: 404).
    ("POST", f"{ORG}/saved-searches"): OWN,
    ("GET", f"{ORG}/saved-searches"): OWN,
    ("GET", f"{ORG}/saved-searches/{{search_id:uuid}}"): OWN,
    ("PUT", f"{ORG}/saved-searches/{{search_id:uuid}}"): OWN,
    ("DELETE", f"{ORG}/saved-searches/{{search_id:uuid}}"): OWN,
    ("GET", f"{ORG}/alerts"): OWN,
    ("POST", f"{ORG}/alerts/{{alert_id:uuid}}/read"): OWN,
    # Impact (issue 17): the association's totals, chart and proxy values for anyone; the
    # reports by member, buyer and period for staff; an organisation's own for its users.
    ("GET", "/api/v1/impact"): PUBLIC_,
    ("GET", "/api/v1/impact/chart.svg"): PUBLIC_,
    ("GET", "/api/v1/impact/report"): STAFF,
    ("GET", "/api/v1/impact/report.csv"): STAFF,
    ("GET", "/api/v1/impact/proxy-values"): PUBLIC_,
    ("POST", "/api/v1/impact/proxy-values"): STAFF,
    ("GET", f"{ORG}/impact"): OWN_OR_STAFF,
    ("GET", TENDER): PUBLIC_,
    ("PUT", TENDER): TENDER_BUYERS,
    ("POST", f"{TENDER}/publication"): TENDER_BUYERS,
    ("POST", f"{TENDER}/activation"): TENDER_BUYERS,
    ("POST", f"{TENDER}/amendments"): TENDER_BUYERS,
    ("POST", f"{TENDER}/cancellation"): TENDER_BUYERS,
    ("POST", f"{TENDER}/withdrawal"): TENDER_BUYERS,
    ("PUT", f"{TENDER}/national-ocid"): TENDER_BUYERS,
    ("POST", f"{TENDER}/closure"): TENDER_BUYERS,
    ("POST", f"{TENDER}/documents/{{kind:str}}"): TENDER_BUYERS,
    ("GET", f"{TENDER}/documents/{{sha256:str}}"): PUBLIC_,
    # Clarifications and interest (issue 11): suppliers ask and register interest; the buyer's
    # users see open questions and answer (others 404); anyone reads published answers; only
    # staff learn who asked; nobody learns who registered interest but the supplier itself.
    ("POST", f"{TENDER_Q}/questions"): SIGNED_IN_,
    ("GET", f"{TENDER_Q}/questions"): PUBLIC_,
    ("GET", f"{TENDER_Q}/questions/unanswered"): SIGNED_IN_,
    ("POST", f"{TENDER_Q}/interest"): SIGNED_IN_,
    ("GET", f"{TENDER_Q}/interest"): SIGNED_IN_,
    ("POST", f"{QUESTION}/answer"): SIGNED_IN_,
    ("GET", QUESTION): STAFF,
    # Sealed bids (issue 12): a signed-in user's organisation drafts and reads its own bids;
    # only a bid's lead and partners act on it or read it (checked in the handler: others 404);
    # the buyer's users and staff read a tender's bids only after opening.
    ("POST", "/api/v1/bids"): SIGNED_IN_,
    ("GET", "/api/v1/bids"): SIGNED_IN_,
    ("GET", BID): BIDDERS,
    ("PUT", BID): BIDDERS,
    ("POST", f"{BID}/documents"): BIDDERS,
    ("GET", f"{BID}/documents/{{name:str}}"): BIDDERS,
    ("PUT", f"{BID}/consortium"): BIDDERS,
    ("POST", f"{BID}/acceptance"): BIDDERS,
    ("POST", f"{BID}/submission"): BIDDERS,
    ("POST", f"{BID}/withdrawal"): BIDDERS,
    ("GET", f"{TENDER}/bids"): OPENED_BIDS,
    ("GET", f"{TENDER}/bids/{{bid_id:uuid}}/documents/{{name:str}}"): OPENED_BIDS,
    # Evaluation and award (issue 13): the tender's buyer's users score, settle abnormally low
    # prices, award or decline, publish the award notice and sign the contract (checked in the
    # handler: others, staff too, 404); staff read the evaluation; a bidder reads its own
    # assessment summary (others 404); anyone reads a published award notice.
    ("GET", f"{LOT}/evaluation"): LOT_BUYERS,
    ("PUT", f"{LOT}/bids/{{bid_id:uuid}}/scores"): LOT_BUYERS,
    ("POST", f"{LOT}/bids/{{bid_id:uuid}}/low-price-query"): LOT_BUYERS,
    ("POST", f"{LOT}/bids/{{bid_id:uuid}}/low-price-explanation"): LOT_BUYERS,
    ("POST", f"{LOT}/bids/{{bid_id:uuid}}/low-price-decision"): LOT_BUYERS,
    ("POST", f"{LOT}/award"): LOT_BUYERS,
    ("POST", f"{LOT}/no-award"): LOT_BUYERS,
    ("POST", f"{LOT}/award-notice"): LOT_BUYERS,
    ("POST", f"{LOT}/contract"): LOT_BUYERS,
    ("GET", f"{LOT}/assessment-summary"): SIGNED_IN_,
    ("GET", f"{LOT}/award"): PUBLIC_,
    # Contracts (issue 13): signed in, then checked against the contract: its buyer's and
    # parties' users and staff read it (others 404); the buyer's users change its terms
    # (parties and staff 403); a party reports delivery and the buyer decides on it, as the
    # domain allows (a supplier never confirms its own). Staff close and reopen days.
    ("GET", "/api/v1/contracts"): SIGNED_IN_,
    ("GET", CONTRACT): CONTRACT_USERS,
    ("POST", f"{CONTRACT}/amendments"): CONTRACT_USERS,
    ("POST", f"{CONTRACT}/completion"): CONTRACT_USERS,
    ("POST", f"{CONTRACT}/termination"): CONTRACT_USERS,
    ("POST", f"{CONTRACT}/delivery-reports"): CONTRACT_USERS,
    ("POST", f"{CONTRACT}/delivery-reports/{{report_id:uuid}}/confirmation"): CONTRACT_USERS,
    ("POST", f"{CONTRACT}/delivery-reports/{{report_id:uuid}}/rejection"): CONTRACT_USERS,
    # Requests for quote (issue 18): a user of the requesting organisation posts (the body names
    # it: another's is a 403) and acts on it (others 404); its users and staff read the quotes,
    # and a requester reading them before the deadline (before the clock opens them) gets a 409
    # that is the same whether or not anyone quoted. A supplier quotes, revises, declines and
    # reads under its own organisation only: a supplier reading another's quote is refused
    # under the other's path (403, the same whether or not that one quoted) and reaches it
    # through no other route (the request's quotes: 404 to anyone but the requester and staff).
    ("POST", "/api/v1/requests-for-quote"): SIGNED_IN_,
    ("GET", "/api/v1/requests-for-quote"): SIGNED_IN_,
    ("GET", RFQ): RFQ_USERS,
    ("POST", f"{RFQ}/cancellation"): RFQ_USERS,
    ("GET", f"{RFQ}/quotes"): RFQ_USERS,
    ("POST", f"{RFQ}/acceptance"): RFQ_USERS,
    ("POST", f"{RFQ}/closure"): RFQ_USERS,
    ("GET", f"{ORG}/quotes"): OWN,
    ("PUT", f"{ORG}/quotes/{{request_id:uuid}}"): OWN,
    ("GET", f"{ORG}/quotes/{{request_id:uuid}}"): OWN,
    ("POST", f"{ORG}/quotes/{{request_id:uuid}}/decline"): OWN,
    ("GET", "/api/v1/closure-days"): PUBLIC_,
    ("PUT", "/api/v1/closure-days/{day:str}"): STAFF,
    ("DELETE", "/api/v1/closure-days/{day:str}"): STAFF,
    ("GET", "/schema"): PUBLIC_,
    ("GET", "/schema/swagger"): PUBLIC_,
    ("GET", "/schema/openapi.json"): PUBLIC_,
    ("GET", "/schema/oauth2-redirect.html"): PUBLIC_,
    ("GET", "/schema/{path:str}"): PUBLIC_,
    # Swagger UI's own files, served by the app (tradehall.api.openapi).
    ("GET", f"/schema/swagger-ui/{version('swagger-ui-py')}/{{file_path:path}}"): PUBLIC_,
}


def kind_of(rule: Any) -> str:
    if rule.public:
        return PUBLIC_
    if rule.roles == frozenset(Role):
        return SIGNED_IN_
    if rule.own_roles:
        assert rule.own_organisation is not None, rule
        assert not rule.roles, rule
        return OWN_ADMIN
    staff = Role.STAFF in rule.roles
    if rule.roles == frozenset({Role.ASSESSOR, Role.STAFF}):
        return ASSESSORS
    if rule.own_organisation is not None:
        return OWN_OR_STAFF if staff else OWN
    assert rule.roles == frozenset({Role.STAFF}), rule
    return STAFF


def test_the_route_table_matches_the_written_rules(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path))
    actual = {
        (method, path): kind_of(declared_access(handler))
        for method, path, handler in our_routes(app)
    }
    assert actual == EXPECTED_RULES


def test_every_route_declares_its_access_rule(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path))
    routes = our_routes(app)
    assert len(routes) >= 9
    for method, path, handler in routes:
        assert is_declared(handler), f"{method} {path} declares no access rule"
        assert declared_access(handler) is not None
    assert undeclared_routes(app) == []


async def test_an_app_with_an_undeclared_route_refuses_to_start(tmp_path: Path) -> None:
    @get("/api/v1/forgotten")
    async def forgotten() -> str:
        return "who may call me?"

    app = create_app(settings_for(tmp_path))
    app.register(forgotten)
    assert [entry.split()[0] for entry in undeclared_routes(app)] == ["/api/v1/forgotten"]
    with pytest.raises(ExceptionGroup) as raised:
        async with AsyncTestClient(app):
            pass
    assert "routes without an access rule" in " ".join(_messages(raised.value))


async def test_a_hand_written_options_route_must_declare_its_rule(tmp_path: Path) -> None:
    from litestar import route

    @route("/api/v1/sneaky", http_method=["OPTIONS"])
    async def sneaky() -> None:
        return None

    app = create_app(settings_for(tmp_path))
    app.register(sneaky)
    assert [entry.split()[0] for entry in undeclared_routes(app)] == ["/api/v1/sneaky"]


async def test_anonymous_callers_reach_only_public_routes(client: Client) -> None:
    some_org = str(uuid.uuid4())
    for method, path, handler in our_routes(client.app):
        rule = declared_access(handler)
        assert rule is not None
        if rule.public:
            continue
        response = await client.request(method, concrete(path, some_org), json={})
        assert response.status_code == 401, f"{method} {path}: {response.status_code}"
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"] == "Bearer"


async def test_members_of_another_organisation_are_refused_everywhere(client: Client) -> None:
    """Member A acting on B's organisation: every non-public route says 403."""
    org_a = await register(client)
    org_b = await register(client)
    headers_a = await token(client, org_a["email"])
    checked = 0
    for method, path, handler in our_routes(client.app):
        rule = declared_access(handler)
        assert rule is not None
        if rule.public or "{organisation_id" not in path:
            continue
        response = await client.request(
            method, concrete(path, org_b["id"]), json={"reason": "x"}, headers=headers_a
        )
        assert response.status_code == 403, f"{method} {path}: {response.text}"
        checked += 1
    assert checked >= 5


async def test_members_are_refused_staff_routes(client: Client) -> None:
    org = await register(client)
    headers = await token(client, org["email"])
    checked = 0
    for method, path, handler in our_routes(client.app):
        rule = declared_access(handler)
        assert rule is not None
        if rule.public or rule.own_organisation is not None or rule.roles != {Role.STAFF}:
            continue
        response = await client.request(
            method, concrete(path, org["id"]), json={"reason": "x"}, headers=headers
        )
        assert response.status_code == 403, f"{method} {path}: {response.text}"
        checked += 1
    assert checked >= 1


async def test_staff_may_read_any_organisation_but_not_apply_for_it(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org = await register(client)
    shown = await client.get(f"/api/v1/organisations/{org['id']}", headers=staff_headers)
    applied = await client.post(
        f"/api/v1/organisations/{org['id']}/membership/application",
        json=APPLICATION,
        headers=staff_headers,
    )
    assert shown.status_code == 200
    assert applied.status_code == 403


@pytest.mark.parametrize("problem", ["forged", "expired", "garbage"])
async def test_bad_tokens_are_refused(client: Client, problem: str) -> None:
    org = await register(client)
    claims = {
        "sub": str(uuid.uuid4()),
        "exp": datetime.now(UTC) + timedelta(minutes=5),
        "iat": datetime.now(UTC),
        "extras": {"org": org["id"], "roles": ["member"]},
    }
    if problem == "forged":
        encoded = jwt.encode(claims, "another secret of enough length 123456", algorithm="HS256")
    elif problem == "expired":
        claims["exp"] = datetime.now(UTC) - timedelta(minutes=1)
        claims["iat"] = datetime.now(UTC) - timedelta(minutes=20)
        encoded = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    else:
        encoded = "not.a.token"

    response = await client.get(
        f"/api/v1/organisations/{org['id']}", headers={"Authorization": f"Bearer {encoded}"}
    )

    assert response.status_code == 401


async def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    client: Client,
) -> None:
    org = await register(client)
    wrong_password = await client.post(
        "/api/v1/auth/token", json={"email": org["email"], "password": "not the password"}
    )
    unknown_user = await client.post(
        "/api/v1/auth/token", json={"email": "nobody@example.org", "password": "whatever123"}
    )
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json()["detail"] == unknown_user.json()["detail"]
