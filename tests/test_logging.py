"""Structured logs: one JSON object a line in production, each with the request id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import make_settings
from devflowfix.app import create_app
from devflowfix.db import Database
from factories import auth_headers, incident_payload, make_user


def test_every_line_of_a_request_carries_its_id(
    database_url: str,
    tmp_path: Path,
    database: Database,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings(database_url, tmp_path, log_json=True, log_level="INFO")
    headers = auth_headers(make_user(database), settings)
    app = create_app(settings, database=database)
    capsys.readouterr()

    with TestClient(app) as client:
        client.post(
            "/api/v1/incidents",
            json=incident_payload(),
            headers={**headers, "X-Request-ID": "trace-1"},
        )

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    events = {line["event"]: line for line in lines if line.get("request_id")}
    assert {"incident.created", "http.request"} <= set(events)
    assert {line["request_id"] for line in events.values()} == {"trace-1"}
    assert events["http.request"]["status"] == 201
    assert events["http.request"]["route"] == "/api/v1/incidents"


def test_secrets_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    import structlog

    from devflowfix.logging import configure_logging

    configure_logging(json_lines=True)
    structlog.get_logger("test").warning("auth.attempt", password="hunter2", user="a")

    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["password"] == "***"
    assert line["user"] == "a"
