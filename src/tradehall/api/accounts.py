"""Account e-mails over HTTP: verify an address, reset a password, invite a colleague."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy import select

from tradehall.api.access import PUBLIC, SIGNED_IN, own_organisation_admin, rule
from tradehall.api.commands import current_user
from tradehall.identity import accounts
from tradehall.identity.tables import users
from tradehall.services import Services

Token = Annotated[str, msgspec.Meta(min_length=10, max_length=200)]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class TokenBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    token: Token


class ResetRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Email


class NewPassword(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    token: Token
    password: Password


class Invitation(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Email


class Accepted(msgspec.Struct, kw_only=True):
    status: str


class Joined(msgspec.Struct, kw_only=True):
    user_id: UUID


class Me(msgspec.Struct, kw_only=True):
    id: UUID
    email: str
    organisation_id: UUID | None
    roles: list[str]
    email_verified: bool


class AccountController(Controller):
    path = "/api/v1"
    tags = ["auth"]

    @get("/auth/me", opt=rule(SIGNED_IN), summary="Who I am signed in as")
    async def me(self, request: Request[Any, Any, Any], services: NamedDependency[Services]) -> Me:
        user = current_user(request)
        async with services.engine.connect() as connection:
            row = (await connection.execute(select(users).where(users.c.id == user.id))).one()
        return Me(
            id=row.id,
            email=row.email,
            organisation_id=row.organisation_id,
            roles=sorted(row.roles.split()),
            email_verified=row.email_verified_at is not None,
        )

    @post(
        "/auth/verification",
        opt=rule(SIGNED_IN),
        status_code=202,
        summary="Send me a link to confirm my e-mail address",
    )
    async def verification(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> Accepted:
        await accounts.request_verification(services, current_user(request))
        return Accepted(status="sent")

    @post(
        "/auth/verification/confirmation",
        opt=rule(PUBLIC),
        status_code=200,
        summary="Confirm an e-mail address with the link's token",
    )
    async def confirm_verification(
        self, services: NamedDependency[Services], data: JSONBody[TokenBody]
    ) -> Accepted:
        await accounts.confirm_verification(services, data.token)
        return Accepted(status="verified")

    @post(
        "/auth/password-reset",
        opt=rule(PUBLIC),
        status_code=202,
        summary="Send a password reset link (the answer is the same whether or not it exists)",
    )
    async def password_reset(
        self, services: NamedDependency[Services], data: JSONBody[ResetRequest]
    ) -> Accepted:
        await accounts.request_password_reset(services, data.email)
        return Accepted(status="sent if the address has an account")

    @post(
        "/auth/password-reset/confirmation",
        opt=rule(PUBLIC),
        status_code=200,
        summary="Set a new password with the link's token",
    )
    async def confirm_password_reset(
        self, services: NamedDependency[Services], data: JSONBody[NewPassword]
    ) -> Accepted:
        await accounts.confirm_password_reset(services, data.token, data.password)
        return Accepted(status="password changed")

    @post(
        "/organisations/{organisation_id:uuid}/invitations",
        opt=rule(own_organisation_admin()),
        status_code=202,
        summary="Invite a colleague to act for the organisation (its admins)",
    )
    async def invite(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        organisation_id: FromPath[UUID],
        data: JSONBody[Invitation],
    ) -> Accepted:
        await accounts.invite(services, current_user(request), organisation_id, data.email)
        return Accepted(status="invited")

    @post(
        "/invitations/acceptance",
        opt=rule(PUBLIC),
        status_code=201,
        summary="Accept an invitation: set a password, become a user of the organisation",
    )
    async def accept(
        self, services: NamedDependency[Services], data: JSONBody[NewPassword]
    ) -> Joined:
        user_id = await accounts.accept_invitation(services, data.token, data.password)
        return Joined(user_id=user_id)
