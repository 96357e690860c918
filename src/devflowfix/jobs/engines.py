"""Which job engine the API process uses, chosen from the database."""

from __future__ import annotations

from dataclasses import dataclass

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.jobs.dispatch import JobDispatcher, LocalDispatcher
from devflowfix.jobs.embedded import EmbeddedRunner
from devflowfix.jobs.scaled import ProcrastinateDispatcher


@dataclass
class ApiJobEngine:
    """The dispatcher the API enqueues through, and the runner it hosts, if any."""

    dispatcher: JobDispatcher
    runner: EmbeddedRunner | None = None

    def start(self) -> None:
        if self.runner is not None:
            self.runner.start()

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()


def build_api_engine(settings: Settings, database: Database) -> ApiJobEngine:
    """SQLite: the embedded runner (unless `JOB_WORKERS` is 0); PostgreSQL:
    Procrastinate, whose workers run in `devflowfix worker` processes."""
    if not database.is_sqlite:
        return ApiJobEngine(ProcrastinateDispatcher())
    if settings.job_workers == 0:
        return ApiJobEngine(LocalDispatcher())
    runner = EmbeddedRunner(database, settings, name="serve")
    return ApiJobEngine(runner.dispatcher, runner)
