"""Database rules: SQLite pragmas, write locks, migrations matching the models."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from devflowfix.config import Settings
from devflowfix.db import Database, create_db_engine
from devflowfix.db.migrate import include_name, is_current, upgrade_to_head
from devflowfix.models import Base


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Database:
    return Database(
        create_db_engine(f"sqlite:///{tmp_path / 'rules.db'}", busy_timeout_ms=5000)
    )


def test_sqlite_runs_in_wal_with_foreign_keys_and_busy_timeout(
    sqlite_database: Database,
) -> None:
    with sqlite_database.engine.connect() as connection:
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()

    assert journal == "wal"
    assert foreign_keys == 1
    assert timeout == 5000


def test_sqlite_page_cache_follows_the_setting(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cache.db'}",
        secret_key="k" * 48,
        sqlite_cache_mb=48,
    )
    database = Database.from_settings(settings)
    try:
        with database.engine.connect() as connection:
            cache = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    finally:
        database.dispose()

    assert cache == -48 * 1024  # negative values are KiB


def test_sqlite_writers_wait_for_each_other(sqlite_database: Database) -> None:
    with sqlite_database.transaction() as session:
        session.execute(text("CREATE TABLE counter (value INTEGER)"))
        session.execute(text("INSERT INTO counter VALUES (0)"))

    def add_one() -> None:
        with sqlite_database.transaction(write=True) as session:
            value = session.execute(text("SELECT value FROM counter")).scalar_one()
            time.sleep(0.02)
            session.execute(text("UPDATE counter SET value = :v"), {"v": value + 1})

    threads = [threading.Thread(target=add_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with sqlite_database.transaction(write=False) as session:
        assert session.execute(text("SELECT value FROM counter")).scalar_one() == 8


def test_readers_do_not_take_the_write_lock(sqlite_database: Database) -> None:
    with sqlite_database.transaction() as session:
        session.execute(text("CREATE TABLE t (value INTEGER)"))

    with sqlite_database.transaction(write=True) as writer:
        writer.execute(text("INSERT INTO t VALUES (1)"))
        with sqlite_database.transaction(write=False) as reader:
            assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 0


def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_db_engine(database_url)
    with engine.connect() as connection:
        # include_name skips what only migrations create (full-text objects,
        # Procrastinate's tables).
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        differences = compare_metadata(context, Base.metadata)

    engine.dispose()

    assert differences == []


def test_migrating_twice_changes_nothing(database_url: str) -> None:
    engine = create_db_engine(database_url)

    upgrade_to_head(engine)

    assert is_current(engine)
    engine.dispose()
