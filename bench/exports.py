"""How fast exports are, and how much memory they take, against the naive design.

CSV: the streaming export (keyset batches, chunked writer) against loading every
incident with the ORM and then writing, over the same incidents of one team, on
SQLite and PostgreSQL. Each run is its own process, so its peak resident memory
is the run's own. PDF: the incident report of 1,000 incidents with its charts,
against the same report laid out with plain reportlab Paragraphs.

    python bench/exports.py [--rows 1000000] [--repeats 3] [--databases sqlite,postgres]

PostgreSQL runs when DEVFLOWFIX_TEST_POSTGRES_URL names a server; the script
makes a database of its own there and drops it at the end.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from devflowfix.auth import service as auth_service
from devflowfix.db import Database, create_db_engine
from devflowfix.db.migrate import upgrade_to_head
from devflowfix.exports import pdf_incidents
from devflowfix.exports.cells import TAG_SEPARATOR, neutralise
from devflowfix.exports.csv_writer import INCIDENT_COLUMNS, format_datetime
from devflowfix.exports.pdf_incidents import IncidentReportContext, write_incident_pdf
from devflowfix.exports.pdf_layout import CellParagraph
from devflowfix.exports.repository import IncidentRow, iter_incident_rows
from devflowfix.exports.schemas import ExportFormat
from devflowfix.exports.service import IncidentExport, write_incident_export
from devflowfix.models import Incident
from devflowfix.search.schemas import IncidentFilters
from devflowfix.vocabulary import FailureType, Outcome, Source

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "bench"
TEAM = "bench"
INSERT_BATCH = 20_000
PDF_INCIDENTS = 1000
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
console = Console(width=150)

MESSAGES = (
    "npm ERR! code ERESOLVE unable to resolve dependency tree for {package}@{major}",
    "Error: Process completed with exit code {code}.",
    "FAILED tests/test_{package}.py::test_case_{code} - AssertionError: {major} != 0",
    "error[E0308]: mismatched types in src/{package}.rs line {code}",
    "docker: Error response from daemon: pull access denied for {package}",
    "The job running on runner {package}-{code} has exceeded the maximum time",
    "java.lang.OutOfMemoryError: Java heap space while running {package} tests",
    "fatal: unable to access 'https://git.example.com/{package}.git/': timeout",
)
CAUSES = (
    "Conflicting peer dependency between {package} and its plugin",
    "Flaky test depends on wall-clock time",
    "Runner ran out of memory during the integration suite",
    "Registry rate limit hit while pulling the base image",
    None,
)
PACKAGES = ("react", "webpack", "pytest", "serde", "postgres", "redis", "gradle")
SOURCES = [value.value for value in Source]
FAILURE_TYPES = [value.value for value in FailureType]
OUTCOMES = [value.value for value in Outcome]


LOAD_COLUMNS = (
    "public_id", "team_id", "source", "severity", "failure_type", "outcome",
    "repository", "branch", "commit_sha", "workflow", "job", "run_url",
    "external_id", "error_message", "root_cause", "confidence", "tags",
    "timestamp", "created_at", "updated_at", "resolved_at", "resolution_time_seconds",
)  # fmt: skip


def incident_values(number: int, team_id: int, rng: random.Random) -> list[Any]:
    """One realistic incident in `LOAD_COLUMNS` order; numbers go back from NOW."""
    created_at = NOW - timedelta(seconds=number * 17 + rng.randint(0, 16))
    resolution = rng.randint(60, 86_400) if rng.random() < 0.6 else None
    package = rng.choice(PACKAGES)
    fields = {
        "package": package,
        "major": rng.randint(1, 19),
        "code": rng.randint(1, 255),
    }
    cause = rng.choice(CAUSES)
    return [
        f"inc_{number:012x}",
        team_id,
        rng.choice(SOURCES),
        rng.randint(1, 4),
        rng.choice(FAILURE_TYPES),
        rng.choice(OUTCOMES),
        f"acme/{package}-service-{number % 40}",
        rng.choice(("main", "develop", f"feature/{package}-upgrade")),
        f"{rng.getrandbits(40):010x}",
        "CI",
        rng.choice(("build", "test", "deploy")),
        f"https://ci.example.com/acme/runs/{number}",
        str(number),
        rng.choice(MESSAGES).format(**fields),
        None if cause is None else cause.format(**fields),
        round(rng.random(), 2),
        json.dumps(rng.sample(("ci", "backend", "frontend", "flaky", "infra"), 2)),
        created_at - timedelta(minutes=5),
        created_at,
        created_at,
        None if resolution is None else created_at + timedelta(seconds=resolution),
        resolution,
    ]


def _sqlite_text(values: list[Any]) -> list[Any]:
    # The stored form of `UTCDateTime` on SQLite: naive UTC text.
    return [
        value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value
        for value in values
    ]


def insert_rows(database: Database, batch: list[list[Any]]) -> None:
    """Write rows straight through the driver: the bench measures exports, not this."""
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        names = ", ".join(f'"{name}"' for name in LOAD_COLUMNS)
        if database.is_sqlite:
            marks = ", ".join("?" for _ in LOAD_COLUMNS)
            cursor.execute("BEGIN")
            cursor.executemany(
                f"INSERT INTO incidents ({names}) VALUES ({marks})",
                [_sqlite_text(values) for values in batch],
            )
        else:
            with cursor.copy(f"COPY incidents ({names}) FROM STDIN") as copy:
                for values in batch:
                    copy.write_row(values)
        raw.commit()
    finally:
        raw.close()


def load_incidents(database: Database, rows: int) -> int:
    """A team with `rows` incidents; an already loaded database is reused."""
    with database.transaction() as session:
        team_id = auth_service.ensure_team(session, TEAM).id
        present = session.scalar(
            select(func.count())
            .select_from(Incident)
            .where(Incident.team_id == team_id)
        )
    if present == rows:
        return team_id
    if present:
        raise SystemExit(f"the bench database holds {present} incidents, not {rows}")
    rng = random.Random(11)
    started = time.perf_counter()
    for first in range(0, rows, INSERT_BATCH):
        last = min(rows, first + INSERT_BATCH)
        insert_rows(
            database, [incident_values(n, team_id, rng) for n in range(first, last)]
        )
    if not database.is_sqlite:
        with database.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE incidents")
    seconds = time.perf_counter() - started
    console.print(f"  loaded {rows:,} incidents in {seconds:.0f} s")
    return team_id


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_streaming(database: Database, rows: int, out: io.BufferedWriter) -> int:
    with database.transaction(write=False) as session:
        team_id = session.scalar(select(Incident.team_id).limit(1))
        export = IncidentExport(
            team_id=int(team_id or 0),
            team_name=TEAM,
            filters=IncidentFilters(),
            limit=rows,
            output_format=ExportFormat.CSV,
            as_of=NOW,
        )
        return write_incident_export(session, export, out)


def naive_cells(incident: Incident) -> tuple[Any, ...]:
    """The same cells as the streaming export, formatted in Python."""
    return (
        incident.public_id,
        format_datetime(incident.timestamp),
        format_datetime(incident.created_at),
        format_datetime(incident.updated_at),
        format_datetime(incident.resolved_at),
        incident.source,
        incident.severity.value,
        incident.failure_type,
        incident.outcome,
        *(neutralise(getattr(incident, name)) for name in INCIDENT_COLUMNS[9:19]),
        incident.confidence,
        neutralise(TAG_SEPARATOR.join(incident.tags)),
        incident.resolution_time_seconds,
    )


def run_naive(database: Database, rows: int, out: io.BufferedWriter) -> int:
    """Every incident as an ORM object first, then the file."""
    with database.transaction(write=False) as session:
        incidents = session.scalars(
            select(Incident)
            .order_by(Incident.created_at.desc(), Incident.id.desc())
            .limit(rows)
        ).all()
        text = io.TextIOWrapper(out, encoding="utf-8", newline="")
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(INCIDENT_COLUMNS)
        writer.writerows(naive_cells(incident) for incident in incidents)
        text.flush()
        text.detach()
        return len(incidents)


def worker(design: str, url: str, rows: int) -> None:
    """One measured run, in a process of its own; prints its figures as JSON."""
    database = Database(create_db_engine(url))
    baseline = peak_rss_mb()
    run = run_streaming if design == "streaming" else run_naive
    with tempfile.TemporaryFile(dir=CACHE) as out:
        started = time.perf_counter()
        cpu_started = time.process_time()
        written = run(database, rows, out)  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        size = out.tell()
    database.dispose()
    print(
        json.dumps(
            {
                "rows": written,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "peak_mb": peak_rss_mb(),
                "baseline_mb": baseline,
                "bytes": size,
            }
        )
    )


def measure(design: str, url: str, rows: int, repeats: int) -> dict[str, float]:
    """Medians over `repeats` runs, each in a fresh process."""
    runs = []
    for _ in range(repeats):
        output = subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                design,
                "--url",
                url,
                "--rows",
                str(rows),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
    assert all(run["rows"] == rows for run in runs), runs
    seconds = statistics.median(run["seconds"] for run in runs)
    cpu_seconds = statistics.median(run["cpu_seconds"] for run in runs)
    return {
        "seconds": seconds,
        "rate": rows / seconds,
        "cpu_rate": rows / cpu_seconds,
        "peak_mb": statistics.median(run["peak_mb"] for run in runs),
        "growth_mb": statistics.median(
            run["peak_mb"] - run["baseline_mb"] for run in runs
        ),
        "mb": runs[0]["bytes"] / 1e6,
    }


def bench_csv(name: str, url: str, rows: int, repeats: int) -> Table:
    """Both designs at a tenth of the rows and at all of them."""
    table = Table(title=f"CSV export, {name}")
    columns = ("design", "incidents", "runs", "seconds", "rows/s", "rows/CPU-s")
    for column in (*columns, "peak RSS MB", "RSS growth MB", "file MB"):
        table.add_column(column, justify="right")
    results: dict[tuple[str, int], dict[str, float]] = {}
    for size in (rows // 10, rows):
        for design in ("streaming", "naive"):
            # The naive design takes minutes and gigabytes at full size: one run.
            runs = 1 if design == "naive" and size == rows else repeats
            result = measure(design, url, size, runs)
            results[(design, size)] = result
            table.add_row(
                "streaming" if design == "streaming" else "naive ORM",
                f"{size:,}",
                str(runs),
                f"{result['seconds']:.2f}",
                f"{result['rate']:,.0f}",
                f"{result['cpu_rate']:,.0f}",
                f"{result['peak_mb']:.0f}",
                f"{result['growth_mb']:.0f}",
                f"{result['mb']:.0f}",
            )
    streaming, naive = results[("streaming", rows)], results[("naive", rows)]
    memory = naive["growth_mb"] / max(streaming["growth_mb"], 1)
    table.caption = (
        f"at {rows:,}: streaming is {streaming['rate'] / naive['rate']:.1f}x the "
        f"naive rate and grows {memory:.0f}x less in memory; load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    return table


def pdf_rows(database: Database) -> list[IncidentRow]:
    with database.transaction(write=False) as session:
        team_id = session.scalar(select(Incident.team_id).limit(1))
        conditions = [Incident.team_id == team_id]
        return list(iter_incident_rows(session, conditions, limit=PDF_INCIDENTS))


def time_pdf(rows: list[IncidentRow], repeats: int) -> tuple[float, float, int]:
    context = IncidentReportContext(
        TEAM, NOW, [("Severity", "high, critical")], 250_000, PDF_INCIDENTS
    )
    timings, cpu_timings, pages = [], [], 0
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        pages = write_incident_pdf(iter(rows), io.BytesIO(), context, total=len(rows))
        timings.append(time.perf_counter() - started)
        cpu_timings.append(time.process_time() - cpu_started)
    return statistics.median(timings), statistics.median(cpu_timings), pages


def bench_pdf(database: Database, repeats: int) -> Table:
    rows = pdf_rows(database)
    cached, cached_cpu, pages = time_pdf(rows, repeats)
    # The peer: the same report with reportlab's own Paragraph, which breaks each
    # cell's lines again every time the long table measures, splits or draws it.
    pdf_incidents.CellParagraph = pdf_incidents.Paragraph  # type: ignore[misc]
    try:
        plain, plain_cpu, _pages = time_pdf(rows, repeats)
    finally:
        pdf_incidents.CellParagraph = CellParagraph  # type: ignore[misc]
    table = Table(
        title=f"PDF incident report, {len(rows):,} incidents, median of {repeats} runs"
    )
    for column in ("design", "seconds", "CPU seconds", "pages"):
        table.add_column(column, justify="right")
    table.add_row(
        "cells laid out once", f"{cached:.2f}", f"{cached_cpu:.2f}", str(pages)
    )
    table.add_row(
        "plain Paragraph cells", f"{plain:.2f}", f"{plain_cpu:.2f}", str(pages)
    )
    table.caption = (
        f"laying cells out once is {plain / cached:.1f}x faster; load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    return table


@contextmanager
def postgres_database(base_url: str) -> Iterator[str]:
    name = f"devflowfix_bench_exports_{os.getpid()}"
    admin = make_url(base_url).set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(False), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base_url).set(database=name).render_as_string(False)
    finally:
        with psycopg.connect(
            admin.render_as_string(False), autocommit=True
        ) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepared(url: str, rows: int) -> Database:
    database = Database(create_db_engine(url))
    upgrade_to_head(database.engine)
    load_incidents(database, rows)
    return database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument(
        "--worker", choices=("streaming", "naive"), help=argparse.SUPPRESS
    )
    parser.add_argument("--url", help=argparse.SUPPRESS)
    options = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    if options.worker:
        worker(options.worker, options.url, options.rows)
        return

    names = options.databases.split(",")
    console.print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    if "sqlite" in names:
        url = f"sqlite:///{CACHE / f'exports-{options.rows}.db'}"
        database = prepared(url, options.rows)
        console.print(bench_csv("SQLite", url, options.rows, options.repeats))
        console.print(bench_pdf(database, max(options.repeats, 5)))
        database.dispose()
    base = os.environ.get("DEVFLOWFIX_TEST_POSTGRES_URL")
    if "postgres" in names and base:
        with postgres_database(base) as url:
            database = prepared(url, options.rows)
            database.dispose()
            console.print(bench_csv("PostgreSQL", url, options.rows, options.repeats))
    elif "postgres" in names:
        console.print("PostgreSQL skipped: DEVFLOWFIX_TEST_POSTGRES_URL is not set")


if __name__ == "__main__":
    main()
