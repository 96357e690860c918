"""Load demo data: a team, its admin and any number of realistic incidents."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
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
from devflowfix.demo.rows import Batch, RowFactory
from devflowfix.models import Team, User
from devflowfix.vocabulary import Role

log = structlog.get_logger(__name__)

DEMO_PASSWORD = "devflowfix-demo"  # noqa: S105 - printed for the user on purpose
DEMO_URL = "http://127.0.0.1:8000"
BATCH_SIZE = 10_000
PROGRESS_FROM = 50_000


@dataclass(frozen=True, slots=True)
class DemoReport:
    """What a demo load did, and how to sign in to see it."""

    email: str
    team: str
    user_team: str
    user_created: bool
    incidents_loaded: int
    seconds: float
    skipped: bool
    url: str = DEMO_URL
    password: str = DEMO_PASSWORD

    def describe(self) -> str:
        """The text that tells the user what was loaded and how to sign in."""
        return "\n".join((self._summary(), "", *self._sign_in()))

    def _summary(self) -> str:
        if self.skipped:
            return (
                "The database already holds incidents, so no demo incidents were "
                f"loaded ({self.seconds:.1f} s)."
            )
        return (
            f"Loaded {self.incidents_loaded:,} demo incidents into team "
            f"'{self.team}' in {self.seconds:.1f} s."
        )

    def _sign_in(self) -> list[str]:
        password = (
            self.password
            if self.user_created
            else (f"{self.password} (unless it was changed; the user already existed)")
        )
        lines = [
            f"Open {self.url} and sign in:",
            f"  email:    {self.email}",
            f"  password: {password}",
            "",
            "Or get an API token:",
            f"  curl -s -X POST {self.url}/api/v1/auth/token "
            f"--data-urlencode 'username={self.email}' "
            f"--data-urlencode 'password={self.password}'",
            f"  devflowfix token {self.email}",
        ]
        if self.user_team != self.team:
            lines.append(
                f"Note: {self.email} belongs to team '{self.user_team}' and does not "
                f"see team '{self.team}'."
            )
        return lines


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
    with _load_connection(database) as connection:
        skipped = if_empty and writers.has_incidents(connection)
        loaded = 0
        if not skipped:
            loaded = _load_incidents(
                connection,
                incidents,
                team_id=team_id,
                user_id=user_id,
                seed=seed,
                now=now or datetime.now(UTC),
            )
    seconds = time.perf_counter() - started
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


@contextmanager
def _load_connection(database: Database) -> Iterator[Connection]:
    # On SQLite each batch's transaction takes the write lock when it begins.
    engine = database.engine.execution_options(**{IMMEDIATE: True})
    with engine.connect() as connection, writers.load_settings(connection):
        yield connection


def _load_incidents(
    connection: Connection,
    count: int,
    *,
    team_id: int,
    user_id: int,
    seed: int,
    now: datetime,
) -> int:
    if count <= 0:
        return 0
    rng = random.Random(seed)
    factory = RowFactory(
        build_pipelines(rng, bundles_per_pipeline(count)),
        rng=rng,
        team_id=team_id,
        user_id=user_id,
        now=now,
        time_suffix=writers.time_suffix(connection),
        total=count,
    )
    with connection.begin():
        first_id = writers.reserve_ids(connection, count)
    renames = random.Random(seed + 1)
    with _progress(count) as advance:
        for batch in _batches(factory, first_id, count):
            with connection.begin():
                _make_public_ids_unique(connection, batch, renames)
                writers.insert_batch(connection, batch)
            advance(len(batch.incidents))
    with connection.begin():
        writers.sync_id_sequence(connection)
    return count


def bundles_per_pipeline(incidents: int) -> int:
    """How many distinct texts each pipeline gets: more for bigger loads."""
    return max(12, min(120, incidents // 100))


def _batches(factory: RowFactory, first_id: int, count: int) -> Iterator[Batch]:
    """The load's batches in order; each is built while the one before is written.

    Building rows is Python work and writing them mostly driver and database
    work, so the two overlap on a second core.
    """
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


def _make_public_ids_unique(
    connection: Connection, batch: Batch, rng: random.Random
) -> None:
    """Give a fresh public id to rows whose id repeats or is already taken."""
    rows = batch.incidents
    seen: set[str] = set()
    clashes = []
    for index, row in enumerate(rows):
        public_id = str(row[1])
        if public_id in seen:
            clashes.append(index)
        seen.add(public_id)
    taken = writers.find_taken_public_ids(connection, list(seen))
    clashes += [index for index, row in enumerate(rows) if row[1] in taken]
    while clashes:
        fresh = {index: f"inc_{rng.getrandbits(48):012x}" for index in clashes}
        taken = writers.find_taken_public_ids(connection, list(fresh.values()))
        clashes = []
        for index, public_id in fresh.items():
            if public_id in taken or public_id in seen:
                clashes.append(index)
                continue
            seen.add(public_id)
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
