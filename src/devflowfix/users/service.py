"""Rules for admins managing their team's users."""

from __future__ import annotations

import structlog
from sqlalchemy.orm import Session

from devflowfix.auth import repository
from devflowfix.auth import service as auth_service
from devflowfix.auth.passwords import hash_password
from devflowfix.errors import Conflict, NotFound
from devflowfix.models import User
from devflowfix.users.schemas import UserCreate, UserUpdate
from devflowfix.vocabulary import Role

log = structlog.get_logger(__name__)


def list_team_users(session: Session, admin: User) -> list[User]:
    """The users of the admin's team, by email."""
    return repository.find_team_users(session, admin.team_id)


def find_team_user(session: Session, admin: User, user_id: str) -> User:
    """A user of the admin's team; other teams' users and the team's service
    user are not found."""
    user = repository.find_user_by_public_id(session, user_id)
    if user is None or user.team_id != admin.team_id or user.is_service:
        raise NotFound(f"No user {user_id}.")
    return user


def add_team_user(session: Session, admin: User, data: UserCreate) -> User:
    """Create a user in the admin's team."""
    return auth_service.create_user(
        session,
        email=data.email,
        password=data.password,
        role=data.role,
        team_name=admin.team.name,
    )


def update_team_user(
    session: Session, admin: User, user_id: str, data: UserUpdate
) -> User:
    """Change a team user's role, activity or password."""
    user = find_team_user(session, admin, user_id)
    if user.id == admin.id and (
        (data.role is not None and data.role is not Role.ADMIN)
        or data.is_active is False
    ):
        raise Conflict("Admins cannot demote or disable themselves.")

    if data.role is not None:
        user.role = data.role.value
    if data.is_active is not None:
        user.is_active = data.is_active
    if data.password is not None:
        user.password_hash = hash_password(data.password)
    session.flush()

    log.info(
        "user.updated",
        user_id=user.public_id,
        fields=sorted(data.model_dump(exclude_unset=True)),
    )
    return user
