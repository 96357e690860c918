"""Plain factory functions for test data, written through the services."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import secrets
import subprocess
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from devflowfix.analysis.automatic import AutomaticAnalysis
from devflowfix.auth import service as auth_service
from devflowfix.auth.passwords import hash_password
from devflowfix.auth.tokens import issue_token
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.exports.repository import IncidentRow
from devflowfix.incidents import service as incidents_service
from devflowfix.incidents.schemas import IncidentCreate
from devflowfix.integrations import service as integration_service
from devflowfix.integrations.crypto import SecretBox
from devflowfix.integrations.schemas import IntegrationUpdate
from devflowfix.jobs.dispatch import JobDispatcher, LocalDispatcher
from devflowfix.jobs.scaled import ProcrastinateDispatcher
from devflowfix.models import Incident, IncidentTag, Job, User
from devflowfix.vocabulary import Provider, Role, Severity
from devflowfix.webhooks import service as webhook_service

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


def make_job(
    database: Database, user: User, job_type: str = "test_record", **fields: Any
) -> Job:
    """A job row of `user`, queued unless `fields` say otherwise."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "user_id": user.id,
        "team_id": user.team_id,
        "job_type": job_type,
        "status": "queued",
        "parameters": {},
        "created_at": now,
        "updated_at": now,
    }
    values.update(fields)
    with database.transaction() as session:
        job = Job(**values)
        session.add(job)
    return job


def make_incidents(
    database: Database, user: User, count: int, **overrides: Any
) -> list[int]:
    """`count` incidents of the user's team, written in bulk; their row ids."""
    happened_at = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)
    tags = overrides.pop("tags", ["frontend", "npm"])
    rows = [
        {
            "public_id": f"inc_{secrets.token_hex(6)}",
            "team_id": user.team_id,
            "source": "github_actions",
            "severity": Severity.HIGH,
            "failure_type": "dependency_error",
            "outcome": "pending",
            "repository": "acme/web-app",
            "error_message": f"npm ERR! code ERESOLVE in build {number}",
            "tags": list(tags),
            "timestamp": happened_at,
            "created_at": happened_at,
            "updated_at": happened_at,
            **overrides,
        }
        for number in range(count)
    ]
    with database.transaction() as session:
        before = session.scalar(select(func.max(Incident.id))) or 0
        session.execute(insert(Incident.__table__), rows)
        ids = list(session.scalars(select(Incident.id).where(Incident.id > before)))
        tag_rows = [
            {"incident_id": incident_id, "tag": tag, "team_id": user.team_id}
            for incident_id in ids
            for tag in tags
        ]
        if tag_rows:
            session.execute(insert(IncidentTag), tag_rows)
    return sorted(ids)


WEBHOOK_SECRET = "whsec-test-0123456789abcdef"
WEBHOOK_DATA = Path(__file__).resolve().parent / "data" / "webhooks"


def make_integration(
    database: Database,
    settings: Settings,
    *,
    team: str = "acme",
    provider: Provider = Provider.GITHUB,
    webhook_secret: str | None = WEBHOOK_SECRET,
    token: str | None = None,
    base_url: str | None = None,
) -> None:
    """Set a team's integration with `provider`, creating the team if needed."""
    values = {"webhook_secret": webhook_secret, "token": token, "base_url": base_url}
    with database.transaction() as session:
        team_row = auth_service.ensure_team(session, team)
        integration_service.set_integration(
            session,
            team_row.id,
            provider,
            IntegrationUpdate.model_validate(values),
            SecretBox.from_settings(settings),
        )


def webhook_payload(name: str, **changes: Any) -> dict[str, Any]:
    """A provider's example payload from tests/data/webhooks, with changes.

    A change key such as `workflow_job.conclusion` sets a nested field.
    """
    payload: dict[str, Any] = json.loads((WEBHOOK_DATA / f"{name}.json").read_text())
    for path, value in changes.items():
        target = payload
        *parents, leaf = path.split(".")
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    return payload


def signed_headers(
    body: bytes, *, secret: str = WEBHOOK_SECRET, header: str = "X-Hub-Signature-256"
) -> dict[str, str]:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {header: signature, "Content-Type": "application/json"}


def github_job_failure(run_id: int, job_id: int | None = None) -> dict[str, Any]:
    """The example `workflow_job` failure, for another run (and job) of acme/orders.

    Its log is at `github_log_path(job_id)`, which is `run_id + 1` by default.
    """
    return webhook_payload(
        "github_workflow_job_failed",
        **{"workflow_job.run_id": run_id, "workflow_job.id": job_id or run_id + 1},
    )


def github_log_path(job_id: int) -> str:
    """Where GitHub Enterprise (a base URL on a host of its own) serves a job log."""
    return f"/api/v3/repos/acme/orders/actions/jobs/{job_id}/logs"


def job_dispatcher(database: Database) -> JobDispatcher:
    """What hands jobs to this database's engine, as the API's does."""
    return LocalDispatcher() if database.is_sqlite else ProcrastinateDispatcher()


def automatic_analysis(database: Database, settings: Settings) -> AutomaticAnalysis:
    """Automatic analysis as the API runs it, switched on."""
    enabled = settings.model_copy(update={"auto_analyse": True})
    return AutomaticAnalysis(job_dispatcher(database), enabled)


def deliver_webhook(
    database: Database,
    settings: Settings,
    payload: dict[str, Any],
    *,
    team: str = "acme",
    event: str = "workflow_job",
    delivery_id: str | None = None,
    analysis: AutomaticAnalysis | None = None,
) -> Incident:
    """A signed GitHub delivery stored through the webhooks service."""
    body = json.dumps(payload).encode()
    delivery = webhook_service.Delivery(
        Provider.GITHUB,
        team,
        body,
        event,
        delivery_id,
        signed_headers(body)["X-Hub-Signature-256"],
    )
    box = SecretBox.from_settings(settings)
    with database.transaction() as session:
        verified = webhook_service.verify_delivery(session, delivery, box)
        result = webhook_service.record_delivery(
            session,
            verified,
            max_log_bytes=settings.max_error_log_bytes,
            analysis=analysis,
        )
    assert result.incident is not None
    return result.incident
