"""The analysis handlers mid-run: progress, checkpoints, cancels and resumed attempts.

The handler runs in a thread of the test, on a job claimed as a runner claims
it, with the lease keeper that notices cancels; the provider's log API holds
a reply until the test opens its gate, so the test acts while a fetch is open.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import make_settings
from devflowfix.analysis.service import run_incident_analysis
from devflowfix.analysis.tasks import RunState
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.incidents import repository as incidents_repository
from devflowfix.jobs import service as jobs_service
from devflowfix.jobs.execution import (
    JobRuntime,
    claim_by_id,
    run_claimed_job,
    worker_identity,
)
from devflowfix.jobs.leases import LeaseKeeper
from devflowfix.jobs.results import ResultStore
from devflowfix.models import Incident, Job, User
from devflowfix.vocabulary import JobStatus, Role
from factories import (
    auth_headers,
    deliver_webhook,
    github_job_failure,
    github_log_path,
    job_dispatcher,
    make_incident,
    make_integration,
    make_user,
)
from job_helpers import JobApi, wait_until
from provider_server import ProviderServer, Reply, running_server

PYTEST_LOG = (
    "FAILED tests/test_orders.py::test_total_includes_tax - assert 118 == 120\n"
    "##[error]Process completed with exit code 1.\n"
)
DISK_LOG = "OSError: [Errno 28] No space left on device\n"
MODULE_LOG = "E   ModuleNotFoundError: No module named 'respx'\n"
UNCLASSIFIED = {"failure_type": "unknown", "root_cause": None, "confidence": None}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, analysis_batch_size=1)


@pytest.fixture
def member(database: Database) -> User:
    return make_user(database, role=Role.MEMBER)


@pytest.fixture
def github_api(database: Database, settings: Settings) -> Iterator[ProviderServer]:
    with running_server() as server:
        make_integration(database, settings, token="ghp_token123", base_url=server.url)
        yield server


class HandlerRun:
    """Claims a queued job and runs it to its end in a thread."""

    def __init__(self, database: Database, settings: Settings, job_id: str) -> None:
        self.keeper = LeaseKeeper(database, settings)
        self.runtime = JobRuntime(
            database=database,
            settings=settings,
            dispatcher=job_dispatcher(database),
            keeper=self.keeper,
            results=ResultStore(settings.results_dir),
            worker_name=worker_identity("analysis-test"),
        )
        claim = claim_by_id(self.runtime, job_id)
        assert claim is not None
        self.outcome: list[JobStatus | None] = []
        self.keeper.start()
        self.thread = threading.Thread(
            target=lambda: self.outcome.append(run_claimed_job(self.runtime, claim))
        )
        self.thread.start()

    def join(self) -> JobStatus | None:
        self.thread.join(timeout=60)
        self.keeper.stop()
        assert self.outcome, "the handler did not end"
        return self.outcome[0]


def enqueue(
    database: Database, settings: Settings, user: User, parameters: dict[str, Any]
) -> Job:
    with database.transaction() as session:
        return jobs_service.enqueue_job(
            session,
            user,
            "incident_analysis",
            parameters,
            dispatcher=job_dispatcher(database),
            settings=settings,
        )


def stored(database: Database, job_id: str) -> Job:
    with database.transaction(write=False) as session:
        job = session.scalars(select(Job).where(Job.public_id == job_id)).one()
        session.expunge(job)
        return job


def reload(database: Database, incident: Incident) -> Incident:
    with database.transaction(write=False) as session:
        found = incidents_repository.find_incident(
            session, incident.team_id, incident.public_id
        )
    assert found is not None
    return found


def webhook_incidents(
    database: Database, settings: Settings, count: int
) -> tuple[list[Incident], list[str]]:
    """`count` webhook incidents awaiting their logs, and those logs' paths."""
    incidents, paths = [], []
    for number in range(count):
        run_id = 1000 + 10 * number
        incidents.append(
            deliver_webhook(database, settings, github_job_failure(run_id))
        )
        paths.append(github_log_path(run_id + 1))
    return incidents, paths


def test_progress_and_checkpoint_follow_each_incident_and_a_cancel_stops_the_job(
    database: Database, settings: Settings, member: User, github_api: ProviderServer
) -> None:
    incidents, paths = webhook_incidents(database, settings, 4)
    gate = threading.Event()
    github_api.reply(paths[0], Reply(body=PYTEST_LOG.encode()))
    github_api.reply(paths[1], Reply(body=DISK_LOG.encode(), gate=gate))
    for path in paths[2:]:
        github_api.reply(path, Reply(body=MODULE_LOG.encode()))
    job = enqueue(database, settings, member, {})

    run = HandlerRun(database, settings, job.public_id)
    wait_until(lambda: paths[1] in github_api.paths(), what="the second fetch")
    midway = stored(database, job.public_id)
    with database.transaction() as session:
        jobs_service.cancel_job(
            session,
            member,
            job.public_id,
            dispatcher=job_dispatcher(database),
            settings=settings,
        )
    gate.set()
    outcome = run.join()

    assert (midway.progress, midway.current_step) == (25, "Analysed 1 of 4 incidents")
    assert midway.checkpoint == asdict(
        RunState(
            up_to_id=incidents[-1].id,
            matched=4,
            cursor=incidents[0].id,
            passed=1,
            analysed=1,
            by_failure_type={"test_failure": 1},
        )
    )
    assert outcome is JobStatus.CANCELLED
    assert stored(database, job.public_id).status == "cancelled"
    assert github_api.paths() == paths[:2]
    assert [reload(database, incident).analysis_status for incident in incidents] == [
        "analysed",
        "analysed",
        "awaiting_log",
        "awaiting_log",
    ]


def test_a_cancel_cuts_short_the_wait_for_a_rate_limited_provider(
    database_url: str,
    tmp_path: Path,
    database: Database,
    member: User,
    github_api: ProviderServer,
) -> None:
    settings = make_settings(
        database_url, tmp_path, log_fetch_attempts=2, log_fetch_max_wait_seconds=600
    )
    incidents, paths = webhook_incidents(database, settings, 2)
    github_api.reply(paths[0], Reply(429, headers={"Retry-After": "300"}))
    job = enqueue(database, settings, member, {})

    run = HandlerRun(database, settings, job.public_id)
    wait_until(lambda: paths[0] in github_api.paths(), what="the first fetch")
    with database.transaction() as session:
        jobs_service.cancel_job(
            session,
            member,
            job.public_id,
            dispatcher=job_dispatcher(database),
            settings=settings,
        )
    outcome = run.join()

    assert outcome is JobStatus.CANCELLED
    assert github_api.paths() == paths[:1]
    assert [reload(database, incident).analysis_status for incident in incidents] == [
        "awaiting_log",
        "awaiting_log",
    ]


def _queue_as_if_retried(
    client: TestClient,
    database: Database,
    user: User,
    job_type: str,
    parameters: dict[str, Any],
    checkpoint: dict[str, Any] | None,
    created_at: datetime,
) -> Job:
    with database.transaction() as session:
        job = Job(
            user_id=user.id,
            team_id=user.team_id,
            job_type=job_type,
            status="queued",
            attempts=1,
            max_attempts=3,
            parameters=parameters,
            checkpoint=checkpoint,
            started_at=created_at,
            created_at=created_at,
            updated_at=created_at,
        )
        session.add(job)
        session.flush()
        client.app.state.job_dispatcher.submit(session, job)
    return job


def test_a_retried_analysis_resumes_and_analyses_nothing_twice(
    client: TestClient,
    job_worker: None,
    database: Database,
    settings: Settings,
    member: User,
) -> None:
    incidents = [
        make_incident(database, member, error_log=log, **UNCLASSIFIED)
        for log in (PYTEST_LOG, DISK_LOG, MODULE_LOG, PYTEST_LOG)
    ]
    # The first attempt analysed two, saved the checkpoint after the first
    # and died.
    for incident in incidents[:2]:
        run_incident_analysis(database, member.team_id, incident.public_id, settings)
    second_analysed_at = reload(database, incidents[1]).analysed_at
    checkpoint = RunState(
        up_to_id=incidents[-1].id,
        matched=4,
        cursor=incidents[0].id,
        passed=1,
        analysed=1,
        by_failure_type={"test_failure": 1},
    )
    job = _queue_as_if_retried(
        client,
        database,
        member,
        "incident_analysis",
        {},
        asdict(checkpoint),
        datetime.now(UTC),
    )

    done = JobApi(client, auth_headers(member, settings)).wait_until_final(
        job.public_id
    )

    assert done["status"] == "completed"
    assert done["result"] == {
        "matched": 4,
        "analysed": 3,
        "failed": 0,
        "skipped": 1,
        "by_failure_type": {"test_failure": 2, "dependency_error": 1},
        "failed_incidents": [],
    }
    assert reload(database, incidents[1]).analysed_at == second_analysed_at
    assert all(reload(database, incident).analysed_at for incident in incidents)


def test_a_retried_reanalysis_skips_what_it_reanalysed_before(
    client: TestClient,
    job_worker: None,
    database: Database,
    settings: Settings,
    member: User,
) -> None:
    incidents = [
        make_incident(database, member, error_log=log) for log in (PYTEST_LOG, DISK_LOG)
    ]
    created_at = datetime.now(UTC)
    # The first attempt re-analysed the first incident, then died before its
    # first checkpoint.
    run_incident_analysis(
        database, member.team_id, incidents[0].public_id, settings, replace=True
    )
    first_analysed_at = reload(database, incidents[0]).analysed_at
    job = _queue_as_if_retried(
        client,
        database,
        member,
        "incident_reanalysis",
        {"incident_ids": [incident.public_id for incident in incidents]},
        None,
        created_at,
    )

    done = JobApi(client, auth_headers(member, settings)).wait_until_final(
        job.public_id
    )

    assert done["status"] == "completed"
    assert (done["result"]["analysed"], done["result"]["skipped"]) == (1, 1)
    assert reload(database, incidents[0]).analysed_at == first_analysed_at
    assert reload(database, incidents[1]).failure_type == "disk_space"
