"""The scaled deployment's engine: Procrastinate workers on PostgreSQL.

The API inserts the job row and defers a Procrastinate task in one
transaction, on the request's own connection (`ProcrastinateDispatcher`).
`devflowfix worker` runs a Procrastinate worker (`ScaledWorker`); its task
claims the row and runs the shared execution wrapper. Periodic tasks recover
abandoned jobs every five seconds and remove expired results. Procrastinate's
tables are its own: the API never reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

import procrastinate
import structlog
from procrastinate.exceptions import JobAborted
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.jobs.execution import (
    JobRuntime,
    claim_by_id,
    run_claimed_job,
    worker_identity,
)
from devflowfix.jobs.leases import LeaseKeeper
from devflowfix.jobs.maintenance import (
    recover_abandoned_jobs,
    remove_expired_results,
    resubmit_stale_jobs,
)
from devflowfix.jobs.results import ResultStore
from devflowfix.models import Job
from devflowfix.vocabulary import JobStatus

log = structlog.get_logger(__name__)

QUEUE = "devflowfix"
RUN_JOB = "devflowfix.run_job"
RECOVER_JOBS = "devflowfix.recover_jobs"
SWEEP_RESULTS = "devflowfix.sweep_results"
RUNTIME_KEY = "devflowfix_runtime"


def libpq_url(database_url: str) -> str:
    """The database URL as psycopg (and so Procrastinate) expects it."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _runtime(context: procrastinate.JobContext) -> JobRuntime:
    runtime: JobRuntime = context.additional_context[RUNTIME_KEY]
    return runtime


def run_job(context: procrastinate.JobContext, job_id: str) -> None:
    """Claim the job row and run it; an already-claimed or cancelled row is skipped."""
    runtime = _runtime(context)
    claim = claim_by_id(runtime, job_id)
    if claim is None:
        log.info("job.not_claimable", job_id=job_id)
        return
    outcome = run_claimed_job(runtime, claim, abort_requested=context.should_abort)
    if outcome is JobStatus.CANCELLED:
        raise JobAborted


def recover_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
    """Requeue or fail jobs whose worker died; resubmit jobs left waiting."""
    runtime = _runtime(context)
    recover_abandoned_jobs(runtime)
    resubmit_stale_jobs(runtime)


async def sweep_results(context: procrastinate.JobContext, timestamp: int) -> None:
    """Remove expired result files and Procrastinate's own finished jobs."""
    runtime = _runtime(context)

    await asyncio.to_thread(remove_expired_results, runtime)
    # TODO: a killed worker's Procrastinate row stays `doing` (the jobs table
    # has recovered the job); only finished rows are removed here.
    await context.app.job_manager.delete_old_jobs(
        nb_hours=runtime.settings.job_retention_days * 24,
        include_failed=True,
        include_cancelled=True,
        include_aborted=True,
    )


def build_procrastinate_app(connector: Any) -> procrastinate.App:
    """A Procrastinate app with DevFlowFix's tasks, on `connector`."""
    app = procrastinate.App(connector=connector)
    # The wrapper records every outcome of a claimed job itself; what can
    # escape is a failure to claim (the database unreachable), worth retrying.
    claim_retry = procrastinate.RetryStrategy(
        max_attempts=5, exponential_wait=2, retry_exceptions={SQLAlchemyError}
    )
    app.task(name=RUN_JOB, pass_context=True, queue=QUEUE, retry=claim_retry)(run_job)

    recover = app.task(name=RECOVER_JOBS, pass_context=True, queue=QUEUE)(recover_jobs)
    app.periodic(cron="*/5 * * * * *", periodic_id="recover")(recover)

    sweep = app.task(name=SWEEP_RESULTS, pass_context=True, queue=QUEUE)(sweep_results)
    app.periodic(cron="*/10 * * * *", periodic_id="sweep")(sweep)

    return app


def _driver_connection(session: Session) -> Any:
    # The psycopg connection under the session, inside its open transaction.
    return session.connection().connection.driver_connection


class ProcrastinateDispatcher:
    """Defers and aborts Procrastinate jobs on the caller's own connection."""

    def __init__(self) -> None:
        # Never opened: every query runs on a connection the caller passes.
        self.app = build_procrastinate_app(procrastinate.SyncPsycopgConnector())

    def submit(self, session: Session, job: Job) -> None:
        deferrer = self.app.configure_task(
            RUN_JOB,
            connection=_driver_connection(session),
            schedule_at=job.run_after,
            queue=QUEUE,
        )
        job.engine_job_id = deferrer.defer(job_id=job.public_id)

    def abort(self, session: Session, job: Job) -> None:
        if job.engine_job_id is not None:
            self.app.job_manager.cancel_job_by_id(
                job.engine_job_id, abort=True, connection=_driver_connection(session)
            )


class ScaledWorker:
    """A Procrastinate worker process (or thread) running DevFlowFix jobs.

    With `listen` it is woken by PostgreSQL notifications of new jobs; without,
    it polls every `DEVFLOWFIX_JOB_POLL_INTERVAL_SECONDS` (for connection
    poolers that cannot pass LISTEN on).
    """

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        concurrency: int | None = None,
        name: str = "worker",
        listen: bool = True,
    ) -> None:
        self.settings = settings
        self.listen = listen
        self.concurrency = concurrency or max(1, settings.job_workers)

        self.keeper = LeaseKeeper(database, settings)
        self.runtime = JobRuntime(
            database=database,
            settings=settings,
            dispatcher=ProcrastinateDispatcher(),
            keeper=self.keeper,
            results=ResultStore(settings.results_dir),
            worker_name=worker_identity(name),
        )

        self.app = build_procrastinate_app(
            procrastinate.PsycopgConnector(
                conninfo=libpq_url(settings.database_url),
                min_size=1,
                max_size=self.concurrency + 4,
            )
        )

        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def run(self, *, install_signal_handlers: bool = True) -> None:
        """Run until SIGINT or SIGTERM (or `stop`)."""
        asyncio.run(self._serve(install_signal_handlers))

    def start_in_thread(self) -> None:
        """Run in a background thread of this process, until `stop`."""
        self._thread = threading.Thread(
            target=self.run,
            kwargs={"install_signal_handlers": False},
            name="devflowfix-procrastinate",
            daemon=True,
        )
        self._thread.start()
        self._ready.wait(30)

    def stop(self) -> None:
        """Stop a worker started with `start_in_thread` and wait for it."""
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    async def _serve(self, install_signal_handlers: bool) -> None:
        await asyncio.to_thread(recover_abandoned_jobs, self.runtime)

        self.keeper.start()
        self._loop = asyncio.get_running_loop()
        try:
            async with self.app.open_async():
                self._task = asyncio.create_task(
                    self.app.run_worker_async(
                        queues=[QUEUE],
                        name=self.runtime.worker_name,
                        concurrency=self.concurrency,
                        install_signal_handlers=install_signal_handlers,
                        listen_notify=self.listen,
                        fetch_job_polling_interval=self.settings.job_poll_interval_seconds,
                        abort_job_polling_interval=1.0,
                        additional_context={RUNTIME_KEY: self.runtime},
                    )
                )

                self._ready.set()
                log.info(
                    "job.runner_started",
                    runner="procrastinate",
                    workers=self.concurrency,
                )
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        finally:
            self._ready.set()
            self.keeper.stop()
            log.info("job.runner_stopped", runner="procrastinate")
