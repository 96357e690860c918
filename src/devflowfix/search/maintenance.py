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
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import structlog
from sqlalchemy import Connection, Engine, TextClause, text

log = structlog.get_logger(__name__)

# Below this many new rows, indexing them one by one is cheaper than
# re-indexing the whole table at the end.
BULK_ROWS = 20_000
INDEX_BUILD_MEMORY = "1GB"
BESIDE_GIN = "SET LOCAL max_parallel_maintenance_workers = 0"
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


SQLITE_FTS_TRIGGERS = text(
    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
    "AND tbl_name = 'incidents' AND name LIKE 'incidents_fts_%' ORDER BY name"
)


@contextmanager
def bulk_indexing(engine: Engine, *, rows: int) -> Iterator[None]:
    """Index the incidents inserted inside the block in one pass at its end.

    SQLite: the FTS5 sync triggers are dropped, and when the block ends (also
    on error) the index is rebuilt from the incidents table and the triggers
    come back. PostgreSQL: `search_vector` is filled during the load as
    always (by the writer or the insert trigger); the GIN index is built again
    at the end. On
    both, every non-unique index of incidents and their tags (the GIN index
    among them) is dropped first and created again, over all teams' rows, when
    the block ends. Both end with fresh planner statistics. Other writers of
    incidents must wait for the block to end, or their rows are indexed only by
    the rebuild (SQLite). Loads of fewer than `BULK_ROWS` rows change nothing.

    What is dropped is recorded in `search_set_aside` in the transaction that
    drops it, so a load killed part-way loses nothing: the next bulk load, or
    `restore_set_aside` at start-up, puts it back.
    """
    if rows < BULK_ROWS:
        yield
        return

    restore_set_aside(engine)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            _set_aside(connection, "trigger", SQLITE_FTS_TRIGGERS)
            _set_aside(connection, "index", SQLITE_SECONDARY_INDEXES)
        else:
            _set_aside(connection, "index", POSTGRES_SECONDARY_INDEXES)

    try:
        yield
    finally:
        restore_set_aside(engine)


def restore_set_aside(engine: Engine) -> None:
    """Create again what a bulk load set aside, if anything is still aside.

    SQLite rebuilds its full-text index before its triggers come back, so rows
    written while they were away are found too. PostgreSQL builds its GIN
    index on one connection while another builds the B-tree indexes.
    Statistics are refreshed.
    """
    with engine.connect() as connection:
        aside = connection.execute(
            text("SELECT kind, definition FROM search_set_aside ORDER BY kind, name")
        ).all()
    if not aside:
        return

    started = time.perf_counter()
    indexes = [definition for kind, definition in aside if kind == "index"]
    triggers = [definition for kind, definition in aside if kind == "trigger"]
    if engine.dialect.name != "sqlite":
        _create_postgres_indexes(engine, indexes)
        indexes = []
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            _read_schema(connection)
            _create_sqlite_indexes(connection, indexes)
        if triggers:
            connection.execute(
                text("INSERT INTO incidents_fts (incidents_fts) VALUES ('rebuild')")
            )
            _execute_all(connection, triggers)
        connection.execute(text("DELETE FROM search_set_aside"))

    _analyze(engine)
    log.info("search.reindexed", seconds=round(time.perf_counter() - started, 1))


def _set_aside(connection: Connection, kind: str, query: TextClause) -> None:
    """Drop the objects that `query` names, recording how to make them again."""
    for name, definition in connection.execute(query).all():
        connection.execute(
            text(
                "INSERT INTO search_set_aside (name, kind, definition) "
                "VALUES (:name, :kind, :definition)"
            ),
            {"name": name, "kind": kind, "definition": str(definition)},
        )
        connection.execute(text(f'DROP {kind.upper()} "{name}"'))


def _create_postgres_indexes(engine: Engine, definitions: Sequence[str]) -> None:
    """Build the GIN indexes and the B-tree indexes on two connections at once.

    A GIN build runs on one core, and takes longer than all the B-tree builds
    together. Beside it the B-trees are built without parallel workers, which
    would take cores from it: at 1,000,000 demo incidents the builds took
    43.8-45.6 s so, 50.2-52.1 s with the workers. Each group is built in a
    transaction that deletes the group's records, so a build killed part-way
    leaves the rest recorded.
    """
    gin = [definition for definition in definitions if _is_gin(definition)]
    btree = [definition for definition in definitions if not _is_gin(definition)]
    beside_gin = [BESIDE_GIN] if gin else []
    # Each group with the settings its transaction builds it under.
    groups: list[tuple[list[str], list[str]]] = [
        (group, settings)
        for group, settings in ((gin, []), (btree, beside_gin))
        if group
    ]
    if not groups:
        return
    with ThreadPoolExecutor(len(groups), thread_name_prefix="reindex") as pool:
        builds = [pool.submit(_create_group, engine, *group) for group in groups]
        for built in builds:
            built.result()


def _is_gin(definition: str) -> bool:
    return " USING gin " in definition


def _create_group(engine: Engine, group: list[str], settings: list[str]) -> None:
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(
            text(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
        )
        _execute_all(connection, [*settings, *group])
        connection.execute(
            text("DELETE FROM search_set_aside WHERE definition = ANY(:group)"),
            {"group": group},
        )
    log.info(
        "search.indexes_built",
        indexes=len(group),
        seconds=round(time.perf_counter() - started, 1),
    )


def _read_schema(connection: Connection) -> None:
    """Make a SQLite connection read the schema as it now is.

    A pooled connection keeps the schema it last read, and SQLite checks a
    CREATE INDEX or CREATE TRIGGER against it when compiling the statement:
    one that read it before the load dropped the indexes reports them as
    existing. Running any statement makes it notice the change and read again.
    """
    connection.execute(text("SELECT count(*) FROM sqlite_master")).scalar()


def _create_sqlite_indexes(connection: Connection, definitions: list[str]) -> None:
    """Create the indexes with a page cache big enough for their sorts."""
    previous = int(connection.scalar(text("PRAGMA cache_size")) or 0)
    # SQLite's sorter spills to temporary files past the page cache: with the
    # default 2 MB, building the indexes of 100,000 incidents took 1.5x the CPU.
    connection.execute(text(f"PRAGMA cache_size = -{SQLITE_INDEX_CACHE_KIB}"))
    try:
        _execute_all(connection, definitions)
    finally:
        connection.execute(text(f"PRAGMA cache_size = {previous}"))


def _execute_all(connection: Connection, definitions: list[str]) -> None:
    # The stored CREATE INDEX and CREATE TRIGGER statements, in order.
    for definition in definitions:
        connection.execute(text(definition))


def _analyze(engine: Engine) -> None:
    """Fresh statistics, so the planners see the new rows and the new words."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            # Sampled: a full ANALYZE reads every index of a million rows.
            connection.execute(text("PRAGMA analysis_limit = 2000"))
        connection.execute(text("ANALYZE incidents"))
        connection.execute(text("ANALYZE incident_tags"))
