"""Job engine speed on both deployments, against a peer in the same run.

- start: enqueue to `started_at` with an idle worker. Peer: the same runner
  when nothing wakes it, as a runner in another process learns of a job (its
  poll interval).
- cancel: the cancel's commit to the handler noticing and stopping, for a
  handler that checks `cancelled()` between small steps.
- throughput: 1,000 small jobs enqueued one transaction each while the
  workers run, from the first enqueue to the last completion.
- bulk_update: 100,000 demo incidents changed with progress. Peer: the naive
  ORM loop (load each incident, set its fields, rewrite its tags), timed on a
  slice and compared per incident.

Each figure is the median of repeated runs. PostgreSQL runs when
DEVFLOWFIX_BENCH_POSTGRES_URL or DEVFLOWFIX_TEST_POSTGRES_URL names a server;
the script creates a database of its own there and drops it afterwards.

    .venv/bin/python bench/jobs.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.db.migrate import upgrade_to_head
from devflowfix.demo.loader import load_demo
from devflowfix.incidents.repository import write_tag_rows
from devflowfix.jobs import service
from devflowfix.jobs.context import JobCancelled, JobContext
from devflowfix.jobs.dispatch import JobDispatcher, LocalDispatcher
from devflowfix.jobs.embedded import EmbeddedRunner
from devflowfix.jobs.registry import JobType, register_job_type
from devflowfix.jobs.scaled import ProcrastinateDispatcher, ScaledWorker, libpq_url
from devflowfix.logging import configure_logging
from devflowfix.models import Incident, Job, User

console = Console()
BENCH_EMAIL = "bench@example.com"
STOPPED_AT: dict[str, float] = {}
RUNNING: dict[str, threading.Event] = {}


class NoParameters(BaseModel):
    pass


def do_nothing(context: JobContext, parameters: NoParameters) -> None:
    return None


def spin_until_cancelled(context: JobContext, parameters: NoParameters) -> None:
    RUNNING.setdefault(context.job_id, threading.Event()).set()
    while not context.cancelled():
        time.sleep(0.005)
    STOPPED_AT[context.job_id] = time.monotonic()
    raise JobCancelled


register_job_type(JobType("bench_noop", NoParameters, do_nothing))
register_job_type(JobType("bench_spin", NoParameters, spin_until_cancelled))


@dataclass
class Deployment:
    name: str
    database: Database
    settings: Settings
    user: User


@contextmanager
def sqlite_deployment(directory: Path) -> Iterator[Deployment]:
    url = f"sqlite:///{directory / 'bench-jobs.db'}"
    yield from _deployment("SQLite, embedded runner", url, directory)


@contextmanager
def postgres_deployment(server_url: str, directory: Path) -> Iterator[Deployment]:
    name = f"devflowfix_bench_jobs_{os.getpid()}"
    admin = libpq_url(str(make_url(server_url).set(database="postgres")))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(False)
    try:
        yield from _deployment("PostgreSQL, Procrastinate", url, directory)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _deployment(name: str, url: str, directory: Path) -> Iterator[Deployment]:
    settings = Settings(
        database_url=url,
        results_dir=directory / "results",
        log_level="WARNING",
        job_workers=2,
    )
    database = Database.from_settings(settings)
    upgrade_to_head(database.engine)
    load_demo(database, incidents=0, team_name="bench", email=BENCH_EMAIL, seed=1)
    with database.transaction(write=False) as session:
        user = session.scalars(select(User).where(User.email == BENCH_EMAIL)).one()
    try:
        yield Deployment(name, database, settings, user)
    finally:
        database.dispose()


@contextmanager
def running_engine(
    deployment: Deployment, *, wake: bool = True
) -> Iterator[JobDispatcher]:
    """Workers for the deployment and the dispatcher that feeds them."""
    if deployment.database.is_sqlite:
        runner = EmbeddedRunner(deployment.database, deployment.settings)
        runner.start()
        try:
            yield runner.dispatcher if wake else LocalDispatcher()
        finally:
            runner.stop()
        return
    worker = ScaledWorker(deployment.database, deployment.settings, listen=wake)
    worker.start_in_thread()
    time.sleep(0.5)  # let the worker open its LISTEN connection
    try:
        yield ProcrastinateDispatcher()
    finally:
        worker.stop()


def enqueue(
    deployment: Deployment,
    dispatcher: JobDispatcher,
    job_type: str,
    parameters: dict[str, Any] | None = None,
) -> str:
    with deployment.database.transaction() as session:
        job = service.enqueue_job(
            session,
            deployment.user,
            job_type,
            parameters or {},
            dispatcher=dispatcher,
            settings=deployment.settings,
            limit_active=False,
        )
        return job.public_id


def read_job(deployment: Deployment, job_id: str) -> Job:
    with deployment.database.transaction(write=False) as session:
        return session.scalars(select(Job).where(Job.public_id == job_id)).one()


def wait_for(
    check: Callable[[], bool], *, timeout: float = 300.0, every: float = 0.005
) -> None:
    """Poll `check`; the figures come from timestamps, not from this loop, but
    polling too often would take CPU from the workers being measured."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark waited too long")
        time.sleep(every)


def start_latencies(
    deployment: Deployment, runs: int, *, wake: bool = True
) -> list[float]:
    """Milliseconds from enqueue (created_at) to start (started_at)."""
    latencies = []
    with running_engine(deployment, wake=wake) as dispatcher:
        for _ in range(runs):
            job_id = enqueue(deployment, dispatcher, "bench_noop")

            def done(job_id: str = job_id) -> bool:
                return read_job(deployment, job_id).status == "completed"

            wait_for(done)
            job = read_job(deployment, job_id)
            assert job.started_at is not None
            latencies.append((job.started_at - job.created_at).total_seconds() * 1000)
    return latencies


def cancel_latencies(deployment: Deployment, runs: int) -> list[float]:
    """Milliseconds from the cancel's commit to the handler stopping."""
    latencies = []
    with running_engine(deployment) as dispatcher:
        for _ in range(runs):
            job_id = enqueue(deployment, dispatcher, "bench_spin")
            wait_for(lambda job_id=job_id: job_id in RUNNING)
            with deployment.database.transaction() as session:
                service.cancel_job(
                    session,
                    deployment.user,
                    job_id,
                    dispatcher=dispatcher,
                    settings=deployment.settings,
                )
            cancelled_at = time.monotonic()
            wait_for(lambda job_id=job_id: job_id in STOPPED_AT)
            latencies.append((STOPPED_AT[job_id] - cancelled_at) * 1000)
    return latencies


def completed_count(deployment: Deployment) -> int:
    with deployment.database.transaction(write=False) as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Job).where(Job.status == "completed")
            )
            or 0
        )


CLIENTS = 4


def throughput_seconds(deployment: Deployment, jobs: int, runs: int) -> list[float]:
    """Seconds from the first of `jobs` enqueues to the last completion, with
    the jobs enqueued by `CLIENTS` threads at once, as concurrent requests do."""
    durations = []
    with running_engine(deployment) as dispatcher:
        for _ in range(runs):
            before = completed_count(deployment)
            started = time.monotonic()
            clients = [
                threading.Thread(
                    target=enqueue_many,
                    args=(deployment, dispatcher, jobs // CLIENTS),
                )
                for _ in range(CLIENTS)
            ]
            for client in clients:
                client.start()
            for client in clients:
                client.join()
            target = before + jobs // CLIENTS * CLIENTS
            wait_for(lambda t=target: completed_count(deployment) >= t, every=0.05)
            durations.append(time.monotonic() - started)
    return durations


def enqueue_many(deployment: Deployment, dispatcher: JobDispatcher, count: int) -> None:
    for _ in range(count):
        enqueue(deployment, dispatcher, "bench_noop")


def drain_seconds(deployment: Deployment, jobs: int, runs: int) -> list[float]:
    """Seconds the workers take to run `jobs` jobs queued before they start."""
    durations = []
    for _ in range(runs):
        dispatcher = (
            LocalDispatcher()
            if deployment.database.is_sqlite
            else ProcrastinateDispatcher()
        )
        enqueue_many(deployment, dispatcher, jobs)
        target = completed_count(deployment) + jobs
        with running_engine(deployment):
            started = time.monotonic()
            wait_for(lambda t=target: completed_count(deployment) >= t, every=0.05)
            durations.append(time.monotonic() - started)
    return durations


BULK_CHANGES = [
    {"outcome": "success", "tags_add": ["bench-a"], "tags_remove": ["bench-b"]},
    {"outcome": "escalated", "tags_add": ["bench-b"], "tags_remove": ["bench-a"]},
]


def bulk_runs(
    deployment: Deployment, runs: int
) -> tuple[list[float], list[float], int]:
    """Seconds each bulk_update of every incident took, the CPU seconds of this
    process meanwhile (the whole job on SQLite, the worker's share on
    PostgreSQL), and how many progress values a poller saw."""
    durations, cpu = [], []
    steps: set[int] = set()
    with running_engine(deployment) as dispatcher:
        for run in range(runs):
            cpu_before = time.process_time()
            job_id = enqueue(
                deployment,
                dispatcher,
                "bulk_update",
                {"filters": {}, "changes": BULK_CHANGES[run % 2]},
            )

            def finished(job_id: str = job_id) -> bool:
                job = read_job(deployment, job_id)
                steps.add(job.progress)
                return job.status in {"completed", "failed"}

            wait_for(finished, timeout=900, every=0.05)
            job = read_job(deployment, job_id)
            assert job.status == "completed", job.error_message
            assert job.started_at is not None
            assert job.completed_at is not None
            durations.append((job.completed_at - job.started_at).total_seconds())
            cpu.append(time.process_time() - cpu_before)
    return durations, cpu, len(steps)


def naive_bulk_seconds_per_incident(deployment: Deployment, count: int) -> float:
    """The ORM loop a first version would write: load, set, rewrite tags."""
    started = time.monotonic()
    done = 0
    last_id = 0
    while done < count:
        with deployment.database.transaction() as session:
            incidents = list(
                session.scalars(
                    select(Incident)
                    .where(Incident.team_id == deployment.user.team_id)
                    .where(Incident.id > last_id)
                    .order_by(Incident.id)
                    .limit(min(1000, count - done))
                )
            )
            for incident in incidents:
                incident.outcome = "rolled_back"
                incident.tags = [*incident.tags, "naive"]
                session.flush()
                write_tag_rows(session, incident)
            last_id = incidents[-1].id
            done += len(incidents)
    return (time.monotonic() - started) / count


def median(values: list[float]) -> float:
    return statistics.median(values)


@dataclass
class Figures:
    name: str
    sqlite: bool
    woken_ms: list[float]
    polled_ms: list[float]
    cancel_ms: list[float]
    throughput_s: list[float]
    drain_s: list[float]
    bulk_s: list[float]
    bulk_cpu_s: list[float]
    progress_steps: int
    naive_s_per_incident: float


def measure(context: Any, sizes: dict[str, int]) -> Figures:
    with context as deployment:
        say = f"[bold]{deployment.name}[/bold]:"
        console.print(say, "start latency")
        woken = start_latencies(deployment, sizes["start_runs"])
        polled = start_latencies(deployment, sizes["poll_runs"], wake=False)
        console.print(say, "cancel latency")
        cancels = cancel_latencies(deployment, sizes["cancel_runs"])
        console.print(say, f"{sizes['jobs']} small jobs")
        throughput = throughput_seconds(
            deployment, sizes["jobs"], sizes["throughput_runs"]
        )
        drain = drain_seconds(deployment, sizes["jobs"], sizes["throughput_runs"])
        console.print(say, f"loading {sizes['incidents']:,} incidents")
        load_demo(
            deployment.database,
            incidents=sizes["incidents"],
            team_name="bench",
            email=BENCH_EMAIL,
            seed=7,
        )
        console.print(say, "bulk_update, then the naive loop")
        bulk, bulk_cpu, steps = bulk_runs(deployment, sizes["bulk_runs"])
        naive = naive_bulk_seconds_per_incident(deployment, sizes["naive"])
        return Figures(
            deployment.name,
            deployment.database.is_sqlite,
            woken,
            polled,
            cancels,
            throughput,
            drain,
            bulk,
            bulk_cpu,
            steps,
            naive,
        )


def quantile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def rows_of(
    figures: Figures, peer: Figures | None, sizes: dict[str, int]
) -> list[tuple[str, ...]]:
    """Table rows; `peer` is the other deployment, for same-run ratios."""
    jobs, incidents = sizes["jobs"], sizes["incidents"]
    start, polled = median(figures.woken_ms), median(figures.polled_ms)
    cancel, throughput = median(figures.cancel_ms), median(figures.throughput_s)
    drain = median(figures.drain_s)
    bulk = median(figures.bulk_s)

    def against_peer(
        mine: float, theirs: list[float] | None, unit: str
    ) -> tuple[str, str]:
        if peer is None or theirs is None:
            return "", ""
        other = median(theirs)
        return f"{other:.2f} {unit}: {peer.name}", f"{other / mine:.2f}x"

    return [
        (
            figures.name,
            "start after enqueue, idle worker",
            f"{start:.1f} ms (p90 {quantile(figures.woken_ms, 0.9):.1f})",
            "< 100 ms",
            f"{polled:.0f} ms: no wake-up, poll only",
            f"{polled / start:.0f}x",
        ),
        (
            figures.name,
            "cancel effective",
            f"{cancel:.0f} ms (max {max(figures.cancel_ms):.0f})",
            "< 2 s",
            *against_peer(cancel, peer.cancel_ms if peer else None, "ms"),
        ),
        (
            figures.name,
            f"{jobs:,} queued small jobs, start to last done",
            f"{drain:.2f} s ({jobs / drain:.0f} jobs/s)",
            "< 10 s",
            *against_peer(drain, peer.drain_s if peer else None, "s"),
        ),
        (
            figures.name,
            f"{jobs:,} small jobs from {CLIENTS} clients, first enqueue to last done",
            f"{throughput:.2f} s ({jobs / throughput:.0f} jobs/s)",
            "< 10 s",
            *against_peer(throughput, peer.throughput_s if peer else None, "s"),
        ),
        (
            figures.name,
            f"bulk_update of {incidents:,} incidents",
            f"{bulk:.1f} s, {median(figures.bulk_cpu_s):.1f} s CPU "
            f"({figures.progress_steps} progress values seen)",
            "< 20 s on SQLite",
            f"{figures.naive_s_per_incident * incidents:.0f} s: naive ORM loop "
            f"(timed on {sizes['naive']:,})",
            f"{figures.naive_s_per_incident * incidents / bulk:.1f}x",
        ),
    ]


def print_table(rows: list[tuple[str, ...]], sizes: dict[str, int]) -> None:
    table = Table(title="Background jobs: medians of repeated runs")
    for column in ("deployment", "measure", "median", "target", "peer", "ratio"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(
        f"runs: start {sizes['start_runs']} (poll-only {sizes['poll_runs']}), "
        f"cancel {sizes['cancel_runs']}, throughput {sizes['throughput_runs']}, "
        f"bulk {sizes['bulk_runs']}; ratio = peer / this"
    )
    console.print(
        "load average (1, 5, 15 min) at the end: "
        + ", ".join(f"{value:.1f}" for value in os.getloadavg())
        + f" on {os.cpu_count()} cores"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Job engine benchmarks.")
    parser.add_argument(
        "--quick", action="store_true", help="Small sizes, for a smoke run."
    )
    quick = parser.parse_args().quick
    sizes = {
        "start_runs": 5 if quick else 30,
        "poll_runs": 3 if quick else 10,
        "cancel_runs": 3 if quick else 10,
        "jobs": 100 if quick else 1000,
        "throughput_runs": 1 if quick else 3,
        "incidents": 5_000 if quick else 100_000,
        "bulk_runs": 1 if quick else 3,
        "naive": 500 if quick else 5_000,
    }
    configure_logging(json_lines=False, level="WARNING")
    server = os.environ.get("DEVFLOWFIX_BENCH_POSTGRES_URL") or os.environ.get(
        "DEVFLOWFIX_TEST_POSTGRES_URL"
    )
    with tempfile.TemporaryDirectory(prefix="devflowfix-bench-") as directory:
        root = Path(directory)
        results = [measure(sqlite_deployment(root / "sqlite"), sizes)]
        if server:
            results.append(measure(postgres_deployment(server, root / "pg"), sizes))
    rows: list[tuple[str, ...]] = []
    for number, figures in enumerate(results):
        peer = results[1 - number] if len(results) == 2 else None
        rows.extend(rows_of(figures, peer, sizes))
    print_table(rows, sizes)


if __name__ == "__main__":
    main()
