"""`INDEXED BY` hints reach SQLite, and only while the index exists."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from devflowfix.db import Database
from devflowfix.db.hints import indexed_by
from devflowfix.models import Incident

INDEX = "ix_incidents_search_id"


def test_a_table_hint_is_written_after_the_table_on_sqlite_only() -> None:
    query = (
        select(Incident.id)
        .where(Incident.team_id == 1)
        .with_hint(Incident, f"INDEXED BY {INDEX}", "sqlite")
    )

    assert f"FROM incidents INDEXED BY {INDEX}" in str(
        query.compile(dialect=sqlite.dialect())
    )
    assert "INDEXED BY" not in str(query.compile(dialect=postgresql.dialect()))


def test_indexed_by_names_the_index_only_while_it_exists(database: Database) -> None:
    query = select(func.count()).select_from(Incident).where(Incident.team_id == 1)

    with database.transaction(write=False) as session:
        hinted = indexed_by(session, query, Incident, INDEX)
        missing = indexed_by(session, query, Incident, "ix_no_such_index")
        assert session.scalar(hinted) == 0
        assert session.scalar(missing) == 0

    dialect = database.engine.dialect
    assert ("INDEXED BY" in str(hinted.compile(dialect=dialect))) is database.is_sqlite
    assert "INDEXED BY" not in str(missing.compile(dialect=dialect))


def test_indexed_by_sees_an_index_dropped_since_the_last_transaction(
    database: Database,
) -> None:
    if not database.is_sqlite:
        pytest.skip("INDEXED BY is SQLite's")
    query = select(func.count()).select_from(Incident)
    with database.engine.begin() as connection:
        definition = connection.scalar(
            text("SELECT sql FROM sqlite_master WHERE name = :name"), {"name": INDEX}
        )

    try:
        with database.transaction(write=False) as session:
            assert "INDEXED BY" in str(
                indexed_by(session, query, Incident, INDEX).compile(
                    dialect=database.engine.dialect
                )
            )
        with database.engine.begin() as connection:
            connection.execute(text(f"DROP INDEX {INDEX}"))
        with database.transaction(write=False) as session:
            unhinted = indexed_by(session, query, Incident, INDEX)
            assert session.scalar(unhinted) == 0
    finally:
        with database.engine.begin() as connection:
            connection.execute(text(definition))

    assert "INDEXED BY" not in str(unhinted.compile(dialect=database.engine.dialect))
