"""Rules for users and sign-in."""

from __future__ import annotations

import re

import structlog
from sqlalchemy.orm import Session

from devflowfix.auth import repository
from devflowfix.auth.passwords import (
    burn_verification_time,
    hash_password,
    verify_password,
)
from devflowfix.errors import Conflict, Unauthorized, ValidationFailed
from devflowfix.models import Team, User
from devflowfix.vocabulary import Role

log = structlog.get_logger(__name__)

TEAM_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
MIN_PASSWORD_LENGTH = 8


def ensure_team(session: Session, name: str) -> Team:
    """The team called `name`, created when it does not exist yet."""
    if not TEAM_NAME.match(name):
        raise ValidationFailed.for_field(
            "team",
            "A team name is 1-64 lowercase letters, digits, '-' or '_'.",
        )
    team = repository.find_team_by_name(session, name)
    if team is None:
        team = Team(name=name)
        session.add(team)
        session.flush()
        log.info("team.created", team=name)
    return team


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    role: Role = Role.MEMBER,
    team_name: str = "default",
    password_hash: str | None = None,
) -> User:
    """Create a user in `team_name` (creating the team); the email must be new."""
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise ValidationFailed.for_field("email", "Give a valid email address.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed.for_field(
            "password", f"A password has at least {MIN_PASSWORD_LENGTH} characters."
        )
    if repository.find_user_by_email(session, email) is not None:
        raise Conflict(f"A user with the email {email} already exists.")

    team = ensure_team(session, team_name)
    user = User(
        email=email,
        password_hash=password_hash or hash_password(password),
        role=Role(role).value,
        team_id=team.id,
        team=team,
    )
    session.add(user)
    session.flush()

    log.info("user.created", user_id=user.public_id, team=team.name, role=user.role)
    return user


def authenticate(session: Session, email: str, password: str) -> User:
    """The active user with this email and password, else `Unauthorized`."""
    user = repository.find_user_by_email(session, email.strip())
    if user is None:
        burn_verification_time(password)
        raise Unauthorized("Wrong email or password.")
    if not verify_password(password, user.password_hash) or not user.is_active:
        raise Unauthorized("Wrong email or password.")
    return user


def find_user(session: Session, email: str) -> User | None:
    """The user with this email, if any."""
    return repository.find_user_by_email(session, email.strip())


def find_active_user(session: Session, public_id: str) -> User:
    """The active user a token names, else `Unauthorized`."""
    user = repository.find_user_by_public_id(session, public_id)
    if user is None or not user.is_active:
        raise Unauthorized("The token's user does not exist or is disabled.")
    return user
