"""Dependency aliases that make endpoints read like sentences.

`SessionDep` reads; `WriteSessionDep` writes (on SQLite its transaction takes the
write lock when it begins). Both commit when the endpoint returns and roll back
when it raises, before the response is sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from devflowfix.analysis.automatic import AutomaticAnalysis
from devflowfix.auth.service import find_active_user
from devflowfix.auth.tokens import token_subject
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.errors import PermissionDenied, Unauthorized, UnsupportedMediaType
from devflowfix.jobs.dispatch import JobDispatcher
from devflowfix.models import User
from devflowfix.vocabulary import Role

bearer_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


# Dependencies that do no I/O are coroutines: FastAPI runs a plain function in
# a worker thread, and each hop there costs a request tens of microseconds.
async def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def database_of(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def job_dispatcher_of(request: Request) -> JobDispatcher:
    dispatcher: JobDispatcher = request.app.state.job_dispatcher
    return dispatcher


SettingsDep = Annotated[Settings, Depends(settings_of)]
DatabaseDep = Annotated[Database, Depends(database_of)]
# Hands enqueued jobs to this deployment's engine (see devflowfix.jobs.service).
JobDispatcherDep = Annotated[JobDispatcher, Depends(job_dispatcher_of)]


async def automatic_analysis_of(
    settings: SettingsDep, dispatcher: JobDispatcherDep
) -> AutomaticAnalysis:
    return AutomaticAnalysis(dispatcher, settings)


# Queues new incidents for analysis (DEVFLOWFIX_AUTO_ANALYSE).
AutomaticAnalysisDep = Annotated[AutomaticAnalysis, Depends(automatic_analysis_of)]


def _read_session(database: DatabaseDep) -> Iterator[Session]:
    with database.transaction(write=False) as session:
        yield session


def _write_session(database: DatabaseDep) -> Iterator[Session]:
    with database.transaction(write=True) as session:
        yield session


SessionDep = Annotated[Session, Depends(_read_session, scope="function")]
WriteSessionDep = Annotated[Session, Depends(_write_session, scope="function")]


async def _token_subject(
    settings: SettingsDep, token: Annotated[str | None, Depends(bearer_scheme)]
) -> str:
    # Checked before the request's body: a request without a valid token is a
    # 401 whatever it sends.
    if not token:
        raise Unauthorized("Send a bearer token in the Authorization header.")
    return token_subject(token, settings)


# The subject of the request's verified bearer token; the user is not looked up.
TokenSubject = Annotated[str, Depends(_token_subject)]


def _current_user(database: DatabaseDep, subject: TokenSubject) -> User:
    # Its own short transaction: the user must not hold the request's write lock.
    with database.transaction(write=False) as session:
        return find_active_user(session, subject)


CurrentUser = Annotated[User, Depends(_current_user)]


def require_role(role: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets through users whose role includes `role`."""

    async def check(user: CurrentUser) -> User:
        if not Role(user.role).includes(role):
            raise PermissionDenied(f"This needs the {role.value} role or higher.")
        return user

    return check


MemberUser = Annotated[User, Depends(require_role(Role.MEMBER))]
AdminUser = Annotated[User, Depends(require_role(Role.ADMIN))]


async def require_json(request: Request) -> None:
    """Refuse a request body that is not JSON with a 415."""
    if request.method not in {"POST", "PUT", "PATCH"}:
        return

    has_body = request.headers.get("content-length", "0") != "0" or (
        "transfer-encoding" in request.headers
    )
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()

    if has_body and not (
        media_type == "application/json" or media_type.endswith("+json")
    ):
        raise UnsupportedMediaType(
            f"Send the body as application/json, not {media_type or 'no content type'}."
        )
