"""Automatic analysis: new incidents queued for analysis by the team's service user."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from conftest import make_settings
from devflowfix.analysis import automatic
from devflowfix.app import create_app
from devflowfix.auth.tokens import issue_token
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.incidents import repository as incidents_repository
from devflowfix.models import Job, User
from devflowfix.vocabulary import Role
from factories import (
    PASSWORD,
    auth_headers,
    automatic_analysis,
    deliver_webhook,
    github_job_failure,
    github_log_path,
    incident_payload,
    make_integration,
    make_user,
    signed_headers,
)
from job_helpers import serving, wait_until
from provider_server import ProviderServer, Reply, running_server

MODULE_LOG = (
    "E   ModuleNotFoundError: No module named 'respx'\n"
    "##[error]Process completed with exit code 2.\n"
)
UNCLASSIFIED = {"failure_type": "unknown", "root_cause": None, "confidence": None}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # Nothing runs the jobs, so the tests see them as they were queued.
    return make_settings(database_url, tmp_path, auto_analyse=True, job_workers=0)


@pytest.fixture
def member(database: Database) -> User:
    return make_user(database, role=Role.MEMBER)


@pytest.fixture
def headers(member: User, settings: Settings) -> dict[str, str]:
    return auth_headers(member, settings)


def post_incident(
    client: TestClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/incidents",
        json=incident_payload(**{**UNCLASSIFIED, **fields}),
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def automatic_jobs(database: Database) -> list[tuple[Job, User]]:
    """Every job of a service user, oldest first, with its owner."""
    with database.transaction(write=False) as session:
        rows = session.execute(
            select(Job, User)
            .join(User, User.id == Job.user_id)
            .where(User.is_service.is_(True))
            .order_by(Job.id)
        ).all()
        return [(job, owner) for job, owner in rows]


def queued_ids(database: Database) -> list[list[str]]:
    return [job.parameters["incident_ids"] for job, _ in automatic_jobs(database)]


def test_a_new_incident_is_queued_for_the_teams_service_user(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    incident = post_incident(client, headers)

    [(job, owner)] = automatic_jobs(database)
    assert (job.job_type, job.status) == ("incident_analysis", "queued")
    assert job.parameters == {"incident_ids": [incident["incident_id"]]}
    assert (owner.team_id, owner.role) == (member.team_id, "member")
    assert (owner.is_active, owner.email) == (False, "automatic-jobs@acme")
    assert job.team_id == member.team_id


def test_a_member_who_posted_sees_no_job_of_their_own(
    client: TestClient, headers: dict[str, str]
) -> None:
    post_incident(client, headers)

    listed = client.get("/api/v1/jobs", headers=headers).json()
    statistics = client.get("/api/v1/jobs/stats/overview", headers=headers).json()

    assert (listed["jobs"], listed["total"]) == ([], 0)
    assert statistics["statistics"]["active_jobs"] == 0


def test_a_team_admin_sees_and_cancels_the_teams_automatic_job(
    client: TestClient, database: Database, settings: Settings, headers: dict[str, str]
) -> None:
    incident = post_incident(client, headers)
    [(job, _)] = automatic_jobs(database)
    admin = auth_headers(make_user(database, role=Role.ADMIN), settings)

    listed = client.get("/api/v1/jobs", headers=admin).json()
    active = client.get("/api/v1/jobs/active", headers=admin).json()
    statistics = client.get("/api/v1/jobs/stats/overview", headers=admin).json()
    shown = client.get(f"/api/v1/jobs/{job.public_id}", headers=admin).json()
    cancelled = client.post(f"/api/v1/jobs/{job.public_id}/cancel", headers=admin)

    assert [listed_job["job_id"] for listed_job in listed["jobs"]] == [job.public_id]
    assert [active_job["job_id"] for active_job in active["jobs"]] == [job.public_id]
    assert statistics["statistics"]["active_jobs"] == 1
    assert shown["parameters"] == {"incident_ids": [incident["incident_id"]]}
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")


def test_another_teams_admin_cannot_see_the_automatic_job(
    client: TestClient, database: Database, settings: Settings, headers: dict[str, str]
) -> None:
    post_incident(client, headers)
    [(job, _)] = automatic_jobs(database)
    outsider = auth_headers(
        make_user(database, team="globex", role=Role.ADMIN), settings
    )

    listed = client.get("/api/v1/jobs", headers=outsider).json()
    shown = client.get(f"/api/v1/jobs/{job.public_id}", headers=outsider)
    cancelled = client.post(f"/api/v1/jobs/{job.public_id}/cancel", headers=outsider)

    assert (listed["jobs"], listed["total"]) == ([], 0)
    assert (shown.status_code, cancelled.status_code) == (404, 404)
    assert automatic_jobs(database)[0][0].status == "queued"


def test_a_burst_of_incidents_joins_one_waiting_job(
    client: TestClient, database: Database, headers: dict[str, str]
) -> None:
    posted = [post_incident(client, headers)["incident_id"] for _ in range(5)]

    assert queued_ids(database) == [posted]


def test_a_full_or_started_job_gets_a_successor(
    client: TestClient,
    database: Database,
    headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(automatic, "MAX_IDS_PER_JOB", 2)
    posted = [post_incident(client, headers)["incident_id"] for _ in range(3)]
    with database.transaction() as session:
        session.execute(
            update(Job)
            .where(Job.id == automatic_jobs(database)[-1][0].id)
            .values(status="processing", started_at=Job.created_at)
        )

    posted.append(post_incident(client, headers)["incident_id"])

    assert queued_ids(database) == [posted[:2], posted[2:3], posted[3:]]


def test_each_team_has_its_own_service_user_and_job(
    client: TestClient,
    database: Database,
    settings: Settings,
    headers: dict[str, str],
) -> None:
    stranger = make_user(database, team="globex")
    mine = post_incident(client, headers)["incident_id"]
    theirs = post_incident(client, auth_headers(stranger, settings))["incident_id"]

    jobs = automatic_jobs(database)

    assert [job.parameters["incident_ids"] for job, _ in jobs] == [[mine], [theirs]]
    assert [owner.email for _, owner in jobs] == [
        "automatic-jobs@acme",
        "automatic-jobs@globex",
    ]
    assert jobs[1][0].team_id == stranger.team_id


def test_a_webhook_incident_is_queued_and_a_repeat_adds_nothing(
    database: Database, settings: Settings
) -> None:
    make_integration(database, settings)
    analysis = automatic_analysis(database, settings)
    payload = github_job_failure(500)

    first = deliver_webhook(
        database, settings, payload, delivery_id="d-1", analysis=analysis
    )
    deliver_webhook(database, settings, payload, delivery_id="d-1", analysis=analysis)
    deliver_webhook(database, settings, payload, delivery_id="d-2", analysis=analysis)

    assert queued_ids(database) == [[first.public_id]]


def test_webhooks_queue_through_the_api(
    client: TestClient, database: Database, settings: Settings
) -> None:
    make_integration(database, settings)
    body = json.dumps(github_job_failure(600)).encode()
    response = client.post(
        "/api/v1/webhooks/github/acme",
        content=body,
        headers={**signed_headers(body), "X-GitHub-Event": "workflow_job"},
    )

    assert response.status_code == 201
    assert queued_ids(database) == [[response.json()["incident_id"]]]


def test_automatic_jobs_never_count_against_a_persons_limit(
    database_url: str, tmp_path: Path, database: Database, member: User
) -> None:
    settings = make_settings(
        database_url,
        tmp_path,
        auto_analyse=True,
        job_workers=0,
        max_active_jobs_per_user=1,
    )
    headers = auth_headers(member, settings)

    with TestClient(create_app(settings, database=database)) as client:
        for _ in range(3):
            post_incident(client, headers)
        own = client.post(
            "/api/v1/jobs",
            json={"job_type": "incident_analysis", "parameters": {}},
            headers=headers,
        )
        second = client.post(
            "/api/v1/jobs",
            json={"job_type": "incident_analysis", "parameters": {}},
            headers=headers,
        )

    assert own.status_code == 201
    assert second.status_code == 429
    assert len(automatic_jobs(database)) == 1


def test_nothing_is_queued_when_automatic_analysis_is_off(
    database_url: str, tmp_path: Path, database: Database, member: User
) -> None:
    settings = make_settings(database_url, tmp_path, job_workers=0)

    with TestClient(create_app(settings, database=database)) as client:
        post_incident(client, auth_headers(member, settings))

    assert automatic_jobs(database) == []


def test_a_refused_incident_queues_nothing(
    client: TestClient, database: Database, headers: dict[str, str]
) -> None:
    post_incident(client, headers, external_id="run-1")

    again = client.post(
        "/api/v1/incidents",
        json=incident_payload(external_id="run-1"),
        headers=headers,
    )

    assert again.status_code == 409
    assert len(queued_ids(database)[0]) == 1


def test_the_service_user_cannot_sign_in_and_is_no_member_of_the_team(
    client: TestClient, database: Database, settings: Settings, headers: dict[str, str]
) -> None:
    post_incident(client, headers)
    [(_, owner)] = automatic_jobs(database)
    admin = auth_headers(make_user(database, role=Role.ADMIN), settings)

    sign_in = client.post(
        "/api/v1/auth/token",
        data={"username": owner.email, "password": PASSWORD},
    )
    its_token = {"Authorization": f"Bearer {issue_token(owner.public_id, settings)}"}
    me = client.get("/api/v1/auth/me", headers=its_token)
    users = client.get("/api/v1/users", headers=admin).json()
    one = client.get(f"/api/v1/users/{owner.public_id}", headers=admin)
    change = client.patch(
        f"/api/v1/users/{owner.public_id}",
        json={"is_active": True, "password": "a-new-password"},
        headers=admin,
    )

    assert sign_in.status_code == 401
    assert me.status_code == 401
    assert owner.public_id not in [user["user_id"] for user in users["users"]]
    assert users["total"] == 2
    assert (one.status_code, change.status_code) == (404, 404)


def test_concurrent_deliveries_of_a_team_make_one_job(
    database: Database, settings: Settings
) -> None:
    make_integration(database, settings)
    analysis = automatic_analysis(database, settings)
    start = threading.Barrier(6)
    created: list[str] = []
    errors: list[BaseException] = []

    def deliver(run_id: int) -> None:
        start.wait()
        try:
            incident = deliver_webhook(
                database, settings, github_job_failure(run_id), analysis=analysis
            )
            created.append(incident.public_id)
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=deliver, args=(700 + 10 * number,))
        for number in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    [ids] = queued_ids(database)
    assert sorted(ids) == sorted(created)
    assert len(ids) == 6


@pytest.fixture
def github_api() -> Iterator[ProviderServer]:
    with running_server() as server:
        yield server


def test_new_incidents_are_analysed_by_themselves(
    database_url: str,
    tmp_path: Path,
    database: Database,
    member: User,
    github_api: ProviderServer,
) -> None:
    settings = make_settings(database_url, tmp_path, auto_analyse=True)
    make_integration(database, settings, token="ghp_token123", base_url=github_api.url)
    github_api.reply(github_log_path(801), Reply(body=MODULE_LOG.encode()))
    headers = auth_headers(member, settings)

    with serving(settings, database) as client:
        posted = post_incident(client, headers, error_log=MODULE_LOG)
        delivered = deliver_webhook(
            database,
            settings,
            github_job_failure(800),
            analysis=automatic_analysis(database, settings),
        )
        for incident_id in (posted["incident_id"], delivered.public_id):
            wait_until(
                lambda incident_id=incident_id: _analysed(
                    database, member.team_id, incident_id
                ),
                what=f"{incident_id} to be analysed",
            )

    with database.transaction(write=False) as session:
        found = [
            incidents_repository.find_incident(session, member.team_id, incident_id)
            for incident_id in (posted["incident_id"], delivered.public_id)
        ]
    assert [
        (incident.failure_type, incident.analysis_status) for incident in found
    ] == [
        ("dependency_error", "analysed"),
        ("dependency_error", "analysed"),
    ]
    assert all(job.status == "completed" for job, _ in automatic_jobs(database))


def _analysed(database: Database, team_id: int, incident_id: str) -> bool:
    with database.transaction(write=False) as session:
        incident = incidents_repository.find_incident(session, team_id, incident_id)
        return incident is not None and incident.analysed_at is not None
