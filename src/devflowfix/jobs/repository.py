"""Queries on the jobs table, the state of record of every job engine.

Every write a worker makes goes through `update_claimed`, which only touches
the row while the worker still holds its claim: the row is `processing` and
carries the worker's claim token. A worker whose claim was cancelled, recovered
or taken over therefore changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Result,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from devflowfix.models import Job, User
from devflowfix.vocabulary import ACTIVE_JOB_STATUSES, JobStatus

ACTIVE = [status.value for status in ACTIVE_JOB_STATUSES]


@dataclass(frozen=True)
class ClaimRequest:
    """Who claims a job, with which token, and until when the claim holds."""

    token: str
    worker: str
    now: datetime
    lease_until: datetime

    def values(self) -> dict[str, Any]:
        return {
            "status": JobStatus.PROCESSING.value,
            "attempts": Job.attempts + 1,
            "claim_token": self.token,
            "claimed_by": self.worker,
            "lease_expires_at": self.lease_until,
            "started_at": func.coalesce(Job.started_at, self.now),
            "updated_at": self.now,
            "run_after": None,
            "estimated_completion": None,
        }


@dataclass(frozen=True)
class ClaimState:
    status: str
    claim_token: str | None
    cancel_requested: bool


def _changed_one(result: Result[Any]) -> bool:
    return cast("CursorResult[Any]", result).rowcount == 1


def insert_job(session: Session, job: Job) -> Job:
    session.add(job)
    session.flush()
    return job


def find_job(session: Session, user_id: int, public_id: str) -> Job | None:
    """The user's job with this public id; other users' jobs are invisible."""
    return session.scalar(
        select(Job).where(Job.user_id == user_id, Job.public_id == public_id)
    )


def find_job_by_key(session: Session, user_id: int, key: str) -> Job | None:
    return session.scalar(
        select(Job).where(Job.user_id == user_id, Job.idempotency_key == key)
    )


def lock_owner(session: Session, user_id: int) -> None:
    """Serialise one user's enqueues, so the active-jobs limit holds under races.

    A SQLite writer already holds the database's write lock; PostgreSQL locks
    the user's row until the transaction ends.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(User.id).where(User.id == user_id).with_for_update())


def count_active_jobs(session: Session, user_id: int) -> int:
    total = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.user_id == user_id, Job.status.in_(ACTIVE))
    )
    return int(total or 0)


def page_jobs(
    session: Session,
    user_id: int,
    *,
    job_type: str | None,
    status: str | None,
    offset: int,
    limit: int,
) -> tuple[list[Job], int]:
    """One page of the user's jobs, newest first, and how many match in all."""
    conditions: list[ColumnElement[bool]] = [Job.user_id == user_id]
    if job_type is not None:
        conditions.append(Job.job_type == job_type)
    if status is not None:
        conditions.append(Job.status == status)
    rows = session.scalars(
        select(Job)
        .where(*conditions)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .offset(offset)
        .limit(limit)
    )
    total = session.scalar(select(func.count()).select_from(Job).where(*conditions))
    return list(rows), int(total or 0)


def active_jobs(session: Session, user_id: int) -> list[Job]:
    """The user's queued and processing jobs, oldest first."""
    return list(
        session.scalars(
            select(Job)
            .where(Job.user_id == user_id, Job.status.in_(ACTIVE))
            .order_by(Job.created_at, Job.id)
        )
    )


def count_jobs_by_status_and_type(
    session: Session, user_id: int
) -> list[tuple[str, str, int]]:
    rows = session.execute(
        select(Job.status, Job.job_type, func.count())
        .where(Job.user_id == user_id)
        .group_by(Job.status, Job.job_type)
    )
    return [(status, job_type, int(count)) for status, job_type, count in rows]


def cancel_active_job(session: Session, job: Job, now: datetime) -> bool:
    """Mark an active job cancelled; False when it finished in the meantime."""
    changed = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status.in_(ACTIVE))
        .values(
            status=JobStatus.CANCELLED.value,
            cancel_requested=True,
            completed_at=now,
            updated_at=now,
            claim_token=None,
            lease_expires_at=None,
            estimated_completion=None,
            run_after=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(job)
    return _changed_one(changed)


def delete_job(session: Session, job: Job) -> None:
    session.execute(delete(Job).where(Job.id == job.id))


def owner_public_id(session: Session, user_id: int) -> str:
    public_id = session.scalar(select(User.public_id).where(User.id == user_id))
    if public_id is None:
        raise LookupError(f"user {user_id} does not exist")
    return public_id


def claim_job(session: Session, job_id: int, claim: ClaimRequest) -> Job | None:
    """Claim the queued job `job_id`; None when it is not queued any more."""
    claimed = session.scalar(
        update(Job)
        .where(
            Job.id == job_id,
            Job.status == JobStatus.QUEUED.value,
            Job.cancel_requested.is_(False),
        )
        .values(**claim.values())
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    return None if claimed is None else session.get(Job, claimed)


def claim_next_job(session: Session, claim: ClaimRequest) -> Job | None:
    """Claim the oldest job that is due; None when there is none.

    On SQLite the writer's transaction holds the database's write lock, so two
    processes cannot claim the same row; on PostgreSQL `SKIP LOCKED` lets
    concurrent claimers pass each other's candidate rows.
    """
    candidate = (
        select(Job.id)
        .where(
            Job.status == JobStatus.QUEUED.value,
            Job.cancel_requested.is_(False),
            or_(Job.run_after.is_(None), Job.run_after <= claim.now),
        )
        .order_by(Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claimed = session.scalar(
        update(Job)
        .where(Job.id == candidate, Job.status == JobStatus.QUEUED.value)
        .values(**claim.values())
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    return None if claimed is None else session.get(Job, claimed)


def next_run_after(session: Session, now: datetime) -> datetime | None:
    """When the next queued job that waits for a retry becomes due."""
    return session.scalar(
        select(func.min(Job.run_after)).where(
            Job.status == JobStatus.QUEUED.value, Job.run_after > now
        )
    )


def update_claimed(
    session: Session, job_id: int, token: str, values: dict[str, Any]
) -> bool:
    """Write `values` only while the caller holds the job's claim."""
    changed = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.claim_token == token,
            Job.status == JobStatus.PROCESSING.value,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return _changed_one(changed)


def claim_states(session: Session, job_ids: Iterable[int]) -> dict[int, ClaimState]:
    rows = session.execute(
        select(Job.id, Job.status, Job.claim_token, Job.cancel_requested).where(
            Job.id.in_(list(job_ids))
        )
    )
    return {
        job_id: ClaimState(status, token, bool(cancelled))
        for job_id, status, token, cancelled in rows
    }


def renew_leases(
    session: Session, tokens: Sequence[str], lease_until: datetime
) -> None:
    session.execute(
        update(Job)
        .where(
            Job.claim_token.in_(list(tokens)),
            Job.status == JobStatus.PROCESSING.value,
        )
        .values(lease_expires_at=lease_until)
        .execution_options(synchronize_session=False)
    )


def release_claims(session: Session, tokens: Sequence[str]) -> None:
    """Queue claimed jobs again without counting the attempt."""
    if not tokens:
        return
    session.execute(
        update(Job)
        .where(
            Job.claim_token.in_(list(tokens)),
            Job.status == JobStatus.PROCESSING.value,
        )
        .values(
            status=JobStatus.QUEUED.value,
            attempts=Job.attempts - 1,
            claim_token=None,
            lease_expires_at=None,
            estimated_completion=None,
        )
        .execution_options(synchronize_session=False)
    )


def processing_jobs(session: Session) -> list[Job]:
    """Every processing job, locked for the caller (skipping rows others hold)."""
    return list(
        session.scalars(
            select(Job)
            .where(Job.status == JobStatus.PROCESSING.value)
            .order_by(Job.id)
            .with_for_update(skip_locked=True)
        )
    )


def expired_results(session: Session, now: datetime, limit: int) -> list[Job]:
    return list(
        session.scalars(
            select(Job)
            .where(Job.result_path.is_not(None), Job.result_expires_at < now)
            .order_by(Job.id)
            .limit(limit)
        )
    )


def forget_result_paths(session: Session, job_ids: Sequence[int]) -> None:
    session.execute(
        update(Job)
        .where(Job.id.in_(list(job_ids)))
        .values(result_path=None)
        .execution_options(synchronize_session=False)
    )
