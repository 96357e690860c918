"""Sign-in request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class UserRead(BaseModel):
    user_id: str
    email: str
    role: str
    team: str
