"""The execution wrapper both runners share: claim, run the handler, record.

A runner (the embedded one or a Procrastinate task) claims a job, then calls
`run_claimed_job`, which runs the handler with a `JobContext` and records how
it ended: completed, cancelled, queued again for a retry after a backoff, or
failed. Every one of those writes is fenced on the claim.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import Row
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.errors import AppError
from devflowfix.jobs import repository
from devflowfix.jobs.context import (
    ClaimedJob,
    ClaimLost,
    JobCancelled,
    JobContext,
    JobFailed,
    JobStopped,
    RetryableJobError,
)
from devflowfix.jobs.dispatch import JobDispatcher
from devflowfix.jobs.leases import LeaseKeeper
from devflowfix.jobs.registry import find_job_type
from devflowfix.jobs.results import ResultStore
from devflowfix.models import Job
from devflowfix.models.base import utcnow
from devflowfix.vocabulary import JobStatus

log = structlog.get_logger(__name__)

# One value per process and start: a worker that finds a claim of this host
# with another process id, or with this process id and another nonce, knows
# that its owner is dead (see maintenance.claim_owner_is_dead).
PROCESS_NONCE = secrets.token_hex(4)
MAX_BACKOFF_SECONDS = 3600.0


def worker_identity(runner: str) -> str:
    """`host:pid:nonce:runner`, written into `claimed_by` of every claim."""
    return f"{socket.gethostname()}:{os.getpid()}:{PROCESS_NONCE}:{runner}"


@dataclass(frozen=True)
class JobRuntime:
    """What a worker process needs to run jobs."""

    database: Database
    settings: Settings
    dispatcher: JobDispatcher
    keeper: LeaseKeeper
    results: ResultStore
    worker_name: str


def claim_next(runtime: JobRuntime) -> ClaimedJob | None:
    """Claim the oldest due job, if any (the embedded runner's way)."""
    return _claim(
        runtime, lambda session, request: repository.claim_next_job(session, request)
    )


def claim_by_id(runtime: JobRuntime, job_id: str) -> ClaimedJob | None:
    """Claim one given job, if it is still queued (the Procrastinate task's way)."""
    return _claim(
        runtime,
        lambda session, request: repository.claim_job(session, job_id, request),
    )


def _claim(
    runtime: JobRuntime,
    claim: Callable[[Session, repository.ClaimRequest], Row[Any] | None],
) -> ClaimedJob | None:
    now = utcnow()
    request = repository.ClaimRequest(
        token=secrets.token_hex(16),
        worker=runtime.worker_name,
        now=now,
        lease_until=now + timedelta(seconds=runtime.settings.job_lease_seconds),
    )

    with runtime.database.transaction(write=True) as session:
        row = claim(session, request)
        if row is None:
            return None
        return ClaimedJob(
            row_id=row.id,
            public_id=row.public_id,
            job_type=row.job_type,
            user_row_id=row.user_id,
            user_public_id=row.user_public_id,
            team_id=row.team_id,
            parameters=dict(row.parameters or {}),
            checkpoint=row.checkpoint,
            progress=row.progress,
            attempt=row.attempts,
            max_attempts=row.max_attempts,
            created_at=row.created_at,
            claim_token=request.token,
            cancellable=row.cancellable,
        )


def run_claimed_job(
    runtime: JobRuntime,
    claim: ClaimedJob,
    *,
    abort_requested: Callable[[], bool] = lambda: False,
) -> JobStatus | None:
    """Run a claimed job to its end; the status it was left in (None: lost)."""
    context = JobContext(
        claim,
        database=runtime.database,
        settings=runtime.settings,
        results=runtime.results,
        abort_requested=abort_requested,
    )

    runtime.keeper.track(context)
    started = time.monotonic()
    # Every line logged while the job runs, the handler's own too, names it.
    with structlog.contextvars.bound_contextvars(
        job_id=claim.public_id, job_type=claim.job_type
    ):
        log.info("job.started", attempt=claim.attempt)
        try:
            outcome = _run_and_record(runtime, context)
        finally:
            runtime.keeper.forget(context)
        log.info(
            "job.finished",
            status=outcome.value if outcome else "claim_lost",
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )

    return outcome


def _run_and_record(runtime: JobRuntime, context: JobContext) -> JobStatus | None:
    try:
        result = _call_handler(context)
    except JobStopped as stopped:
        if isinstance(stopped, JobCancelled) and context.stop_reason is not ClaimLost:
            return record_cancelled(runtime, context)
        _record_lost(runtime, context)
        return None
    except (RetryableJobError, OperationalError) as exc:
        return record_retry(runtime, context, _describe(exc))
    except JobFailed as exc:
        return record_failed(runtime, context, str(exc) or "The job failed.")
    except Exception as exc:
        log.exception("job.crashed")
        message = f"The job failed unexpectedly ({type(exc).__name__})."
        return record_failed(runtime, context, message)

    return record_completed(runtime, context, result)


def _call_handler(context: JobContext) -> dict[str, Any] | None:
    try:
        job_type = find_job_type(context.claim.job_type)
    except AppError as exc:
        raise JobFailed(
            f"job type {context.claim.job_type} is not available on this worker"
        ) from exc

    try:
        parameters = job_type.parse_parameters(
            context.claim.parameters, context.settings
        )
    except ValidationError as exc:
        raise JobFailed(f"The job's parameters are not valid: {exc}") from exc

    result = job_type.handler(context, parameters)
    if result is not None and not _is_json_object(result):
        raise JobFailed("The job's handler returned a result that is not JSON.")

    return result


def _is_json_object(value: object) -> bool:
    if not isinstance(value, dict):
        return False
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _describe(exc: Exception) -> str:
    if isinstance(exc, OperationalError):
        return "The database was unavailable."
    return str(exc) or type(exc).__name__


def _released(now: datetime) -> dict[str, Any]:
    return {
        "updated_at": now,
        "claim_token": None,
        "lease_expires_at": None,
        "estimated_completion": None,
    }


def record_completed(
    runtime: JobRuntime, context: JobContext, result: dict[str, Any] | None
) -> JobStatus | None:
    now = utcnow()
    values: dict[str, Any] = {
        **_released(now),
        "status": JobStatus.COMPLETED.value,
        "progress": 100,
        "result": result,
        "error_message": None,
        "completed_at": now,
        "checkpoint": None,
    }

    result_file = context.result
    if result_file is not None:
        retention = timedelta(days=runtime.settings.job_retention_days)
        values.update(
            result_path=result_file.relative_path,
            result_filename=result_file.filename,
            result_content_type=result_file.content_type,
            result_size_bytes=result_file.size_bytes,
            result_expires_at=now + retention,
        )

    if not _write_fenced(runtime, context, values):
        _record_lost(runtime, context)
        return None

    if result_file is not None:
        runtime.results.keep_only(context.job_id, result_file)

    return JobStatus.COMPLETED


def record_cancelled(runtime: JobRuntime, context: JobContext) -> JobStatus:
    # The API marks the row cancelled itself; this write only matters when the
    # engine alone was asked to abort.
    now = utcnow()
    values = {
        **_released(now),
        "status": JobStatus.CANCELLED.value,
        "cancel_requested": True,
        "completed_at": now,
    }

    _write_fenced(runtime, context, values)
    runtime.results.remove_job(context.job_id)
    return JobStatus.CANCELLED


def record_failed(
    runtime: JobRuntime, context: JobContext, message: str
) -> JobStatus | None:
    now = utcnow()
    values = {
        **_released(now),
        "status": JobStatus.FAILED.value,
        "error_message": message[:2000],
        "completed_at": now,
    }

    if not _write_fenced(runtime, context, values):
        _record_lost(runtime, context)
        return None

    runtime.results.remove_job(context.job_id)
    log.info("job.failed", error=message[:200])

    return JobStatus.FAILED


def record_retry(
    runtime: JobRuntime, context: JobContext, message: str
) -> JobStatus | None:
    """Queue the job again after a backoff, or fail it when attempts are spent."""
    claim = context.claim
    if claim.attempt >= claim.max_attempts:
        return record_failed(
            runtime, context, f"{message} (gave up after {claim.attempt} attempts)"
        )

    now = utcnow()
    run_after = now + retry_backoff(runtime.settings, claim.attempt)
    values = {
        **_released(now),
        "status": JobStatus.QUEUED.value,
        "run_after": run_after,
        "error_message": (
            f"Attempt {claim.attempt} of {claim.max_attempts} failed: {message} "
            "Retrying."
        )[:2000],
    }

    if not _write_fenced(runtime, context, values, resubmit=True):
        _record_lost(runtime, context)
        return None

    if context.result is not None:
        runtime.results.discard(context.result)

    log.warning("job.retrying", attempt=claim.attempt, error=message[:200])
    return JobStatus.QUEUED


def retry_backoff(settings: Settings, attempt: int) -> timedelta:
    """Doubling waits: the configured backoff after attempt 1, twice that after 2."""
    seconds = settings.job_retry_backoff_seconds * 2 ** (attempt - 1)
    return timedelta(seconds=min(seconds, MAX_BACKOFF_SECONDS))


def _record_lost(runtime: JobRuntime, context: JobContext) -> None:
    if context.result is not None:
        runtime.results.discard(context.result)
    log.warning("job.claim_lost")


def _write_fenced(
    runtime: JobRuntime,
    context: JobContext,
    values: dict[str, Any],
    *,
    resubmit: bool = False,
) -> bool:
    claim = context.claim
    with runtime.database.transaction(write=True) as session:
        held = repository.update_claimed(
            session, claim.row_id, claim.claim_token, values
        )
        # The job is queued again: the engine learns of it in this transaction.
        job = session.get(Job, claim.row_id) if held and resubmit else None
        if job is not None:
            runtime.dispatcher.submit(session, job)

    return held
