"""Plain factory functions for test data, written through the services."""

from __future__ import annotations

import itertools
import os
import subprocess
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from devflowfix.auth import service as auth_service
from devflowfix.auth.passwords import hash_password
from devflowfix.auth.tokens import issue_token
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.exports.repository import IncidentRow
from devflowfix.incidents import service as incidents_service
from devflowfix.incidents.schemas import IncidentCreate
from devflowfix.models import Incident, User
from devflowfix.vocabulary import Role, Severity

PASSWORD = "correct-horse-battery"
_emails = itertools.count(1)


@cache
def _password_hash() -> str:
    # Argon2 is slow on purpose; hash the shared test password once per run.
    return hash_password(PASSWORD)


def make_user(
    database: Database,
    *,
    role: Role = Role.MEMBER,
    team: str = "acme",
    email: str | None = None,
) -> User:
    """A user saved in `team`, with the password `PASSWORD`."""
    with database.transaction() as session:
        return auth_service.create_user(
            session,
            email=email or f"user{next(_emails)}@{team}.example.com",
            password=PASSWORD,
            role=role,
            team_name=team,
            password_hash=_password_hash(),
        )


def auth_headers(user: User, settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(user.public_id, settings)}"}


def incident_payload(**overrides: Any) -> dict[str, Any]:
    """A valid `POST /api/v1/incidents` body."""
    payload: dict[str, Any] = {
        "source": "github_actions",
        "severity": "high",
        "failure_type": "dependency_error",
        "outcome": "pending",
        "error_message": "npm ERR! code ERESOLVE unable to resolve dependency tree",
        "repository": "acme/web-app",
        "branch": "main",
        "commit_sha": "3f9c2a7e1b4d",
        "workflow": "CI",
        "job": "build",
        "run_url": "https://github.com/acme/web-app/actions/runs/123456",
        "error_log": "##[error]npm ERR! code ERESOLVE\nnpm ERR! unable to resolve",
        "root_cause": "Conflicting peer dependency on react@17",
        "confidence": 0.85,
        "tags": ["frontend", "npm"],
        "timestamp": "2026-11-28T10:30:00Z",
    }
    payload.update(overrides)
    return payload


def make_incident(
    database: Database,
    user: User,
    *,
    created_at: datetime | None = None,
    **overrides: Any,
) -> Incident:
    """An incident of `user`'s team, created through the service.

    `created_at` back-dates it, as incidents loaded from history are.
    """
    data = IncidentCreate.model_validate(incident_payload(**overrides))
    with database.transaction() as session:
        incident = incidents_service.create_incident(
            session, user, data, max_log_bytes=65536
        )
        if created_at is not None:
            incident.created_at = created_at
            incident.updated_at = created_at
        session.flush()
        return incident


ROW_CREATED_AT = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)


def make_export_row(number: int = 0, **overrides: Any) -> IncidentRow:
    """An export row in memory; each number has its own id and is a minute older."""
    created_at = ROW_CREATED_AT - timedelta(minutes=number)
    values: dict[str, Any] = {
        "id": number + 1,
        "incident_id": f"inc_{number:012x}",
        "timestamp": created_at,
        "created_at": created_at,
        "updated_at": created_at,
        "resolved_at": None,
        "source": "github_actions",
        "severity": Severity.HIGH,
        "failure_type": "dependency_error",
        "outcome": "pending",
        "repository": "acme/web-app",
        "branch": "main",
        "commit_sha": "3f9c2a7e1b4d",
        "workflow": "CI",
        "job": "build",
        "run_url": "https://ci.example.com/runs/1",
        "external_id": None,
        "error_message": "npm ERR! code ERESOLVE",
        "root_cause": "Conflicting peer dependency",
        "suggested_fix": None,
        "confidence": 0.85,
        "tags": ["frontend", "npm"],
        "resolution_time_seconds": None,
    }
    values.update(overrides)
    return IncidentRow(**values)


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Seed Author",
    "GIT_AUTHOR_EMAIL": "seed@example.com",
    "GIT_COMMITTER_NAME": "Seed Author",
    "GIT_COMMITTER_EMAIL": "seed@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(directory: Path, *args: str, stdin: str | None = None) -> str:
    """Run git in `directory` with a fixed identity; its standard output."""
    completed = subprocess.run(
        ["git", *args],
        cwd=directory,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        env={
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(directory),
            **GIT_IDENTITY,
        },
    )
    return completed.stdout


def make_git_remote(path: Path, files: dict[str, str], *, branch: str = "main") -> Path:
    """A bare repository at `path` whose `branch` has one commit with `files`."""
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--bare", f"--initial-branch={branch}")
    seed = path.parent / f"{path.name}-seed"
    seed.mkdir()
    git(seed, "init", "--quiet", f"--initial-branch={branch}")
    for name, content in files.items():
        (seed / name).parent.mkdir(parents=True, exist_ok=True)
        (seed / name).write_text(content)
    git(seed, "add", "--all")
    git(seed, "commit", "--quiet", "--message", "Seed the repository")
    git(seed, "push", "--quiet", str(path), f"{branch}:{branch}")
    return path


def remote_refs(path: Path) -> dict[str, str]:
    """Every ref of a repository and the commit it points at."""
    output = git(path, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ", 1) for line in output.splitlines())
