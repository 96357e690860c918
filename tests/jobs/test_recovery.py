"""Recovery of jobs whose worker died, release at shutdown, and result expiry."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.jobs.dispatch import LocalDispatcher
from devflowfix.jobs.embedded import EmbeddedRunner
from devflowfix.jobs.execution import PROCESS_NONCE, JobRuntime, worker_identity
from devflowfix.jobs.leases import LeaseKeeper
from devflowfix.jobs.maintenance import (
    claim_owner_is_dead,
    recover_abandoned_jobs,
    remove_expired_results,
    resubmit_stale_jobs,
)
from devflowfix.jobs.results import ResultStore
from devflowfix.jobs.scaled import ProcrastinateDispatcher
from devflowfix.models import Job
from factories import make_job, make_user
from job_helpers import JobApi, wait_until


@pytest.fixture
def runtime(database: Database, settings: Settings) -> JobRuntime:
    return JobRuntime(
        database=database,
        settings=settings,
        dispatcher=(
            LocalDispatcher() if database.is_sqlite else ProcrastinateDispatcher()
        ),
        keeper=LeaseKeeper(database, settings),
        results=ResultStore(settings.results_dir),
        worker_name=worker_identity("recovery-test"),
    )


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _processing(database: Database, **fields: object) -> Job:
    user = make_user(database)
    now = datetime.now(UTC)
    values: dict[str, object] = {
        "status": "processing",
        "attempts": 1,
        "claim_token": "token-of-the-dead",
        "claimed_by": "elsewhere:1:0:worker",
        "lease_expires_at": now + timedelta(minutes=5),
        "started_at": now,
        "progress": 40,
        "checkpoint": {"cursor": 1234},
    }
    values.update(fields)

    return make_job(database, user, **values)


def _stored(database: Database, job: Job) -> Job:
    with database.transaction(write=False) as session:
        stored = session.get(Job, job.id)
        assert stored is not None
        return stored


def test_an_expired_lease_is_requeued_with_its_checkpoint(
    database: Database, runtime: JobRuntime
) -> None:
    job = _processing(
        database, lease_expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )

    recovery = recover_abandoned_jobs(runtime)

    stored = _stored(database, job)
    assert recovery.requeued == [job.public_id]
    assert (stored.status, stored.claim_token, stored.checkpoint) == (
        "queued",
        None,
        {"cursor": 1234},
    )
    assert stored.attempts == 1
    assert stored.progress == 40
    assert stored.error_message == (
        "Attempt 1 of 3 was interrupted: its worker stopped. Resuming from the last "
        "checkpoint."
    )
    if not database.is_sqlite:
        assert stored.engine_job_id is not None


def test_a_job_without_attempts_left_fails_and_says_why(
    database: Database, runtime: JobRuntime, settings: Settings
) -> None:
    job = _processing(
        database,
        attempts=3,
        lease_expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    leftover = settings.results_dir / job.public_id / "abc" / ".partial-report.pdf"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"%PDF-")

    recovery = recover_abandoned_jobs(runtime)

    stored = _stored(database, job)
    assert recovery.failed == [job.public_id]
    assert stored.status == "failed"
    assert stored.completed_at is not None
    assert stored.error_message == (
        "The job was interrupted 3 times because its worker stopped (crashed, killed "
        "or lost its database connection); it is not retried again."
    )
    assert not (settings.results_dir / job.public_id).exists()


def test_a_claim_of_a_dead_local_process_is_recovered_before_its_lease_ends(
    database: Database, runtime: JobRuntime
) -> None:
    dead = f"{socket.gethostname()}:{_dead_pid()}:{PROCESS_NONCE}:serve"
    job = _processing(database, claimed_by=dead)

    recovery = recover_abandoned_jobs(runtime)

    assert recovery.requeued == [job.public_id]
    assert _stored(database, job).status == "queued"


def test_a_live_claim_with_a_valid_lease_is_left_alone(
    database: Database, runtime: JobRuntime
) -> None:
    job = _processing(database)

    recovery = recover_abandoned_jobs(runtime)

    assert (recovery.requeued, recovery.failed) == ([], [])
    assert _stored(database, job).status == "processing"


@pytest.mark.parametrize(
    ("claimed_by", "dead"),
    [
        pytest.param(
            f"{socket.gethostname()}:{os.getpid()}:{PROCESS_NONCE}:serve",
            False,
            id="this-process",
        ),
        pytest.param(
            f"{socket.gethostname()}:{os.getpid()}:00000000:serve",
            True,
            id="an-earlier-process-with-this-pid",
        ),
        pytest.param("another-host:1:abc:serve", False, id="another-host"),
        pytest.param("garbage", False, id="garbage"),
        pytest.param(None, False, id="unclaimed"),
    ],
)
def test_which_claim_owners_count_as_dead(claimed_by: str | None, dead: bool) -> None:
    assert claim_owner_is_dead(claimed_by) is dead


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_stopping_runner_requeues_its_running_jobs_without_using_an_attempt(
    database: Database, settings: Settings
) -> None:
    user = make_user(database)
    job = make_job(
        database, user, "test_gate", parameters={"gate": "never-opened-in-time"}
    )
    runner = EmbeddedRunner(database, settings, workers=1)
    runner.start()
    wait_until(lambda: _stored(database, job).status == "processing", what="a start")

    runner.stop(grace_seconds=0.2)

    stored = _stored(database, job)
    assert (stored.status, stored.attempts, stored.claim_token) == ("queued", 0, None)


def test_expired_results_are_removed_and_the_job_kept(
    jobs: JobApi, database: Database, runtime: JobRuntime, settings: Settings
) -> None:
    job_id = jobs.create("test_result", {"text": "old"})["job_id"]
    jobs.wait_until_final(job_id)
    with database.transaction() as session:
        session.execute(
            update(Job)
            .where(Job.public_id == job_id)
            .values(result_expires_at=datetime(2020, 1, 1, tzinfo=UTC))
        )

    removed = remove_expired_results(runtime)

    assert removed == 1
    assert not (settings.results_dir / job_id).exists()
    assert jobs.read(job_id)["status"] == "completed"
    download = jobs.client.get(f"/api/v1/jobs/{job_id}/download", headers=jobs.headers)
    assert download.status_code == 410


def test_a_queued_job_left_waiting_is_submitted_again(
    database: Database, runtime: JobRuntime
) -> None:
    user = make_user(database)
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    stale = make_job(database, user, created_at=long_ago, updated_at=long_ago)
    fresh = make_job(database, user)

    resubmitted = resubmit_stale_jobs(runtime)

    assert resubmitted == [stale.public_id]
    assert _stored(database, stale).updated_at > long_ago
    assert _stored(database, fresh).engine_job_id is None
    if not database.is_sqlite:
        assert _stored(database, stale).engine_job_id is not None
