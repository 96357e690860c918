"""Rules for users and sign-in."""

from __future__ import annotations

import re

import structlog
from sqlalchemy.exc import IntegrityError
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
# A service user's address has no dot after the @, so EMAIL never accepts it:
# no person can be created with it. Its password hash matches no password.
SERVICE_EMAIL = "automatic-jobs@{team}"
UNUSABLE_PASSWORD_HASH = "!"  # noqa: S105 - a marker, not a secret


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
    if user is None or user.is_service:
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
    if user is None or not user.is_active or user.is_service:
        raise Unauthorized("The token's user does not exist or is disabled.")
    return user


def ensure_service_user(session: Session, team_id: int) -> User:
    """The team's service user, created on first use.

    It owns the jobs nobody asked for (automatic analysis). It is inactive and
    has no password, so it can never sign in, and user lists leave it out.
    """
    user = repository.find_service_user(session, team_id)
    if user is not None:
        return user

    team = repository.find_team(session, team_id)
    if team is None:
        raise ValueError(f"no team with id {team_id}")

    try:
        # Two first deliveries of a team at once: the unique email lets one in.
        with session.begin_nested():
            user = User(
                email=SERVICE_EMAIL.format(team=team.name),
                password_hash=UNUSABLE_PASSWORD_HASH,
                role=Role.MEMBER.value,
                team_id=team.id,
                team=team,
                is_active=False,
                is_service=True,
            )
            session.add(user)
            session.flush()
    except IntegrityError:
        user = repository.find_service_user(session, team_id)
        if user is None:
            raise
        return user

    log.info("user.service_created", user_id=user.public_id, team=team.name)
    return user
