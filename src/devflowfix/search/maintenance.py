"""Full-text upkeep around bulk loads of incidents.

Row by row, the full-text index costs a bulk load more than the load itself:
FTS5's triggers index each row as it arrives, and PostgreSQL's GIN index grows
one posting at a time. The many secondary B-tree indexes of the search plans
cost less, but each row still updates every one of them. For a big load it is
cheaper to index everything in one pass at the end, sorted, which is what
`bulk_indexing` arranges.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from sqlalchemy import Connection, Engine, TextClause, text

log = structlog.get_logger(__name__)

# Below this many new rows, indexing them one by one is cheaper than
# re-indexing the whole table at the end.
BULK_ROWS = 20_000
INDEX_BUILD_MEMORY = "1GB"
SQLITE_INDEX_CACHE_KIB = 256 * 1024
# Indexes a bulk load keeps: unique ones reject clashing rows as they arrive
# (the loader looks public ids up in one), the rest are built again at the end.
SQLITE_SECONDARY_INDEXES = text(
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
    "AND tbl_name IN ('incidents', 'incident_tags') AND sql IS NOT NULL "
    "AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name"
)
POSTGRES_SECONDARY_INDEXES = text(
    "SELECT ix.relname, pg_get_indexdef(pg_index.indexrelid) "
    "FROM pg_index JOIN pg_class ix ON ix.oid = pg_index.indexrelid "
    "JOIN pg_class tb ON tb.oid = pg_index.indrelid "
    "WHERE tb.relname IN ('incidents', 'incident_tags') "
    "AND tb.relnamespace = current_schema()::regnamespace "
    "AND NOT pg_index.indisunique ORDER BY ix.relname"
)


@contextmanager
def bulk_indexing(engine: Engine, *, rows: int) -> Iterator[None]:
    """Index the incidents inserted inside the block in one pass at its end.

    SQLite: the FTS5 sync triggers are dropped, and when the block ends (also
    on error) the index is rebuilt from the incidents table and the triggers
    come back. PostgreSQL: the generated `search_vector` column is filled
    during the load as always; the GIN index is built again at the end. On
    both, every non-unique index of incidents and their tags (the GIN index
    among them) is dropped first and created again, over all teams' rows, when
    the block ends. Both end with fresh planner statistics. Other writers of
    incidents must wait for the block to end, or their rows are indexed only by
    the rebuild (SQLite). Loads of fewer than `BULK_ROWS` rows change nothing.
    """
    if rows < BULK_ROWS:
        yield
        return

    if engine.dialect.name == "sqlite":
        with _sqlite_bulk_indexing(engine):
            yield
    else:
        with _postgres_bulk_indexing(engine):
            yield


@contextmanager
def _sqlite_bulk_indexing(engine: Engine) -> Iterator[None]:
    with engine.begin() as connection:
        triggers = connection.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'incidents' AND name LIKE 'incidents_fts_%'"
            )
        ).all()
        for name, _ in triggers:
            connection.execute(text(f'DROP TRIGGER "{name}"'))
        indexes = _drop_indexes(connection, SQLITE_SECONDARY_INDEXES)

    try:
        yield
    finally:
        started = time.perf_counter()
        with engine.begin() as connection:
            _create_sqlite_indexes(connection, indexes)
            connection.execute(
                text("INSERT INTO incidents_fts (incidents_fts) VALUES ('rebuild')")
            )
            for _, sql in triggers:
                connection.execute(text(sql))

        _analyze(engine)
        log.info("search.reindexed", seconds=round(time.perf_counter() - started, 1))


@contextmanager
def _postgres_bulk_indexing(engine: Engine) -> Iterator[None]:
    with _autocommit(engine) as connection:
        indexes = _drop_indexes(connection, POSTGRES_SECONDARY_INDEXES)

    try:
        yield
    finally:
        started = time.perf_counter()
        with _autocommit(engine) as connection:
            connection.execute(
                text(f"SET maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
            )
            _create_indexes(connection, indexes)

        _analyze(engine)
        log.info("search.reindexed", seconds=round(time.perf_counter() - started, 1))


def _drop_indexes(connection: Connection, query: TextClause) -> list[str]:
    """Drop the indexes that `query` names; return the statements that make them."""
    # TODO: the definitions live only in this process until the block ends, so
    # a load killed part-way leaves the indexes missing until made by hand.
    indexes = connection.execute(query).all()
    for name, _ in indexes:
        connection.execute(text(f'DROP INDEX "{name}"'))
    return [str(definition) for _, definition in indexes]


def _create_sqlite_indexes(connection: Connection, definitions: list[str]) -> None:
    """Create the indexes with a page cache big enough for their sorts."""
    previous = int(connection.scalar(text("PRAGMA cache_size")) or 0)
    # SQLite's sorter spills to temporary files past the page cache: with the
    # default 2 MB, building the indexes of 100,000 incidents took 1.5x the CPU.
    connection.execute(text(f"PRAGMA cache_size = -{SQLITE_INDEX_CACHE_KIB}"))
    try:
        _create_indexes(connection, definitions)
    finally:
        connection.execute(text(f"PRAGMA cache_size = {previous}"))


def _create_indexes(connection: Connection, definitions: list[str]) -> None:
    for definition in definitions:
        connection.execute(text(definition))


@contextmanager
def _autocommit(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")


def _analyze(engine: Engine) -> None:
    """Fresh statistics, so the planners see the new rows and the new words."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            # Sampled: a full ANALYZE reads every index of a million rows.
            connection.execute(text("PRAGMA analysis_limit = 2000"))
        connection.execute(text("ANALYZE incidents"))
        connection.execute(text("ANALYZE incident_tags"))
