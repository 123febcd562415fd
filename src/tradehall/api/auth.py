"""Sign-in: a short-lived JWT for a user's e-mail and password."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from litestar import Controller, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import JSONBody
from litestar.security.jwt import JWTAuth, Token

from tradehall.api.access import PUBLIC, rule
from tradehall.api.schemas.auth import TokenRequest, TokenResponse
from tradehall.identity.users import Role, User
from tradehall.services import Services


async def user_from_token(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> User:
    """The caller, from the token's claims alone (no database read per request)."""
    try:
        organisation = token.extras.get("org")
        return User(
            id=UUID(token.sub),
            email="",
            organisation_id=UUID(organisation) if organisation else None,
            roles=frozenset(Role(name) for name in token.extras.get("roles", [])),
        )
    except (ValueError, TypeError):
        raise NotAuthorizedException("the token's claims are malformed") from None


class TokenIssuer:
    """Signs short-lived tokens carrying the user's organisation and roles."""

    def __init__(self, jwt_auth: JWTAuth[User, Token], lifetime_seconds: int) -> None:
        self._jwt_auth = jwt_auth
        self.lifetime_seconds = lifetime_seconds

    def issue(self, user: User) -> str:
        return self._jwt_auth.create_token(
            identifier=str(user.id),
            token_expiration=timedelta(seconds=self.lifetime_seconds),
            token_extras={
                "org": str(user.organisation_id) if user.organisation_id else None,
                "roles": sorted(user.roles),
            },
        )


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/token",
        opt=rule(PUBLIC),
        status_code=200,
        summary="Exchange e-mail and password for a short-lived JWT",
    )
    async def token(
        self,
        services: NamedDependency[Services],
        tokens: NamedDependency[TokenIssuer],
        data: JSONBody[TokenRequest],
    ) -> TokenResponse:
        found = await services.users.credentials(data.email.strip().lower())
        user, password_hash = found if found else (None, None)
        verified = await services.run(services.passwords.verify, password_hash, data.password)
        if user is None or not verified:
            raise NotAuthorizedException("the e-mail address or password is wrong")
        return TokenResponse(
            access_token=tokens.issue(user),
            token_type="bearer",  # noqa: S106 (the OAuth token type, not a secret)
            expires_in=tokens.lifetime_seconds,
        )
