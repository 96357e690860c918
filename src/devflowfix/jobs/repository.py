"""Queries on the jobs table, the state of record of every job engine.

Every write a worker makes goes through `update_claimed`, which only touches
the row while the worker still holds its claim: the row is `processing` and
carries the worker's claim token. A worker whose claim was cancelled, recovered
or taken over therefore changes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Result,
    Row,
    Table,
    Update,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from devflowfix.models import Job, User
from devflowfix.models.base import UTCDateTime
from devflowfix.vocabulary import ACTIVE_JOB_STATUSES, JobStatus, Role

ACTIVE = [status.value for status in ACTIVE_JOB_STATUSES]
JOBS = cast(Table, Job.__table__)


@dataclass(frozen=True)
class ClaimRequest:
    """Who claims a job, with which token, and until when the claim holds."""

    token: str
    worker: str
    now: datetime
    lease_until: datetime

    def parameters(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "worker": self.worker,
            "now": self.now,
            "lease_until": self.lease_until,
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


def visible_to(user: User) -> ColumnElement[bool]:
    """The jobs `user` may see: their own and, for a team admin, the team's
    automatic jobs, which belong to its service user. Nobody else's."""
    if user.role != Role.ADMIN.value:
        return Job.user_id == user.id

    service_user = select(User.id).where(
        User.team_id == user.team_id, User.is_service.is_(True)
    )
    return or_(Job.user_id == user.id, Job.user_id.in_(service_user))


def find_job(session: Session, user: User, public_id: str) -> Job | None:
    """The job with this public id if `user` may see it; others are invisible."""
    return session.scalar(
        select(Job).where(visible_to(user), Job.public_id == public_id)
    )


def find_job_by_key(session: Session, user_id: int, key: str) -> Job | None:
    return session.scalar(
        select(Job).where(Job.user_id == user_id, Job.idempotency_key == key)
    )


def find_unstarted_job(session: Session, user_id: int, job_type: str) -> Job | None:
    """The user's newest queued job of `job_type` that no attempt has started,
    locked until the transaction ends (PostgreSQL; a SQLite writer holds the
    whole database).

    A claim that races with the caller waits for the lock and then sees what
    the caller committed; a job claimed first is no longer found.
    """
    return session.scalar(
        select(Job)
        .where(
            Job.user_id == user_id,
            Job.job_type == job_type,
            Job.status == JobStatus.QUEUED.value,
            Job.started_at.is_(None),
            Job.cancel_requested.is_(False),
        )
        .order_by(Job.id.desc())
        .limit(1)
        .with_for_update()
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
    user: User,
    *,
    job_type: str | None,
    status: str | None,
    offset: int,
    limit: int,
) -> tuple[list[Job], int]:
    """One page of the jobs `user` sees, newest first, and how many match."""
    conditions: list[ColumnElement[bool]] = [visible_to(user)]
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


def active_jobs(session: Session, user: User) -> list[Job]:
    """The queued and processing jobs `user` sees, oldest first."""
    return list(
        session.scalars(
            select(Job)
            .where(visible_to(user), Job.status.in_(ACTIVE))
            .order_by(Job.created_at, Job.id)
        )
    )


def count_jobs_by_status_and_type(
    session: Session, user: User
) -> list[tuple[str, str, int]]:
    rows = session.execute(
        select(Job.status, Job.job_type, func.count())
        .where(visible_to(user))
        .group_by(Job.status, Job.job_type)
    )
    return [(status, job_type, int(count)) for status, job_type, count in rows]


def cancel_active_job(session: Session, job: Job, now: datetime) -> bool:
    """Mark an active job cancelled; False when it finished in the meantime or
    passed its commit point.

    One conditional update, so a cancel and a commit point that race are
    ordered by the database: exactly one of them takes effect.
    """
    changed = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status.in_(ACTIVE), Job.cancellable.is_(True))
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


def _claim_statement(*conditions: ColumnElement[bool]) -> Update:
    return (
        update(JOBS)
        .where(*conditions, JOBS.c.status == JobStatus.QUEUED.value)
        .values(
            status=JobStatus.PROCESSING.value,
            attempts=JOBS.c.attempts + 1,
            claim_token=bindparam("token"),
            claimed_by=bindparam("worker"),
            lease_expires_at=bindparam("lease_until", type_=UTCDateTime()),
            started_at=func.coalesce(
                JOBS.c.started_at, bindparam("now", type_=UTCDateTime())
            ),
            updated_at=bindparam("now", type_=UTCDateTime()),
            run_after=None,
            estimated_completion=None,
        )
        .returning(
            *JOBS.c,
            select(User.public_id)
            .where(User.id == JOBS.c.user_id)
            .scalar_subquery()
            .label("user_public_id"),
        )
    )


# Built once: every claim runs one of these, and a statement built per call
# costs more in SQLAlchemy than the claim costs in the database.
_CLAIM_ONE = _claim_statement(
    JOBS.c.public_id == bindparam("wanted_id"), JOBS.c.cancel_requested.is_(False)
)
_CLAIM_NEXT = _claim_statement(
    JOBS.c.id
    == (
        select(JOBS.c.id)
        .where(
            JOBS.c.status == JobStatus.QUEUED.value,
            JOBS.c.cancel_requested.is_(False),
            or_(
                JOBS.c.run_after.is_(None),
                JOBS.c.run_after <= bindparam("now", type_=UTCDateTime()),
            ),
        )
        .order_by(JOBS.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
)


def claim_job(session: Session, public_id: str, claim: ClaimRequest) -> Row[Any] | None:
    """Claim the queued job `public_id`: its row (with its owner's
    `user_public_id`), or None when it is not queued."""
    parameters = {**claim.parameters(), "wanted_id": public_id}
    return session.execute(_CLAIM_ONE, parameters).first()


def claim_next_job(session: Session, claim: ClaimRequest) -> Row[Any] | None:
    """Claim the oldest job that is due: its row, or None when there is none.

    On SQLite the writer's transaction holds the database's write lock, so two
    processes cannot claim the same row; on PostgreSQL `SKIP LOCKED` lets
    concurrent claimers pass each other's candidate rows.
    """
    return session.execute(_CLAIM_NEXT, claim.parameters()).first()


def earliest_due(session: Session) -> datetime | None:
    """When the queued job that is due first became or becomes due, if any."""
    return session.scalar(
        select(func.min(func.coalesce(Job.run_after, Job.created_at))).where(
            Job.status == JobStatus.QUEUED.value, Job.cancel_requested.is_(False)
        )
    )


def update_claimed(
    session: Session, job_id: int, token: str, values: dict[str, Any]
) -> bool:
    """Write `values` only while the caller holds the job's claim."""
    statement = _claimed_update(tuple(sorted(values)))
    parameters = {f"new_{column}": value for column, value in values.items()}
    changed = session.execute(
        statement, {"fenced_id": job_id, "fenced_token": token, **parameters}
    )
    return _changed_one(changed)


@functools.cache
def _claimed_update(columns: tuple[str, ...]) -> Update:
    # One statement per set of columns, built once: workers write progress and
    # outcomes all the time, and building a statement costs more than running it.
    return (
        update(JOBS)
        .where(
            JOBS.c.id == bindparam("fenced_id"),
            JOBS.c.claim_token == bindparam("fenced_token"),
            JOBS.c.status == JobStatus.PROCESSING.value,
        )
        .values(
            {
                column: bindparam(f"new_{column}", type_=JOBS.c[column].type)
                for column in columns
            }
        )
    )


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


def stale_queued_jobs(session: Session, before: datetime, limit: int) -> list[Job]:
    """Queued jobs due since before `before` that nothing touched since then."""
    return list(
        session.scalars(
            select(Job)
            .where(
                Job.status == JobStatus.QUEUED.value,
                Job.cancel_requested.is_(False),
                func.coalesce(Job.run_after, Job.created_at) < before,
                Job.updated_at < before,
            )
            .order_by(Job.id)
            .limit(limit)
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
