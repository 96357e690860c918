"""Engines for SQLite and PostgreSQL, with the SQLite connection rules applied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import ConnectionPoolEntry

# Execution option that makes the SQLite transaction take the write lock at BEGIN.
# Without it a transaction that reads first and writes later can fail with
# SQLITE_BUSY at the write, which the busy timeout does not cover.
IMMEDIATE = "devflowfix_begin_immediate"

# The page cache of each SQLite connection. SQLite's own default (2,000 KiB)
# is the fastest for the search mix at a million incidents: with 64 MiB the
# 50 searches of bench/search.py took 380 ms together instead of 352-357 ms
# (8 MiB: 369), a CSV export ran at 88,000 rows/s instead of 92,000-95,000,
# and a scan of the naive design took 269 ms instead of 205. Pages the
# operating system already caches cost one copy to read, and a small cache
# keeps those copies in the processor's cache. (Before the facet words of
# migration 0015, one count that looked up 10,500 ids in the wide id index
# was faster with 32 MiB: 4.0 ms against 6.5.)
DEFAULT_SQLITE_CACHE_MB = 2


def create_db_engine(
    url: str,
    *,
    pool_size: int = 10,
    busy_timeout_ms: int = 30_000,
    sqlite_cache_mb: int = DEFAULT_SQLITE_CACHE_MB,
    echo: bool = False,
) -> Engine:
    """Create the engine for `url`; SQLite gets WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(
            url, busy_timeout_ms=busy_timeout_ms, cache_mb=sqlite_cache_mb, echo=echo
        )

    if parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg"))

    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        echo=echo,
    )


def _create_sqlite_engine(
    url: str, *, busy_timeout_ms: int, cache_mb: int, echo: bool
) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)

    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        pool_size=16,
        max_overflow=16,
        # The most recently used connection comes back first, with its cache warm.
        pool_use_lifo=True,
        echo=echo,
    )

    # The pysqlite driver begins transactions on its own and late; hand that job to
    # SQLAlchemy so BEGIN happens where the session starts, as the SQLAlchemy docs
    # recommend ("Serializable isolation / Savepoints / Transactional DDL").
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size={-1024 * int(cache_mb)}")  # negative: KiB
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def dialect_name(engine: Engine) -> str:
    """`sqlite` or `postgresql`."""
    return engine.dialect.name
