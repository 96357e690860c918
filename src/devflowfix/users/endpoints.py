"""Admin endpoints to manage the users of one's own team."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response, status

from devflowfix.dependencies import (
    AdminUser,
    SessionDep,
    SettingsDep,
    WriteSessionDep,
    require_json,
)
from devflowfix.models import User
from devflowfix.routing import UserId
from devflowfix.urls import absolute_url
from devflowfix.users import service
from devflowfix.users.schemas import TeamUserList, TeamUserRead, UserCreate, UserUpdate

router = APIRouter(
    prefix="/api/v1/users", tags=["users"], dependencies=[Depends(require_json)]
)


def _read(user: User) -> TeamUserRead:
    return TeamUserRead(
        user_id=user.public_id,
        email=user.email,
        role=user.role,
        is_active=user.is_active,
        team=user.team.name,
        created_at=user.created_at,
    )


@router.get("", response_model=TeamUserList)
def list_users(session: SessionDep, admin: AdminUser) -> TeamUserList:
    """The users of your team (admins only)."""
    users = service.list_team_users(session, admin)
    return TeamUserList(users=[_read(user) for user in users], total=len(users))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TeamUserRead)
def create_user(
    data: UserCreate,
    request: Request,
    response: Response,
    session: WriteSessionDep,
    settings: SettingsDep,
    admin: AdminUser,
) -> TeamUserRead:
    """Add a user to your team (admins only)."""
    user = service.add_team_user(session, admin, data)
    response.headers["Location"] = absolute_url(
        request, settings, f"/api/v1/users/{user.public_id}"
    )
    return _read(user)


@router.get("/{user_id:user_id}", response_model=TeamUserRead)
def read_user(user_id: UserId, session: SessionDep, admin: AdminUser) -> TeamUserRead:
    """One user of your team (admins only)."""
    return _read(service.find_team_user(session, admin, user_id))


@router.patch("/{user_id:user_id}", response_model=TeamUserRead)
def update_user(
    user_id: UserId, data: UserUpdate, session: WriteSessionDep, admin: AdminUser
) -> TeamUserRead:
    """Change a team user's role, whether they may sign in, or their password."""
    return _read(service.update_team_user(session, admin, user_id, data))
