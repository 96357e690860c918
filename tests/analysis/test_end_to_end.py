"""A signed GitHub failure sent to a running server becomes an analysed incident.

The server is a real uvicorn process on a free port; GitHub's API is a local
HTTP server that serves the job's log. The analysis step is the function the
`incident_analysis` job runs for each incident.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from devflowfix.analysis.service import run_incident_analysis
from devflowfix.app import create_app
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.vocabulary import Role
from factories import (
    auth_headers,
    make_integration,
    make_user,
    signed_headers,
    webhook_payload,
)
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


@pytest.fixture
def github_api() -> Iterator[ProviderServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def base_url(settings: Settings, database: Database) -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, database=database),
            host="127.0.0.1",
            port=0,
            log_config=None,
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)

    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_a_signed_workflow_job_failure_becomes_an_analysed_incident(
    base_url: str, github_api: ProviderServer, database: Database, settings: Settings
) -> None:
    make_integration(database, settings, token="ghp_token123", base_url=github_api.url)
    github_api.reply(
        "/api/v3/repos/acme/orders/actions/jobs/29679449861/logs",
        Reply(body=JOB_LOG.encode()),
    )
    viewer = auth_headers(make_user(database, role=Role.VIEWER), settings)
    body = json.dumps(webhook_payload("github_workflow_job_failed")).encode()
    headers = {
        **signed_headers(body),
        "X-GitHub-Event": "workflow_job",
        "X-GitHub-Delivery": "e2e-delivery",
    }

    with httpx.Client(base_url=base_url, timeout=10) as client:
        delivered = client.post(
            "/api/v1/webhooks/github/acme", content=body, headers=headers
        )
        incident_id = delivered.json()["incident_id"]
        assert github_api.received == []
        team_id = make_user(database).team_id
        run_incident_analysis(database, team_id, incident_id, settings)
        incident = client.get(f"/api/v1/incidents/{incident_id}", headers=viewer).json()

    assert delivered.status_code == 201
    assert incident["failure_type"] == "test_failure"
    assert incident["root_cause"] == (
        "pytest test tests/test_orders.py::test_total_includes_tax failed: "
        "assert 118 == 120."
    )
    assert incident["error_message"] == (
        "FAILED tests/test_orders.py::test_total_includes_tax - assert 118 == 120"
    )
    assert incident["confidence"] >= 0.9
    assert incident["analysis"]["matched_rules"][0] == "python.pytest_failed"
    assert incident["analysis"]["analysed_at"] is not None
    assert incident["analysis"]["status"] == "analysed"
    assert incident["analysis"]["error"] is None
