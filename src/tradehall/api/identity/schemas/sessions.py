"""Requests and responses of sign-in sessions: token pairs, refresh, logout."""

from __future__ import annotations

from typing import Annotated

import msgspec

from tradehall.api.schemas.base import RequestBody

RefreshToken = Annotated[
    str,
    msgspec.Meta(
        min_length=20,
        max_length=200,
        pattern="^[A-Za-z0-9_-]+$",
        description="an opaque refresh token, as /auth/token or /auth/token/refresh answered it",
    ),
]


class RefreshRequest(RequestBody):
    refresh_token: RefreshToken


class TokenPair(msgspec.Struct, kw_only=True):
    """A short-lived access token (a JWT, for `Authorization: Bearer`) and a refresh token."""

    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class LoggedOut(msgspec.Struct, kw_only=True):
    status: str
