"""Rules for jobs: who may run what, limits, idempotency, cancel and delete.

Jobs belong to the user who created them; another user's job is a 404
everywhere. Other features enqueue work through `enqueue_job`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from devflowfix.config import Settings
from devflowfix.db import after_commit
from devflowfix.errors import (
    Conflict,
    Gone,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from devflowfix.jobs import repository
from devflowfix.jobs.dispatch import JobDispatcher
from devflowfix.jobs.registry import JobType, find_job_type, known_job_types
from devflowfix.jobs.results import ResultStore
from devflowfix.jobs.schemas import JobStatistics
from devflowfix.models import Job, User
from devflowfix.models.base import new_public_id, utcnow
from devflowfix.vocabulary import JobStatus, Role

log = structlog.get_logger(__name__)

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# How long a client over the active-jobs limit is told to wait.
ACTIVE_LIMIT_RETRY_SECONDS = 5


@dataclass(frozen=True)
class ResultDownload:
    path: Path
    filename: str
    content_type: str


def enqueue_job(
    session: Session,
    user: User,
    job_type: str,
    parameters: Mapping[str, Any] | BaseModel | None,
    *,
    dispatcher: JobDispatcher,
    settings: Settings,
    idempotency_key: str | None = None,
    limit_active: bool = True,
) -> Job:
    """Queue a job for `user`, or return the job an idempotency key already made.

    Inserts the row and defers the engine's task in the caller's transaction.
    Raises a 422 for an unknown type or bad parameters, a 403 when the user's
    role may not run the type, a 409 when the key was used with other
    parameters and a 429 when the user has too many active jobs.
    """
    kind = find_job_type(job_type)
    _check_role(user, kind)
    validated = _validate_parameters(kind, parameters, settings)
    if kind.validate is not None:
        kind.validate(session, user, validated)
    stored = validated.model_dump(mode="json", exclude_unset=True)
    fingerprint = _fingerprint(kind.name, stored)

    if limit_active or idempotency_key is not None:
        repository.lock_owner(session, user.id)
    if idempotency_key is not None:
        replayed = _replay(session, user, idempotency_key, fingerprint)
        if replayed is not None:
            return replayed
    if limit_active:
        _check_active_limit(session, user, settings)

    now = utcnow()
    job = Job(
        public_id=new_public_id("job"),
        user_id=user.id,
        team_id=user.team_id,
        job_type=kind.name,
        status=JobStatus.QUEUED.value,
        parameters=stored,
        max_attempts=kind.max_attempts or settings.job_max_attempts,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        created_at=now,
        updated_at=now,
    )
    # Submitted before the insert, so the engine's id goes in with the row.
    dispatcher.submit(session, job)
    repository.insert_job(session, job)
    log.info("job.queued", job_id=job.public_id, job_type=kind.name)

    return job


def _check_role(user: User, kind: JobType[Any]) -> None:
    if not Role(user.role).includes(kind.role):
        raise PermissionDenied(
            f"Running {kind.name} jobs needs the {kind.role.value} role or higher."
        )


def _validate_parameters(
    kind: JobType[Any],
    parameters: Mapping[str, Any] | BaseModel | None,
    settings: Settings,
) -> BaseModel:
    if isinstance(parameters, BaseModel):
        parameters = parameters.model_dump(mode="json", exclude_unset=True)

    try:
        validated: BaseModel = kind.parse_parameters(parameters or {}, settings)
        return validated
    except ValidationError as exc:
        raise ValidationFailed(
            f"Invalid parameters for a {kind.name} job.",
            errors=[
                {
                    "loc": ["body", "parameters", *error["loc"]],
                    "msg": error["msg"],
                    "type": error["type"],
                }
                for error in exc.errors()
            ],
        ) from exc


def _fingerprint(job_type: str, parameters: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"job_type": job_type, "parameters": parameters},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(session: Session, user: User, key: str, fingerprint: str) -> Job | None:
    if not IDEMPOTENCY_KEY.match(key):
        raise ValidationFailed.for_field(
            "Idempotency-Key",
            "An Idempotency-Key is 1-255 printable ASCII characters without spaces.",
        )

    existing = repository.find_job_by_key(session, user.id, key)
    if existing is None:
        return None

    if existing.request_fingerprint != fingerprint:
        raise Conflict(
            f"The Idempotency-Key was already used for job {existing.public_id} "
            "with another job type or other parameters."
        )

    log.info("job.replayed", job_id=existing.public_id)
    return existing


def _check_active_limit(session: Session, user: User, settings: Settings) -> None:
    active = repository.count_active_jobs(session, user.id)
    if active >= settings.max_active_jobs_per_user:
        raise RateLimited(
            f"You have {active} queued or processing jobs, the most allowed; "
            "wait for one to finish or cancel one.",
            headers={"Retry-After": str(ACTIVE_LIMIT_RETRY_SECONDS)},
        )


def find_job(session: Session, user: User, job_id: str) -> Job:
    """The job with this id if the user may see it (`repository.visible_to`),
    else `NotFound`."""
    job = repository.find_job(session, user, job_id)
    if job is None:
        raise NotFound(f"No job {job_id}.")
    return job


def page_jobs(
    session: Session,
    user: User,
    *,
    job_type: str | None,
    status: JobStatus | None,
    page: int,
    page_size: int,
) -> tuple[list[Job], int]:
    """One page of the jobs the user sees, newest first, with the number that match."""
    if job_type is not None and job_type not in known_job_types():
        raise ValidationFailed.for_field(
            "job_type", f"unknown job type {job_type!r}", kind="enum"
        )

    return repository.page_jobs(
        session,
        user,
        job_type=job_type,
        status=status.value if status else None,
        offset=(page - 1) * page_size,
        limit=page_size,
    )


def list_active_jobs(session: Session, user: User) -> list[Job]:
    """The queued and processing jobs the user sees, oldest first."""
    return repository.active_jobs(session, user)


def job_statistics(session: Session, user: User) -> JobStatistics:
    """Counts of the jobs the user sees by status and type, and the success rate."""
    by_status = {status.value: 0 for status in JobStatus}
    by_type: dict[str, int] = {}
    for status, job_type, count in repository.count_jobs_by_status_and_type(
        session, user
    ):
        by_status[status] = by_status.get(status, 0) + count
        by_type[job_type] = by_type.get(job_type, 0) + count

    finished = by_status[JobStatus.COMPLETED] + by_status[JobStatus.FAILED]
    success_rate = (
        round(by_status[JobStatus.COMPLETED] * 100 / finished, 2) if finished else 0.0
    )

    return JobStatistics(
        total_jobs=sum(by_status.values()),
        by_status=by_status,
        by_type=dict(sorted(by_type.items(), key=lambda item: (-item[1], item[0]))),
        success_rate=success_rate,
        active_jobs=by_status[JobStatus.QUEUED] + by_status[JobStatus.PROCESSING],
    )


def cancel_job(
    session: Session,
    user: User,
    job_id: str,
    *,
    dispatcher: JobDispatcher,
    settings: Settings,
) -> Job:
    """Cancel a queued or processing job at once; a finished one is a 409.

    A processing job's handler stops at its next check; its partial result is
    discarded. A job past its commit point is a 409 too: it runs to its end.
    """
    job = find_job(session, user, job_id)
    if JobStatus(job.status).is_final or not repository.cancel_active_job(
        session, job, utcnow()
    ):
        raise _cancel_refused(job)

    dispatcher.abort(session, job)
    _remove_files_after_commit(session, settings, job)
    log.info("job.cancelled", job_id=job_id)
    return job


def _cancel_refused(job: Job) -> Conflict:
    if JobStatus(job.status).is_final or job.cancellable:
        return Conflict(
            f"Job {job.public_id} is {job.status}; only queued or processing jobs "
            "can be cancelled."
        )

    step = f" ({job.current_step})" if job.current_step else ""

    return Conflict(
        f"Job {job.public_id} can no longer be cancelled: its work has started to "
        f"take effect{step}, so it runs to its end."
    )


def delete_job(
    session: Session, user: User, job_id: str, *, settings: Settings
) -> None:
    """Delete a completed, failed or cancelled job and its result file."""
    job = find_job(session, user, job_id)
    if not JobStatus(job.status).is_final:
        raise Conflict(
            f"Job {job_id} is {job.status}; cancel it or let it finish before "
            "deleting it."
        )

    repository.delete_job(session, job)
    _remove_files_after_commit(session, settings, job)
    log.info("job.deleted", job_id=job_id)


def _remove_files_after_commit(session: Session, settings: Settings, job: Job) -> None:
    results = ResultStore(settings.results_dir)
    public_id = job.public_id
    after_commit(session, lambda: results.remove_job(public_id))


def find_download(
    session: Session, user: User, job_id: str, *, settings: Settings
) -> ResultDownload:
    """The result file of a completed job; 409 before, 410 once it expired."""
    job = find_job(session, user, job_id)
    if job.status != JobStatus.COMPLETED:
        raise Conflict(
            f"Job {job_id} is {job.status}; its result can be downloaded once it "
            "has completed."
        )

    if job.result_filename is None:
        raise NotFound(f"Job {job_id} has no result file to download.")

    expires_at = job.result_expires_at
    if job.result_path is None or (expires_at is not None and expires_at <= utcnow()):
        raise Gone(
            f"The result of job {job_id} expired and was removed; run the job again."
        )

    path = ResultStore(settings.results_dir).resolve(job.result_path)
    if not path.is_file():
        raise Gone(f"The result of job {job_id} is no longer available.")

    return ResultDownload(
        path=path,
        filename=job.result_filename,
        content_type=job.result_content_type or "application/octet-stream",
    )
