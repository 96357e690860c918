"""How fast `devflowfix demo` loads incidents, against the naive ORM design.

Loads N incidents (default 1,000,000) into a fresh SQLite file and, when
DEVFLOWFIX_TEST_POSTGRES_URL names a server, into a fresh PostgreSQL database
(`devflowfix_demo_bench` unless `--postgres-database` names another, created
and dropped here); each database is migrated first. The naive design adds each
incident and tag through an ORM session, one object at a time with a flush per
incident; it loads a smaller number and is extrapolated (`--naive-incidents 0`
leaves it out). Prints the median of the repeats, with the CPU seconds of this
process and, on PostgreSQL, of the server processes that served the load (read
from /proc while it runs), and checks after each PostgreSQL load that every
incident's stored search vector equals the column's expression (unless
`--no-vector-check`).

    python bench/demo_load.py [--incidents N] [--naive-incidents N] [--repeats R]
        [--databases sqlite,postgresql] [--postgres-database NAME]
        [--no-vector-check]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import make_url

from devflowfix.auth import service as auth_service
from devflowfix.db import Database, create_db_engine
from devflowfix.db.migrate import upgrade_to_head
from devflowfix.demo import load_demo
from devflowfix.demo.bundles import build_pipelines
from devflowfix.demo.rows import INCIDENT_COLUMNS, RowFactory
from devflowfix.logging import configure_logging
from devflowfix.models import Incident, IncidentTag
from devflowfix.search.vectors import POSTGRES_VECTOR
from devflowfix.vocabulary import Role, Severity

POSTGRES_URL = os.environ.get("DEVFLOWFIX_TEST_POSTGRES_URL")
DEFAULT_DATABASE = "devflowfix_demo_bench"
# The PostgreSQL database loaded into: `--postgres-database` names another.
BENCH_DATABASE = DEFAULT_DATABASE
KINDS = ("sqlite", "postgresql")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_SECONDS = 0.2
TARGET_SECONDS = 180.0
EMAIL = "bench@example.com"
BENCH_PASSWORD = "bench-password"  # noqa: S105 - a throwaway database's user
DATETIME_COLUMNS = (
    "timestamp",
    "created_at",
    "updated_at",
    "resolved_at",
    "analysed_at",
)
JSON_COLUMNS = ("tags", "matched_rules", "similar_incidents")


@dataclass(frozen=True)
class Measurement:
    database: str
    design: str
    incidents: int
    seconds: float
    extrapolated_from: int | None = None
    cpu_seconds: float | None = None
    server_cpu_seconds: float | None = None
    mismatched_vectors: int | None = None

    @property
    def rows_per_second(self) -> float:
        return self.incidents / self.seconds


@dataclass(frozen=True)
class Load:
    """One timed load: wall and CPU seconds, and the vector check's count."""

    seconds: float
    cpu_seconds: float
    server_cpu_seconds: float | None
    mismatched_vectors: int | None


class ServerCpu:
    """CPU seconds of the server processes serving one database, from /proc.

    A backend's title names its database; a parallel worker's names its
    leader's process id. Sampled every 0.2 s, keeping each process's latest
    total: what a process spends after its last sample before exiting is lost.
    """

    def __init__(self, database: str) -> None:
        self.marker = f" {database} "
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ServerCpu:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sample()
        self.stop.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())

    def _run(self) -> None:
        while not self.stop.wait(SAMPLE_SECONDS):
            self.sample()

    def sample(self) -> None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
                if not title.startswith("postgres: "):
                    continue
                leader = title.rsplit("parallel worker for PID ", 1)[-1].split()[0]
                ours = self.marker in title or (
                    leader.isdigit() and int(leader) in self.seen
                )
                if not ours:
                    continue
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            # utime and stime: fields 14 and 15 of stat, 12 and 13 after the name.
            self.seen[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@contextmanager
def fresh_database(kind: str, scratch: Path) -> Iterator[Database]:
    """An empty, migrated database of `kind`, removed afterwards."""
    if kind == "sqlite":
        path = scratch / f"demo-{time.monotonic_ns()}.db"
        url = f"sqlite:///{path}"
    else:
        assert POSTGRES_URL
        _recreate_postgres_database()
        bench_url = make_url(POSTGRES_URL).set(database=BENCH_DATABASE)
        url = bench_url.render_as_string(hide_password=False)
    database = Database(create_db_engine(url))
    upgrade_to_head(database.engine)
    try:
        yield database
    finally:
        database.dispose()
        if kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            _drop_postgres_database()


def _admin_dsn() -> str:
    assert POSTGRES_URL
    url = make_url(POSTGRES_URL).set(drivername="postgresql", database="postgres")
    return url.render_as_string(hide_password=False)


def _recreate_postgres_database() -> None:
    _drop_postgres_database()
    with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')


def _drop_postgres_database() -> None:
    with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')


def measure_fast(kind: str, incidents: int, scratch: Path, *, check: bool) -> Load:
    """How long `load_demo` takes for `incidents` incidents, and its check."""
    with fresh_database(kind, scratch) as database:
        server = ServerCpu(BENCH_DATABASE) if kind == "postgresql" else None
        with server or _nothing():
            started, cpu = time.perf_counter(), time.process_time()
            load_demo(
                database, incidents=incidents, team_name="demo", email=EMAIL, seed=7
            )
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu
        mismatched = None
        if kind == "postgresql" and check:
            with database.engine.connect() as connection:
                mismatched = connection.scalar(
                    text(
                        "SELECT count(*) FROM incidents WHERE search_vector "
                        f"IS DISTINCT FROM {POSTGRES_VECTOR}"
                    )
                )
        load = Load(seconds, cpu, server and server.seconds, mismatched)
        print(
            f"{kind}: {incidents:,} incidents in {load.seconds:.1f} s, "
            f"CPU {load.cpu_seconds:.1f} s here"
            + ("" if server is None else f", {server.seconds:.1f} s in the server")
            + ("" if mismatched is None else f"; {mismatched} vectors differ")
            + f"; load average {_load_average()}"
        )
        return load


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _load_average() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def measure_naive(kind: str, incidents: int, scratch: Path) -> float:
    """Seconds that loading the same kind of rows through the ORM takes."""
    with fresh_database(kind, scratch) as database:
        with database.transaction() as session:
            user = auth_service.create_user(
                session, email=EMAIL, password=BENCH_PASSWORD, role=Role.ADMIN
            )
            team_id, user_id = user.team_id, user.id
        values = _orm_values(incidents, team_id, user_id)
        started = time.perf_counter()
        with database.transaction() as session:
            for fields, tags in values:
                incident = Incident(**fields)
                session.add(incident)
                session.flush()
                for tag in tags:
                    session.add(
                        IncidentTag(incident_id=incident.id, tag=tag, team_id=team_id)
                    )
        return time.perf_counter() - started


def _orm_values(
    count: int, team_id: int, user_id: int
) -> list[tuple[dict[str, object], list[str]]]:
    """The generator's rows as ORM constructor arguments (prepared untimed)."""
    rng = random.Random(7)
    factory = RowFactory(
        build_pipelines(rng, 40),
        rng=rng,
        team_id=team_id,
        user_id=user_id,
        now=datetime.now(UTC),
        time_suffix="",
        total=count,
    )
    values = []
    for row in factory.build(1, count).incidents:
        fields = dict(zip(INCIDENT_COLUMNS, row, strict=True))
        del fields["id"]
        for name in DATETIME_COLUMNS:
            text = fields[name]
            if isinstance(text, str):
                fields[name] = datetime.fromisoformat(text).replace(tzinfo=UTC)
        for name in JSON_COLUMNS:
            text = fields[name]
            fields[name] = json.loads(text) if isinstance(text, str) else text
        fields["severity"] = Severity.from_rank(int(str(fields["severity"])))
        values.append((fields, json.loads(str(row[INCIDENT_COLUMNS.index("tags")]))))
    return values


def run(args: argparse.Namespace) -> list[Measurement]:
    kinds = [kind for kind in args.databases if kind == "sqlite" or POSTGRES_URL]
    results = []
    with tempfile.TemporaryDirectory(prefix="devflowfix-demo-bench-") as scratch:
        for kind in kinds:
            fast = [
                measure_fast(
                    kind, args.incidents, Path(scratch), check=args.vector_check
                )
                for _ in range(args.repeats)
            ]
            results.append(
                Measurement(
                    kind,
                    "demo loader",
                    args.incidents,
                    statistics.median(load.seconds for load in fast),
                    cpu_seconds=statistics.median(load.cpu_seconds for load in fast),
                    server_cpu_seconds=_median(
                        load.server_cpu_seconds for load in fast
                    ),
                    mismatched_vectors=_most(load.mismatched_vectors for load in fast),
                )
            )
            if not args.naive_incidents:
                continue
            naive = [
                measure_naive(kind, args.naive_incidents, Path(scratch))
                for _ in range(args.repeats)
            ]
            factor = args.incidents / args.naive_incidents
            results.append(
                Measurement(
                    kind,
                    "naive ORM",
                    args.incidents,
                    statistics.median(naive) * factor,
                    extrapolated_from=args.naive_incidents,
                )
            )
    return results


def _median(values: Iterator[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def _most(values: Iterator[int | None]) -> int | None:
    known = [value for value in values if value is not None]
    return max(known) if known else None


def report(results: list[Measurement], args: argparse.Namespace) -> None:
    table = Table(title=f"Demo load, median of {args.repeats} run(s)")
    for column in ("database", "design"):
        table.add_column(column)
    for column in ("incidents", "seconds", "rows/s", "CPU s", "server CPU s"):
        table.add_column(column, justify="right")
    table.add_column("note")
    fast = {m.database: m for m in results if m.design == "demo loader"}
    for measurement in results:
        note = ""
        if measurement.extrapolated_from and measurement.database in fast:
            ratio = measurement.seconds / fast[measurement.database].seconds
            note = (
                f"extrapolated from {measurement.extrapolated_from:,}; "
                f"{ratio:.0f}x slower"
            )
        else:
            verdict = "under" if measurement.seconds < TARGET_SECONDS else "OVER"
            note = f"{verdict} the {TARGET_SECONDS:.0f} s target"
            if measurement.mismatched_vectors is not None:
                note += f"; {measurement.mismatched_vectors} vectors differ"
        table.add_row(
            measurement.database,
            measurement.design,
            f"{measurement.incidents:,}",
            f"{measurement.seconds:.1f}",
            f"{measurement.rows_per_second:,.0f}",
            _seconds(measurement.cpu_seconds),
            _seconds(measurement.server_cpu_seconds),
            note,
        )
    console = Console(width=140)
    console.print(table)
    console.print(
        f"Load average at the start (1, 5, 15 min): {args.load_at_start}; "
        f"at the end: {_load_average()}; {os.cpu_count()} CPUs"
    )


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def main() -> None:
    global BENCH_DATABASE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--naive-incidents", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--databases",
        type=lambda value: [kind for kind in value.split(",") if kind],
        default=list(KINDS),
        help="comma-separated: sqlite, postgresql (default both)",
    )
    parser.add_argument("--postgres-database", default=DEFAULT_DATABASE)
    parser.add_argument(
        "--no-vector-check",
        dest="vector_check",
        action="store_false",
        help="skip comparing every stored search vector with its expression "
        "(minutes of server CPU at a million incidents)",
    )
    args = parser.parse_args()
    unknown = set(args.databases) - set(KINDS)
    if unknown:
        parser.error(f"unknown databases: {', '.join(sorted(unknown))}")
    BENCH_DATABASE = args.postgres_database
    args.load_at_start = _load_average()
    # The loader logs its phases (index builds, the whole load) at INFO.
    configure_logging(json_lines=False, level="INFO")
    if not POSTGRES_URL:
        print("DEVFLOWFIX_TEST_POSTGRES_URL is not set: measuring SQLite only.")
    report(run(args), args)


if __name__ == "__main__":
    main()
