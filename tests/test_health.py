"""Probes, metrics and the API documentation."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from devflowfix.app import create_app
from devflowfix.config import Settings
from devflowfix.db import Database


def test_healthz_answers_ok(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_names_the_database(client: TestClient, database: Database) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": database.dialect}


def test_readyz_is_503_when_the_database_is_unreachable(settings: Settings) -> None:
    unreachable = Database(
        create_engine(
            "postgresql+psycopg://nobody@127.0.0.1:9/none", pool_pre_ping=False
        )
    )
    app = create_app(settings, database=unreachable)

    with TestClient(app) as client:
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/api/v1/incidents/inc_000000000000")
    client.get("/api/v1/incidents/inc_111111111111")
    client.get("/no/such/page")

    text = client.get("/metrics").text

    assert (
        'devflowfix_http_requests_total{method="GET",'
        'route="/api/v1/incidents/{incident_id}",status="401"} 2.0'
    ) in text
    assert 'route="unmatched",status="404"} 1.0' in text
    assert "devflowfix_http_request_duration_seconds_bucket" in text


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
            assert operation.get("description"), (method, path)
    assert "/api/v1/incidents" in schema["paths"]
    assert "/api/v1/auth/token" in schema["paths"]


def test_docs_page_is_served(client: TestClient) -> None:
    response = client.get("/docs")

    assert response.status_code == 200
    assert "swagger" in response.text.lower()
