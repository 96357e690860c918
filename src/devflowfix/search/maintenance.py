"""Full-text upkeep around bulk loads of incidents.

Row by row, the full-text index costs a bulk load more than the load itself:
FTS5's triggers index each row as it arrives, and PostgreSQL's GIN index grows
one posting at a time. For a big load it is cheaper to index everything in one
pass at the end, which is what `bulk_indexing` arranges.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from sqlalchemy import Connection, Engine, text

log = structlog.get_logger(__name__)

# Below this many new rows, indexing them one by one is cheaper than
# re-indexing the whole table at the end.
BULK_ROWS = 20_000
GIN_INDEX = "ix_incidents_search_vector"
GIN_BUILD_MEMORY = "1GB"


@contextmanager
def bulk_indexing(engine: Engine, *, rows: int) -> Iterator[None]:
    """Index the incidents inserted inside the block in one pass at its end.

    SQLite: the FTS5 sync triggers are dropped, and when the block ends (also
    on error) the index is rebuilt from the incidents table and the triggers
    come back. PostgreSQL: the generated `search_vector` column is filled
    during the load as always; the GIN index is dropped and built again at the
    end. Both end with fresh planner statistics. Other writers of incidents
    must wait for the block to end, or their rows are indexed only by the
    rebuild (SQLite). Loads of fewer than `BULK_ROWS` rows change nothing.
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

    try:
        yield
    finally:
        started = time.perf_counter()
        with engine.begin() as connection:
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
        definition = connection.scalar(
            text(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename = 'incidents' AND indexname = :name"
            ),
            {"name": GIN_INDEX},
        )
        if definition is not None:
            connection.execute(text(f"DROP INDEX {GIN_INDEX}"))

    try:
        yield
    finally:
        started = time.perf_counter()
        with _autocommit(engine) as connection:
            if definition is not None:
                connection.execute(
                    text(f"SET maintenance_work_mem = '{GIN_BUILD_MEMORY}'")
                )
                connection.execute(text(definition))

        _analyze(engine)
        log.info("search.reindexed", seconds=round(time.perf_counter() - started, 1))


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
