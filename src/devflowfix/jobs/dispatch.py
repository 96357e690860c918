"""How the API tells a job engine about work, inside the caller's transaction.

`submit` runs in the transaction that queues a job (the row insert, a retry,
a recovery); `abort` in the transaction that cancels one. Neither may commit,
so the row and the engine's own record of it stand or fall together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy.orm import Session

from devflowfix.db import after_commit
from devflowfix.models import Job


class JobDispatcher(Protocol):
    def submit(self, session: Session, job: Job) -> None:
        """Have the engine run the queued `job` (not before `job.run_after`).

        A new job is submitted before its row is flushed: it has its public
        id, and `engine_job_id` set here is inserted with it.
        """

    def abort(self, session: Session, job: Job) -> None:
        """Tell the engine that `job` was cancelled."""


class LocalDispatcher:
    """SQLite: runners claim jobs straight from the table.

    A runner in this process is woken when the transaction commits; runners in
    other processes find the job at their next poll.
    """

    def __init__(
        self,
        wake_runner: Callable[[], None] | None = None,
        wake_keeper: Callable[[], None] | None = None,
    ) -> None:
        self._wake_runner = wake_runner
        self._wake_keeper = wake_keeper

    def submit(self, session: Session, job: Job) -> None:
        if self._wake_runner is not None:
            after_commit(session, self._wake_runner)

    def abort(self, session: Session, job: Job) -> None:
        # The lease keeper notices a cancelled claim on its own within a
        # fraction of a second; waking it makes that immediate here.
        if self._wake_keeper is not None:
            after_commit(session, self._wake_keeper)
