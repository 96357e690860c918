"""The embedded job runner: worker threads inside the `devflowfix serve` process.

`DEVFLOWFIX_JOB_WORKERS` threads claim due jobs from the jobs table, under
SQLite's write lock so that several processes on one file never claim the same
job. An enqueue in this process wakes them at once; jobs queued by other
processes, and retries that come due, are found by polling every
`DEVFLOWFIX_JOB_POLL_INTERVAL_SECONDS`. A housekeeping thread recovers
abandoned jobs (at start-up, then every half lease) and removes expired
results.
"""

from __future__ import annotations

import threading
import time

import structlog
from sqlalchemy.exc import SQLAlchemyError

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.jobs import repository
from devflowfix.jobs.context import ClaimLost
from devflowfix.jobs.dispatch import LocalDispatcher
from devflowfix.jobs.execution import (
    JobRuntime,
    claim_next,
    run_claimed_job,
    worker_identity,
)
from devflowfix.jobs.leases import LeaseKeeper
from devflowfix.jobs.maintenance import recover_abandoned_jobs, remove_expired_results
from devflowfix.jobs.results import ResultStore
from devflowfix.models.base import utcnow

log = structlog.get_logger(__name__)

RESULT_SWEEP_SECONDS = 600.0
STOP_GRACE_SECONDS = 10.0


class EmbeddedRunner:
    """Runs jobs on threads of this process until stopped."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        workers: int | None = None,
        name: str = "embedded",
    ) -> None:
        self.settings = settings
        self.workers = settings.job_workers if workers is None else workers

        self.keeper = LeaseKeeper(database, settings)
        self.dispatcher = LocalDispatcher(self.wake, self.keeper.check_soon)
        self.runtime = JobRuntime(
            database=database,
            settings=settings,
            dispatcher=self.dispatcher,
            keeper=self.keeper,
            results=ResultStore(settings.results_dir),
            worker_name=worker_identity(name),
        )

        self._work = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def wake(self) -> None:
        """Tell idle worker threads that a job may be waiting."""
        self._work.set()

    def start(self) -> None:
        """Recover what a dead process left behind, then start the threads."""
        self._housekeep(sweep_results=True)

        self._stopping.clear()
        self.keeper.start()
        self._threads = [
            threading.Thread(
                target=self._work_loop, name=f"devflowfix-job-{number}", daemon=True
            )
            for number in range(self.workers)
        ]
        self._threads.append(
            threading.Thread(
                target=self._housekeeping_loop,
                name="devflowfix-jobs-housekeeping",
                daemon=True,
            )
        )

        for thread in self._threads:
            thread.start()

        log.info("job.runner_started", runner="embedded", workers=self.workers)

    def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Stop claiming; give running jobs `grace_seconds` to end, then leave them.

        A job still running is left `processing`; the next runner to start on
        this host recovers it at once, any other after its lease.
        """
        self._stopping.set()
        self._work.set()
        deadline = time.monotonic() + grace_seconds
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

        if any(thread.is_alive() for thread in self._threads):
            self._release_running_jobs()
        self.keeper.stop()
        self._threads = []
        log.info("job.runner_stopped", runner="embedded")

    def _release_running_jobs(self) -> None:
        """Queue still-running jobs again, so another runner takes them at once.

        The attempt does not count: the job did not fail, its runner stopped.
        """
        contexts = self.keeper.tracked()
        try:
            with self.runtime.database.transaction(write=True) as session:
                repository.release_claims(
                    session, [context.claim.claim_token for context in contexts]
                )
        except SQLAlchemyError:
            log.warning("job.release_failed", exc_info=True)

        for context in contexts:
            context.stop(ClaimLost)

        log.warning("job.released", job_ids=[context.job_id for context in contexts])

    def _work_loop(self) -> None:
        ran = False
        while not self._stopping.is_set():
            self._work.clear()
            # Right after a job, claim the next at once; otherwise read first.
            wait = 0.0 if ran else self._seconds_until_due()
            ran = wait == 0 and self._run_next()
            if not ran and wait > 0:
                self._work.wait(wait)

    def _run_next(self) -> bool:
        """Claim and run one due job; False when there was none to claim."""
        try:
            claim = claim_next(self.runtime)
        except SQLAlchemyError:
            log.warning("job.claim_failed", exc_info=True)
            self._work.wait(self.settings.job_poll_interval_seconds)
            return False

        if claim is None:
            return False

        run_claimed_job(self.runtime, claim)
        return True

    def _seconds_until_due(self) -> float:
        """0 when a job is due now; else how long to wait before looking again.

        A read first, so idle threads do not queue for SQLite's write lock.
        """
        poll = self.settings.job_poll_interval_seconds
        try:
            with self.runtime.database.transaction(write=False) as session:
                due = repository.earliest_due(session)
        except SQLAlchemyError:
            return poll

        if due is None:
            return poll

        return min(poll, max(0.0, (due - utcnow()).total_seconds()))

    def _housekeeping_loop(self) -> None:
        recover_every = max(1.0, self.settings.job_lease_seconds / 2)
        next_sweep = time.monotonic() + RESULT_SWEEP_SECONDS
        while not self._stopping.wait(recover_every):
            sweep = time.monotonic() >= next_sweep
            if sweep:
                next_sweep = time.monotonic() + RESULT_SWEEP_SECONDS
            self._housekeep(sweep_results=sweep)

    def _housekeep(self, *, sweep_results: bool) -> None:
        try:
            recovery = recover_abandoned_jobs(self.runtime)
            if recovery.requeued:
                self.wake()
            if sweep_results:
                remove_expired_results(self.runtime)
        except SQLAlchemyError:
            log.warning("job.housekeeping_failed", exc_info=True)
