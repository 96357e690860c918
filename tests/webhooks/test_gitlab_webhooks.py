"""GitLab webhooks: pipeline and job events, checked with the X-Gitlab-Token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.models import Incident
from devflowfix.vocabulary import Provider
from factories import WEBHOOK_SECRET, make_integration, webhook_payload

URL = "/api/v1/webhooks/gitlab/acme"


@pytest.fixture(autouse=True)
def integration(database: Database, settings: Settings) -> None:
    make_integration(database, settings, provider=Provider.GITLAB)


def deliver(
    client: TestClient,
    payload: dict[str, Any],
    *,
    event: str = "Pipeline Hook",
    token: str = WEBHOOK_SECRET,
    uuid: str = "a1b2c3d4-0000-4000-8000-000000000001",
) -> Any:
    return client.post(
        URL,
        content=json.dumps(payload).encode(),
        headers={
            "Content-Type": "application/json",
            "X-Gitlab-Event": event,
            "X-Gitlab-Token": token,
            "X-Gitlab-Event-UUID": uuid,
        },
    )


def incidents(database: Database) -> list[Incident]:
    with database.transaction(write=False) as session:
        return list(session.scalars(select(Incident)))


def test_a_failed_pipeline_becomes_an_incident(
    client: TestClient, database: Database
) -> None:
    response = deliver(client, webhook_payload("gitlab_pipeline_failed"))

    assert response.status_code == 201
    [incident] = incidents(database)
    assert incident.source == "gitlab_ci"
    assert incident.repository == "acme/payments"
    assert incident.branch == "main"
    assert incident.commit_sha == "bcbb5ec396a2c0f828686f14fac9b80b780504f2"
    assert incident.workflow == "pipeline"
    assert incident.job == "pytest"
    assert incident.run_url == "https://gitlab.com/acme/payments/-/pipelines/1532447123"
    assert incident.external_id == "1532447123"
    assert incident.severity == "high"
    assert incident.timestamp.isoformat() == "2025-11-05T08:44:19+00:00"
    assert incident.error_message == (
        "GitLab CI job 'pytest' in workflow 'pipeline' failed (script_failure)."
    )
    assert incident.provider_details == {
        "provider": "gitlab",
        "project_id": 48213377,
        "pipeline_id": 1532447123,
        "conclusion": "script_failure",
        "hint": None,
        "job_ids": [8311222001],
        "failed_step": None,
        "placeholder_message": True,
    }


def test_the_job_event_of_the_same_pipeline_is_a_duplicate(
    client: TestClient, database: Database
) -> None:
    pipeline = deliver(client, webhook_payload("gitlab_pipeline_failed")).json()

    job = deliver(
        client,
        webhook_payload("gitlab_job_failed"),
        event="Job Hook",
        uuid="a1b2c3d4-0000-4000-8000-000000000002",
    )

    assert job.status_code == 200
    assert job.json()["incident_id"] == pipeline["incident_id"]
    assert len(incidents(database)) == 1


def test_a_failed_job_alone_becomes_an_incident(
    client: TestClient, database: Database
) -> None:
    response = deliver(client, webhook_payload("gitlab_job_failed"), event="Job Hook")

    [incident] = incidents(database)
    assert response.status_code == 201
    assert incident.job == "pytest"
    assert incident.run_url == "https://gitlab.com/acme/payments/-/jobs/8311222001"
    assert incident.timestamp.isoformat() == "2025-11-05T08:44:17.880000+00:00"


@pytest.mark.parametrize(
    ("name", "event", "changes", "reason"),
    [
        (
            "gitlab_pipeline_failed",
            "Pipeline Hook",
            {"object_attributes.status": "success"},
            "status success",
        ),
        (
            "gitlab_pipeline_failed",
            "Pipeline Hook",
            {"object_attributes.status": "running"},
            "status running",
        ),
        (
            "gitlab_job_failed",
            "Job Hook",
            {"build_allow_failure": True},
            "the job is allowed to fail",
        ),
        (
            "gitlab_job_failed",
            "Job Hook",
            {"build_status": "success"},
            "status success",
        ),
        ("gitlab_job_failed", "Push Hook", {}, "the Push Hook event is not handled"),
    ],
)
def test_non_failures_are_ignored(
    client: TestClient,
    database: Database,
    name: str,
    event: str,
    changes: dict[str, Any],
    reason: str,
) -> None:
    response = deliver(client, webhook_payload(name, **changes), event=event)

    assert response.status_code == 200
    assert response.json()["reason"] == reason
    assert incidents(database) == []


@pytest.mark.parametrize("token", ["", "wrong-token-0123456789", WEBHOOK_SECRET + "x"])
def test_a_missing_or_wrong_token_is_401(
    client: TestClient, database: Database, token: str
) -> None:
    response = deliver(client, webhook_payload("gitlab_pipeline_failed"), token=token)

    assert response.status_code == 401
    assert incidents(database) == []


def test_a_runner_failure_reason_becomes_a_hint(
    client: TestClient, database: Database
) -> None:
    deliver(
        client,
        webhook_payload(
            "gitlab_job_failed", build_failure_reason="runner_system_failure"
        ),
        event="Job Hook",
    )

    [incident] = incidents(database)
    assert (incident.provider_details or {})["hint"] == "runner_system_failure"


def test_a_failed_pipeline_on_a_tag_is_high(
    client: TestClient, database: Database
) -> None:
    deliver(
        client,
        webhook_payload(
            "gitlab_pipeline_failed",
            **{"object_attributes.ref": "v2.4.0", "object_attributes.tag": True},
        ),
    )

    [incident] = incidents(database)
    assert incident.severity == "high"


def test_a_replayed_uuid_is_a_duplicate(client: TestClient, database: Database) -> None:
    deliver(client, webhook_payload("gitlab_pipeline_failed"))

    again = deliver(client, webhook_payload("gitlab_pipeline_failed"))

    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    with database.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 1
