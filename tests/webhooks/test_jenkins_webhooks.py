"""Jenkins webhooks: Notification plugin JSON signed with HMAC-SHA256."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.models import Incident
from devflowfix.vocabulary import Provider
from factories import make_integration, signed_headers, webhook_payload

URL = "/api/v1/webhooks/jenkins/acme"
HEADER = "X-Jenkins-Signature-256"


@pytest.fixture(autouse=True)
def integration(database: Database, settings: Settings) -> None:
    make_integration(database, settings, provider=Provider.JENKINS)


def deliver(client: TestClient, payload: dict[str, Any]) -> Any:
    body = json.dumps(payload).encode()
    return client.post(URL, content=body, headers=signed_headers(body, header=HEADER))


def incidents(database: Database) -> list[Incident]:
    with database.transaction(write=False) as session:
        return list(session.scalars(select(Incident)))


def test_a_failed_build_becomes_an_incident_with_its_log_lines(
    client: TestClient, database: Database
) -> None:
    response = deliver(client, webhook_payload("jenkins_failure"))

    assert response.status_code == 201
    [incident] = incidents(database)
    assert incident.source == "jenkins"
    assert incident.repository == "acme/billing"
    assert incident.branch == "main"
    assert incident.commit_sha == "9f2c1e4b8a7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e"
    assert incident.workflow == "billing_main"
    assert incident.run_url == "https://ci.acme.net/job/billing_main/418/"
    assert incident.external_id == "billing_main#418"
    assert incident.timestamp.isoformat() == "2025-11-06T09:31:33.950000+00:00"
    assert incident.error_log is not None
    assert incident.error_log.startswith("[INFO] Running com.acme.billing.CartTest")
    assert incident.analysis_status is None
    assert incident.error_message == (
        "Jenkins run in workflow 'billing_main' failed (FAILURE)."
    )


def test_finalized_after_completed_is_the_same_build(
    client: TestClient, database: Database
) -> None:
    deliver(client, webhook_payload("jenkins_failure"))

    again = deliver(
        client, webhook_payload("jenkins_failure", **{"build.phase": "FINALIZED"})
    )

    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert len(incidents(database)) == 1


def test_a_build_without_log_lines_awaits_its_log(
    client: TestClient, database: Database
) -> None:
    deliver(client, webhook_payload("jenkins_failure", **{"build.log": None}))

    [incident] = incidents(database)
    assert incident.analysis_status == "awaiting_log"
    assert incident.error_log is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"build.phase": "STARTED"}, "phase STARTED"),
        ({"build.status": "SUCCESS"}, "status SUCCESS"),
        ({"build.status": "ABORTED"}, "status ABORTED"),
    ],
)
def test_other_phases_and_results_are_ignored(
    client: TestClient, database: Database, changes: dict[str, Any], reason: str
) -> None:
    response = deliver(client, webhook_payload("jenkins_failure", **changes))

    assert response.json()["reason"] == reason
    assert incidents(database) == []


def test_an_unstable_build_is_a_failure(client: TestClient, database: Database) -> None:
    response = deliver(
        client, webhook_payload("jenkins_failure", **{"build.status": "UNSTABLE"})
    )

    assert response.status_code == 201
    assert "failed (UNSTABLE)" in incidents(database)[0].error_message


def test_a_wrong_signature_is_401(client: TestClient, database: Database) -> None:
    body = json.dumps(webhook_payload("jenkins_failure")).encode()

    response = client.post(
        URL, content=body, headers=signed_headers(body + b" ", header=HEADER)
    )

    assert response.status_code == 401
    assert incidents(database) == []


def test_a_build_number_that_is_not_a_number_is_422(client: TestClient) -> None:
    response = deliver(
        client, webhook_payload("jenkins_failure", **{"build.number": "x"})
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "build", "number"]
