"""`devflowfix worker`: run jobs in a process of their own until told to stop."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import structlog

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.jobs.embedded import EmbeddedRunner
from devflowfix.jobs.registry import load_job_types
from devflowfix.jobs.scaled import ScaledWorker
from devflowfix.logging import configure_logging

log = structlog.get_logger(__name__)


def run_worker(
    database: Database,
    settings: Settings,
    *,
    concurrency: int | None = None,
    listen: bool = True,
) -> None:
    """Procrastinate on PostgreSQL; the embedded runner, standalone, on SQLite."""
    configure_logging(json_lines=settings.json_logs, level=settings.log_level)
    load_job_types()
    if database.is_sqlite:
        _run_embedded(database, settings, concurrency)
    else:
        ScaledWorker(database, settings, concurrency=concurrency, listen=listen).run()


def _run_embedded(
    database: Database, settings: Settings, concurrency: int | None
) -> None:
    runner = EmbeddedRunner(
        database,
        settings,
        workers=concurrency or max(1, settings.job_workers),
        name="worker",
    )
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("job.worker_stopping", signal=signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    runner.start()
    try:
        stopping.wait()
    finally:
        runner.stop()
