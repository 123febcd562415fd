"""Account e-mails over HTTP: verify an address, reset a password, invite a colleague."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath, JSONBody
from sqlalchemy import select

from tradehall.api.access import PUBLIC, SIGNED_IN, own_organisation_admin, rule
from tradehall.api.commands import current_user
from tradehall.api.identity.auth import THROTTLED_RESPONSE
from tradehall.api.schemas.base import Email, NewPassword, Password, RequestBody
from tradehall.identity import accounts
from tradehall.identity.parts import Identity
from tradehall.identity.tables import users
from tradehall.identity.users import known_roles

Token = Annotated[str, msgspec.Meta(min_length=10, max_length=200)]


class TokenBody(RequestBody):
    token: Token


class ResetRequest(RequestBody):
    email: Email


class ChosenPassword(RequestBody):
    token: Token
    password: NewPassword


class RegistrationConfirmation(RequestBody):
    """A registration's link: its token, and the password given when it was asked for (the
    link proves the mailbox; the password, that its holder is who asked)."""

    token: Token
    password: Password


class Invitation(RequestBody):
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
    async def me(self, request: Request[Any, Any, Any], identity: NamedDependency[Identity]) -> Me:
        user = current_user(request)
        async with identity.engine.connect() as connection:
            row = (await connection.execute(select(users).where(users.c.id == user.id))).first()
        if row is None:  # removed since this request's token was checked
            raise NotAuthorizedException("this token no longer stands: sign in again")
        return Me(
            id=row.id,
            email=row.email,
            organisation_id=row.organisation_id,
            roles=sorted(known_roles(row.roles)),
            email_verified=row.email_verified_at is not None,
        )

    @post(
        "/auth/verification",
        opt=rule(SIGNED_IN),
        status_code=202,
        summary="Send me a link to confirm my e-mail address",
        description=(
            "Account mails to one address (verification and password reset together) are "
            "throttled: after `TRADEHALL_ACCOUNT_MAIL_FREE_PER_ADDRESS` the next must wait, "
            "the wait doubling up to `TRADEHALL_ACCOUNT_MAIL_MAX_DELAY_SECONDS`: 429 with "
            "`Retry-After`, and no mail."
        ),
        responses=THROTTLED_RESPONSE,
    )
    async def verification(
        self, request: Request[Any, Any, Any], identity: NamedDependency[Identity]
    ) -> Accepted:
        await accounts.request_verification(identity, current_user(request))  # may be a 429
        return Accepted(status="sent")

    @post(
        "/auth/verification/confirmation",
        opt=rule(PUBLIC),
        status_code=200,
        summary="Confirm an e-mail address with the link's token",
    )
    async def confirm_verification(
        self, identity: NamedDependency[Identity], data: JSONBody[TokenBody]
    ) -> Accepted:
        await accounts.confirm_verification(identity, data.token)
        return Accepted(status="verified")

    @post(
        "/auth/password-reset",
        opt=rule(PUBLIC),
        status_code=202,
        summary="Send a password reset link (the answer is the same whether or not it exists)",
        description=(
            "The answer, and the work behind it, are the same whether or not the address has "
            "an account (a disabled account gets no link). Throttled per address, counting "
            "verification mails too: after `TRADEHALL_ACCOUNT_MAIL_FREE_PER_ADDRESS` requests "
            "the next must wait, the wait doubling up to "
            "`TRADEHALL_ACCOUNT_MAIL_MAX_DELAY_SECONDS`: 429 with `Retry-After`. A new "
            "password ends every sign-in of the user (access and refresh tokens)."
        ),
        responses=THROTTLED_RESPONSE,
    )
    async def password_reset(
        self, identity: NamedDependency[Identity], data: JSONBody[ResetRequest]
    ) -> Accepted:
        await accounts.request_password_reset(identity, data.email)  # may be a 429
        return Accepted(status="sent if the address has an account")

    @post(
        "/auth/password-reset/confirmation",
        opt=rule(PUBLIC),
        status_code=200,
        summary="Set a new password with the link's token",
        description=(
            "Every access and refresh token the user holds stops working at once, and their "
            "sign-in throttle is cleared."
        ),
    )
    async def confirm_password_reset(
        self, identity: NamedDependency[Identity], data: JSONBody[ChosenPassword]
    ) -> Accepted:
        await accounts.confirm_password_reset(identity, data.token, data.password)
        return Accepted(status="password changed")

    @post(
        "/organisations/{organisation_id:uuid}/invitations",
        opt=rule(own_organisation_admin()),
        status_code=202,
        summary="Invite a colleague to act for the organisation (its admins)",
        description=(
            "Account mails to one address (invitations, verification and password reset "
            "together) are throttled: after `TRADEHALL_ACCOUNT_MAIL_FREE_PER_ADDRESS` the next "
            "must wait, the wait doubling up to `TRADEHALL_ACCOUNT_MAIL_MAX_DELAY_SECONDS`: "
            "429 with `Retry-After`, and no mail. So are one organisation's invitations, to "
            "whatever addresses: after 20, each waits a minute, doubling to the same bound. "
            "The answer is the same whether or not the address has an account."
        ),
        responses=THROTTLED_RESPONSE,
    )
    async def invite(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        organisation_id: FromPath[UUID],
        data: JSONBody[Invitation],
    ) -> Accepted:
        await accounts.invite(  # may be a 429
            identity, current_user(request), organisation_id, data.email
        )
        return Accepted(status="invited")

    @post(
        "/invitations/acceptance",
        opt=rule(PUBLIC),
        status_code=201,
        summary="Accept an invitation: set a password, become a user of the organisation",
        description=(
            "An invitation is as good as its sender's right to invite: if whoever sent it is no "
            "longer an enabled admin of the organisation when it is accepted, the answer is a "
            "422 naming `token` (ask for a new invitation), the link is used up and nobody is "
            "added."
        ),
    )
    async def accept(
        self, identity: NamedDependency[Identity], data: JSONBody[ChosenPassword]
    ) -> Joined:
        user_id = await accounts.accept_invitation(identity, data.token, data.password)
        return Joined(user_id=user_id)
