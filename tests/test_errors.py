"""Every error, from every route and from routes that do not exist, is the envelope."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from devflowfix.config import Settings
from devflowfix.db import Database
from factories import auth_headers, incident_payload, make_user

ENVELOPE_KEYS = {"error", "message", "errors", "request_id", "timestamp"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture
def headers(database: Database, settings: Settings) -> dict[str, str]:
    return auth_headers(make_user(database), settings)


def assert_envelope(response: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["error"] == error
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["errors"], list)
    assert body["request_id"] == response.headers["x-request-id"]
    assert TIMESTAMP.match(body["timestamp"])

    return body


def test_unknown_route_is_404_envelope(client: TestClient) -> None:
    assert_envelope(client.get("/api/v1/does-not-exist"), 404, "not_found")


def test_wrong_method_is_405_envelope(
    client: TestClient, headers: dict[str, str]
) -> None:
    response = client.put("/api/v1/incidents", headers=headers, json={})

    assert_envelope(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


def test_invalid_json_is_400(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/incidents",
        content=b'{"source": "jenkins",',
        headers={**headers, "Content-Type": "application/json"},
    )

    assert_envelope(response, 400, "invalid_json")


def test_validation_error_lists_every_field(
    client: TestClient, headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/incidents",
        json={"source": "travis", "severity": "urgent", "confidence": 2},
        headers=headers,
    )

    body = assert_envelope(response, 422, "validation_error")
    assert body["message"] == "Invalid request parameters"
    fields = {tuple(error["loc"]) for error in body["errors"]}
    assert fields == {
        ("body", "source"),
        ("body", "severity"),
        ("body", "confidence"),
        ("body", "error_message"),
    }
    assert all(set(error) == {"loc", "msg", "type"} for error in body["errors"])


def test_wrong_content_type_is_415(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/incidents",
        content=b"source=jenkins",
        headers={**headers, "Content-Type": "text/plain"},
    )

    assert_envelope(response, 415, "unsupported_media_type")


def test_declared_oversized_body_is_413(
    client: TestClient, headers: dict[str, str], settings: Settings
) -> None:
    body = b"{" + b" " * settings.max_request_bytes + b"}"

    response = client.post(
        "/api/v1/incidents",
        content=body,
        headers={**headers, "Content-Type": "application/json"},
    )

    assert_envelope(response, 413, "payload_too_large")


def test_streamed_oversized_body_is_413(
    client: TestClient, headers: dict[str, str], settings: Settings
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"error_message": "'
        for _ in range(settings.max_request_bytes // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    response = client.post(
        "/api/v1/incidents",
        content=chunks(),
        headers={**headers, "Content-Type": "application/json"},
    )

    assert "content-length" not in response.request.headers
    assert_envelope(response, 413, "payload_too_large")


def test_forbidden_is_403_envelope(
    client: TestClient, database: Database, settings: Settings
) -> None:
    viewer = auth_headers(make_user(database, role="viewer"), settings)

    response = client.post("/api/v1/incidents", json=incident_payload(), headers=viewer)

    assert_envelope(response, 403, "forbidden")


def test_conflict_is_409_envelope(client: TestClient, headers: dict[str, str]) -> None:
    payload = incident_payload(external_id="run-1")
    client.post("/api/v1/incidents", json=payload, headers=headers)

    response = client.post("/api/v1/incidents", json=payload, headers=headers)

    assert_envelope(response, 409, "conflict")


def test_unexpected_error_is_generic_500(app: FastAPI, settings: Settings) -> None:
    def explode() -> None:
        raise RuntimeError("database password is hunter2")

    app.add_api_route("/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/explode")

    body = assert_envelope(response, 500, "internal_error")
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert "request id" in body["message"]


def test_client_request_id_is_echoed(client: TestClient) -> None:
    response = client.get("/api/v1/nope", headers={"X-Request-ID": "trace-42.a:b"})

    assert response.headers["x-request-id"] == "trace-42.a:b"
    assert response.json()["request_id"] == "trace-42.a:b"


@pytest.mark.parametrize(
    "value",
    [b"has space", b"x" * 200, b"bad\tvalue", b"-starts-with-dash", "ünï".encode()],
)
def test_unsafe_request_id_is_replaced(client: TestClient, value: bytes) -> None:
    response = client.get("/api/v1/nope", headers={"X-Request-ID": value})

    assert re.match(r"^req_[0-9a-f]{16}$", response.headers["x-request-id"])


def test_successful_responses_carry_a_request_id(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert re.match(r"^req_[0-9a-f]{16}$", response.headers["x-request-id"])


MALFORMED_BODIES: list[tuple[str, Any]] = [
    ("array body", []),
    ("string body", "incident"),
    ("number body", 42),
    ("null body", None),
    ("wrong type source", incident_payload(source=1)),
    ("unknown source", incident_payload(source="travis")),
    ("unknown severity", incident_payload(severity="urgent")),
    ("severity by rank", incident_payload(severity=3)),
    ("unknown outcome", incident_payload(outcome="done")),
    ("unknown failure type", incident_payload(failure_type="oops")),
    ("unknown field", incident_payload(colour="red")),
    ("empty error message", incident_payload(error_message="")),
    ("huge error message", incident_payload(error_message="x" * 30_000)),
    ("confidence too high", incident_payload(confidence=1.01)),
    ("confidence negative", incident_payload(confidence=-0.1)),
    ("confidence as text", incident_payload(confidence="high")),
    ("tags not a list", incident_payload(tags="backend")),
    ("tag with spaces", incident_payload(tags=["two words"])),
    ("too many tags", incident_payload(tags=[f"t{n}" for n in range(40)])),
    ("nested tags", incident_payload(tags=[["a"]])),
    ("bad repository", incident_payload(repository="no-slash")),
    ("repository injection", incident_payload(repository="a/b'; DROP TABLE incidents")),
    ("bad commit sha", incident_payload(commit_sha="zzzzzzz")),
    ("bad run url", incident_payload(run_url="javascript:alert(1)")),
    ("bad timestamp", incident_payload(timestamp="yesterday")),
    ("timestamp as object", incident_payload(timestamp={"day": 1})),
    (
        "timestamp before year 1 in UTC",
        incident_payload(timestamp="0001-01-01T00:00+01:00"),
    ),
    (
        "timestamp after year 9999 in UTC",
        incident_payload(timestamp="9999-12-31T23:59-01:00"),
    ),
    ("resolved before timestamp", incident_payload(resolved_at="2020-01-01T00:00:00Z")),
    ("huge branch", incident_payload(branch="b" * 300)),
]


@pytest.mark.parametrize(
    "body",
    [item[1] for item in MALFORMED_BODIES],
    ids=[item[0] for item in MALFORMED_BODIES],
)
def test_malformed_incident_is_4xx_envelope_and_stores_nothing(
    client: TestClient, headers: dict[str, str], body: Any
) -> None:
    response = client.post("/api/v1/incidents", json=body, headers=headers)

    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) == ENVELOPE_KEYS
    listing = client.get("/api/v1/incidents", headers=headers).json()
    assert listing["total"] == 0
