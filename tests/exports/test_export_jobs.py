"""Export jobs on each deployment: the 202 path, the same files, progress, cancel.

SQLite runs them on the app's embedded runner, PostgreSQL on a Procrastinate
worker in a thread of the test process (the `job_worker` fixture).
"""

from __future__ import annotations

import io
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from conftest import make_settings
from devflowfix.app import create_app
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.exports import service, tasks
from devflowfix.exports.progress import ExportStep
from devflowfix.exports.schemas import AnalyticsExportQuery
from devflowfix.jobs.results import TEMPORARY_PREFIX
from devflowfix.models import Job, User
from devflowfix.vocabulary import Role, Severity
from factories import auth_headers, make_incident, make_incidents, make_user
from job_helpers import JobApi, wait_until

EXPORT = "/api/v1/incidents/export"
GENERATED = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")


@pytest.fixture
def member(database: Database) -> User:
    return make_user(database, role=Role.MEMBER)


@pytest.fixture
def headers(member: User, settings: Settings) -> dict[str, str]:
    return auth_headers(member, settings)


@pytest.fixture
def jobs(client: TestClient, job_worker: None, headers: dict[str, str]) -> JobApi:
    return JobApi(client, headers)


def download(jobs: JobApi, job_id: str) -> Any:
    response = jobs.client.get(f"/api/v1/jobs/{job_id}/download", headers=jobs.headers)
    assert response.status_code == 200, response.text
    return response


def pdf_texts(content: bytes) -> list[str]:
    """Each page's text, with the generation time taken out."""
    reader = PdfReader(io.BytesIO(content))
    return [
        GENERATED.sub("generated", " ".join(page.extract_text().split()))
        for page in reader.pages
    ]


def result_files(settings: Settings) -> list[Path]:
    root = Path(settings.results_dir)
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_more_than_100_answers_202_with_the_spec_body_and_a_location(
    jobs: JobApi, database: Database, member: User
) -> None:
    make_incidents(database, member, 150)

    response = jobs.client.get(f"{EXPORT}?format=csv&limit=120", headers=jobs.headers)

    assert response.status_code == 202
    body = response.json()
    job_id = body["job_id"]
    status_url = f"http://testserver/api/v1/jobs/{job_id}"
    assert body == {
        "success": True,
        "message": "Export job created for 120 incidents",
        "job_id": job_id,
        "status_url": status_url,
        "estimated_time": "1-2 seconds",
    }
    assert re.fullmatch(r"job_[0-9a-f]{12}", job_id)
    assert response.headers["location"] == status_url
    assert response.headers["content-type"] == "application/json"
    job = jobs.wait_until_final(job_id)
    assert (job["job_type"], job["status"], job["progress"]) == (
        "export_csv",
        "completed",
        100,
    )
    assert job["parameters"] == {
        "export_type": "incidents",
        "format": "csv",
        "filters": {},
        "limit": 120,
    }


def test_the_count_in_the_message_is_the_matches_when_fewer_than_the_limit(
    jobs: JobApi, database: Database, member: User
) -> None:
    make_incidents(database, member, 130, severity=Severity.CRITICAL)
    make_incidents(database, member, 20, severity=Severity.LOW)

    response = jobs.client.get(
        f"{EXPORT}?format=pdf&limit=1000&severity=critical", headers=jobs.headers
    )

    assert response.status_code == 202
    assert response.json()["message"] == "Export job created for 130 incidents"
    job = jobs.wait_until_final(response.json()["job_id"])
    assert job["job_type"] == "export_pdf"
    assert job["result"]["incidents"] == 130


def test_the_job_csv_is_the_direct_csv_byte_for_byte(
    jobs: JobApi, database: Database, member: User
) -> None:
    for number in range(40):
        make_incident(
            database,
            member,
            error_message=f'=cmd|" /C calc"!A{number},\r\nline two ünï',
            tags=["ci", f"n{number}"] if number % 3 else [],
            severity=["low", "high"][number % 2],
            confidence=None if number % 5 == 0 else number / 41,
            root_cause=None if number % 2 else "-flaky, network",
        )
    query = "severity=high&tags=ci&limit=30"

    direct = jobs.client.get(f"{EXPORT}?format=csv&{query}", headers=jobs.headers)
    created = jobs.create(
        "export_csv",
        {
            "export_type": "incidents",
            "format": "csv",
            "filters": {"severities": ["high"], "tags": ["ci"]},
            "limit": 30,
        },
    )
    job = jobs.wait_until_final(created["job_id"])
    downloaded = download(jobs, created["job_id"])

    assert direct.status_code == 200
    assert downloaded.content == direct.content
    assert downloaded.content.count(b"\r\n=") == 0
    assert downloaded.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        downloaded.headers["content-disposition"]
        == direct.headers["content-disposition"]
    )
    assert job["result"] == {
        "export_type": "incidents",
        "format": "csv",
        "incidents": 13,
        "filename": re.findall(
            r'filename="([^"]+)"', direct.headers["content-disposition"]
        )[0],
        "size_bytes": len(direct.content),
    }
    assert job["current_step"] == "Wrote 13 of 13 incidents"


def test_the_job_pdf_has_the_direct_pdfs_text_and_pages(
    jobs: JobApi, database: Database, member: User
) -> None:
    for number in range(60):
        make_incident(
            database,
            member,
            error_message=f"<b>build {number}</b> failed & exited",
            outcome="success" if number % 4 == 0 else "failed",
        )

    direct = jobs.client.get(
        f"{EXPORT}?format=pdf&outcome=failed&limit=50", headers=jobs.headers
    )
    created = jobs.create(
        "export_pdf",
        {"filters": {"outcomes": ["failed"]}, "limit": 50},
    )
    job = jobs.wait_until_final(created["job_id"])
    downloaded = download(jobs, created["job_id"])

    assert direct.status_code == 200
    expected = pdf_texts(direct.content)
    assert pdf_texts(downloaded.content) == expected
    assert "45 of 45 matching incidents, newest first" in expected[0]
    assert downloaded.headers["content-type"] == "application/pdf"
    assert (
        downloaded.headers["content-disposition"]
        == direct.headers["content-disposition"]
    )
    assert job["result"]["pages"] == len(expected)
    assert job["result"]["incidents"] == 45
    assert job["current_step"] == f"Rendered {len(expected)} pages"


def test_a_queued_export_writes_the_file_of_its_filters(
    jobs: JobApi, database: Database, member: User
) -> None:
    make_incidents(database, member, 110, repository="acme/api")
    make_incidents(database, member, 5, repository="acme/web")

    response = jobs.client.get(
        f"{EXPORT}?format=csv&limit=500&repository=acme/api", headers=jobs.headers
    )
    job_id = response.json()["job_id"]
    jobs.wait_until_final(job_id)
    lines = download(jobs, job_id).content.decode().split("\r\n")

    assert response.status_code == 202
    assert lines[0].startswith("incident_id,timestamp,created_at,")
    assert len(lines) == 112
    assert lines[-1] == ""
    assert all(",acme/api," in line for line in lines[1:-1])


def test_another_users_export_job_is_a_404(
    jobs: JobApi, database: Database, member: User, settings: Settings
) -> None:
    make_incidents(database, member, 101)
    job_id = jobs.client.get(f"{EXPORT}?format=csv&limit=101", headers=jobs.headers)
    job_id = job_id.json()["job_id"]
    jobs.wait_until_final(job_id)
    teammate = make_user(database, role=Role.ADMIN)
    stranger = make_user(database, team="globex")

    for user in (teammate, stranger):
        other = auth_headers(user, settings)
        answer = jobs.client.get(f"/api/v1/jobs/{job_id}/download", headers=other)
        status = jobs.client.get(f"/api/v1/jobs/{job_id}", headers=other)
        assert (answer.status_code, status.status_code) == (404, 404)
        assert answer.json()["error"] == "not_found"
    assert download(jobs, job_id).content.count(b"\r\n") == 102


def test_viewers_queue_large_exports_too(
    jobs: JobApi, database: Database, member: User, settings: Settings
) -> None:
    make_incidents(database, member, 101)
    viewer = auth_headers(make_user(database, role=Role.VIEWER), settings)

    response = jobs.client.get(f"{EXPORT}?format=csv&limit=101", headers=viewer)

    assert response.status_code == 202
    viewer_jobs = JobApi(jobs.client, viewer)
    job = viewer_jobs.wait_until_final(response.json()["job_id"])
    assert job["status"] == "completed"
    assert download(viewer_jobs, job["job_id"]).content.count(b"\r\n") == 102


@pytest.fixture
def held_after_first_chunk(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Hold export jobs after their first chunk until the test cancels them.

    The original report runs first, so the progress of that chunk is recorded;
    the next report raises the cancellation, as it would between two chunks.
    """
    reached = threading.Event()
    original = tasks.ExportProgress.report

    def report(
        self: tasks.ExportProgress, step: ExportStep, done: int, total: int | None
    ) -> None:
        original(self, step, done, total)
        if step is ExportStep.ROWS and done > 0:
            reached.set()
            wait_until(self.context.cancelled, what="the cancellation")
            original(self, step, done, total)

    monkeypatch.setattr(tasks.ExportProgress, "report", report)
    return reached


def test_cancel_mid_export_stops_it_and_leaves_no_file(
    jobs: JobApi,
    database: Database,
    member: User,
    settings: Settings,
    held_after_first_chunk: threading.Event,
) -> None:
    make_incidents(database, member, 2500)
    job_id = jobs.create("export_csv", {"filters": {"repository": "acme/web-app"}})[
        "job_id"
    ]
    wait_until(held_after_first_chunk.is_set, what="the first chunk")
    running = jobs.read(job_id)
    written_so_far = [path.name for path in result_files(settings)]

    cancelled = jobs.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=jobs.headers)
    final = jobs.wait_until_final(job_id)
    gone = jobs.client.get(f"/api/v1/jobs/{job_id}/download", headers=jobs.headers)

    assert (running["status"], running["progress"]) == ("processing", 40)
    assert running["current_step"] == "Wrote 1,000 of 2,500 incidents"
    assert written_so_far == [f"{TEMPORARY_PREFIX}{_filename(running)}"]
    assert cancelled.status_code == 200
    assert (final["status"], final["result_url"]) == ("cancelled", None)
    wait_until(lambda: not result_files(settings), what="the partial file to go")
    assert gone.status_code == 409


def _filename(job: dict[str, Any]) -> str:
    return f"incidents-{job['created_at'][:10]}.csv"


def test_an_analytics_export_job_writes_the_analytics_file(
    jobs: JobApi, database: Database, member: User
) -> None:
    make_incident(database, member, outcome="success")
    created = jobs.create(
        "export_csv", {"export_type": "analytics", "format": "csv", "days": 7}
    )
    job = jobs.wait_until_final(created["job_id"])
    downloaded = download(jobs, created["job_id"])

    with database.transaction(write=False) as session:
        query = AnalyticsExportQuery.model_validate({"format": "csv", "days": 7})
        created_at = _created_at(database, created["job_id"])
        expected = service.export_analytics(session, member, query, now=created_at)
        content = b"".join(expected.chunks)
    assert downloaded.content == content
    assert downloaded.headers["content-disposition"].endswith(f"''{expected.filename}")
    assert job["result"] == {
        "export_type": "analytics",
        "format": "csv",
        "days": 7,
        "filename": expected.filename,
        "size_bytes": len(content),
    }


def _created_at(database: Database, job_id: str) -> Any:
    with database.transaction(write=False) as session:
        job = session.query(Job).filter_by(public_id=job_id).one()
        return job.created_at


@pytest.mark.parametrize(
    ("job_type", "parameters", "loc"),
    [
        ("export_csv", {"format": "pdf"}, ["parameters", "format"]),
        ("export_pdf", {"limit": 10001}, ["parameters", "limit"]),
        ("export_csv", {"export_type": "analytics", "limit": 5}, ["parameters"]),
        ("export_csv", {"days": 7}, ["parameters"]),
        ("export_csv", {"export_type": "audit"}, ["parameters", "export_type"]),
        (
            "export_csv",
            {"filters": {"severities": ["urgent"]}},
            ["parameters", "filters", "severities", 0],
        ),
    ],
)
def test_bad_export_parameters_are_a_422_that_creates_no_job(
    jobs: JobApi, job_type: str, parameters: dict[str, Any], loc: list[object]
) -> None:
    body = jobs.create(job_type, parameters, expect=422)

    assert body["error"] == "validation_error"
    assert body["errors"][0]["loc"] == ["body", *loc]
    listed = jobs.client.get("/api/v1/jobs", headers=jobs.headers).json()
    assert listed["total"] == 0


def test_a_large_export_beyond_the_active_job_limit_is_a_429_that_queues_nothing(
    database_url: str,
    tmp_path: Path,
    database: Database,
    member: User,
    held_after_first_chunk: threading.Event,
) -> None:
    settings = make_settings(database_url, tmp_path, max_active_jobs_per_user=1)
    headers = auth_headers(member, settings)
    make_incidents(database, member, 101)
    with TestClient(create_app(settings, database=database)) as client:
        first = client.get(f"{EXPORT}?format=csv&limit=101", headers=headers)
        refused = client.get(f"{EXPORT}?format=pdf&limit=101", headers=headers)
        listed = client.get("/api/v1/jobs", headers=headers).json()
        client.post(f"/api/v1/jobs/{first.json()['job_id']}/cancel", headers=headers)

    assert first.status_code == 202
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert [job["job_id"] for job in listed["jobs"]] == [first.json()["job_id"]]
