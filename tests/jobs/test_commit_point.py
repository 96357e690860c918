"""Commit points: once a handler passed one, its job can no longer be cancelled.

Through the API on each deployment (the embedded runner on SQLite, a
Procrastinate worker on PostgreSQL), and on the context itself.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.jobs import repository
from devflowfix.jobs.context import JobCancelled, JobContext
from devflowfix.jobs.results import ResultStore
from devflowfix.models import Job
from devflowfix.models.base import utcnow
from factories import auth_headers, make_job, make_user
from job_helpers import JobApi, claimed_context, stored_job, wait_until


def _cancel(jobs: JobApi, job_id: str) -> Any:
    return jobs.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=jobs.headers)


def test_a_job_past_its_commit_point_refuses_a_cancel_and_completes(
    jobs: JobApi, gates: Any, stopped: set[str]
) -> None:
    before, after = gates.new(), gates.new()
    gates.open(before)
    job_id = jobs.create("test_commit_point", {"before": before, "after": after})[
        "job_id"
    ]
    jobs.wait_for(job_id, lambda job: job["progress"] == 60, "to pass its point")

    response = _cancel(jobs, job_id)
    still = jobs.read(job_id)
    gates.open(after)
    done = jobs.wait_until_final(job_id)

    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert response.json()["message"] == (
        f"Job {job_id} can no longer be cancelled: its work has started to take "
        "effect (Taking effect), so it runs to its end."
    )
    assert (still["status"], still["current_step"]) == ("processing", "Taking effect")
    assert (done["status"], done["progress"], done["result"]) == (
        "completed",
        100,
        {"cancellable": False},
    )
    assert job_id not in stopped


def test_a_job_cancelled_before_its_commit_point_stops_there(
    jobs: JobApi, gates: Any, stopped: set[str]
) -> None:
    before, after = gates.new(), gates.new()
    job_id = jobs.create("test_commit_point", {"before": before, "after": after})[
        "job_id"
    ]
    jobs.wait_for(job_id, lambda job: job["progress"] == 20, "to start")

    response = _cancel(jobs, job_id)
    gates.open(before)
    wait_until(lambda: job_id in stopped, what="the handler to stop")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    job = jobs.read(job_id)
    assert (job["status"], job["progress"], job["result"]) == ("cancelled", 20, None)
    assert job["current_step"] == "Preparing"


def test_a_queued_retry_of_a_job_past_its_commit_point_refuses_a_cancel(
    client: TestClient, database: Database, settings: Settings
) -> None:
    owner = make_user(database)
    headers = auth_headers(owner, settings)
    job = make_job(
        database,
        owner,
        cancellable=False,
        attempts=1,
        current_step="Pushing the change",
        run_after=datetime.now(UTC) + timedelta(hours=1),
    )

    response = client.post(f"/api/v1/jobs/{job.public_id}/cancel", headers=headers)

    assert response.status_code == 409
    assert response.json()["message"] == (
        f"Job {job.public_id} can no longer be cancelled: its work has started to "
        "take effect (Pushing the change), so it runs to its end."
    )
    answer = client.get(f"/api/v1/jobs/{job.public_id}", headers=headers)
    assert answer.json()["status"] == "queued"


def test_a_commit_point_is_stored_and_fences_a_later_cancel(
    database: Database, settings: Settings
) -> None:
    context = claimed_context(database, settings)

    context.commit_point()

    job = stored_job(database, context)
    assert (job.status, job.cancellable, context.cancellable) == (
        "processing",
        False,
        False,
    )
    with database.transaction() as session:
        row = session.get(Job, job.id)
        assert row is not None
        assert repository.cancel_active_job(session, row, utcnow()) is False
    assert stored_job(database, context).status == "processing"


def test_a_commit_point_after_a_cancel_raises_and_stores_nothing(
    database: Database, settings: Settings
) -> None:
    context = claimed_context(database, settings)
    with database.transaction() as session:
        session.execute(
            update(Job)
            .where(Job.id == context.claim.row_id)
            .values(status="cancelled", claim_token=None)
        )

    with pytest.raises(JobCancelled):
        context.commit_point()

    assert stored_job(database, context).cancellable is True
    assert context.cancellable is True


def test_an_engine_abort_after_the_commit_point_is_ignored(
    database: Database, settings: Settings
) -> None:
    claimed = claimed_context(database, settings)
    aborts: list[bool] = []
    context = JobContext(
        claimed.claim,
        database=database,
        settings=settings,
        results=ResultStore(settings.results_dir),
        abort_requested=lambda: bool(aborts),
    )
    context.commit_point()

    aborts.append(True)

    assert context.cancelled() is False
    context.report(80, "Still going")
    assert stored_job(database, context).current_step == "Still going"


def test_a_commit_point_inside_a_job_transaction_is_refused(
    database: Database, settings: Settings
) -> None:
    context = claimed_context(database, settings)

    with pytest.raises(RuntimeError), context.transaction():
        context.commit_point()

    assert stored_job(database, context).cancellable is True


def test_a_claim_of_an_uncancellable_job_carries_it_to_the_context(
    database: Database, settings: Settings
) -> None:
    context = claimed_context(database, settings, cancellable=False)

    assert (context.claim.cancellable, context.cancellable) == (False, False)
