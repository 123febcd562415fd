"""Sign-in: short-lived JWT access tokens, rotating refresh tokens, logout (docs/adr/0014)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from litestar import Controller, Request, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody
from litestar.security.jwt import JWTAuth, Token
from sqlalchemy.ext.asyncio import AsyncEngine

from tradehall.api.access import PUBLIC, rule
from tradehall.api.identity.schemas.auth import TokenRequest
from tradehall.api.identity.schemas.sessions import LoggedOut, RefreshRequest, TokenPair
from tradehall.api.problems import PROBLEM_MEDIA_TYPE, Problem
from tradehall.identity import sessions
from tradehall.identity.parts import Identity
from tradehall.identity.users import User

THROTTLED_RESPONSE = {
    429: ResponseSpec(
        data_container=Problem,
        media_type=PROBLEM_MEDIA_TYPE,
        description="Too many attempts: wait the seconds in the `Retry-After` header",
        generate_examples=False,
    )
}


def client_address(connection: ASGIConnection[Any, Any, Any, Any], trusted_hops: int) -> str | None:
    """The client's address: the TCP peer, or with `trusted_hops` proxies in front (each
    appending to X-Forwarded-For) the address the outermost of them saw."""
    peer = connection.client.host if connection.client else None
    if trusted_hops <= 0:
        return peer
    forwarded = [
        part.strip()
        for header in connection.headers.getall("x-forwarded-for", [])
        for part in header.split(",")
        if part.strip()
    ]
    if len(forwarded) < trusted_hops:
        return forwarded[0] if forwarded else peer
    return forwarded[-trusted_hops]


async def user_from_token(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> User:
    """The caller, loaded from the database on every request: a token of a user who no longer
    exists, is disabled, has reset the password or lost a role since (another generation), or
    whose sign-in has ended (its family revoked), is refused."""
    try:
        user_id = UUID(token.sub)
        generation = int(token.extras.get("gen", 0))
        family = token.extras.get("fam")
        family_id = UUID(family) if family else None
    except (ValueError, TypeError):
        raise NotAuthorizedException("the token's claims are malformed") from None
    engine: AsyncEngine = connection.app.state.services.engine
    found = await sessions.caller(engine, user_id, generation, family_id)
    if found is None:
        raise NotAuthorizedException("this token no longer stands: sign in again")
    return found.user


class TokenIssuer:
    """Signs short-lived tokens naming the user, their token generation and sign-in family."""

    def __init__(self, jwt_auth: JWTAuth[User, Token], lifetime_seconds: int) -> None:
        self._jwt_auth = jwt_auth
        self.lifetime_seconds = lifetime_seconds

    def issue(self, session: sessions.Session) -> TokenPair:
        user = session.caller.user
        access = self._jwt_auth.create_token(
            identifier=str(user.id),
            token_expiration=timedelta(seconds=self.lifetime_seconds),
            token_extras={
                # Informative only: each request loads the user's organisation and roles.
                "org": str(user.organisation_id) if user.organisation_id else None,
                "roles": sorted(user.roles),
                "gen": session.caller.generation,
                "fam": str(session.family_id),
            },
        )
        return TokenPair(
            access_token=access,
            token_type="bearer",  # noqa: S106 (the OAuth token type, not a secret)
            expires_in=self.lifetime_seconds,
            refresh_token=session.refresh_token,
            refresh_expires_in=session.refresh_expires_in,
        )


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/token",
        opt=rule(PUBLIC),
        status_code=200,
        summary="Sign in: exchange e-mail and password for an access and a refresh token",
        description=(
            "Answers a short-lived JWT access token (`expires_in` seconds) and an opaque refresh "
            "token (`refresh_expires_in` seconds; see `/auth/token/refresh`). Sign-in is "
            "throttled per account and per client address, in the database (all API workers "
            "share it): after a few failures each attempt must wait a delay that doubles up to "
            "a bound (`TRADEHALL_LOGIN_MAX_DELAY_SECONDS`); an attempt inside it is answered "
            "429 with `Retry-After` and the password is not checked. Failures are forgotten "
            "over time (one per `TRADEHALL_THROTTLE_DECAY_SECONDS`); a right password clears "
            "the account's count. A wrong e-mail and a wrong password get the same 401; a "
            "disabled account 403."
        ),
        responses=THROTTLED_RESPONSE,
    )
    async def token(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        tokens: NamedDependency[TokenIssuer],
        data: JSONBody[TokenRequest],
    ) -> TokenPair:
        client = client_address(request, identity.settings.trusted_proxy_hops)
        try:
            caller = await sessions.sign_in(identity, data.email, data.password, client)
        except sessions.WrongCredentials:
            raise NotAuthorizedException("the e-mail address or password is wrong") from None
        except sessions.AccountDisabled:
            raise PermissionDeniedException("this account is disabled") from None
        return tokens.issue(await sessions.open_session(identity, caller))

    @post(
        "/token/refresh",
        opt=rule(PUBLIC),
        status_code=200,
        summary="Rotate a refresh token: a new access and refresh token",
        description=(
            "Each refresh token works once: it is answered with a new pair and is used up. "
            "Presenting a used refresh token again means a copy is in other hands: the whole "
            "sign-in (every refresh token and access token descending from it) is revoked and "
            "the answer is 401. So is a token that expired, was revoked by logout, a password "
            "reset, a disabled account or a removed role. Two concurrent refreshes with one "
            "token count as reuse."
        ),
    )
    async def refresh(
        self,
        identity: NamedDependency[Identity],
        tokens: NamedDependency[TokenIssuer],
        data: JSONBody[RefreshRequest],
    ) -> TokenPair:
        try:
            session = await sessions.refresh(identity, data.refresh_token)
        except sessions.RefreshRefused as refused:
            raise NotAuthorizedException(refused.reason) from None
        return tokens.issue(session)

    @post(
        "/logout",
        opt=rule(PUBLIC),
        status_code=200,
        summary="Sign out: end the sign-in the refresh token belongs to",
        description=(
            "Revokes the refresh token's whole sign-in: its refresh tokens stop working, and so "
            "do the access tokens issued with them, at their next request. Public, so that a "
            "client whose access token has expired can still sign out; an unknown token changes "
            "nothing and gets the same answer."
        ),
    )
    async def logout(
        self, identity: NamedDependency[Identity], data: JSONBody[RefreshRequest]
    ) -> LoggedOut:
        await sessions.logout(identity, data.refresh_token)
        return LoggedOut(status="signed out")
