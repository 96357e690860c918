"""Housekeeping both engines run: recover abandoned jobs, expire old results.

A job is abandoned when it is `processing` but its worker is gone: its lease
ran out, or its claim names a process of this host that no longer runs. It is
queued again, keeping its checkpoint, while attempts remain, and failed with a
message that says why otherwise. Nothing stays `processing` forever.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from devflowfix.jobs import repository
from devflowfix.jobs.execution import PROCESS_NONCE, JobRuntime
from devflowfix.models import Job
from devflowfix.models.base import utcnow
from devflowfix.vocabulary import JobStatus

log = structlog.get_logger(__name__)

SWEEP_BATCH = 500
# How long a due job may wait in the queue untouched before its engine task is
# deferred again (see resubmit_stale_jobs).
STALE_QUEUED = timedelta(minutes=10)


@dataclass
class Recovery:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def claim_owner_is_dead(claimed_by: str | None) -> bool:
    """True when the claim names a process of this host that is not running.

    Claims from other hosts are judged by their lease alone.
    """
    host, _, rest = (claimed_by or "").partition(":")
    pid_text, _, rest = rest.partition(":")
    nonce = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False

    pid = int(pid_text)
    if pid == os.getpid():
        return nonce != PROCESS_NONCE

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False

    return False


def recover_abandoned_jobs(
    runtime: JobRuntime, *, now: datetime | None = None
) -> Recovery:
    """Requeue or fail every processing job whose worker is gone."""
    now = now or utcnow()
    recovery = Recovery()
    with runtime.database.transaction(write=True) as session:
        for job in repository.processing_jobs(session):
            if not _is_abandoned(job, now):
                continue
            if job.attempts < job.max_attempts:
                _requeue(job, now)
                runtime.dispatcher.submit(session, job)
                recovery.requeued.append(job.public_id)
            else:
                _fail(job, now)
                recovery.failed.append(job.public_id)

        session.flush()

    for public_id in recovery.failed:
        runtime.results.remove_job(public_id)

    if recovery.requeued or recovery.failed:
        log.warning(
            "job.recovered",
            requeued=recovery.requeued,
            failed=recovery.failed,
        )

    return recovery


def _is_abandoned(job: Job, now: datetime) -> bool:
    lease_over = job.lease_expires_at is None or job.lease_expires_at < now
    return lease_over or claim_owner_is_dead(job.claimed_by)


def _requeue(job: Job, now: datetime) -> None:
    job.status = JobStatus.QUEUED.value
    job.claim_token = None
    job.lease_expires_at = None
    job.estimated_completion = None
    job.run_after = None
    job.updated_at = now

    job.error_message = (
        f"Attempt {job.attempts} of {job.max_attempts} was interrupted: its worker "
        "stopped. Resuming from the last checkpoint."
        if job.checkpoint
        else f"Attempt {job.attempts} of {job.max_attempts} was interrupted: its "
        "worker stopped. Retrying."
    )


def _fail(job: Job, now: datetime) -> None:
    job.status = JobStatus.FAILED.value
    job.claim_token = None
    job.lease_expires_at = None
    job.estimated_completion = None
    job.completed_at = now
    job.updated_at = now
    job.error_message = (
        f"The job was interrupted {job.attempts} times because its worker stopped "
        "(crashed, killed or lost its database connection); it is not retried again."
    )


def resubmit_stale_jobs(
    runtime: JobRuntime, *, now: datetime | None = None
) -> list[str]:
    """Hand the engine again the queued jobs that waited `STALE_QUEUED` for nothing.

    A job's engine task is deferred with its row, but it can still be spent
    without running the job: a worker that failed to reach the database for
    every retry of its claim. Submitting twice is harmless; only one claim wins.
    """
    now = now or utcnow()
    with runtime.database.transaction(write=True) as session:
        jobs = repository.stale_queued_jobs(session, now - STALE_QUEUED, SWEEP_BATCH)
        for job in jobs:
            job.updated_at = now
            runtime.dispatcher.submit(session, job)

        resubmitted = [job.public_id for job in jobs]
    if resubmitted:
        log.warning("job.resubmitted", job_ids=resubmitted)

    return resubmitted


def remove_expired_results(runtime: JobRuntime, *, now: datetime | None = None) -> int:
    """Delete result files past their retention; the jobs stay, downloads say 410."""
    now = now or utcnow()
    removed = 0
    while True:
        with runtime.database.transaction(write=True) as session:
            jobs = repository.expired_results(session, now, SWEEP_BATCH)
            if not jobs:
                break
            repository.forget_result_paths(session, [job.id for job in jobs])
            public_ids = [job.public_id for job in jobs]

        for public_id in public_ids:
            runtime.results.remove_job(public_id)
        removed += len(public_ids)

    if removed:
        log.info("job.results_expired", count=removed)

    return removed
