"""Sign-in endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form

from devflowfix.auth import service
from devflowfix.auth.schemas import TokenRead, UserRead
from devflowfix.auth.tokens import issue_token
from devflowfix.dependencies import CurrentUser, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/token", response_model=TokenRead)
def sign_in(
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=320, description="The user's email.")],
    password: Annotated[str, Form(max_length=1024)],
) -> TokenRead:
    """Exchange an email and password (OAuth2 password form) for a bearer token."""
    user = service.authenticate(session, username, password)
    token = issue_token(user.public_id, settings)
    return TokenRead(access_token=token, expires_in=settings.token_expires_seconds)


@router.get("/me", response_model=UserRead)
def read_current_user(user: CurrentUser) -> UserRead:
    """The signed-in user, their role and their team."""
    return UserRead(
        user_id=user.public_id, email=user.email, role=user.role, team=user.team.name
    )
