"""GitHub webhooks: signed failures become incidents; everything else stores nothing."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.models import Incident, WebhookDelivery
from devflowfix.vocabulary import Role
from factories import (
    auth_headers,
    make_integration,
    make_user,
    signed_headers,
    webhook_payload,
)

URL = "/api/v1/webhooks/github/acme"


@pytest.fixture(autouse=True)
def integration(database: Database, settings: Settings) -> None:
    make_integration(database, settings)


def deliver(
    client: TestClient,
    payload: dict[str, Any],
    *,
    event: str = "workflow_job",
    delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    url: str = URL,
) -> Any:
    body = json.dumps(payload).encode()
    headers = {
        **signed_headers(body),
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
    }
    return client.post(url, content=body, headers=headers)


def incident_count(database: Database) -> int:
    with database.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(Incident)) or 0


def stored_incident(database: Database) -> Incident:
    with database.transaction(write=False) as session:
        return session.scalars(select(Incident)).one()


def test_a_failed_job_becomes_an_incident(
    client: TestClient, database: Database
) -> None:
    response = deliver(client, webhook_payload("github_workflow_job_failed"))

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "created"
    assert response.headers["location"] == body["incident_url"]
    assert body["incident_url"] == (
        f"http://testserver/api/v1/incidents/{body['incident_id']}"
    )
    incident = stored_incident(database)
    assert incident.public_id == body["incident_id"]
    assert incident.source == "github_actions"
    assert incident.severity == "high"
    assert incident.failure_type == "unknown"
    assert incident.outcome == "pending"
    assert incident.repository == "acme/orders"
    assert incident.branch == "main"
    assert incident.commit_sha == "4f2a9c1e8b7d6c5a4f3e2d1c0b9a8f7e6d5c4b3a"
    assert incident.workflow == "CI"
    assert incident.job == "test (3.12)"
    assert incident.run_url == (
        "https://github.com/acme/orders/actions/runs/10233861912/job/29679449861"
    )
    assert incident.external_id == "10233861912"
    assert incident.timestamp.isoformat() == "2025-11-03T09:16:02+00:00"
    assert incident.error_message == (
        "GitHub Actions job 'test (3.12)' in workflow 'CI' failed (failure) "
        "at step 'Run tests'."
    )
    assert incident.error_log is None
    assert incident.analysis_status == "awaiting_log"
    assert incident.provider_details == {
        "provider": "github",
        "repository": "acme/orders",
        "run_id": 10233861912,
        "run_attempt": 1,
        "conclusion": "failure",
        "hint": None,
        "job_ids": [29679449861],
        "failed_step": "Run tests",
        "placeholder_message": True,
    }


def test_the_incident_is_readable_through_the_api(
    client: TestClient, database: Database, settings: Settings
) -> None:
    created = deliver(client, webhook_payload("github_workflow_job_failed")).json()
    headers = auth_headers(make_user(database, role=Role.VIEWER), settings)

    read = client.get(created["incident_url"], headers=headers)

    assert read.status_code == 200
    assert read.json()["external_id"] == "10233861912"


def test_a_replayed_delivery_answers_the_same_incident_and_stores_nothing(
    client: TestClient, database: Database
) -> None:
    payload = webhook_payload("github_workflow_job_failed")
    first = deliver(client, payload).json()

    again = deliver(client, payload)

    assert again.status_code == 200
    assert again.json() == {**first, "status": "duplicate"}
    assert incident_count(database) == 1
    with database.transaction(write=False) as session:
        deliveries = session.scalar(select(func.count()).select_from(WebhookDelivery))

    assert deliveries == 1


def test_the_run_event_after_the_job_event_is_the_same_incident(
    client: TestClient, database: Database
) -> None:
    job = deliver(client, webhook_payload("github_workflow_job_failed")).json()

    run = deliver(
        client,
        webhook_payload("github_workflow_run_failed"),
        event="workflow_run",
        delivery="8a0e2f00-cc78-11e3-9a3c-4c9367dc0958",
    )

    assert run.status_code == 200
    assert run.json()["incident_id"] == job["incident_id"]
    assert incident_count(database) == 1


def test_another_failed_job_of_the_run_joins_the_incident(
    client: TestClient, database: Database
) -> None:
    deliver(client, webhook_payload("github_workflow_job_failed"))

    deliver(
        client,
        webhook_payload(
            "github_workflow_job_failed", **{"workflow_job.id": 29679449999}
        ),
        delivery="another-delivery",
    )

    details = stored_incident(database).provider_details or {}
    assert details["job_ids"] == [29679449861, 29679449999]


def test_a_rerun_attempt_is_a_new_incident(
    client: TestClient, database: Database
) -> None:
    deliver(client, webhook_payload("github_workflow_job_failed"))

    rerun = deliver(
        client,
        webhook_payload(
            "github_workflow_job_failed", **{"workflow_job.run_attempt": 2}
        ),
        delivery="rerun-delivery",
    )

    assert rerun.status_code == 201
    assert incident_count(database) == 2


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"workflow_job.conclusion": "success"}, "conclusion success"),
        ({"workflow_job.conclusion": "cancelled"}, "conclusion cancelled"),
        ({"action": "in_progress"}, "action in_progress"),
    ],
)
def test_successes_and_unfinished_jobs_are_ignored(
    client: TestClient, database: Database, changes: dict[str, Any], reason: str
) -> None:
    response = deliver(client, webhook_payload("github_workflow_job_failed", **changes))

    assert response.status_code == 200
    assert response.json() == {
        "status": "ignored",
        "incident_id": None,
        "incident_url": None,
        "reason": reason,
    }
    assert incident_count(database) == 0


def test_a_ping_is_acknowledged(client: TestClient, database: Database) -> None:
    response = deliver(client, webhook_payload("github_ping"), event="ping")

    assert response.status_code == 200
    assert response.json()["reason"] == "ping"
    assert incident_count(database) == 0


def test_other_events_are_acknowledged_and_ignored(client: TestClient) -> None:
    response = deliver(client, {"ref": "refs/heads/main"}, event="push")

    assert response.status_code == 200
    assert response.json()["reason"] == "the push event is not handled"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-GitHub-Event": "workflow_job", "Content-Type": "application/json"},
        {
            "X-GitHub-Event": "workflow_job",
            "Content-Type": "application/json",
            "X-Hub-Signature-256": "sha256=" + "0" * 64,
        },
        {
            "X-GitHub-Event": "workflow_job",
            "Content-Type": "application/json",
            "X-Hub-Signature-256": "sha1=deadbeef",
        },
    ],
    ids=["missing", "wrong", "malformed"],
)
def test_a_missing_or_wrong_signature_is_401_and_stores_nothing(
    client: TestClient, database: Database, headers: dict[str, str]
) -> None:
    body = json.dumps(webhook_payload("github_workflow_job_failed")).encode()

    response = client.post(URL, content=body, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert incident_count(database) == 0


def test_a_tampered_body_fails_the_signature(
    client: TestClient, database: Database
) -> None:
    body = json.dumps(webhook_payload("github_workflow_job_failed")).encode()
    headers = {**signed_headers(body), "X-GitHub-Event": "workflow_job"}

    response = client.post(
        URL, content=body.replace(b"main", b"mainx"), headers=headers
    )

    assert response.status_code == 401
    assert incident_count(database) == 0


def test_a_body_signed_with_another_secret_is_401(client: TestClient) -> None:
    body = json.dumps(webhook_payload("github_workflow_job_failed")).encode()
    headers = {
        **signed_headers(body, secret="another-secret-0123456789"),
        "X-GitHub-Event": "workflow_job",
    }

    assert client.post(URL, content=body, headers=headers).status_code == 401


@pytest.mark.parametrize(
    "url", ["/api/v1/webhooks/github/nobody", "/api/v1/webhooks/github/x%20y"]
)
def test_an_unknown_team_is_404(client: TestClient, url: str) -> None:
    response = deliver(client, webhook_payload("github_workflow_job_failed"), url=url)

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_a_team_without_a_github_secret_is_404(
    client: TestClient, database: Database, settings: Settings
) -> None:
    make_integration(database, settings, team="bare", webhook_secret=None, token="t")

    response = deliver(
        client,
        webhook_payload("github_workflow_job_failed"),
        url="/api/v1/webhooks/github/bare",
    )

    assert response.status_code == 404


def test_an_oversized_body_is_413_and_stores_nothing(
    client: TestClient, database: Database, settings: Settings
) -> None:
    payload = webhook_payload("github_workflow_job_failed")
    payload["padding"] = "x" * settings.webhook_max_bytes

    response = deliver(client, payload)

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert incident_count(database) == 0


def test_a_signed_body_that_is_not_json_is_400(client: TestClient) -> None:
    body = b'{"action": "completed", '
    headers = {**signed_headers(body), "X-GitHub-Event": "workflow_job"}

    response = client.post(URL, content=body, headers=headers)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_a_signed_body_that_is_not_an_object_is_400(
    client: TestClient, body: bytes
) -> None:
    headers = {**signed_headers(body), "X-GitHub-Event": "workflow_job"}

    assert client.post(URL, content=body, headers=headers).status_code == 400


def test_a_signed_event_missing_fields_is_422_naming_them(
    client: TestClient, database: Database
) -> None:
    payload = webhook_payload("github_workflow_job_failed")
    del payload["workflow_job"]["run_id"]

    response = deliver(client, payload)

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "workflow_job", "run_id"]
    assert incident_count(database) == 0


def test_the_form_encoded_content_type_is_accepted(
    client: TestClient, database: Database
) -> None:
    payload = json.dumps(webhook_payload("github_workflow_job_failed"))
    body = urlencode({"payload": payload}).encode()
    headers = {
        **signed_headers(body),
        "Content-Type": "application/x-www-form-urlencoded",
        "X-GitHub-Event": "workflow_job",
    }

    response = client.post(URL, content=body, headers=headers)

    assert response.status_code == 201
    assert incident_count(database) == 1


@pytest.mark.parametrize(
    ("changes", "severity"),
    [
        ({"workflow_job.head_branch": "feature/totals"}, "medium"),
        ({"workflow_job.workflow_name": "Deploy production"}, "critical"),
        ({"repository.default_branch": "develop"}, "medium"),
    ],
)
def test_severity_follows_the_branch_and_the_workflow(
    client: TestClient, database: Database, changes: dict[str, Any], severity: str
) -> None:
    deliver(client, webhook_payload("github_workflow_job_failed", **changes))

    assert stored_incident(database).severity == severity


def test_a_timed_out_job_carries_the_hint_for_the_analysis(
    client: TestClient, database: Database
) -> None:
    deliver(
        client,
        webhook_payload(
            "github_workflow_job_failed", **{"workflow_job.conclusion": "timed_out"}
        ),
    )

    incident = stored_incident(database)
    assert (incident.provider_details or {})["hint"] == "timed_out"
    assert "failed (timed_out)" in incident.error_message


def test_a_failed_run_without_jobs_fetches_them_later(
    client: TestClient, database: Database
) -> None:
    response = deliver(
        client, webhook_payload("github_workflow_run_failed"), event="workflow_run"
    )

    incident = stored_incident(database)
    assert response.status_code == 201
    assert incident.job is None
    assert incident.run_url == "https://github.com/acme/orders/actions/runs/10233861912"
    assert (incident.provider_details or {})["job_ids"] == []
    assert incident.error_message == (
        "GitHub Actions run in workflow 'CI' failed (failure)."
    )
