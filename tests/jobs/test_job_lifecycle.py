"""A job's life on each deployment: progress, cancel, delete, retries, results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.models import Job
from job_helpers import JobApi, wait_until


def _occupy_workers(jobs: JobApi, gate: str, settings: Settings) -> list[str]:
    """Start as many gate jobs as there are workers, and wait until they run."""
    job_ids = [
        jobs.create("test_gate", {"gate": gate})["job_id"]
        for _ in range(settings.job_workers)
    ]
    for job_id in job_ids:
        jobs.wait_until_processing(job_id)
    return job_ids


def test_progress_step_and_estimate_show_while_processing(
    jobs: JobApi, gates: Any
) -> None:
    gate = gates.new()
    job_id = jobs.create(
        "test_gate", {"gate": gate, "progress": 40, "step": "Generating CSV file"}
    )["job_id"]

    running = jobs.wait_for(job_id, lambda job: job["progress"] == 40, "to report")

    assert running["status"] == "processing"
    assert running["current_step"] == "Generating CSV file"
    assert running["started_at"] is not None
    assert running["estimated_completion"] is not None
    assert running["estimated_completion"] > running["started_at"]
    gates.open(gate)
    done = jobs.wait_until_final(job_id)
    assert (done["status"], done["progress"], done["estimated_completion"]) == (
        "completed",
        100,
        None,
    )


def test_cancelling_a_queued_job_cancels_it_before_it_runs(
    jobs: JobApi, gates: Any, settings: Settings, calls: list[tuple[str, int]]
) -> None:
    gate = gates.new()
    busy = _occupy_workers(jobs, gate, settings)
    waiting = jobs.create("test_record")["job_id"]

    response = jobs.client.post(f"/api/v1/jobs/{waiting}/cancel", headers=jobs.headers)
    gates.open(gate)
    for job_id in busy:
        jobs.wait_until_final(job_id)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["progress"] == 0
    assert body["completed_at"] is not None
    assert body["result_url"] is None
    assert body["status_url"] == f"http://testserver/api/v1/jobs/{waiting}"
    assert jobs.read(waiting)["status"] == "cancelled"
    assert waiting not in {job_id for job_id, _ in calls}


def test_cancelling_a_running_job_answers_at_once_and_stops_its_handler(
    jobs: JobApi, gates: Any, stopped: set[str]
) -> None:
    job_id = jobs.create("test_gate", {"gate": gates.new(), "progress": 30})["job_id"]
    jobs.wait_for(job_id, lambda job: job["progress"] == 30, "to report")

    response = jobs.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=jobs.headers)
    wait_until(lambda: job_id in stopped, what="the handler to stop")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["progress"] == 30
    job = jobs.read(job_id)
    assert job["status"] == "cancelled"
    assert job["progress"] == 30
    assert job["result"] is None


def test_cancelling_a_finished_job_is_a_409(jobs: JobApi) -> None:
    job_id = jobs.create("test_record")["job_id"]
    jobs.wait_until_final(job_id)

    response = jobs.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=jobs.headers)

    assert response.status_code == 409
    assert response.json()["message"] == (
        f"Job {job_id} is completed; only queued or processing jobs can be cancelled."
    )


def test_cancelling_twice_is_a_409(jobs: JobApi, gates: Any) -> None:
    job_id = jobs.create("test_gate", {"gate": gates.new()})["job_id"]
    jobs.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=jobs.headers)

    response = jobs.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=jobs.headers)

    assert response.status_code == 409


def test_an_active_job_cannot_be_deleted(jobs: JobApi, gates: Any) -> None:
    job_id = jobs.create("test_gate", {"gate": gates.new()})["job_id"]

    response = jobs.client.delete(f"/api/v1/jobs/{job_id}", headers=jobs.headers)

    assert response.status_code == 409
    assert response.json()["message"].startswith(f"Job {job_id} is ")
    assert jobs.read(job_id)["status"] in {"queued", "processing"}


def test_finished_jobs_can_be_deleted(jobs: JobApi, gates: Any) -> None:
    completed = jobs.create("test_record")["job_id"]
    failed = jobs.create("test_fail", {"message": "no"})["job_id"]
    cancelled = jobs.create("test_gate", {"gate": gates.new()})["job_id"]
    jobs.client.post(f"/api/v1/jobs/{cancelled}/cancel", headers=jobs.headers)
    jobs.wait_until_final(completed)
    jobs.wait_until_final(failed)

    answers = [
        jobs.client.delete(f"/api/v1/jobs/{job_id}", headers=jobs.headers)
        for job_id in (completed, failed, cancelled)
    ]

    assert [answer.status_code for answer in answers] == [204, 204, 204]
    assert answers[0].content == b""
    assert (
        jobs.client.get(f"/api/v1/jobs/{completed}", headers=jobs.headers).status_code
        == 404
    )
    assert jobs.client.get("/api/v1/jobs", headers=jobs.headers).json()["total"] == 0


def test_a_retryable_failure_is_retried_from_its_checkpoint(
    jobs: JobApi, calls: list[tuple[str, int]]
) -> None:
    job_id = jobs.create("test_flaky", {"failures": 2})["job_id"]

    done = jobs.wait_until_final(job_id)

    assert done["status"] == "completed"
    assert done["result"] == {"attempt": 3, "resumed_from": {"attempts_seen": 2}}
    assert done["error_message"] is None
    assert calls == [(job_id, 1), (job_id, 2), (job_id, 3)]


def test_a_job_fails_once_its_attempts_are_spent(
    jobs: JobApi, calls: list[tuple[str, int]]
) -> None:
    job_id = jobs.create("test_flaky", {"failures": 5})["job_id"]

    done = jobs.wait_until_final(job_id)

    assert done["status"] == "failed"
    assert done["error_message"] == (
        "flaky dependency, attempt 3 (gave up after 3 attempts)"
    )
    assert calls == [(job_id, 1), (job_id, 2), (job_id, 3)]
    assert done["completed_at"] is not None


def test_a_final_failure_shows_the_handlers_message(jobs: JobApi) -> None:
    job_id = jobs.create("test_fail", {"message": "Repository acme/api is archived."})[
        "job_id"
    ]

    done = jobs.wait_until_final(job_id)

    assert done["status"] == "failed"
    assert done["error_message"] == "Repository acme/api is archived."
    assert done["result"] is None


def test_a_crash_fails_the_job_without_showing_internals(jobs: JobApi) -> None:
    job_id = jobs.create("test_fail", {"crash": True})["job_id"]

    done = jobs.wait_until_final(job_id)

    assert done["status"] == "failed"
    assert done["error_message"] == "The job failed unexpectedly (RuntimeError)."


def test_a_result_file_downloads_with_its_type_and_name(
    jobs: JobApi, settings: Settings
) -> None:
    job_id = jobs.create(
        "test_result",
        {
            "text": "incident_id,severity\ninc_1,high\n",
            "filename": "Störungen März.csv",
            "content_type": "text/csv; charset=utf-8",
        },
    )["job_id"]
    done = jobs.wait_until_final(job_id)

    response = jobs.client.get(done["result_url"], headers=jobs.headers)

    assert done["status"] == "completed"
    assert done["result_url"] == f"http://testserver/api/v1/jobs/{job_id}/download"
    assert done["result"] == {"bytes": 32}
    assert response.status_code == 200
    assert response.content == b"incident_id,severity\ninc_1,high\n"
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="Storungen Marz.csv"; '
        "filename*=UTF-8''St%C3%B6rungen%20M%C3%A4rz.csv"
    )
    files = [path for path in settings.results_dir.rglob("*") if path.is_file()]
    assert [path.name for path in files] == ["Störungen März.csv"]
    assert files[0].parent.parent == settings.results_dir / job_id
    assert len(files[0].parent.name) == 32


def test_deleting_a_job_removes_its_result_file(
    jobs: JobApi, settings: Settings
) -> None:
    job_id = jobs.create("test_result", {"text": "x"})["job_id"]
    jobs.wait_until_final(job_id)
    assert (settings.results_dir / job_id).is_dir()

    jobs.client.delete(f"/api/v1/jobs/{job_id}", headers=jobs.headers)

    assert not (settings.results_dir / job_id).exists()


def test_a_cancelled_jobs_partial_result_is_discarded(
    jobs: JobApi, gates: Any, settings: Settings
) -> None:
    job_id = jobs.create("test_result", {"text": "partial", "gate": gates.new()})[
        "job_id"
    ]
    jobs.wait_for(job_id, lambda job: job["progress"] == 50, "to write its file")
    assert (settings.results_dir / job_id).is_dir()

    jobs.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=jobs.headers)

    wait_until(
        lambda: not (settings.results_dir / job_id).exists(),
        what="the partial result to go",
    )
    download = jobs.client.get(f"/api/v1/jobs/{job_id}/download", headers=jobs.headers)
    assert download.status_code == 409


def test_downloading_before_completion_is_a_409(jobs: JobApi, gates: Any) -> None:
    job_id = jobs.create("test_gate", {"gate": gates.new()})["job_id"]

    response = jobs.client.get(f"/api/v1/jobs/{job_id}/download", headers=jobs.headers)

    assert response.status_code == 409
    assert response.json()["message"].endswith(
        "its result can be downloaded once it has completed."
    )


def test_downloading_a_job_without_a_file_is_a_404(jobs: JobApi) -> None:
    job_id = jobs.create("test_record")["job_id"]
    jobs.wait_until_final(job_id)

    response = jobs.client.get(f"/api/v1/jobs/{job_id}/download", headers=jobs.headers)

    assert response.status_code == 404
    assert response.json()["message"] == f"Job {job_id} has no result file to download."


def _expire_result(database: Database, job_id: str) -> None:
    with database.transaction() as session:
        session.execute(
            update(Job)
            .where(Job.public_id == job_id)
            .values(result_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def test_an_expired_result_is_a_410(jobs: JobApi, database: Database) -> None:
    job_id = jobs.create("test_result", {"text": "old"})["job_id"]
    jobs.wait_until_final(job_id)
    _expire_result(database, job_id)

    response = jobs.client.get(f"/api/v1/jobs/{job_id}/download", headers=jobs.headers)

    assert response.status_code == 410
    assert response.json()["error"] == "gone"


def test_a_result_file_that_vanished_is_a_410(jobs: JobApi, settings: Settings) -> None:
    job_id = jobs.create("test_result", {"text": "x"})["job_id"]
    jobs.wait_until_final(job_id)
    for path in Path(settings.results_dir / job_id).rglob("*.txt"):
        path.unlink()

    response = jobs.client.get(f"/api/v1/jobs/{job_id}/download", headers=jobs.headers)

    assert response.status_code == 410
