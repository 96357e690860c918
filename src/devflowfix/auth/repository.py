"""Queries for teams and users."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from devflowfix.models import Team, User


def find_team_by_name(session: Session, name: str) -> Team | None:
    return session.scalar(select(Team).where(Team.name == name))


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.lower()))


def find_user_by_public_id(session: Session, public_id: str) -> User | None:
    return session.scalar(select(User).where(User.public_id == public_id))


def find_team_users(session: Session, team_id: int) -> list[User]:
    """The team's people, by email; its service user is none of them."""
    return list(
        session.scalars(
            select(User)
            .where(User.team_id == team_id, User.is_service.is_(False))
            .order_by(User.email)
        )
    )


def find_service_user(session: Session, team_id: int) -> User | None:
    return session.scalar(
        select(User).where(User.team_id == team_id, User.is_service.is_(True))
    )


def find_team(session: Session, team_id: int) -> Team | None:
    return session.get(Team, team_id)
