"""The lease keeper: one thread per worker process that watches its claims.

While a job runs, the keeper renews its lease (so a live worker never looks
dead) and checks, several times a second, that the claim still holds. Once the
job was cancelled or taken over, it tells the handler's context to stop.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import structlog
from sqlalchemy.exc import SQLAlchemyError

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.jobs import repository
from devflowfix.jobs.context import ClaimLost, JobCancelled, JobContext
from devflowfix.models.base import utcnow
from devflowfix.vocabulary import JobStatus

log = structlog.get_logger(__name__)

# How often running jobs are checked for cancellation; DESIGN.md wants a
# cancel effective within two seconds.
CANCEL_CHECK_SECONDS = 0.25


class LeaseKeeper:
    """Renews the leases of running jobs and stops those whose claim is gone."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        check_seconds: float = CANCEL_CHECK_SECONDS,
    ) -> None:
        self._database = database
        self._lease = timedelta(seconds=settings.job_lease_seconds)
        self._renew_seconds = settings.job_lease_seconds / 3
        self._check_seconds = check_seconds

        self._contexts: dict[int, JobContext] = {}
        self._lock = threading.Lock()
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_renewal = 0.0

    def track(self, context: JobContext) -> None:
        with self._lock:
            self._contexts[context.claim.row_id] = context

    def forget(self, context: JobContext) -> None:
        with self._lock:
            self._contexts.pop(context.claim.row_id, None)

    def tracked(self) -> list[JobContext]:
        """The contexts of the jobs running in this process."""
        with self._lock:
            return list(self._contexts.values())

    def check_soon(self) -> None:
        """Check the claims now instead of at the next tick."""
        self._wakeup.set()

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._run, name="devflowfix-lease-keeper", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.wait(self._check_seconds)
            self._wakeup.clear()
            try:
                self.tick()
            except SQLAlchemyError:
                log.warning("job.lease_check_failed", exc_info=True)

    def tick(self) -> None:
        """Stop the contexts whose claim is gone; renew leases when due."""
        contexts = self.tracked()
        if not contexts:
            return

        with self._database.transaction(write=False) as session:
            states = repository.claim_states(
                session, [context.claim.row_id for context in contexts]
            )

        held = []
        for context in contexts:
            state = states.get(context.claim.row_id)
            if (
                state is not None
                and state.claim_token == context.claim.claim_token
                and state.status == JobStatus.PROCESSING
            ):
                held.append(context.claim.claim_token)
                continue

            cancelled = state is not None and state.status == JobStatus.CANCELLED
            context.stop(JobCancelled if cancelled else ClaimLost)

        if held and time.monotonic() >= self._next_renewal:
            with self._database.transaction(write=True) as session:
                repository.renew_leases(session, held, utcnow() + self._lease)
            self._next_renewal = time.monotonic() + self._renew_seconds
