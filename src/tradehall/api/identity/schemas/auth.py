"""Requests and responses of authentication."""

from __future__ import annotations

import msgspec

from tradehall.api.schemas.base import Email, Password, RequestBody


class TokenRequest(RequestBody):
    email: Email
    password: Password


class TokenResponse(msgspec.Struct, kw_only=True):
    access_token: str
    token_type: str
    expires_in: int
