"""From CI to an analysed incident through real processes, on both deployments.

`devflowfix serve` runs on a free port (on SQLite it also runs the jobs); on
PostgreSQL a `devflowfix worker` process runs them. GitHub's API is a local
HTTP server that serves the job's log. Nothing in the test analyses: the
automatic `incident_analysis` job does, and the test polls the public API.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import TEST_SECRET_KEY
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.vocabulary import Role
from factories import (
    auth_headers,
    incident_payload,
    make_integration,
    make_user,
    signed_headers,
    webhook_payload,
)
from processes import Processes, service_environment
from provider_server import ProviderServer, Reply, running_server

JOB_LOG = "".join(
    f"2025-11-03T09:15:{second}Z {line}\n"
    for second, line in [
        ("10.1", "##[group]Run pytest -q"),
        ("10.2", "pytest -q"),
        ("10.3", "##[endgroup]"),
        (
            "59.1",
            "FAILED tests/test_orders.py::test_total_includes_tax - assert 118 == 120",
        ),
        (
            "59.2",
            "==================== 1 failed, 212 passed in 14.21s ====================",
        ),
        ("59.9", "##[error]Process completed with exit code 1."),
    ]
)
LOG_PATH = "/api/v3/repos/acme/orders/actions/jobs/29679449861/logs"
MODULE_LOG = (
    "E   ModuleNotFoundError: No module named 'respx'\n"
    "##[error]Process completed with exit code 2.\n"
)
# Generous for a shared machine; an analysis usually lands well within a second.
ANALYSIS_TIMEOUT_SECONDS = 30.0


@pytest.fixture
def github_api() -> Iterator[ProviderServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def processes(database_url: str, database: Database, tmp_path: Path) -> Iterator[str]:
    """The base URL of a served app with something running its jobs."""
    environment = service_environment(
        database_url,
        tmp_path,
        secret_key=TEST_SECRET_KEY,
        auto_analyse="true",
        job_poll_interval_seconds="0.2",
        job_retry_backoff_seconds="0",
    )
    started = Processes(environment, tmp_path)
    try:
        base_url = started.serve().url
        if not database.is_sqlite:
            started.start("worker")
        yield base_url
    finally:
        started.stop_all()


def wait_for_analysis(
    client: httpx.Client, incident_id: str, headers: dict[str, str]
) -> dict[str, Any]:
    """The incident once its analysis is recorded, polled through the API."""
    deadline = time.monotonic() + ANALYSIS_TIMEOUT_SECONDS
    while True:
        response = client.get(f"/api/v1/incidents/{incident_id}", headers=headers)
        assert response.status_code == 200, response.text
        incident: dict[str, Any] = response.json()
        if incident["analysis"]["analysed_at"] is not None:
            return incident
        assert time.monotonic() < deadline, f"not analysed in time: {incident}"
        time.sleep(0.1)


def test_a_signed_workflow_job_failure_becomes_an_analysed_incident(
    processes: str, github_api: ProviderServer, database: Database, settings: Settings
) -> None:
    make_integration(database, settings, token="ghp_token123", base_url=github_api.url)
    github_api.reply(LOG_PATH, Reply(body=JOB_LOG.encode()))
    viewer = auth_headers(make_user(database, role=Role.VIEWER), settings)
    body = json.dumps(webhook_payload("github_workflow_job_failed")).encode()
    headers = {
        **signed_headers(body),
        "X-GitHub-Event": "workflow_job",
        "X-GitHub-Delivery": "e2e-delivery",
    }

    with httpx.Client(base_url=processes, timeout=10) as client:
        delivered = client.post(
            "/api/v1/webhooks/github/acme", content=body, headers=headers
        )
        assert delivered.status_code == 201, delivered.text
        incident = wait_for_analysis(client, delivered.json()["incident_id"], viewer)

    assert incident["failure_type"] == "test_failure"
    assert incident["root_cause"] == (
        "pytest test tests/test_orders.py::test_total_includes_tax failed: "
        "assert 118 == 120."
    )
    assert incident["error_message"] == (
        "FAILED tests/test_orders.py::test_total_includes_tax - assert 118 == 120"
    )
    assert incident["confidence"] == pytest.approx(0.97)
    assert incident["suggested_fix"] is not None
    assert incident["analysis"]["matched_rules"][0] == "python.pytest_failed"
    assert (incident["analysis"]["status"], incident["analysis"]["error"]) == (
        "analysed",
        None,
    )
    [fetch] = github_api.received
    assert (fetch.method, fetch.path) == ("GET", LOG_PATH)
    assert fetch.headers["Authorization"] == "Bearer ghp_token123"


def test_a_posted_incident_with_a_log_is_analysed_by_itself(
    processes: str, database: Database, settings: Settings
) -> None:
    member = auth_headers(make_user(database, role=Role.MEMBER), settings)
    payload = incident_payload(
        error_log=MODULE_LOG, failure_type="unknown", root_cause=None, confidence=None
    )

    with httpx.Client(base_url=processes, timeout=10) as client:
        posted = client.post("/api/v1/incidents", json=payload, headers=member)
        assert posted.status_code == 201, posted.text
        assert posted.json()["analysis"]["analysed_at"] is None
        incident = wait_for_analysis(client, posted.json()["incident_id"], member)
        own_jobs = client.get("/api/v1/jobs", headers=member).json()

    assert incident["failure_type"] == "dependency_error"
    assert "respx" in incident["root_cause"]
    assert incident["analysis"]["status"] == "analysed"
    assert own_jobs["total"] == 0
