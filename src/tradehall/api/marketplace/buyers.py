"""Buyers over HTTP: staff verify a public body (naming the evidence they checked), withdraw the
verification and give it again; a buyer organisation's users and staff read it; anyone lists
the buyer organisations and whether each is verified (from the buyers read model).

Buyer organisations register, and invite colleagues, through membership's routes. Their users
act only for their own organisation (the `own_organisation` rules) and cannot verify
themselves: verification is staff's alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from marketplace.application import MarketplaceApp
from marketplace.buyers import BuyerVerification
from membership.application import MembershipApp
from projections.buyers import buyers_page
from sharedkernel.errors import NotFound
from sharedkernel.events import actor_user_id
from tradehall.api.access import PUBLIC, own_organisation_or_staff, rule, staff_only
from tradehall.api.commands import Commands, command_response, current_user, etag
from tradehall.api.marketplace.schemas.buyers import (
    BuyerEntry,
    BuyersPage,
    BuyerVerificationView,
    VerifyBuyer,
    WithdrawVerification,
)
from tradehall.api.read_models import Paging, ReadModel, read_model
from tradehall.api.reads import PageParam, PerPageParam, PositionParam
from tradehall.api.schemas.common import CommandResult
from tradehall.identity.users import Role
from tradehall.marketplace import LOG

KindParam = Annotated[
    Literal["public_body", "business"] | None,
    QueryParameter(name="kind", description="only buyers of this kind"),
]
VerifiedParam = Annotated[
    bool | None,
    QueryParameter(name="verified", description="only verified (true) or unverified (false)"),
]


@dataclass(frozen=True)
class _Record:
    """A verification as it stands, with who changed it and when (from its events)."""

    buyer: BuyerVerification
    verified_at: datetime | None
    verified_by: UUID | None
    withdrawn_at: datetime | None
    withdrawn_by: UUID | None


def _record(marketplace: MarketplaceApp, organisation_id: UUID) -> _Record | None:
    """The organisation's verification and its latest verification and withdrawal (None if it
    was never verified). Its events are read up to the version loaded, so the two agree."""
    try:
        buyer = marketplace.buyer(organisation_id)
    except NotFound:
        return None
    verified: Any = None
    withdrawn: Any = None
    for event in marketplace.events.get(buyer.id, lte=buyer.version):
        if isinstance(event, BuyerVerification.Withdrawn):
            withdrawn = event
        elif isinstance(event, BuyerVerification.Verified | BuyerVerification.Reverified):
            verified = event
    return _Record(
        buyer=buyer,
        verified_at=verified.timestamp if verified else None,
        verified_by=actor_user_id(verified.actor) if verified else None,
        withdrawn_at=withdrawn.timestamp if withdrawn else None,
        withdrawn_by=actor_user_id(withdrawn.actor) if withdrawn else None,
    )


def _view(organisation_id: UUID, record: _Record | None, staff: bool) -> BuyerVerificationView:
    if record is None:
        return BuyerVerificationView(
            organisation_id=organisation_id, verified=False, since=None, version=None
        )
    buyer = record.buyer
    view = BuyerVerificationView(
        organisation_id=organisation_id,
        verified=buyer.verified,
        since=record.verified_at if buyer.verified else record.withdrawn_at,
        version=buyer.version,
    )
    if staff:
        view.evidence = buyer.evidence
        view.verified_at = record.verified_at
        view.verified_by = record.verified_by
        if not buyer.verified:
            view.withdrawn_at = record.withdrawn_at
            view.withdrawn_by = record.withdrawn_by
            view.withdrawal_reason = buyer.withdrawal_reason
    return view


class BuyerVerificationController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}/buyer-verification"
    tags = ["buyers"]

    @post(
        "/",
        opt=rule(staff_only()),
        status_code=200,
        summary="Verify a public body as a buyer, naming the evidence checked (first or again)",
        description=(
            "Only a public body is verified: a business or a social enterprise is a 409, and so "
            "is a buyer already verified. If-Match: the verification's version (one never "
            "verified has none: any version named is stale)."
        ),
    )
    async def verify(
        self,
        commands: NamedDependency[Commands],
        membership: NamedDependency[MembershipApp],
        marketplace: NamedDependency[MarketplaceApp],
        organisation_id: FromPath[UUID],
        data: JSONBody[VerifyBuyer],
    ) -> Response[CommandResult]:
        organisation = await commands.run(membership.get_organisation, organisation_id)
        saved = await commands.save(
            marketplace.verify_buyer, organisation_id, organisation.kind.value, data.evidence
        )
        return command_response(saved, LOG)

    @post(
        "/withdrawal",
        opt=rule(staff_only()),
        status_code=200,
        summary="Withdraw a buyer's verification, with a reason",
    )
    async def withdraw(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        organisation_id: FromPath[UUID],
        data: JSONBody[WithdrawVerification],
    ) -> Response[CommandResult]:
        return await commands.execute(
            LOG, marketplace.withdraw_verification, organisation_id, data.reason
        )

    @get(
        "/",
        opt=rule(own_organisation_or_staff()),
        summary="Whether the organisation is a verified buyer, and since when",
        description=(
            "Its users see whether it is verified and since when; staff also see the evidence, "
            "who verified it (a user id) and any withdrawal. `ETag` once it has been verified."
        ),
    )
    async def verification(
        self,
        commands: NamedDependency[Commands],
        membership: NamedDependency[MembershipApp],
        marketplace: NamedDependency[MarketplaceApp],
        organisation_id: FromPath[UUID],
    ) -> Response[BuyerVerificationView]:
        await commands.run(membership.get_organisation, organisation_id)  # 404 if none
        record = await commands.run(_record, marketplace, organisation_id)
        staff = Role.STAFF in current_user(commands.request).roles
        view = _view(organisation_id, record, staff)
        headers = {"ETag": etag(record.buyer.version)} if record is not None else {}
        return Response(view, headers=headers)


class BuyersController(Controller):
    path = "/api/v1/buyers"
    tags = ["buyers"]
    dependencies = {"read_model": read_model("buyers")}

    @get(
        "/",
        opt=rule(PUBLIC),
        summary="Buyer organisations (public bodies and businesses), by name, and whether verified",
    )
    async def buyers(
        self,
        read_model: NamedDependency[ReadModel],
        kind: KindParam = None,
        verified: VerifiedParam = None,
        page: PageParam = 1,
        per_page: PerPageParam = 20,
        position: PositionParam = None,
    ) -> Response[BuyersPage]:
        paging = Paging(page, per_page)
        found, consistent = await read_model.query(
            position,
            buyers_page,
            kind=kind,
            verified=verified,
            limit=paging.limit,
            offset=paging.offset,
        )
        items = [
            BuyerEntry(
                id=entry.organisation_id,
                name=entry.name,
                kind=entry.kind,  # type: ignore[arg-type]  # the query keeps buyer kinds only
                verified=entry.verified,
                verified_since=entry.verified_at,
            )
            for entry in found.entries
        ]
        return paging.response(BuyersPage, items, found.total, consistent)


# The controllers the marketplace declaration serves.
CONTROLLERS: tuple[Any, ...] = (BuyerVerificationController, BuyersController)
