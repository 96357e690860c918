"""SIGKILL in the middle of a bulk job, then a restart: nothing lost, nothing twice.

SQLite: a real `devflowfix serve` process runs the job and is killed; a new
one recovers it. PostgreSQL: a real `devflowfix worker` process is killed and
a new worker finishes the job. An audit trigger records every update of every
incident, so "exactly once" is counted by the database itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from conftest import POSTGRES_URL, TEST_SECRET_KEY
from devflowfix.auth.tokens import issue_token
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.db.migrate import upgrade_to_head
from devflowfix.jobs import service
from devflowfix.jobs.scaled import ProcrastinateDispatcher
from devflowfix.models import Incident, Job
from devflowfix.vocabulary import Role
from factories import make_incidents, make_user
from job_helpers import wait_until
from processes import Processes, own_database

pytestmark = pytest.mark.slow

INCIDENTS = 20_000
BATCH = 100
COMMAND = str(Path(sys.executable).parent / "devflowfix")

SQLITE_AUDIT = [
    "CREATE TABLE incident_audit (incident_id INTEGER NOT NULL)",
    "CREATE TRIGGER audit_incident_update AFTER UPDATE ON incidents "
    "BEGIN INSERT INTO incident_audit VALUES (new.id); END",
]
POSTGRES_AUDIT = [
    "CREATE TABLE incident_audit (incident_id BIGINT NOT NULL)",
    "CREATE FUNCTION audit_incident_update() RETURNS trigger AS $$ BEGIN "
    "INSERT INTO incident_audit VALUES (NEW.id); RETURN NEW; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_incident_update AFTER UPDATE ON incidents FOR EACH ROW "
    "EXECUTE FUNCTION audit_incident_update()",
]


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def kill_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own, which its processes share."""
    if request.param == "postgres" and not POSTGRES_URL:
        pytest.skip("DEVFLOWFIX_TEST_POSTGRES_URL is not set")
    with own_database(request.param, tmp_path, "devflowfix_kill") as url:
        yield url


@pytest.fixture
def processes(kill_url: str, tmp_path: Path) -> Iterator[Processes]:
    environment = {
        **os.environ,
        "DEVFLOWFIX_DATABASE_URL": kill_url,
        "DEVFLOWFIX_SECRET_KEY": TEST_SECRET_KEY,
        "DEVFLOWFIX_ENV": "test",
        "DEVFLOWFIX_RESULTS_DIR": str(tmp_path / "results"),
        "DEVFLOWFIX_LOG_LEVEL": "WARNING",
        "DEVFLOWFIX_JOB_WORKERS": "1",
        "DEVFLOWFIX_BULK_BATCH_SIZE": str(BATCH),
        "DEVFLOWFIX_JOB_PROGRESS_INTERVAL_SECONDS": "0",
    }
    started = Processes(environment, tmp_path)
    yield started
    started.stop_all()


def _job(database: Database, job_id: str) -> Job:
    with database.transaction(write=False) as session:
        job = session.scalar(select(Job).where(Job.public_id == job_id))
        assert job is not None
        return job


def _kill_mid_job(
    database: Database, job_id: str, process: subprocess.Popen[bytes]
) -> int:
    """SIGKILL `process` once the job is between 5 % and 80 %; the progress then."""
    job = wait_until(
        lambda: (found := _job(database, job_id)).progress >= 5 and found,
        timeout=60,
        what="the bulk job to get going",
    )
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert job.progress < 80, "the job ran too fast to be killed in the middle"
    return _job(database, job_id).progress


def _serve_and_enqueue(
    processes: Processes, settings: Settings, token: str
) -> tuple[subprocess.Popen[bytes], str]:
    server = processes.serve()
    response = httpx.post(
        f"{server.url}/api/v1/jobs",
        json={
            "job_type": "bulk_update",
            "parameters": {
                "filters": {},
                "changes": {"outcome": "success", "tags_add": ["recovered"]},
            },
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    return server.process, response.json()["job_id"]


def _work_and_enqueue(
    processes: Processes, database: Database, settings: Settings, user: Any
) -> tuple[subprocess.Popen[bytes], str]:
    worker = processes.start("worker")
    with database.transaction() as session:
        job = service.enqueue_job(
            session,
            user,
            "bulk_update",
            {
                "filters": {},
                "changes": {"outcome": "success", "tags_add": ["recovered"]},
            },
            dispatcher=ProcrastinateDispatcher(),
            settings=settings,
        )
    return worker, job.public_id


@pytest.fixture
def database(kill_url: str) -> Iterator[Database]:
    database = Database.from_settings(Settings(database_url=kill_url))
    upgrade_to_head(database.engine)
    yield database
    database.dispose()


def test_a_killed_bulk_job_finishes_after_a_restart_changing_each_incident_once(
    kill_url: str, database: Database, processes: Processes
) -> None:
    settings = Settings(database_url=kill_url, secret_key=TEST_SECRET_KEY)
    user = make_user(database, role=Role.ADMIN)
    make_incidents(database, user, INCIDENTS)
    with database.transaction() as session:
        for statement in SQLITE_AUDIT if database.is_sqlite else POSTGRES_AUDIT:
            session.execute(text(statement))

    if database.is_sqlite:
        token = issue_token(user.public_id, settings)
        first, job_id = _serve_and_enqueue(processes, settings, token)
    else:
        first, job_id = _work_and_enqueue(processes, database, settings, user)
    progress_at_kill = _kill_mid_job(database, job_id, first)
    assert _job(database, job_id).status == "processing"

    if database.is_sqlite:
        processes.serve()
    else:
        processes.start("worker")
    done = wait_until(
        lambda: (
            (job := _job(database, job_id)).status != "processing"
            and job.status != "queued"
            and job
        ),
        timeout=120,
        what="the job to finish after the restart",
    )

    assert 5 <= progress_at_kill < 100
    assert (done.status, done.attempts, done.progress) == ("completed", 2, 100)
    assert done.result == {"matched": INCIDENTS, "changed": INCIDENTS, "unchanged": 0}
    with database.transaction(write=False) as session:
        per_incident = session.execute(
            text(
                "SELECT count(*), min(n), max(n) FROM (SELECT incident_id, count(*) "
                "AS n FROM incident_audit GROUP BY incident_id) AS updates"
            )
        ).one()
        outcomes = dict(
            session.execute(
                select(Incident.outcome, func.count()).group_by(Incident.outcome)
            ).all()
        )
        left_processing = session.scalar(
            select(func.count()).select_from(Job).where(Job.status == "processing")
        )
    assert tuple(per_incident) == (INCIDENTS, 1, 1)
    assert outcomes == {"success": INCIDENTS}
    assert left_processing == 0
