"""HS256 bearer tokens: `sub` is the user's public id; `iss`, `iat`, `exp` checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from devflowfix.config import Settings
from devflowfix.errors import Unauthorized

ALGORITHM = "HS256"


def issue_token(
    subject: str, settings: Settings, *, expires_in: int | None = None
) -> str:
    """A signed token for `subject` that expires after `expires_in` seconds."""
    issued_at = datetime.now(UTC)
    lifetime = expires_in if expires_in is not None else settings.token_expires_seconds
    claims = {
        "sub": subject,
        "iss": settings.token_issuer,
        "iat": issued_at,
        "exp": issued_at + timedelta(seconds=lifetime),
    }

    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def token_subject(token: str, settings: Settings) -> str:
    """The subject of a valid token; anything else raises `Unauthorized`."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            issuer=settings.token_issuer,
            options={"require": ["sub", "exp", "iat", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The token has expired; sign in again.") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("The token is not valid.") from exc

    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise Unauthorized("The token is not valid.")

    return subject
