"""Migrations 0012 and 0013: PostgreSQL's search vector from a generated
column to a trigger-filled one kept in the row, and back, keeping every
stored vector. Migration 0015: SQLite's facet words in FTS5, and back."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Engine, text

from devflowfix.db import Database, create_db_engine
from devflowfix.db.migrate import alembic_config, is_current, upgrade_to_head
from devflowfix.search.vectors import POSTGRES_VECTOR
from factories import make_incident, make_user
from search.test_fulltext import matching

GENERATED = text(
    "SELECT attgenerated FROM pg_attribute "
    "WHERE attrelid = 'incidents'::regclass AND attname = 'search_vector'"
)
TRIGGERS = text(
    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'incidents'::regclass "
    "AND tgname LIKE 'incidents_search_vector%' ORDER BY tgname"
)
VECTORS = text("SELECT id, search_vector::text FROM incidents ORDER BY id")
MISMATCHED = text(
    "SELECT count(*) FROM incidents "  # noqa: S608
    f"WHERE search_vector IS DISTINCT FROM {POSTGRES_VECTOR}"
)


STORAGE = text(
    "SELECT attstorage, attcompression, "
    "coalesce(array_to_string(reloptions, ','), '') "
    "FROM pg_attribute JOIN pg_class ON pg_class.oid = attrelid "
    "WHERE attrelid = 'incidents'::regclass AND attname = 'search_vector'"
)


def _downgrade(
    engine: Engine, database_url: str, revision: str = "0011_search_set_aside"
) -> None:
    config = alembic_config(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_the_vector_migration_downgrades_and_upgrades_again(
    database: Database, database_url: str
) -> None:
    user = make_user(database)
    make_incident(database, user, error_message="kept across the migrations")
    engine = create_db_engine(database_url)

    if database.is_sqlite:
        _downgrade(engine, database_url)
        upgrade_to_head(engine)
        assert is_current(engine)
        assert matching(database, user, "kept") == {"kept across the migrations"}
        engine.dispose()
        return

    with engine.connect() as connection:
        before = connection.execute(VECTORS).all()
        assert connection.scalar(GENERATED) == ""
        assert list(connection.scalars(TRIGGERS)) == [
            "incidents_search_vector_insert",
            "incidents_search_vector_update",
        ]

    _downgrade(engine, database_url)
    with engine.connect() as connection:
        generated = connection.scalar(GENERATED)
        triggers = list(connection.scalars(TRIGGERS))
        during = connection.execute(VECTORS).all()
    upgrade_to_head(engine)
    with engine.connect() as connection:
        after = connection.execute(VECTORS).all()
        indexes = set(
            connection.scalars(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'incidents'")
            )
        )

    assert (generated, triggers) == ("s", [])
    assert before == during == after
    assert "ix_incidents_search_vector" in indexes
    assert is_current(engine)
    make_incident(database, user, error_message="written after the upgrade")
    assert matching(database, user, "upgrade") == {"written after the upgrade"}
    with engine.connect() as connection:
        assert connection.scalar(MISMATCHED) == 0
    engine.dispose()


def test_the_vector_is_kept_in_the_row_and_goes_back_on_downgrade(
    database: Database, database_url: str
) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite keeps its text in FTS5")
    user = make_user(database)
    make_incident(database, user, error_message="stored before the downgrade")
    engine = create_db_engine(database_url)
    with engine.connect() as connection:
        lz4 = connection.scalar(
            text(
                "SELECT 'lz4' = ANY (enumvals) FROM pg_settings "
                "WHERE name = 'default_toast_compression'"
            )
        )
        upgraded = tuple(connection.execute(STORAGE).one())

    _downgrade(engine, database_url, "0012_search_vector_trigger")
    with engine.connect() as connection:
        downgraded = tuple(connection.execute(STORAGE).one())
    upgrade_to_head(engine)
    with engine.connect() as connection:
        again = tuple(connection.execute(STORAGE).one())
    engine.dispose()

    whole_rows = "toast_tuple_target=8160"
    assert upgraded == again == ("m", "l" if lz4 else "", whole_rows)
    assert downgraded == ("x", "", "")
    assert matching(database, user, "downgrade") == {"stored before the downgrade"}


FACET_ENTRIES = text(
    "SELECT rowid FROM incidents_fts WHERE incidents_fts MATCH "
    "'search_facets : (sev3 AND srcgithubactions)'"
)


def test_the_facet_words_migration_downgrades_and_upgrades_again(
    database: Database, database_url: str
) -> None:
    if not database.is_sqlite:
        pytest.skip("PostgreSQL checks its facets in the table")
    user = make_user(database)
    incident = make_incident(database, user, error_message="kept across the change")
    engine = create_db_engine(database_url)

    _downgrade(engine, database_url, "0014_search_facet_index")
    with engine.connect() as connection:
        columns = {
            row[1] for row in connection.execute(text("PRAGMA table_xinfo(incidents)"))
        }
    during = matching(database, user, "kept")
    upgrade_to_head(engine)
    with engine.connect() as connection:
        entries = list(connection.scalars(FACET_ENTRIES))
    engine.dispose()

    assert "search_facets" not in columns
    assert during == {"kept across the change"}
    assert entries == [incident.id]
    assert matching(database, user, "kept") == {"kept across the change"}
