"""Search over a million incidents through HTTP, on SQLite and on PostgreSQL.

For each database: load the demo incidents with the demo loader, serve the real
app (`devflowfix serve`) in a subprocess, send a fixed mix of searches through
HTTP and print p50/p95/max latency per kind of search and over the whole mix.
In the same run, on the same data, the naive design of the original service
(`LIKE`/`ILIKE '%word%'` over the text columns, `OFFSET` paging and a separate
`COUNT(*)`) answers the text searches with direct SQL; the ratio is printed.

    python bench/search.py                      # 1,000,000 incidents, both databases
    python bench/search.py --incidents 100000 --only sqlite --reuse

The SQLite file lives under var/bench/; the PostgreSQL database
`devflowfix_bench_search` is created on DEVFLOWFIX_TEST_POSTGRES_URL's server.
Both are dropped at the end (keep them with --keep; --reuse searches what an
earlier --keep run loaded).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from rich.console import Console
from rich.table import Table
from search_mix import MIX, Search
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from devflowfix.auth.tokens import issue_token
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.db.migrate import upgrade_to_head
from devflowfix.demo.loader import load_demo

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "s" * 40
EMAIL = "demo@example.com"
TEAM = "demo"
console = Console()


@dataclass
class Target:
    """One database under test and what was measured on it."""

    name: str
    url: str
    location: str
    load_seconds: float | None = None
    vacuum_seconds: float | None = None
    ours: dict[str, list[float]] = field(default_factory=dict)
    naive: dict[str, list[float]] = field(default_factory=dict)
    load_averages: list[tuple[float, float, float]] = field(default_factory=list)


def postgres_admin_url() -> str:
    url = os.environ.get("DEVFLOWFIX_TEST_POSTGRES_URL")
    if not url:
        raise SystemExit("set DEVFLOWFIX_TEST_POSTGRES_URL (eval .ci/services.sh)")
    return (
        make_url(url)
        .set(drivername="postgresql", database="postgres")
        .render_as_string(hide_password=False)
    )


def targets(only: str | None, sqlite_path: Path, postgres_name: str) -> list[Target]:
    found = []
    if only in (None, "sqlite"):
        found.append(Target("SQLite", f"sqlite:///{sqlite_path}", str(sqlite_path)))
    if only in (None, "postgres"):
        admin = make_url(postgres_admin_url())
        url = admin.set(drivername="postgresql+psycopg", database=postgres_name)
        found.append(
            Target(
                "PostgreSQL", url.render_as_string(hide_password=False), postgres_name
            )
        )
    return found


def create_fresh(target: Target) -> None:
    drop(target)
    if target.name == "SQLite":
        Path(target.location).parent.mkdir(parents=True, exist_ok=True)
        return
    with psycopg.connect(postgres_admin_url(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{target.location}"')


def drop(target: Target) -> None:
    if target.name == "SQLite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target.location}{suffix}").unlink(missing_ok=True)
        return
    with psycopg.connect(postgres_admin_url(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{target.location}" WITH (FORCE)')


def load(target: Target, incidents: int) -> None:
    """Load the demo incidents, timed as `devflowfix demo` would run."""
    settings = Settings(database_url=target.url, secret_key=SECRET, log_level="WARNING")
    database = Database.from_settings(settings)
    try:
        started = time.perf_counter()
        upgrade_to_head(database.engine)
        load_demo(database, incidents=incidents, team_name=TEAM, email=EMAIL, seed=7)
        target.load_seconds = time.perf_counter() - started
        if target.name == "PostgreSQL":
            target.vacuum_seconds = vacuum(database.engine)
    finally:
        database.dispose()


def vacuum(engine: Engine) -> float:
    """What autovacuum does after a load: the visibility map for index-only scans."""
    started = time.perf_counter()
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM (ANALYZE) incidents")
        )
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(target: Target) -> tuple[subprocess.Popen[bytes], str]:
    """`devflowfix serve` on a free port, once it answers /readyz."""
    port = free_port()
    environment = {
        **os.environ,
        "DEVFLOWFIX_DATABASE_URL": target.url,
        "DEVFLOWFIX_SECRET_KEY": SECRET,
        "DEVFLOWFIX_ENV": "development",
        "DEVFLOWFIX_LOG_LEVEL": "WARNING",
        "DEVFLOWFIX_JOB_WORKERS": "0",
    }
    command = [
        str(Path(sys.executable).parent / "devflowfix"),
        "serve",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the server for {target.name} did not start")


def token(target: Target) -> str:
    settings = Settings(database_url=target.url, secret_key=SECRET, log_level="WARNING")
    database = Database.from_settings(settings)
    try:
        with database.engine.connect() as connection:
            public_id = connection.scalar(
                text("SELECT public_id FROM users WHERE email = :email"),
                {"email": EMAIL},
            )
    finally:
        database.dispose()
    return issue_token(str(public_id), settings)


def prepare_cursor(client: httpx.Client, search: Search) -> dict[str, Any]:
    """For a deep-cursor search: walk `cursor_depth` pages and keep the last cursor."""
    body = dict(search.body)
    for _ in range(search.cursor_depth):
        answer = post(client, body)
        body = {"cursor": answer["pagination"]["next_cursor"]}
    return body


def post(client: httpx.Client, body: dict[str, Any]) -> Any:
    response = client.post("/api/v1/incidents/search", json=body)
    if response.status_code != 200:
        raise SystemExit(
            f"search {body} answered {response.status_code}: {response.text}"
        )
    return response.json()


def measure_ours(target: Target, rounds: int) -> None:
    process, base = serve(target)
    try:
        headers = {"Authorization": f"Bearer {token(target)}"}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            bodies = {search.kind: prepare_cursor(client, search) for search in MIX}
            target.load_averages.append(os.getloadavg())
            order = list(bodies)
            shuffle = random.Random(11)
            for round_number in range(rounds + 1):
                shuffle.shuffle(order)
                for kind in order:
                    started = time.perf_counter()
                    post(client, bodies[kind])
                    elapsed = (time.perf_counter() - started) * 1000
                    if round_number:  # round 0 warms the caches up
                        target.ours.setdefault(kind, []).append(elapsed)
            target.load_averages.append(os.getloadavg())
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure_naive(target: Target, rounds: int) -> None:
    """The original design on the same data: LIKE scans, OFFSET and COUNT(*)."""
    settings = Settings(database_url=target.url, secret_key=SECRET, log_level="WARNING")
    database = Database.from_settings(settings)
    sqlite = target.name == "SQLite"
    try:
        with database.engine.connect() as connection:
            team_id = connection.scalar(
                text("SELECT id FROM teams WHERE name = :team"), {"team": TEAM}
            )
            for search in MIX:
                if search.naive is None:
                    continue
                page_sql, count_sql, parameters = search.naive.sql(sqlite=sqlite)
                parameters = {**parameters, "team_id": team_id}
                for _ in range(rounds):
                    started = time.perf_counter()
                    connection.execute(text(page_sql), parameters).all()
                    connection.execute(text(count_sql), parameters).scalar()
                    elapsed = (time.perf_counter() - started) * 1000
                    target.naive.setdefault(search.kind, []).append(elapsed)
    finally:
        database.dispose()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def report(target: Target) -> None:
    table = Table(title=f"{target.name}: search latency through HTTP (ms)")
    for column in ("kind", "p50", "p95", "max", "naive p50", "naive / ours"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    ratios = []
    for search in MIX:
        samples = target.ours[search.kind]
        p50 = statistics.median(samples)
        naive = target.naive.get(search.kind)
        naive_p50 = statistics.median(naive) if naive else None
        ratio = naive_p50 / p50 if naive_p50 else None
        if ratio:
            ratios.append(ratio)
        table.add_row(
            search.kind,
            f"{p50:.1f}",
            f"{percentile(samples, 0.95):.1f}",
            f"{max(samples):.1f}",
            f"{naive_p50:,.0f}" if naive_p50 else "",
            f"{ratio:,.0f}x" if ratio else "",
        )
    console.print(table)
    everything = [value for samples in target.ours.values() for value in samples]
    console.print(
        f"{target.name}: whole mix, {len(everything)} requests of {len(MIX)} kinds: "
        f"p50 {statistics.median(everything):.1f} ms, "
        f"p95 {percentile(everything, 0.95):.1f} ms, max {max(everything):.1f} ms"
    )
    if ratios:
        console.print(
            f"{target.name}: naive / ours on {len(ratios)} text searches: median "
            f"{statistics.median(ratios):,.0f}x, lowest {min(ratios):,.0f}x"
        )
    if target.load_seconds is not None:
        extra = (
            f", then VACUUM ANALYZE {target.vacuum_seconds:.0f} s"
            if target.vacuum_seconds is not None
            else ""
        )
        console.print(f"{target.name}: demo load {target.load_seconds:.0f} s{extra}")
    # The machine is shared: the load average says how busy it was meanwhile.
    before, after = (
        ", ".join(f"{value:.1f}" for value in averages)
        for averages in target.load_averages
    )
    console.print(
        f"{target.name}: load average (1, 5, 15 min) before the timed mix {before}, "
        f"after it {after}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument(
        "--rounds", type=int, default=15, help="timed rounds of the mix"
    )
    parser.add_argument("--naive-rounds", type=int, default=3)
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--reuse", action="store_true", help="search what is loaded")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--sqlite", type=Path, default=ROOT / "var" / "bench" / "search.db"
    )
    parser.add_argument("--postgres-database", default="devflowfix_bench_search")
    arguments = parser.parse_args()

    chosen = targets(arguments.only, arguments.sqlite, arguments.postgres_database)
    for target in chosen:
        if not arguments.reuse:
            create_fresh(target)
            console.print(f"{target.name}: loading {arguments.incidents:,} incidents")
            load(target, arguments.incidents)
        measure_ours(target, arguments.rounds)
        measure_naive(target, arguments.naive_rounds)
        report(target)
        if not arguments.keep:
            drop(target)


if __name__ == "__main__":
    main()
