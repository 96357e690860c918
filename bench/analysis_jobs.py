"""Analysis through the jobs: incidents per second, and a delivery to an analysis.

- throughput: incidents with the labelled set's logs, analysed again by one
  `incident_reanalysis` job (`"filters": {}`) on each deployment (SQLite with
  the embedded runner, PostgreSQL with a Procrastinate worker), from the job's
  `started_at` to its `completed_at`. Peer: the job's per-incident call,
  `run_incident_analysis`, in a plain loop without a job, in the same run.
- latency (SQLite): a `devflowfix serve` process; a signed GitHub
  `workflow_job` failure whose log a local server plays GitHub for, from the
  request to the incident's `analysis.analysed_at`. Peer: a
  `POST /api/v1/incidents` with the same log, which needs no fetch.

Figures are medians of repeated runs. PostgreSQL runs when
DEVFLOWFIX_BENCH_POSTGRES_URL or DEVFLOWFIX_TEST_POSTGRES_URL names a server;
the script creates a database of its own there and drops it afterwards.

    .venv/bin/python bench/analysis_jobs.py [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.engine import make_url

from devflowfix.analysis.labelled import load_labelled_set
from devflowfix.analysis.service import run_incident_analysis
from devflowfix.auth.tokens import issue_token
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.db.migrate import upgrade_to_head
from devflowfix.demo.loader import load_demo
from devflowfix.incidents import service as incidents_service
from devflowfix.incidents.schemas import IncidentCreate
from devflowfix.jobs.scaled import libpq_url
from devflowfix.logging import configure_logging
from devflowfix.models import Job, User

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "tests" / "data" / "logs"
sys.path.insert(0, str(ROOT / "tests"))

from factories import (  # noqa: E402
    github_job_failure,
    github_log_path,
    incident_payload,
    make_integration,
    signed_headers,
)
from job_helpers import serving  # noqa: E402
from processes import Processes, service_environment  # noqa: E402
from provider_server import ProviderServer, Reply, running_server  # noqa: E402

console = Console()
BENCH_EMAIL = "bench@example.com"
SECRET_KEY = "bench-secret-key-" + "0123456789abcdef" * 4
UNCLASSIFIED = {"failure_type": "unknown", "root_cause": None, "confidence": None}


def median(values: list[float]) -> float:
    return statistics.median(values)


@contextmanager
def database_at(url: str, directory: Path) -> Iterator[tuple[Settings, Database]]:
    settings = Settings(
        database_url=url,
        secret_key=SECRET_KEY,
        results_dir=directory / "results",
        log_level="WARNING",
        auto_analyse=False,
        job_poll_interval_seconds=0.2,
    )
    database = Database.from_settings(settings)
    upgrade_to_head(database.engine)
    load_demo(database, incidents=0, team_name="acme", email=BENCH_EMAIL, seed=1)
    try:
        yield settings, database
    finally:
        database.dispose()


@contextmanager
def postgres_url(server_url: str) -> Iterator[str]:
    name = f"devflowfix_bench_analysis_jobs_{os.getpid()}"
    admin = libpq_url(str(make_url(server_url).set(database="postgres")))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_user(database: Database) -> User:
    with database.transaction(write=False) as session:
        user = session.scalars(select(User).where(User.email == BENCH_EMAIL)).one()
        session.expunge(user)
        return user


def add_incidents(database: Database, user: User, count: int) -> list[str]:
    """`count` unclassified incidents with the labelled set's logs; their ids."""
    logs = itertools.cycle(entry.text for entry in load_labelled_set(LOGS))
    ids = []
    with database.transaction() as session:
        for _ in range(count):
            payload = incident_payload(error_log=next(logs), **UNCLASSIFIED)
            data = IncidentCreate.model_validate(payload)
            incident = incidents_service.create_incident(
                session, user, data, max_log_bytes=65536
            )
            ids.append(incident.public_id)
    return ids


def job_rate(settings: Settings, database: Database, user: User, count: int) -> float:
    """Incidents per second of one re-analysis job over the team's incidents."""
    headers = {"Authorization": f"Bearer {issue_token(user.public_id, settings)}"}
    with serving(settings, database) as client:
        created = client.post(
            "/api/v1/jobs",
            json={"job_type": "incident_reanalysis", "parameters": {"filters": {}}},
            headers=headers,
        )
        job_id = created.json()["job_id"]
        job = wait_for_job(database, job_id)
    result = job.result or {}
    if result.get("analysed") != count or not (job.started_at and job.completed_at):
        raise RuntimeError(f"the job did not analyse every incident: {job.status}")
    return count / (job.completed_at - job.started_at).total_seconds()


def wait_for_job(database: Database, job_id: str) -> Job:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with database.transaction(write=False) as session:
            job = session.scalars(select(Job).where(Job.public_id == job_id)).one()
            if job.status in {"completed", "failed", "cancelled"}:
                session.expunge(job)
                return job
        time.sleep(0.05)
    raise TimeoutError(f"job {job_id} did not end")


def loop_rate(
    settings: Settings, database: Database, user: User, ids: list[str]
) -> float:
    """Incidents per second of the same re-analysis, called in a plain loop."""
    started = time.perf_counter()
    for incident_id in ids:
        run_incident_analysis(
            database, user.team_id, incident_id, settings, replace=True
        )
    return len(ids) / (time.perf_counter() - started)


def throughput(
    name: str, url: str, directory: Path, count: int, runs: int
) -> tuple[str, list[float], list[float]]:
    with database_at(url, directory) as (settings, database):
        user = bench_user(database)
        ids = add_incidents(database, user, count)
        settings = settings.model_copy(update={"analysis_batch_size": 100})
        # The first pass over new incidents was the slowest in trial runs; an
        # untimed one first makes every timed run the same re-analysis.
        loop_rate(settings, database, user, ids)
        jobs, loops = [], []
        # Taking turns, so both designs see the same share of a busy machine.
        for _ in range(runs):
            jobs.append(job_rate(settings, database, user, count))
            loops.append(loop_rate(settings, database, user, ids))
    return name, jobs, loops


def analysed_after(
    client: httpx.Client, incident_id: str, headers: dict[str, str], sent: datetime
) -> float:
    """Seconds from `sent` to the incident's recorded analysis."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        incident = client.get(f"/api/v1/incidents/{incident_id}", headers=headers)
        analysed_at = incident.json()["analysis"]["analysed_at"]
        if analysed_at is not None:
            parsed = datetime.fromisoformat(analysed_at.replace("Z", "+00:00"))
            return (parsed - sent).total_seconds()
        time.sleep(0.02)
    raise TimeoutError(f"{incident_id} was not analysed")


def latencies(directory: Path, runs: int) -> tuple[list[float], list[float]]:
    """Webhook and POST to an analysed incident, through a served SQLite app."""
    url = f"sqlite:///{directory / 'latency.db'}"
    log = next(iter(load_labelled_set(LOGS))).text
    with database_at(url, directory) as (settings, database), running_server() as api:
        user = bench_user(database)
        # A token for the local stand-in for GitHub, no real credential.
        make_integration(database, settings, token="ghp_bench", base_url=api.url)  # noqa: S106
        headers = {"Authorization": f"Bearer {issue_token(user.public_id, settings)}"}
        environment = service_environment(
            url, directory, secret_key=SECRET_KEY, auto_analyse="true"
        )
        started = Processes(environment, directory)
        try:
            base_url = started.serve().url
            with httpx.Client(base_url=base_url, timeout=30) as client:
                webhook = [
                    deliver(client, api, headers, log, 9000 + 10 * run)
                    for run in range(runs)
                ]
                posted = [post(client, headers, log) for _ in range(runs)]
        finally:
            started.stop_all()
    return webhook, posted


def deliver(
    client: httpx.Client,
    api: ProviderServer,
    headers: dict[str, str],
    log: str,
    run_id: int,
) -> float:
    api.reply(github_log_path(run_id + 1), Reply(body=log.encode()))
    body = json.dumps(github_job_failure(run_id)).encode()
    sent = datetime.now(UTC)
    response = client.post(
        "/api/v1/webhooks/github/acme",
        content=body,
        headers={**signed_headers(body), "X-GitHub-Event": "workflow_job"},
    )
    return analysed_after(client, response.json()["incident_id"], headers, sent)


def post(client: httpx.Client, headers: dict[str, str], log: str) -> float:
    sent = datetime.now(UTC)
    response = client.post(
        "/api/v1/incidents",
        json=incident_payload(error_log=log, **UNCLASSIFIED),
        headers=headers,
    )
    return analysed_after(client, response.json()["incident_id"], headers, sent)


def print_throughput(rows: list[tuple[str, list[float], list[float]]]) -> None:
    table = Table(title="Incidents analysed per second (medians)")
    for column in ("deployment", "through the job", "plain loop", "job / loop"):
        table.add_column(column, justify="left" if column == "deployment" else "right")
    for name, jobs, loops in rows:
        table.add_row(
            name,
            f"{median(jobs):.0f}",
            f"{median(loops):.0f}",
            f"{median(jobs) / median(loops):.2f}",
        )
    console.print(table)


def print_latency(webhook: list[float], posted: list[float]) -> None:
    table = Table(title="Request to analysed incident, served SQLite app (ms)")
    for column in ("path", "median", "max", "runs"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for name, values in (("webhook + log fetch", webhook), ("POST with log", posted)):
        table.add_row(
            name,
            f"{median(values) * 1000:.0f}",
            f"{max(values) * 1000:.0f}",
            str(len(values)),
        )
    console.print(table)
    console.print(f"webhook / POST: {median(webhook) / median(posted):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Analysis job benchmarks.")
    parser.add_argument("--quick", action="store_true", help="Small sizes.")
    quick = parser.parse_args().quick
    count, runs, latency_runs = (100, 1, 5) if quick else (300, 5, 20)
    configure_logging(json_lines=False, level="WARNING")
    server = os.environ.get("DEVFLOWFIX_BENCH_POSTGRES_URL") or os.environ.get(
        "DEVFLOWFIX_TEST_POSTGRES_URL"
    )
    with tempfile.TemporaryDirectory(prefix="devflowfix-bench-") as directory:
        root = Path(directory)
        (root / "sqlite").mkdir()
        sqlite_url = f"sqlite:///{root / 'sqlite' / 'analysis.db'}"
        rows = [throughput("SQLite, embedded runner", sqlite_url, root, count, runs)]
        if server:
            with postgres_url(server) as url:
                rows.append(
                    throughput("PostgreSQL, Procrastinate", url, root, count, runs)
                )
        print_throughput(rows)
        (root / "latency").mkdir()
        print_latency(*latencies(root / "latency", latency_runs))
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    console.print(f"{os.cpu_count()} cores, load average {load}")


if __name__ == "__main__":
    main()
