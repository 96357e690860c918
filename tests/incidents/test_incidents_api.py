"""The incidents REST API on each database: create, read, list, update, delete."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.models import Incident, IncidentTag
from devflowfix.vocabulary import Role
from factories import auth_headers, incident_payload, make_user


@pytest.fixture
def member(database: Database, settings: Settings) -> dict[str, str]:
    return auth_headers(make_user(database, role=Role.MEMBER), settings)


@pytest.fixture
def admin(database: Database, settings: Settings) -> dict[str, str]:
    return auth_headers(make_user(database, role=Role.ADMIN), settings)


def create(client: TestClient, headers: dict[str, str], **overrides: Any) -> Any:
    response = client.post(
        "/api/v1/incidents", json=incident_payload(**overrides), headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_create_returns_201_with_location_and_every_field(
    client: TestClient, member: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/incidents",
        json=incident_payload(resolved_at="2026-11-28T10:45:00Z"),
        headers=member,
    )

    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == (
        f"http://testserver/api/v1/incidents/{body['incident_id']}"
    )
    assert body["incident_id"].startswith("inc_")
    assert len(body["incident_id"]) == 16
    assert body["source"] == "github_actions"
    assert body["severity"] == "high"
    assert body["failure_type"] == "dependency_error"
    assert body["outcome"] == "pending"
    assert body["timestamp"] == "2026-11-28T10:30:00Z"
    assert body["resolved_at"] == "2026-11-28T10:45:00Z"
    assert body["resolution_time_seconds"] == 900
    assert body["tags"] == ["frontend", "npm"]
    assert body["confidence"] == 0.85
    assert body["repository"] == "acme/web-app"
    assert body["commit_sha"] == "3f9c2a7e1b4d"
    assert body["error_log"].startswith("##[error]")
    assert body["analysis"] == {
        "analysed_at": None,
        "matched_rules": [],
        "similar_incidents": [],
        "status": None,
        "error": None,
    }
    assert body["created_at"].endswith("Z")


def test_location_header_follows_to_the_incident(
    client: TestClient, member: dict[str, str]
) -> None:
    response = client.post("/api/v1/incidents", json=incident_payload(), headers=member)

    followed = client.get(response.headers["location"], headers=member)

    assert followed.status_code == 200
    assert followed.json() == response.json()


def test_create_applies_defaults(client: TestClient, member: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/incidents",
        json={"source": "jenkins", "severity": "low", "error_message": "exit 1"},
        headers=member,
    )

    assert response.status_code == 201
    created = response.json()
    assert created["failure_type"] == "unknown"
    assert created["outcome"] == "pending"
    assert created["tags"] == []
    assert created["timestamp"] == created["created_at"]
    assert created["resolution_time_seconds"] is None


def test_tags_are_normalised_and_stored_as_rows(
    client: TestClient, member: dict[str, str], database: Database
) -> None:
    body = create(client, member, tags=["Backend", " api ", "backend"])

    assert body["tags"] == ["backend", "api"]
    with database.transaction(write=False) as session:
        rows = session.scalars(
            select(IncidentTag.tag)
            .join(Incident, Incident.id == IncidentTag.incident_id)
            .where(Incident.public_id == body["incident_id"])
            .order_by(IncidentTag.tag)
        ).all()

    assert rows == ["api", "backend"]


def test_read_another_teams_incident_is_not_found(
    client: TestClient, member: dict[str, str], database: Database, settings: Settings
) -> None:
    body = create(client, member)
    outsider = auth_headers(
        make_user(database, team="other", role=Role.ADMIN), settings
    )

    for method in ("get", "patch", "delete"):
        kwargs: dict[str, Any] = (
            {"json": {"outcome": "success"}} if method == "patch" else {}
        )
        response = client.request(
            method.upper(),
            f"/api/v1/incidents/{body['incident_id']}",
            headers=outsider,
            **kwargs,
        )
        assert response.status_code == 404, method
        assert response.json()["error"] == "not_found"


def test_list_is_paged_newest_first_and_team_scoped(
    client: TestClient, member: dict[str, str], database: Database, settings: Settings
) -> None:
    ids = [
        create(client, member, error_message=f"failure {n}")["incident_id"]
        for n in range(5)
    ]
    outsider = auth_headers(make_user(database, team="other"), settings)
    create(client, outsider)

    first = client.get("/api/v1/incidents?page=1&page_size=2", headers=member).json()
    third = client.get("/api/v1/incidents?page=3&page_size=2", headers=member).json()

    assert first["total"] == 5
    assert [item["incident_id"] for item in first["incidents"]] == ids[::-1][:2]
    assert [item["incident_id"] for item in third["incidents"]] == [ids[0]]
    assert first["page"] == 1
    assert first["page_size"] == 2
    assert "error_log" not in first["incidents"][0]


@pytest.mark.parametrize("query", ["page=0", "page_size=0", "page_size=101", "page=x"])
def test_list_rejects_bad_paging(
    client: TestClient, member: dict[str, str], query: str
) -> None:
    response = client.get(f"/api/v1/incidents?{query}", headers=member)

    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"


def test_patch_changes_given_fields_and_derives_resolution_time(
    client: TestClient, member: dict[str, str]
) -> None:
    body = create(client, member)

    response = client.patch(
        f"/api/v1/incidents/{body['incident_id']}",
        json={"outcome": "success", "resolved_at": "2026-11-28T11:30:00+01:00"},
        headers=member,
    )

    assert response.status_code == 200
    patched = response.json()
    assert patched["outcome"] == "success"
    assert patched["resolved_at"] == "2026-11-28T10:30:00Z"
    assert patched["resolution_time_seconds"] == 0
    assert patched["severity"] == body["severity"]
    assert patched["updated_at"] > body["updated_at"]


def test_patch_null_resolved_at_clears_resolution(
    client: TestClient, member: dict[str, str]
) -> None:
    body = create(client, member, resolved_at="2026-11-28T11:00:00Z")

    patched = client.patch(
        f"/api/v1/incidents/{body['incident_id']}",
        json={"resolved_at": None},
        headers=member,
    ).json()

    assert patched["resolved_at"] is None
    assert patched["resolution_time_seconds"] is None


def test_patch_replaces_tag_rows(
    client: TestClient, member: dict[str, str], database: Database
) -> None:
    body = create(client, member, tags=["a", "b"])

    client.patch(
        f"/api/v1/incidents/{body['incident_id']}", json={"tags": ["c"]}, headers=member
    )

    with database.transaction(write=False) as session:
        tags = session.scalars(select(IncidentTag.tag)).all()
    assert tags == ["c"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"severity": "urgent"}, "severity"),
        ({"outcome": None}, "outcome"),
        ({"confidence": 1.5}, "confidence"),
        ({"resolved_at": "2026-11-27T00:00:00Z"}, "resolved_at"),
        ({"incident_id": "inc_000000000000"}, "incident_id"),
    ],
)
def test_patch_validates_like_create_and_changes_nothing(
    client: TestClient, member: dict[str, str], change: dict[str, Any], field: str
) -> None:
    body = create(client, member)

    response = client.patch(
        f"/api/v1/incidents/{body['incident_id']}", json=change, headers=member
    )

    assert response.status_code == 422
    assert field in str(response.json()["errors"])
    unchanged = client.get(f"/api/v1/incidents/{body['incident_id']}", headers=member)
    assert unchanged.json() == body


def test_duplicate_external_id_is_a_conflict(
    client: TestClient, member: dict[str, str]
) -> None:
    first = create(client, member, external_id="run-42")

    response = client.post(
        "/api/v1/incidents", json=incident_payload(external_id="run-42"), headers=member
    )

    assert response.status_code == 409
    assert first["incident_id"] in response.json()["message"]
    other_source = client.post(
        "/api/v1/incidents",
        json=incident_payload(external_id="run-42", source="gitlab_ci"),
        headers=member,
    )
    assert other_source.status_code == 201


def test_long_error_log_keeps_its_end(
    client: TestClient, member: dict[str, str], settings: Settings
) -> None:
    log = "x" * (settings.max_error_log_bytes * 2) + "\nError: the real reason"

    body = create(client, member, error_log=log)

    assert len(body["error_log"].encode()) == settings.max_error_log_bytes
    assert body["error_log"].endswith("Error: the real reason")


def test_delete_needs_admin_and_removes_the_incident(
    client: TestClient, member: dict[str, str], admin: dict[str, str]
) -> None:
    body = create(client, member)
    url = f"/api/v1/incidents/{body['incident_id']}"

    refused = client.delete(url, headers=member)
    deleted = client.delete(url, headers=admin)

    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden"
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert client.get(url, headers=member).status_code == 404


def test_viewer_reads_but_cannot_write(
    client: TestClient, member: dict[str, str], database: Database, settings: Settings
) -> None:
    body = create(client, member)
    viewer = auth_headers(make_user(database, role=Role.VIEWER), settings)

    read = client.get(f"/api/v1/incidents/{body['incident_id']}", headers=viewer)
    created = client.post("/api/v1/incidents", json=incident_payload(), headers=viewer)
    patched = client.patch(
        f"/api/v1/incidents/{body['incident_id']}",
        json={"outcome": "success"},
        headers=viewer,
    )

    assert read.status_code == 200
    assert created.status_code == 403
    assert patched.status_code == 403
