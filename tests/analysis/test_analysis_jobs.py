"""incident_analysis and incident_reanalysis through the jobs API, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import make_settings
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.incidents import repository as incidents_repository
from devflowfix.models import Incident, Job, User
from devflowfix.vocabulary import Role
from factories import (
    auth_headers,
    deliver_webhook,
    github_job_failure,
    github_log_path,
    make_incident,
    make_integration,
    make_user,
)
from job_helpers import JobApi, serving
from provider_server import ProviderServer, Reply, running_server

PYTEST_LOG = (
    "FAILED tests/test_orders.py::test_total_includes_tax - assert 118 == 120\n"
    "==================== 1 failed, 212 passed in 14.21s ====================\n"
    "##[error]Process completed with exit code 1.\n"
)
MODULE_LOG = (
    "E   ModuleNotFoundError: No module named 'respx'\n"
    "##[error]Process completed with exit code 2.\n"
)
DISK_LOG = (
    "OSError: [Errno 28] No space left on device\n"
    "##[error]Process completed with exit code 1.\n"
)
PYTEST_CAUSE = (
    "pytest test tests/test_orders.py::test_total_includes_tax failed: "
    "assert 118 == 120."
)
UNCLASSIFIED = {"failure_type": "unknown", "root_cause": None, "confidence": None}


@pytest.fixture
def member(database: Database) -> User:
    return make_user(database, role=Role.MEMBER)


@pytest.fixture
def jobs(
    client: TestClient, job_worker: None, member: User, settings: Settings
) -> JobApi:
    return JobApi(client, auth_headers(member, settings))


@pytest.fixture
def github_api() -> Iterator[ProviderServer]:
    with running_server() as server:
        yield server


def unclassified(database: Database, user: User, log: str, **fields: Any) -> Incident:
    return make_incident(database, user, error_log=log, **{**UNCLASSIFIED, **fields})


def reload(database: Database, incident: Incident) -> Incident:
    with database.transaction(write=False) as session:
        found = incidents_repository.find_incident(
            session, incident.team_id, incident.public_id
        )
    assert found is not None
    return found


def run(jobs: JobApi, job_type: str, parameters: dict[str, Any]) -> dict[str, Any]:
    job = jobs.create(job_type, parameters)
    done = jobs.wait_until_final(job["job_id"])
    assert done["status"] == "completed", done
    return done


def test_analysis_takes_the_teams_incidents_never_analysed(
    jobs: JobApi, database: Database, member: User
) -> None:
    tests_failed = unclassified(database, member, PYTEST_LOG)
    missing_module = unclassified(database, member, MODULE_LOG)
    disk_full = unclassified(database, member, DISK_LOG)
    stranger = make_user(database, team="globex")
    theirs = unclassified(database, stranger, PYTEST_LOG)

    done = run(jobs, "incident_analysis", {})

    assert done["result"] == {
        "matched": 3,
        "analysed": 3,
        "failed": 0,
        "skipped": 0,
        "by_failure_type": {
            "dependency_error": 1,
            "disk_space": 1,
            "test_failure": 1,
        },
        "failed_incidents": [],
    }
    assert (done["progress"], done["current_step"]) == (
        100,
        "Analysed 3 of 3 incidents",
    )
    first = reload(database, tests_failed)
    assert (first.failure_type, first.root_cause) == ("test_failure", PYTEST_CAUSE)
    assert first.confidence == pytest.approx(0.97)
    assert first.analysis_status == "analysed"
    assert reload(database, missing_module).failure_type == "dependency_error"
    assert reload(database, disk_full).failure_type == "disk_space"
    assert reload(database, theirs).analysed_at is None


def test_analysis_again_finds_nothing_to_do(
    jobs: JobApi, database: Database, member: User
) -> None:
    incident = unclassified(database, member, PYTEST_LOG)
    run(jobs, "incident_analysis", {})
    analysed_at = reload(database, incident).analysed_at

    again = run(jobs, "incident_analysis", {})

    assert again["result"]["matched"] == 0
    assert again["current_step"] == "Analysed 0 of 0 incidents"
    assert reload(database, incident).analysed_at == analysed_at


def test_given_ids_already_analysed_are_skipped(
    jobs: JobApi, database: Database, member: User
) -> None:
    fresh = unclassified(database, member, PYTEST_LOG)
    earlier = unclassified(database, member, DISK_LOG)
    run(jobs, "incident_analysis", {"incident_ids": [earlier.public_id]})
    analysed_at = reload(database, earlier).analysed_at

    done = run(
        jobs,
        "incident_analysis",
        {"incident_ids": [fresh.public_id, earlier.public_id, fresh.public_id]},
    )

    assert done["result"]["matched"] == 2
    assert (done["result"]["analysed"], done["result"]["skipped"]) == (1, 1)
    assert done["result"]["by_failure_type"] == {"test_failure": 1}
    assert reload(database, earlier).analysed_at == analysed_at
    assert reload(database, fresh).failure_type == "test_failure"


def test_analysis_with_filters_takes_the_matching_incidents_only(
    jobs: JobApi, database: Database, member: User
) -> None:
    low = unclassified(database, member, PYTEST_LOG, severity="low")
    high = unclassified(database, member, DISK_LOG, severity="high")

    done = run(jobs, "incident_analysis", {"filters": {"severities": ["low"]}})

    assert done["result"]["matched"] == 1
    assert done["result"]["by_failure_type"] == {"test_failure": 1}
    assert reload(database, low).analysed_at is not None
    assert reload(database, high).analysed_at is None


def test_a_first_analysis_keeps_a_persons_classification(
    jobs: JobApi, database: Database, member: User
) -> None:
    classified = make_incident(database, member, error_log=PYTEST_LOG)

    run(jobs, "incident_analysis", {})

    after = reload(database, classified)
    assert (after.failure_type, after.root_cause, after.confidence) == (
        "dependency_error",
        "Conflicting peer dependency on react@17",
        0.85,
    )
    assert after.matched_rules == ["python.pytest_failed", "shell.exit_code"]


def test_reanalysis_replaces_earlier_results(
    jobs: JobApi, database: Database, member: User
) -> None:
    classified = make_incident(database, member, error_log=PYTEST_LOG)
    run(jobs, "incident_analysis", {})

    done = run(jobs, "incident_reanalysis", {"incident_ids": [classified.public_id]})

    after = reload(database, classified)
    assert done["result"]["analysed"] == 1
    assert (after.failure_type, after.root_cause) == ("test_failure", PYTEST_CAUSE)
    assert after.confidence == pytest.approx(0.97)
    assert after.suggested_fix is not None


def test_reanalysis_by_filters_stays_in_the_team(
    jobs: JobApi, database: Database, member: User
) -> None:
    mine = make_incident(database, member, error_log=DISK_LOG)
    other_type = make_incident(
        database, member, error_log=PYTEST_LOG, failure_type="timeout"
    )
    stranger = make_user(database, team="globex")
    theirs = make_incident(database, stranger, error_log=DISK_LOG)

    done = run(
        jobs,
        "incident_reanalysis",
        {"filters": {"failure_types": ["dependency_error"]}},
    )

    assert done["result"]["matched"] == 1
    assert done["result"]["by_failure_type"] == {"disk_space": 1}
    assert reload(database, mine).failure_type == "disk_space"
    assert reload(database, other_type).analysed_at is None
    assert reload(database, theirs).failure_type == "dependency_error"
    assert reload(database, theirs).analysed_at is None


def test_reanalysis_of_every_incident_takes_filters_that_are_empty(
    jobs: JobApi, database: Database, member: User
) -> None:
    incidents = [
        make_incident(database, member, error_log=log)
        for log in (PYTEST_LOG, MODULE_LOG)
    ]

    done = run(jobs, "incident_reanalysis", {"filters": {}})

    assert done["result"]["analysed"] == 2
    assert [reload(database, incident).failure_type for incident in incidents] == [
        "test_failure",
        "dependency_error",
    ]


def test_webhook_incidents_get_their_logs_from_the_provider(
    jobs: JobApi,
    database: Database,
    settings: Settings,
    github_api: ProviderServer,
) -> None:
    make_integration(database, settings, token="ghp_token123", base_url=github_api.url)
    github_api.reply(github_log_path(11), Reply(body=PYTEST_LOG.encode()))
    incident = deliver_webhook(database, settings, github_job_failure(10, 11))

    done = run(jobs, "incident_analysis", {"incident_ids": [incident.public_id]})

    after = reload(database, incident)
    assert done["result"]["analysed"] == 1
    assert (after.analysis_status, after.failure_type) == ("analysed", "test_failure")
    assert after.root_cause == PYTEST_CAUSE
    assert github_api.received[0].headers["Authorization"] == "Bearer ghp_token123"


@contextmanager
def jobs_api_with(
    settings: Settings, database: Database, user: User
) -> Iterator[JobApi]:
    with serving(settings, database) as client:
        yield JobApi(client, auth_headers(user, settings))


def test_a_provider_outage_fails_incidents_not_the_job(
    database_url: str,
    tmp_path: Path,
    database: Database,
    github_api: ProviderServer,
    member: User,
) -> None:
    settings = make_settings(database_url, tmp_path, log_fetch_attempts=2)
    make_integration(database, settings, token="ghp_token123", base_url=github_api.url)
    github_api.reply(github_log_path(21), Reply(503))
    github_api.reply(github_log_path(31), Reply(503))
    github_api.reply(github_log_path(41), Reply(body=DISK_LOG.encode()))
    down = [
        deliver_webhook(database, settings, github_job_failure(run_id))
        for run_id in (20, 30)
    ]
    fine = deliver_webhook(database, settings, github_job_failure(40))

    with jobs_api_with(settings, database, member) as api:
        done = run(api, "incident_analysis", {})

    message = "GitHub failed after 2 attempts; the last was HTTP 503."
    assert done["result"] == {
        "matched": 3,
        "analysed": 1,
        "failed": 2,
        "skipped": 0,
        "by_failure_type": {"unknown": 2, "disk_space": 1},
        "failed_incidents": [
            {"incident_id": incident.public_id, "error": message} for incident in down
        ],
    }
    for incident in down:
        after = reload(database, incident)
        assert (after.analysis_status, after.analysis_error) == (
            "log_unavailable",
            message,
        )
    assert reload(database, fine).failure_type == "disk_space"
    assert github_api.paths().count(github_log_path(21)) == 2


def test_analysis_goes_through_every_batch(
    database_url: str, tmp_path: Path, database: Database, member: User
) -> None:
    settings = make_settings(database_url, tmp_path, analysis_batch_size=2)
    incidents = [unclassified(database, member, PYTEST_LOG) for _ in range(5)]

    with jobs_api_with(settings, database, member) as api:
        done = run(api, "incident_analysis", {})
        with database.transaction(write=False) as session:
            job = session.scalar(select(Job).where(Job.public_id == done["job_id"]))
            assert job is not None
            checkpoint = job.checkpoint

    assert done["result"]["analysed"] == 5
    assert done["current_step"] == "Analysed 5 of 5 incidents"
    # The checkpoint is cleared when the job completes.
    assert checkpoint is None
    assert all(reload(database, incident).analysed_at for incident in incidents)


def test_analysis_jobs_are_for_members(
    client: TestClient, database: Database, settings: Settings
) -> None:
    viewer = make_user(database, role=Role.VIEWER)

    response = client.post(
        "/api/v1/jobs",
        json={"job_type": "incident_analysis", "parameters": {}},
        headers=auth_headers(viewer, settings),
    )

    assert response.status_code == 403
    assert response.json()["message"] == (
        "Running incident_analysis jobs needs the member role or higher."
    )


def test_ids_of_another_team_are_a_422_that_names_them(
    client: TestClient, database: Database, settings: Settings, member: User
) -> None:
    stranger = make_user(database, team="globex")
    theirs = unclassified(database, stranger, PYTEST_LOG).public_id
    mine = unclassified(database, member, PYTEST_LOG).public_id

    response = client.post(
        "/api/v1/jobs",
        json={
            "job_type": "incident_reanalysis",
            "parameters": {"incident_ids": [mine, theirs, "inc_000000000000"]},
        },
        headers=auth_headers(member, settings),
    )

    assert response.status_code == 422
    missing = sorted([theirs, "inc_000000000000"])
    assert response.json()["message"] == (
        f"Your team has no incidents {', '.join(missing)}."
    )


TOO_MANY_IDS = [f"inc_{number:012x}" for number in range(10_001)]


@pytest.mark.parametrize(
    ("job_type", "parameters", "message"),
    [
        (
            "incident_analysis",
            {"incident_ids": ["inc_000000000001"], "filters": {}},
            "give incident_ids or filters, not both",
        ),
        ("incident_reanalysis", {}, "give incident_ids or filters"),
        (
            "incident_reanalysis",
            {"incident_ids": ["inc_000000000001"], "filters": {}},
            "give incident_ids or filters, not both",
        ),
        ("incident_analysis", {"incident_ids": []}, "at least 1"),
        ("incident_analysis", {"incident_ids": ["42"]}, "pattern"),
        ("incident_reanalysis", {"incident_ids": TOO_MANY_IDS}, "at most 10000"),
        ("incident_analysis", {"replace": True}, "Extra inputs are not permitted"),
        (
            "incident_reanalysis",
            {"filters": {"severities": ["urgent"]}},
            "Input should be",
        ),
        (
            "incident_reanalysis",
            {"filters": {"search_query": "-flaky"}},
            "The search needs at least one word to match",
        ),
    ],
)
def test_bad_analysis_parameters_are_a_422_and_store_nothing(
    client: TestClient,
    database: Database,
    settings: Settings,
    member: User,
    job_type: str,
    parameters: dict[str, Any],
    message: str,
) -> None:
    response = client.post(
        "/api/v1/jobs",
        json={"job_type": job_type, "parameters": parameters},
        headers=auth_headers(member, settings),
    )

    assert response.status_code == 422
    body = response.json()
    assert message in body["message"] + " ".join(
        error["msg"] for error in body["errors"]
    )
    with database.transaction(write=False) as session:
        assert session.scalar(select(Job.id)) is None


def test_date_presets_count_from_the_jobs_creation(
    jobs: JobApi, database: Database, member: User
) -> None:
    recent = unclassified(database, member, PYTEST_LOG)
    old = unclassified(
        database,
        member,
        DISK_LOG,
        created_at=datetime(2020, 1, 1, tzinfo=UTC),
    )

    done = run(jobs, "incident_analysis", {"filters": {"date_preset": "today"}})

    assert done["result"]["matched"] == 1
    assert reload(database, recent).analysed_at is not None
    assert reload(database, old).analysed_at is None
