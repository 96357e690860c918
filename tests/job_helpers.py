"""Helpers for tests of background jobs: polling, and the jobs API in short."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from fastapi.testclient import TestClient

from devflowfix.app import create_app
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.jobs.context import JobContext
from devflowfix.jobs.dispatch import LocalDispatcher
from devflowfix.jobs.execution import JobRuntime, claim_next, worker_identity
from devflowfix.jobs.leases import LeaseKeeper
from devflowfix.jobs.results import ResultStore
from devflowfix.jobs.scaled import ScaledWorker
from devflowfix.models import Job
from factories import make_job, make_user

T = TypeVar("T")

FINAL_STATUSES = {"completed", "failed", "cancelled"}


def wait_until(
    predicate: Callable[[], T | None], *, timeout: float = 20.0, what: str = "it"
) -> T:
    """Poll `predicate` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def claimed_context(
    database: Database, settings: Settings, **job_fields: Any
) -> JobContext:
    """The context of a job row (with `job_fields`) claimed by no runner at all."""
    user = make_user(database)
    make_job(database, user, **job_fields)
    runtime = JobRuntime(
        database=database,
        settings=settings,
        dispatcher=LocalDispatcher(),
        keeper=LeaseKeeper(database, settings),
        results=ResultStore(settings.results_dir),
        worker_name=worker_identity("context-test"),
    )
    claim = claim_next(runtime)
    assert claim is not None
    return JobContext(
        claim, database=database, settings=settings, results=runtime.results
    )


def stored_job(database: Database, context: JobContext) -> Job:
    """The job row of `context` as it is in the database now."""
    with database.transaction(write=False) as session:
        job = session.get(Job, context.claim.row_id)
        assert job is not None
        return job


@contextmanager
def serving(settings: Settings, database: Database) -> Iterator[TestClient]:
    """A client of an app built from `settings`, with something running jobs:
    its embedded runner on SQLite, a Procrastinate worker thread on PostgreSQL
    (unless `settings.job_workers` is 0)."""
    with TestClient(create_app(settings, database=database)) as client:
        if database.is_sqlite or settings.job_workers == 0:
            yield client
            return
        worker = ScaledWorker(database, settings)
        worker.start_in_thread()
        try:
            yield client
        finally:
            worker.stop()


class JobApi:
    """One user's calls to `/api/v1/jobs`."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def create(
        self,
        job_type: str,
        parameters: dict[str, Any] | None = None,
        *,
        expect: int = 201,
        key: str | None = None,
    ) -> dict[str, Any]:
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        response = self.client.post(
            "/api/v1/jobs",
            json={"job_type": job_type, "parameters": parameters or {}},
            headers=headers,
        )
        assert response.status_code == expect, response.text
        body: dict[str, Any] = response.json()
        return body

    def read(self, job_id: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/jobs/{job_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_for(
        self, job_id: str, check: Callable[[dict[str, Any]], bool], what: str
    ) -> dict[str, Any]:
        def matching() -> dict[str, Any] | None:
            job = self.read(job_id)
            return job if check(job) else None

        return wait_until(matching, what=f"job {job_id} {what}")

    def wait_until_final(self, job_id: str) -> dict[str, Any]:
        return self.wait_for(
            job_id, lambda job: job["status"] in FINAL_STATUSES, "to end"
        )

    def wait_until_processing(self, job_id: str) -> dict[str, Any]:
        return self.wait_for(
            job_id, lambda job: job["status"] == "processing", "to start"
        )
