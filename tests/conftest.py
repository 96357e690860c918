"""Fixtures: API tests run on a real SQLite file and, when configured, PostgreSQL.

PostgreSQL runs when `DEVFLOWFIX_TEST_POSTGRES_URL` names a server; each test
worker gets its own database there, emptied before every test. Without the
variable the PostgreSQL cases are reported as skipped.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from devflowfix.app import create_app
from devflowfix.config import Settings
from devflowfix.db import Database, create_db_engine
from devflowfix.db.migrate import upgrade_to_head
from devflowfix.jobs.scaled import ScaledWorker

POSTGRES_URL = os.environ.get("DEVFLOWFIX_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("DEVFLOWFIX_TEST_REDIS_URL")
TEST_SECRET_KEY = "test-secret-key-" + "0123456789abcdef" * 4

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> Iterator[str]:
    """A migrated PostgreSQL database of this test process's own."""
    if not POSTGRES_URL:
        pytest.skip("DEVFLOWFIX_TEST_POSTGRES_URL is not set")
    # The process id keeps two test runs on one server out of each other's way.
    name = f"devflowfix_test_{os.getpid()}_{worker_id}"
    admin = _libpq_url(str(make_url(POSTGRES_URL).set(database="postgres")))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    yield url
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_postgres(url: str) -> None:
    """Remove every row of every table but the migration version."""
    engine = create_db_engine(url)
    with engine.begin() as connection:
        tables = connection.scalars(
            text(
                "SELECT quote_ident(tablename) FROM pg_tables "
                "WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
            )
        ).all()
        if tables:
            connection.execute(
                text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
            )
    engine.dispose()


@pytest.fixture(params=DATABASES)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> str:
    """The URL of an empty, migrated database of the kind the test is run on."""
    if request.param == "sqlite":
        path = tmp_path / "devflowfix.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    empty_postgres(url)
    return url


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "env": "test",
        "secret_key": TEST_SECRET_KEY,
        "results_dir": tmp_path / "results",
        "log_level": "WARNING",
        # Jobs in tests: retry at once, write every progress report, and find
        # jobs queued by other processes quickly.
        "job_retry_backoff_seconds": 0,
        "job_progress_interval_seconds": 0,
        "job_poll_interval_seconds": 0.2,
        # Automatic analysis would change incidents behind the back of tests of
        # other features; the tests of automatic analysis turn it on.
        "auto_analyse": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    database = Database.from_settings(settings)
    yield database
    database.dispose()


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database=database)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def job_worker(database: Database, settings: Settings) -> Iterator[None]:
    """Something that runs jobs beside the `client`'s app.

    On SQLite the app's own embedded runner does; on PostgreSQL this starts a
    Procrastinate worker in a thread of the test process.
    """
    if database.is_sqlite:
        yield
        return
    worker = ScaledWorker(database, settings)
    worker.start_in_thread()
    yield
    worker.stop()
