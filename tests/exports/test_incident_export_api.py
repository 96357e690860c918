"""`GET /api/v1/incidents/export` on each database: files, filters, isolation, 422s."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.models import Incident, User
from devflowfix.vocabulary import Role
from factories import auth_headers, make_incident, make_user

EXPORT = "/api/v1/incidents/export"


@pytest.fixture
def member(database: Database) -> User:
    return make_user(database, role=Role.MEMBER)


@pytest.fixture
def headers(member: User, settings: Settings) -> dict[str, str]:
    return auth_headers(member, settings)


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def exported_ids(client: TestClient, headers: dict[str, str], query: str) -> list[str]:
    response = client.get(f"{EXPORT}?format=csv&{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [row["incident_id"] for row in parse_csv(response.text)]


def iso(value: datetime | None) -> str:
    """ISO 8601 UTC to the second, as the CSV writes datetimes."""
    return "" if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def expected_row(incident: Incident) -> dict[str, str]:
    """What the export must say about `incident`, from the database's own values."""

    def plain(value: Any) -> str:
        return "" if value is None else str(value)

    return {
        "incident_id": incident.public_id,
        "timestamp": iso(incident.timestamp),
        "created_at": iso(incident.created_at),
        "updated_at": iso(incident.updated_at),
        "resolved_at": iso(incident.resolved_at),
        "source": incident.source,
        "severity": incident.severity.value,
        "failure_type": incident.failure_type,
        "outcome": incident.outcome,
        "repository": plain(incident.repository),
        "branch": plain(incident.branch),
        "commit_sha": plain(incident.commit_sha),
        "workflow": plain(incident.workflow),
        "job": plain(incident.job),
        "run_url": plain(incident.run_url),
        "external_id": plain(incident.external_id),
        "error_message": incident.error_message,
        "root_cause": plain(incident.root_cause),
        "suggested_fix": plain(incident.suggested_fix),
        "confidence": plain(incident.confidence),
        "tags": " ".join(incident.tags),
        "resolution_time_seconds": plain(incident.resolution_time_seconds),
        "fix_pull_request_url": plain(incident.fix_pull_request_url),
        "fix_branch": plain(incident.fix_branch),
        "fix_commit_sha": plain(incident.fix_commit_sha),
    }


def test_csv_rows_equal_the_database_rows_newest_first(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    for number in range(7):
        make_incident(
            database,
            member,
            created_at=now - timedelta(hours=number),
            error_message=f'step {number} failed, exit "1"\nsee log ünïcødé',
            severity=["low", "medium", "high", "critical"][number % 4],
            outcome="success" if number % 2 else "failed",
            resolved_at="2026-11-28T11:00:00Z" if number % 3 == 0 else None,
            tags=["ci", f"n{number}"],
            confidence=None if number == 5 else number / 10,
            external_id=f"run-{number}",
            root_cause=None if number == 2 else "flaky network",
        )

    response = client.get(f"{EXPORT}?format=csv", headers=headers)

    assert response.status_code == 200
    with database.transaction(write=False) as session:
        incidents = session.scalars(
            select(Incident).order_by(Incident.created_at.desc(), Incident.id.desc())
        ).all()
        expected = [expected_row(incident) for incident in incidents]

    assert parse_csv(response.text) == expected
    assert len(expected) == 7


def test_download_carries_type_and_both_file_names(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    make_incident(database, member)
    today = datetime.now(UTC).date().isoformat()

    csv_response = client.get(f"{EXPORT}?format=csv", headers=headers)
    pdf_response = client.get(f"{EXPORT}?format=pdf", headers=headers)

    assert csv_response.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv_response.headers["content-disposition"] == (
        f'attachment; filename="incidents-{today}.csv"; '
        f"filename*=UTF-8''incidents-{today}.csv"
    )
    assert csv_response.headers["cache-control"] == "private, no-store"
    assert pdf_response.headers["content-type"] == "application/pdf"
    assert pdf_response.headers["content-disposition"] == (
        f'attachment; filename="incidents-{today}.pdf"; '
        f"filename*=UTF-8''incidents-{today}.pdf"
    )
    assert pdf_response.content.startswith(b"%PDF-")


def test_formula_cells_are_neutralised_in_the_download(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    make_incident(database, member, error_message='=HYPERLINK("x")', tags=["@ops"])

    row = parse_csv(client.get(f"{EXPORT}?format=csv", headers=headers).text)[0]

    assert row["error_message"] == '\'=HYPERLINK("x")'
    assert row["tags"] == "'@ops"


def test_spec_filters_and_search_filters_select_the_rows(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    made = {
        "a": make_incident(
            database,
            member,
            created_at=now - timedelta(days=40),
            severity="low",
            source="jenkins",
            outcome="success",
            tags=["backend"],
            confidence=0.2,
        ),
        "b": make_incident(
            database,
            member,
            created_at=now - timedelta(days=2),
            severity="critical",
            error_message="Timeout while pulling image",
            failure_type="timeout",
            repository="acme/api",
            tags=["backend", "docker"],
            confidence=0.9,
        ),
        "c": make_incident(database, member, severity="high", confidence=None),
    }
    ids = {name: incident.public_id for name, incident in made.items()}
    start = (now - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def select_ids(query: str) -> set[str]:
        return {
            name
            for name, incident_id in ids.items()
            if incident_id in exported_ids(client, headers, query)
        }

    assert select_ids("") == {"a", "b", "c"}
    assert select_ids("severity=low&severity=critical") == {"a", "b"}
    assert select_ids("source=jenkins") == {"a"}
    assert select_ids("outcome=success") == {"a"}
    assert select_ids("failure_type=timeout") == {"b"}
    assert select_ids("tags=backend") == {"a", "b"}
    assert select_ids("tags=backend&tags=docker") == {"b"}
    assert select_ids("repository=acme/api") == {"b"}
    assert select_ids("search_query=timeout+image") == {"b"}
    assert select_ids("min_confidence=0.5") == {"b"}
    assert select_ids("max_confidence=0.5") == {"a"}
    assert select_ids(f"start_date={start}") == {"b", "c"}
    assert select_ids(f"end_date={start}") == {"a"}
    assert select_ids("date_preset=last_7_days") == {"b", "c"}
    assert select_ids("date_preset=today&severity=high") == {"c"}


def test_limit_keeps_the_newest_incidents(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    incidents = [
        make_incident(database, member, created_at=now - timedelta(minutes=number))
        for number in range(5)
    ]

    assert exported_ids(client, headers, "limit=2") == [
        incidents[0].public_id,
        incidents[1].public_id,
    ]


def test_another_teams_incidents_never_appear(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    own = make_incident(database, member, error_message="ours")
    outsider = make_user(database, team="other")
    theirs = make_incident(database, outsider, error_message="theirs")

    csv_ids = exported_ids(client, headers, "")
    pdf = client.get(f"{EXPORT}?format=pdf", headers=headers).content

    assert csv_ids == [own.public_id]
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert own.public_id in text
    assert theirs.public_id not in text
    assert "theirs" not in text


def test_no_match_is_a_header_only_csv_and_a_pdf_with_nothing_to_show(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    make_incident(database, member, severity="high")

    csv_response = client.get(f"{EXPORT}?format=csv&severity=low", headers=headers)
    pdf_response = client.get(f"{EXPORT}?format=pdf&severity=low", headers=headers)

    assert csv_response.status_code == 200
    assert csv_response.text.count("\r\n") == 1
    assert csv_response.text.startswith("incident_id,timestamp,")
    reader = PdfReader(io.BytesIO(pdf_response.content))
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    assert "Nothing to show: no incident matches these filters." in text
    assert "Severity low" in text


def test_pdf_export_shows_filters_figures_and_ids_with_markup_literal(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    incidents = [
        make_incident(
            database,
            member,
            error_message=f"<b>build {number}</b> failed",
            outcome="success" if number < 3 else "failed",
            resolved_at="2026-11-28T10:45:00Z" if number < 3 else None,
        )
        for number in range(5)
    ]

    response = client.get(
        f"{EXPORT}?format=pdf&severity=high&tags=npm&search_query=failed",
        headers=headers,
    )

    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.content))
    texts = [" ".join(page.extract_text().split()) for page in reader.pages]
    first = texts[0]
    assert "Incident report" in first
    assert "5 of 5 matching incidents, newest first" in first
    assert "Search failed" in first
    assert "Severity high" in first
    assert "Tags (all of) npm" in first
    assert "5 incidents 3 resolved 2 unresolved 60.0 % success rate" in first
    assert "15 min mean resolution time" in first
    everything = " ".join(texts)
    for number, incident in enumerate(incidents):
        assert incident.public_id in everything
        assert f"<b>build {number}</b> failed" in everything
    assert f"Page 1 of {len(reader.pages)}" in first


def test_viewers_export_too(
    client: TestClient, database: Database, member: User, settings: Settings
) -> None:
    make_incident(database, member)
    viewer = make_user(database, role=Role.VIEWER)

    response = client.get(
        f"{EXPORT}?format=csv", headers=auth_headers(viewer, settings)
    )

    assert response.status_code == 200
    assert len(parse_csv(response.text)) == 1


def test_export_needs_a_token(client: TestClient) -> None:
    response = client.get(f"{EXPORT}?format=csv")

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("", ["query", "format"]),
        ("format=xlsx", ["query", "format"]),
        ("format=csv&limit=0", ["query", "limit"]),
        ("format=csv&limit=1001", ["query", "limit"]),
        ("format=csv&limit=many", ["query", "limit"]),
        ("format=csv&severity=urgent", ["query", "severity", 0]),
        ("format=csv&source=travis", ["query", "source", 0]),
        ("format=csv&outcome=maybe", ["query", "outcome", 0]),
        ("format=csv&failure_type=gremlins", ["query", "failure_type", 0]),
        ("format=csv&date_preset=last_year", ["query", "date_preset"]),
        ("format=csv&start_date=yesterday", ["query", "start_date"]),
        ("format=csv&end_date=2026-13-45", ["query", "end_date"]),
        ("format=csv&start_date=2026-02-01&end_date=2026-01-01", ["query"]),
        ("format=csv&date_preset=today&start_date=2026-01-01", ["query"]),
        ("format=csv&min_confidence=0.9&max_confidence=0.1", ["query"]),
        ("format=csv&min_confidence=2", ["query", "min_confidence"]),
        ("format=csv&timezone=Mars/Olympus", ["query", "timezone"]),
        ("format=csv&tags=has space", ["query", "tags", 0]),
        ("format=csv&repository=not a repo", ["query", "repository"]),
        ("format=csv&colour=red", ["query", "colour"]),
    ],
)
def test_bad_parameters_are_a_422_envelope(
    client: TestClient, headers: dict[str, str], query: str, loc: list[Any]
) -> None:
    response = client.get(f"{EXPORT}?{query}", headers=headers)

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert body["errors"][0]["loc"] == loc
    assert set(body) == {"error", "message", "errors", "request_id", "timestamp"}


def test_a_hundred_of_many_matches_still_come_back_directly(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    for _ in range(101):
        make_incident(database, member)

    default = client.get(f"{EXPORT}?format=csv", headers=headers)
    larger = client.get(f"{EXPORT}?format=csv&limit=101", headers=headers)

    assert default.status_code == 200
    assert len(parse_csv(default.text)) == 100
    assert larger.status_code == 202
    assert larger.json()["message"] == "Export job created for 101 incidents"
