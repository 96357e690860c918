"""Bulk writes of demo rows through the database driver, one function per dialect.

The ORM costs far more per row than a million-row load can afford, so batches go
straight to the driver: `executemany` on SQLite, `COPY ... FROM STDIN` on
PostgreSQL. Every statement names its columns, so columns and triggers that
later migrations add (full-text search, for instance) keep working.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, func, select, text

from devflowfix.demo.rows import INCIDENT_COLUMNS, TAG_COLUMNS, Batch
from devflowfix.models import Incident

# SQLite's page cache for the load connection; the default 2 MB makes every
# index insert past the first few batches read its page back from the OS.
SQLITE_LOAD_CACHE_KIB = 256 * 1024
# Well below SQLite's limit on the parameters of one statement.
SQLITE_MAX_PARAMETERS = 10_000
# PostgreSQL takes timestamps with an explicit offset, whatever the session's zone.
TIME_SUFFIXES = {"sqlite": "", "postgresql": "+00"}
# A copied row too wide for a page has its log compressed by the server: with
# lz4 (where the server has it) rather than pglz. Before migration 0013 kept
# rows whole up to a page, when most rows were compressed, that saved 100,000
# demo rows about 1 s of the server's CPU, 13%, for the same space within 2%.
POSTGRES_LOAD_COMPRESSION = (
    "SELECT set_config('default_toast_compression', "
    "CASE WHEN 'lz4' = ANY(enumvals) THEN 'lz4' ELSE setting END, true) "
    "FROM pg_settings WHERE name = 'default_toast_compression'"
)


def insert_batch(connection: Connection, batch: Batch) -> None:
    """Write a batch of incidents and their tag rows in the current transaction."""
    driver = _driver(connection)
    if connection.dialect.name == "sqlite":
        _insert_sqlite(driver, batch)
    else:
        _copy_postgresql(driver, batch)


def _insert_sqlite(driver: Any, batch: Batch) -> None:
    incidents = _insert_statement("incidents", INCIDENT_COLUMNS)
    tags = _insert_statement("incident_tags", TAG_COLUMNS)
    driver.executemany(incidents, batch.incidents)
    if batch.tags:
        driver.executemany(tags, batch.tags)


def _insert_statement(table: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608


def _copy_postgresql(driver: Any, batch: Batch) -> None:
    # Rows may end with their search vector (`batch.columns`); where it is
    # missing, the insert trigger computes it.
    with driver.cursor() as cursor:
        cursor.execute(POSTGRES_LOAD_COMPRESSION)
        with cursor.copy(_copy_statement("incidents", batch.columns)) as copy:
            for row in batch.incidents:
                copy.write_row(row)
        if batch.tags:
            with cursor.copy(_copy_statement("incident_tags", TAG_COLUMNS)) as copy:
                for tag_row in batch.tags:
                    copy.write_row(tag_row)


def _copy_statement(table: str, columns: tuple[str, ...]) -> str:
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN"


def reserve_ids(connection: Connection, count: int) -> int:
    """The first of `count` consecutive incident ids for the load to use.

    On PostgreSQL the id sequence moves past them, so inserts by others during
    the load take later ids. SQLite gives a new row the highest id plus one, so
    there the load expects no other writer of incidents until it ends.
    """
    if connection.dialect.name == "sqlite":
        highest = connection.scalar(select(func.coalesce(func.max(Incident.id), 0)))
        return int(highest or 0) + 1

    end = connection.scalar(
        text(
            "SELECT setval(pg_get_serial_sequence('incidents', 'id'), "
            "GREATEST(nextval(pg_get_serial_sequence('incidents', 'id')), "
            "(SELECT COALESCE(MAX(id), 0) + 1 FROM incidents)) + :count - 1)"
        ),
        {"count": count},
    )
    return int(end) - count + 1


def sync_id_sequence(connection: Connection) -> None:
    """Make sure the id sequence is past every incident id (PostgreSQL only)."""
    if connection.dialect.name == "sqlite":
        return

    connection.execute(
        text(
            "SELECT setval(pg_get_serial_sequence('incidents', 'id'), GREATEST("
            "(SELECT COALESCE(MAX(id), 1) FROM incidents), COALESCE("
            "pg_sequence_last_value(pg_get_serial_sequence('incidents', 'id')), 1)))"
        )
    )


def find_taken_public_ids(connection: Connection, public_ids: list[str]) -> set[str]:
    """Those of `public_ids` that incidents already use."""
    if connection.dialect.name != "sqlite":
        # One array parameter: thousands of IN parameters cost PostgreSQL dearly.
        rows = connection.scalars(
            text("SELECT public_id FROM incidents WHERE public_id = ANY(:ids)"),
            {"ids": public_ids},
        )
        return set(rows)

    taken: set[str] = set()
    for start in range(0, len(public_ids), SQLITE_MAX_PARAMETERS):
        chunk = public_ids[start : start + SQLITE_MAX_PARAMETERS]
        query = select(Incident.public_id).where(Incident.public_id.in_(chunk))
        taken.update(connection.scalars(query))

    return taken


def has_incidents(connection: Connection) -> bool:
    """True when any team has an incident."""
    return connection.scalar(select(Incident.id).limit(1)) is not None


@contextmanager
def load_settings(connection: Connection) -> Iterator[None]:
    """Driver settings that speed up a bulk load, restored when it ends."""
    if connection.dialect.name != "sqlite":
        yield
        return

    driver = _driver(connection)
    (cache_size,) = driver.execute("PRAGMA cache_size").fetchone()
    (foreign_keys,) = driver.execute("PRAGMA foreign_keys").fetchone()
    driver.execute(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}")
    # The loader writes only rows that reference its own team, user and incidents.
    driver.execute("PRAGMA foreign_keys = OFF")

    try:
        yield
    finally:
        driver.execute(f"PRAGMA cache_size = {int(cache_size)}")
        driver.execute(f"PRAGMA foreign_keys = {int(foreign_keys)}")


def _driver(connection: Connection) -> Any:
    """The sqlite3 or psycopg connection underneath `connection`."""
    driver = connection.connection.driver_connection
    if driver is None:
        raise RuntimeError("the database connection is closed")
    return driver
