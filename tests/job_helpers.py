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
from devflowfix.jobs.scaled import ScaledWorker

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
