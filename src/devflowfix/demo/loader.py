"""Load demo data: a team, its admin and any number of realistic incidents.

Rows are built on one worker thread while the batches before them are written,
on one connection for SQLite (a single writer) and on several for PostgreSQL,
whose server then checks constraints and updates indexes on more than one core.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from devflowfix.auth import service as auth_service
from devflowfix.db import Database
from devflowfix.db.engine import IMMEDIATE
from devflowfix.demo import writers
from devflowfix.demo.bundles import build_pipelines
from devflowfix.demo.report import DEMO_PASSWORD, DemoReport
from devflowfix.demo.rows import Batch, RowFactory
from devflowfix.demo.vectors import compute_row_vectors
from devflowfix.models import Team, User
from devflowfix.search.maintenance import bulk_indexing
from devflowfix.vocabulary import Role

log = structlog.get_logger(__name__)

BATCH_SIZE = 50_000
PROGRESS_FROM = 50_000
WRITE_STREAMS = {"sqlite": 1, "postgresql": 2}


def load_demo(
    database: Database,
    *,
    incidents: int,
    team_name: str,
    email: str,
    seed: int,
    if_empty: bool = False,
    now: datetime | None = None,
) -> DemoReport:
    """Create the demo team and admin when missing, then load `incidents` incidents."""
    started = time.perf_counter()
    with database.transaction() as session:
        team = auth_service.ensure_team(session, team_name)
        user, created = _ensure_admin(session, team, email)
        team_id, user_id, user_team = team.id, user.id, user.team.name

    with _load_connection(database) as connection, connection.begin():
        had_incidents = writers.has_incidents(connection)

    skipped = if_empty and had_incidents
    loaded = 0
    if not skipped and incidents > 0:
        when = now or datetime.now(UTC)
        factory = _row_factory(database, incidents, team_id, user_id, seed, when)
        if database.dialect == "postgresql":
            factory.vectors = compute_row_vectors(
                database.engine,
                factory.pipelines,
                factory.timeline.hours,
                factory.format.log_hour,
            )
        plan = _Writes(database, seed, check_public_ids=had_incidents)
        with bulk_indexing(database.engine, rows=incidents):
            loaded = _load_incidents(plan, factory, incidents)

    seconds = round(time.perf_counter() - started, 2)
    if skipped:
        log.info("demo.skipped", team=team_name, reason="database has incidents")
    else:
        log.info("demo.loaded", team=team_name, incidents=loaded, seconds=seconds)

    return DemoReport(
        email=user.email,
        team=team_name,
        user_team=user_team,
        user_created=created,
        incidents_loaded=loaded,
        seconds=seconds,
        skipped=skipped,
    )


def _ensure_admin(session: Session, team: Team, email: str) -> tuple[User, bool]:
    existing = auth_service.find_user(session, email)
    if existing is not None:
        return existing, False

    user = auth_service.create_user(
        session,
        email=email,
        password=DEMO_PASSWORD,
        role=Role.ADMIN,
        team_name=team.name,
    )
    return user, True


def bundles_per_pipeline(incidents: int) -> int:
    """How many distinct texts each pipeline gets: more for bigger loads."""
    return max(6, min(120, incidents // 100))


def _row_factory(
    database: Database,
    incidents: int,
    team_id: int,
    user_id: int,
    seed: int,
    now: datetime,
) -> RowFactory:
    rng = random.Random(seed)
    return RowFactory(
        build_pipelines(rng, bundles_per_pipeline(incidents)),
        rng=rng,
        team_id=team_id,
        user_id=user_id,
        now=now,
        time_suffix=writers.TIME_SUFFIXES[database.dialect],
        total=incidents,
    )


@contextmanager
def _load_connection(database: Database) -> Iterator[Connection]:
    # On SQLite each batch's transaction takes the write lock when it begins.
    engine = database.engine.execution_options(**{IMMEDIATE: True})
    with engine.connect() as connection, writers.load_settings(connection):
        yield connection


@dataclass(frozen=True, slots=True)
class _Writes:
    """How a load writes its batches."""

    database: Database
    seed: int
    # Public ids are unique within a load; only older incidents can clash.
    check_public_ids: bool

    @property
    def streams(self) -> int:
        return WRITE_STREAMS.get(self.database.dialect, 1)


def _load_incidents(writes: _Writes, factory: RowFactory, count: int) -> int:
    with _load_connection(writes.database) as connection, connection.begin():
        first_id = writers.reserve_ids(connection, count)

    with (
        closing(_batches(factory, first_id, count)) as batches,
        _progress(count) as advance,
    ):
        _write_batches(writes, batches, advance)

    with _load_connection(writes.database) as connection, connection.begin():
        writers.sync_id_sequence(connection)

    return count


def _batches(
    factory: RowFactory, first_id: int, count: int
) -> Generator[Batch, None, None]:
    """The load's batches in order; each is built while the ones before are written."""
    with ThreadPoolExecutor(1, thread_name_prefix="demo-rows") as pool:
        pending: Future[Batch] | None = None
        for start in range(0, count, BATCH_SIZE):
            size = min(BATCH_SIZE, count - start)
            following = pool.submit(factory.build, first_id + start, size)
            if pending is not None:
                yield pending.result()
            pending = following
        if pending is not None:
            yield pending.result()


def _write_batches(
    writes: _Writes, batches: Iterator[Batch], advance: Callable[[int], None]
) -> None:
    """Write every batch, each in its own transaction, over several connections."""
    lock, failed = threading.Lock(), threading.Event()

    def drain(stream: int) -> None:
        renames = random.Random(writes.seed + 1 + stream)
        with _load_connection(writes.database) as connection:
            while not failed.is_set():
                with lock:
                    batch = next(batches, None)
                if batch is None:
                    return

                try:
                    with connection.begin():
                        if writes.check_public_ids:
                            replace_taken_public_ids(connection, batch, renames)
                        writers.insert_batch(connection, batch)
                except BaseException:
                    failed.set()
                    raise
                advance(len(batch.incidents))

    streams = range(writes.streams)
    with ThreadPoolExecutor(len(streams), thread_name_prefix="demo-writer") as pool:
        for writer in [pool.submit(drain, stream) for stream in streams]:
            writer.result()


def replace_taken_public_ids(
    connection: Connection, batch: Batch, rng: random.Random
) -> None:
    """Give a fresh public id to the rows whose public id is already taken."""
    rows = batch.incidents
    public_ids = [str(row[1]) for row in rows]
    taken = writers.find_taken_public_ids(connection, public_ids)
    clashes = [
        index for index, public_id in enumerate(public_ids) if public_id in taken
    ]

    while clashes:
        fresh = {index: f"inc_{rng.getrandbits(48):012x}" for index in clashes}
        taken = writers.find_taken_public_ids(connection, list(fresh.values()))
        clashes = []
        for index, public_id in fresh.items():
            if public_id in taken:
                clashes.append(index)
            else:
                rows[index] = (rows[index][0], public_id, *rows[index][2:])


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    if total < PROGRESS_FROM:
        yield lambda _done: None
        return

    columns = (
        TextColumn("Loading demo incidents"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task("load", total=total)
        yield lambda done: progress.advance(task, done)
