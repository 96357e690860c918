"""How fast exports are, and how much memory they take, against the naive design.

CSV: the export as it runs (its fast lines: COPY on PostgreSQL, lines built in
Python from the stored values on SQLite), the reference writer it replaced
(stdlib csv over cells the database prepares, streamed in batches) and the
naive design (every incident loaded with the ORM, then written), over the same
incidents of one team, on SQLite and PostgreSQL. Each run is its own process,
so its peak resident memory is the run's own. PDF: the incident report of
1,000 incidents with its charts, against the same report laid out with plain
reportlab Paragraphs.

    python bench/exports.py [--rows 1000000] [--repeats 3] [--databases sqlite,postgres]

PostgreSQL runs when DEVFLOWFIX_TEST_POSTGRES_URL names a server; the script
makes a database of its own there and drops it at the end, unless
`--postgres-database` names one to load once and keep for later runs.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from devflowfix.auth import service as auth_service
from devflowfix.db import Database, create_db_engine
from devflowfix.db.migrate import upgrade_to_head
from devflowfix.exports import pdf_incidents
from devflowfix.exports.cells import TAG_SEPARATOR, neutralise
from devflowfix.exports.csv_writer import (
    INCIDENT_COLUMNS,
    format_datetime,
    write_incident_csv,
)
from devflowfix.exports.pdf_incidents import IncidentReportContext, write_incident_pdf
from devflowfix.exports.pdf_layout import CellParagraph
from devflowfix.exports.repository import (
    IncidentRow,
    iter_csv_records,
    iter_incident_rows,
)
from devflowfix.exports.schemas import ExportFormat
from devflowfix.exports.service import IncidentExport, write_incident_export
from devflowfix.models import Incident
from devflowfix.search.schemas import IncidentFilters

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "bench"
TEAM = "bench"
EMAIL = "bench@example.com"
PDF_INCIDENTS = 1000
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
console = Console(width=150)


def load_incidents(database: Database, rows: int) -> int:
    """The demo loader's incidents in one team; a loaded database is reused."""
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
    # Imported here so that the measured worker processes do not load it.
    from devflowfix.demo.loader import load_demo

    report = load_demo(
        database, incidents=rows, team_name=TEAM, email=EMAIL, seed=11, now=NOW
    )
    console.print(f"  loaded {rows:,} demo incidents in {report.seconds:.0f} s")
    return team_id


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def backend_cpu_seconds(session: Session) -> float:
    """CPU seconds the PostgreSQL backend of `session` has used (0 on SQLite).

    The server runs on this machine, so its process is readable in /proc; its
    work (building and quoting the lines for COPY) is part of the export's cost.
    """
    if session.get_bind().dialect.name != "postgresql":
        return 0.0
    pid = session.connection().exec_driver_sql("select pg_backend_pid()").scalar()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SERVER_CPU: list[float] = []


@contextmanager
def counted_server_cpu(session: Session) -> Iterator[None]:
    started = backend_cpu_seconds(session)
    yield
    SERVER_CPU.append(backend_cpu_seconds(session) - started)


def bench_export(session: Session, rows: int) -> IncidentExport:
    team_id = session.scalar(select(Incident.team_id).limit(1))
    return IncidentExport(
        team_id=int(team_id or 0),
        team_name=TEAM,
        filters=IncidentFilters(),
        limit=rows,
        output_format=ExportFormat.CSV,
        # The demo loader's newest incident may fall a moment after NOW.
        as_of=NOW + timedelta(days=1),
    )


def run_fast(database: Database, rows: int, out: io.BufferedWriter) -> int:
    """The export as it runs: COPY on PostgreSQL, stored values on SQLite."""
    with database.transaction(write=False) as session:
        export = bench_export(session, rows)
        with counted_server_cpu(session):
            return write_incident_export(session, export, out).incidents


def run_reference(database: Database, rows: int, out: io.BufferedWriter) -> int:
    """The reference writer: stdlib csv over cells the database prepares."""
    with database.transaction(write=False) as session:
        export = bench_export(session, rows)
        conditions = export.conditions(database.engine.dialect.name)
        records = iter_csv_records(session, conditions, limit=rows)
        written = 0

        def counted() -> Iterator[Sequence[Any]]:
            nonlocal written
            for record in records:
                written += 1
                yield record

        with counted_server_cpu(session):
            write_incident_csv(counted(), out)
        return written


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
        *(neutralise(getattr(incident, name)) for name in INCIDENT_COLUMNS[22:]),
    )


def run_naive(database: Database, rows: int, out: io.BufferedWriter) -> int:
    """Every incident as an ORM object first, then the file."""
    with database.transaction(write=False) as session, counted_server_cpu(session):
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


DESIGNS = {"fast": run_fast, "reference": run_reference, "naive": run_naive}
LABELS = {
    "fast": "export's fast lines",
    "reference": "reference csv writer",
    "naive": "naive ORM",
}


def worker(design: str, url: str, rows: int) -> None:
    """One measured run, in a process of its own; prints its figures as JSON."""
    database = Database(create_db_engine(url))
    baseline = peak_rss_mb()
    run = DESIGNS[design]
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
                "server_cpu_seconds": sum(SERVER_CPU),
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
    both_seconds = statistics.median(
        run["cpu_seconds"] + run["server_cpu_seconds"] for run in runs
    )
    return {
        "all_cpu_rate": rows / both_seconds,
        "seconds": seconds,
        "rate": rows / seconds,
        "cpu_rate": rows / cpu_seconds,
        "peak_mb": statistics.median(run["peak_mb"] for run in runs),
        "growth_mb": statistics.median(
            run["peak_mb"] - run["baseline_mb"] for run in runs
        ),
        "mb": runs[0]["bytes"] / 1e6,
    }


def bench_csv(
    name: str, url: str, rows: int, repeats: int, *, naive_full: bool
) -> Table:
    """Every design at a tenth of the rows, then the export at all of them."""
    table = Table(title=f"CSV export, {name}")
    columns = ("design", "incidents", "runs", "seconds", "rows/s", "rows/CPU-s")
    columns = (*columns, "rows/CPU-s with server")
    for column in (*columns, "peak RSS MB", "RSS growth MB", "file MB"):
        table.add_column(column, justify="right")
    results: dict[tuple[str, int], dict[str, float]] = {}
    tenth = rows // 10
    plan = [("fast", tenth), ("reference", tenth), ("naive", tenth), ("fast", rows)]
    if naive_full:
        plan.append(("naive", rows))
    for design, size in plan:
        result = measure(design, url, size, repeats)
        results[(design, size)] = result
        cells = (
            LABELS[design],
            f"{size:,}",
            str(repeats),
            f"{result['seconds']:.2f}",
            f"{result['rate']:,.0f}",
            f"{result['cpu_rate']:,.0f}",
            f"{result['all_cpu_rate']:,.0f}",
            f"{result['peak_mb']:.0f}",
            f"{result['growth_mb']:.0f}",
            f"{result['mb']:.0f}",
        )
        console.print("  " + " | ".join(cells))
        table.add_row(*cells)
    table.caption = _csv_caption(results, tenth, rows)
    return table


def _csv_caption(
    results: dict[tuple[str, int], dict[str, float]], tenth: int, rows: int
) -> str:
    fast, reference, naive = (
        results[(design, tenth)] for design in ("fast", "reference", "naive")
    )
    full = results[("fast", rows)]
    return (
        f"at {tenth:,}, same run: the export is "
        f"{fast['rate'] / naive['rate']:.1f}x the naive rate "
        f"({fast['cpu_rate'] / naive['cpu_rate']:.1f}x per CPU second) and "
        f"{fast['rate'] / reference['rate']:.1f}x the reference writer's "
        f"({fast['cpu_rate'] / reference['cpu_rate']:.1f}x per CPU second, "
        f"{fast['all_cpu_rate'] / reference['all_cpu_rate']:.1f}x counting the "
        "server's); "
        f"RSS growth {fast['growth_mb']:.0f} MB at {tenth:,} and "
        f"{full['growth_mb']:.0f} MB at {rows:,} (naive "
        f"{naive['growth_mb']:.0f} MB at {tenth:,}); load average "
        f"{os.getloadavg()[0]:.1f}"
    )


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
def postgres_database(base_url: str, kept: str | None) -> Iterator[str]:
    """A database of this script's on the server: `kept` stays, others go."""
    name = kept or f"devflowfix_bench_exports_{os.getpid()}"
    admin = make_url(base_url).set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(False), autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if exists is None:
            connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base_url).set(database=name).render_as_string(False)
    finally:
        if kept is None:
            with psycopg.connect(
                admin.render_as_string(False), autocommit=True
            ) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepared(url: str, rows: int) -> Database:
    database = Database(create_db_engine(url))
    upgrade_to_head(database.engine)
    load_incidents(database, rows)
    return database


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument(
        "--naive-full",
        action="store_true",
        help="also run the naive design at full size (minutes, gigabytes)",
    )
    parser.add_argument(
        "--postgres-database",
        help="load the incidents into this database once and keep it (drop it "
        "yourself when done)",
    )
    parser.add_argument(
        "--load-only", action="store_true", help="load the databases and stop"
    )
    parser.add_argument("--worker", choices=tuple(DESIGNS), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    return parser.parse_args()


def versions(database: Database) -> str:
    with database.engine.connect() as connection:
        if database.is_sqlite:
            shown = connection.exec_driver_sql("select sqlite_version()").scalar()
            return f"SQLite {shown}"
        shown = connection.exec_driver_sql("show server_version").scalar()
        return f"PostgreSQL {shown}"


def bench_sqlite(options: argparse.Namespace) -> None:
    url = f"sqlite:///{CACHE / f'exports-{options.rows}.db'}"
    database = prepared(url, options.rows)
    console.print(versions(database))
    if options.load_only:
        database.dispose()
        return
    console.print(
        bench_csv(
            "SQLite", url, options.rows, options.repeats, naive_full=options.naive_full
        )
    )
    console.print(bench_pdf(database, max(options.repeats, 5)))
    database.dispose()


def bench_postgres(options: argparse.Namespace, base: str) -> None:
    with postgres_database(base, options.postgres_database) as url:
        database = prepared(url, options.rows)
        console.print(versions(database))
        database.dispose()
        if options.load_only:
            return
        console.print(
            bench_csv(
                "PostgreSQL",
                url,
                options.rows,
                options.repeats,
                naive_full=options.naive_full,
            )
        )


def main() -> None:
    options = parse_options()
    CACHE.mkdir(parents=True, exist_ok=True)
    if options.worker:
        worker(options.worker, options.url, options.rows)
        return

    names = options.databases.split(",")
    console.print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    if "sqlite" in names:
        bench_sqlite(options)
    base = os.environ.get("DEVFLOWFIX_TEST_POSTGRES_URL")
    if "postgres" in names and base:
        bench_postgres(options, base)
    elif "postgres" in names:
        console.print("PostgreSQL skipped: DEVFLOWFIX_TEST_POSTGRES_URL is not set")


if __name__ == "__main__":
    main()
