"""How fast `devflowfix demo` loads incidents, against the naive ORM design.

Loads N incidents (default 1,000,000) into a fresh SQLite file and, when
DEVFLOWFIX_TEST_POSTGRES_URL names a server, into a fresh PostgreSQL database
(`devflowfix_demo_bench`, created and dropped here); each database is migrated
first. The naive design adds each incident and tag through an ORM session, one
object at a time with a flush per incident; it loads a smaller number and is
extrapolated. Prints the median of the repeats.

    python bench/demo_load.py [--incidents N] [--naive-incidents N] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from devflowfix.auth import service as auth_service
from devflowfix.db import Database, create_db_engine
from devflowfix.db.migrate import upgrade_to_head
from devflowfix.demo import load_demo
from devflowfix.demo.bundles import build_pipelines
from devflowfix.demo.rows import INCIDENT_COLUMNS, RowFactory
from devflowfix.logging import configure_logging
from devflowfix.models import Incident, IncidentTag
from devflowfix.vocabulary import Role, Severity

POSTGRES_URL = os.environ.get("DEVFLOWFIX_TEST_POSTGRES_URL")
BENCH_DATABASE = "devflowfix_demo_bench"
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

    @property
    def rows_per_second(self) -> float:
        return self.incidents / self.seconds


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


def measure_fast(kind: str, incidents: int, scratch: Path) -> float:
    """Seconds that `load_demo` takes for `incidents` incidents."""
    with fresh_database(kind, scratch) as database:
        started = time.perf_counter()
        load_demo(database, incidents=incidents, team_name="demo", email=EMAIL, seed=7)
        return time.perf_counter() - started


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
    kinds = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
    results = []
    with tempfile.TemporaryDirectory(prefix="devflowfix-demo-bench-") as scratch:
        for kind in kinds:
            fast = [
                measure_fast(kind, args.incidents, Path(scratch))
                for _ in range(args.repeats)
            ]
            naive = [
                measure_naive(kind, args.naive_incidents, Path(scratch))
                for _ in range(args.repeats)
            ]
            factor = args.incidents / args.naive_incidents
            results.append(
                Measurement(
                    kind, "demo loader", args.incidents, statistics.median(fast)
                )
            )
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


def report(results: list[Measurement], args: argparse.Namespace) -> None:
    table = Table(title=f"Demo load, median of {args.repeats} run(s)")
    for column in ("database", "design"):
        table.add_column(column)
    for column in ("incidents", "seconds", "rows/s"):
        table.add_column(column, justify="right")
    table.add_column("note")
    fast = {m.database: m for m in results if m.design == "demo loader"}
    for measurement in results:
        note = ""
        if measurement.extrapolated_from:
            ratio = measurement.seconds / fast[measurement.database].seconds
            note = (
                f"extrapolated from {measurement.extrapolated_from:,}; "
                f"{ratio:.0f}x slower"
            )
        else:
            verdict = "under" if measurement.seconds < TARGET_SECONDS else "OVER"
            note = f"{verdict} the {TARGET_SECONDS:.0f} s target"
        table.add_row(
            measurement.database,
            measurement.design,
            f"{measurement.incidents:,}",
            f"{measurement.seconds:.1f}",
            f"{measurement.rows_per_second:,.0f}",
            note,
        )
    console = Console(width=120)
    console.print(table)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    console.print(
        f"Load average at the end (1, 5, 15 min): {load}, {os.cpu_count()} CPUs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--naive-incidents", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    configure_logging(json_lines=False, level="WARNING")
    if not POSTGRES_URL:
        print("DEVFLOWFIX_TEST_POSTGRES_URL is not set: measuring SQLite only.")
    report(run(args), args)


if __name__ == "__main__":
    main()
