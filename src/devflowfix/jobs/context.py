"""What a job handler sees of the engine that runs it: `JobContext`.

A handler reports progress, checks for cancellation, saves checkpoints, writes
in fenced transactions and writes its result file through the context, and
nothing else; the same handler therefore runs unchanged on the embedded runner
and on Procrastinate workers.

Stopping: `report`, `checkpoint` and `transaction` raise `JobCancelled` once
the job was cancelled and `ClaimLost` once this worker no longer owns it. Both
derive from `JobStopped`, a `BaseException`, so that a handler's
`except Exception` does not swallow them. A handler raises `RetryableJobError`
for a failure worth another attempt, `JobFailed` for one that is final.

A handler whose work takes effect outside the database (a push to a git
remote) calls `commit_point` right before it: from then on the job can no
longer be cancelled, so it always finishes what it started.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.jobs import repository
from devflowfix.jobs.results import ResultFile, ResultStore
from devflowfix.models import User
from devflowfix.models.base import utcnow
from devflowfix.vocabulary import JobStatus


class JobStopped(BaseException):
    """The job must stop now; let it propagate out of the handler."""


class JobCancelled(JobStopped):
    """The job was cancelled; its partial result is discarded."""


class ClaimLost(JobStopped):
    """This worker no longer owns the job, so nothing it writes would count."""


class RetryableJobError(Exception):
    """A failure worth another attempt (after a backoff) while attempts remain."""


class JobFailed(Exception):
    """A final failure; the message is shown to the user as `error_message`."""


@dataclass(frozen=True)
class ClaimedJob:
    """The job row as it was when this worker claimed it."""

    row_id: int
    public_id: str
    job_type: str
    user_row_id: int
    user_public_id: str
    team_id: int
    parameters: dict[str, Any]
    checkpoint: dict[str, Any] | None
    progress: int
    attempt: int
    max_attempts: int
    created_at: datetime
    claim_token: str
    cancellable: bool = True


class JobContext:
    """The handler's view of its job; one instance per attempt, one thread."""

    def __init__(
        self,
        claim: ClaimedJob,
        *,
        database: Database,
        settings: Settings,
        results: ResultStore,
        abort_requested: Callable[[], bool] = lambda: False,
    ) -> None:
        self.claim = claim
        self.settings = settings
        self._database = database
        self._results = results
        self._abort_requested = abort_requested

        self._stop = threading.Event()
        self._stop_reason: type[JobStopped] = JobCancelled
        self._pending: dict[str, Any] = {}
        self._checkpoint = claim.checkpoint
        self._session: Session | None = None
        self._result: ResultFile | None = None

        self._started = time.monotonic()
        self._start_percent = float(claim.progress)
        # The first report is written at once; later ones are throttled.
        self._last_write = float("-inf")
        self._cancellable = claim.cancellable

    @property
    def job_id(self) -> str:
        """The job's public id, `job_` and 12 hex digits."""
        return self.claim.public_id

    @property
    def user_id(self) -> str:
        """The public id of the user who created the job."""
        return self.claim.user_public_id

    @property
    def team_id(self) -> int:
        """The team (its row id) whose data the job may touch."""
        return self.claim.team_id

    @property
    def created_at(self) -> datetime:
        """When the job was created: the `now` of date filters, on every attempt."""
        return self.claim.created_at

    @property
    def attempt(self) -> int:
        """1 on the first attempt, 2 on the first retry, and so on."""
        return self.claim.attempt

    @property
    def checkpoint_data(self) -> dict[str, Any] | None:
        """The last checkpoint saved by this or an earlier attempt, if any."""
        return self._checkpoint

    @property
    def database(self) -> Database:
        """The database, for services that run their own short transactions
        (their writes are not fenced on the claim; `transaction()` writes are)."""
        return self._database

    @property
    def result(self) -> ResultFile | None:
        """The result file written by `open_result`, once it is complete."""
        return self._result

    def load_user(self, session: Session) -> User:
        """The user who created the job, in `session`."""
        user = session.get(User, self.claim.user_row_id)
        if user is None:
            raise JobFailed("The user who created this job no longer exists.")
        return user

    @property
    def cancellable(self) -> bool:
        """False once the job passed its commit point, in this or an earlier attempt."""
        return self._cancellable

    def cancelled(self) -> bool:
        """True once the job was cancelled (or this worker lost it): stop soon."""
        if not self._stop.is_set() and self._cancellable and self._abort_requested():
            self.stop(JobCancelled)
        return self._stop.is_set()

    def commit_point(self) -> None:
        """Pass the point of no return: from now on the job cannot be cancelled.

        Raises `JobCancelled` when it was cancelled before; once this returns,
        `POST /cancel` answers 409 and the job runs to its end (retries
        included). It commits at once, so it is called outside `transaction()`.
        """
        self._raise_if_stopped()
        if self._session is not None:
            raise RuntimeError("commit_point is called outside a job transaction")

        if self._cancellable:
            self._pending["cancellable"] = False
            self._write_pending()
            self._cancellable = False

    def report(
        self, progress: float, step: str | None = None, *, total: float | None = None
    ) -> None:
        """Record progress: a percentage, or `progress` done out of `total`.

        Writes are throttled to one per `DEVFLOWFIX_JOB_PROGRESS_INTERVAL_SECONDS`
        and renew the claim's lease; `step` None keeps the current step. Raises
        `JobCancelled` once the job was cancelled.
        """
        self._raise_if_stopped()
        percent = _percent(progress, total)
        self._pending["progress"] = int(percent)
        self._pending["estimated_completion"] = self._estimate(percent)
        if step is not None:
            self._pending["current_step"] = step[:255]

        interval = self.settings.job_progress_interval_seconds
        if self._session is None and time.monotonic() - self._last_write >= interval:
            self._write_pending()

    def checkpoint(self, data: dict[str, Any]) -> None:
        """Save where the work stands, for a retried attempt to resume from.

        Inside `transaction()` it commits with the transaction; outside, at once.
        """
        self._raise_if_stopped()
        self._checkpoint = data
        self._pending["checkpoint"] = data
        if self._session is None:
            self._write_pending()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write session whose commit is fenced on this worker's claim.

        Pending progress and the checkpoint commit with it. When the claim is
        gone (cancelled, recovered, taken over) nothing is committed and the
        block raises `JobCancelled` or `ClaimLost`.
        """
        self._raise_if_stopped()
        if self._session is not None:
            raise RuntimeError("job transactions do not nest")

        session = self._database.session(write=True)
        self._session = session
        try:
            yield session
            if not repository.update_claimed(
                session, self.claim.row_id, self.claim.claim_token, self._values()
            ):
                session.rollback()
                self._raise_fence_failure()
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            self._session = None
            session.close()

        self._written()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session that never holds SQLite's write lock."""
        with self._database.transaction(write=False) as session:
            yield session

    @contextmanager
    def open_result(self, filename: str, content_type: str) -> Iterator[BinaryIO]:
        """A binary file that becomes the job's downloadable result.

        It is written under a temporary name and renamed when the block ends
        without an error; a failed or cancelled job discards it.
        """
        self._raise_if_stopped()
        with self._results.write(self.job_id, filename, content_type) as (
            stream,
            finished,
        ):
            yield stream

        previous, self._result = self._result, finished[0]
        if previous is not None:
            self._results.discard(previous)

    def stop(self, reason: type[JobStopped]) -> None:
        """Ask the handler to stop at its next check (called by the engine)."""
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop.set()

    @property
    def stop_reason(self) -> type[JobStopped] | None:
        return self._stop_reason if self._stop.is_set() else None

    def _raise_if_stopped(self) -> None:
        if self.cancelled():
            raise self._stop_reason()

    def _values(self) -> dict[str, Any]:
        now = utcnow()
        lease = timedelta(seconds=self.settings.job_lease_seconds)
        return {**self._pending, "updated_at": now, "lease_expires_at": now + lease}

    def _write_pending(self) -> None:
        with self._database.transaction(write=True) as session:
            held = repository.update_claimed(
                session, self.claim.row_id, self.claim.claim_token, self._values()
            )
        if not held:
            self._raise_fence_failure()
        self._written()

    def _written(self) -> None:
        self._pending.clear()
        self._last_write = time.monotonic()

    def _raise_fence_failure(self) -> None:
        with self._database.transaction(write=False) as session:
            state = repository.claim_states(session, [self.claim.row_id]).get(
                self.claim.row_id
            )

        cancelled = state is not None and state.status == JobStatus.CANCELLED
        self.stop(JobCancelled if cancelled else ClaimLost)
        raise self._stop_reason()

    def _estimate(self, percent: float) -> datetime | None:
        done = percent - self._start_percent
        if done <= 0 or percent >= 100:
            return None
        elapsed = time.monotonic() - self._started
        remaining = elapsed * (100 - percent) / done
        return utcnow() + timedelta(seconds=round(remaining, 3))


def _percent(progress: float, total: float | None) -> float:
    if total is not None:
        progress = 100.0 if total <= 0 else progress * 100 / total
    return min(100.0, max(0.0, progress))
