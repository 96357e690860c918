"""Full-text search on both databases: words, phrases, prefixes, index upkeep."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select, text, update

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.errors import ValidationFailed
from devflowfix.models import Incident, User
from devflowfix.search import service as search_service
from devflowfix.search.fulltext import (
    FACET_WORDS,
    compile_query,
    text_query_of,
    words_of,
)
from devflowfix.search.maintenance import BULK_ROWS, bulk_indexing, restore_set_aside
from devflowfix.search.repository import filter_conditions
from devflowfix.search.schemas import IncidentFilters, SearchRequest
from devflowfix.vocabulary import Severity
from factories import make_incident, make_user

ERROR_TEXTS = {
    "ModuleNotFoundError": "E   ModuleNotFoundError: No module named 'yaml'",
    "ERESOLVE": "npm ERR! code ERESOLVE unable to resolve dependency tree",
    "exit code 137": "Error: Process completed with exit code 137.",
    "npm ERR!": "npm ERR! A complete log of this run can be found in: /root/.npm",
    "src/app.py:42": 'File "src/app.py:42", in handler: KeyError',
}


def matching(database: Database, user: User, query: str) -> set[str]:
    filters = IncidentFilters(search_query=query)
    with database.transaction(write=False) as session:
        conditions = filter_conditions(
            filters, user.team_id, now=datetime.now(UTC), dialect=database.dialect
        )
        return set(session.scalars(select(Incident.error_message).where(*conditions)))


def test_words_are_runs_of_letters_and_digits() -> None:
    words = words_of("npm ERR! src/app.py:42 snake_case Café 1.2.3 日本語 🔥 x—y")

    assert words == [
        "npm", "err", "src", "app", "py", "42", "snake", "case", "café",
        "1", "2", "3", "日本語", "x", "y",
    ]  # fmt: skip


def test_query_compiles_to_quoted_expressions() -> None:
    query = compile_query('"exit code" Module* -ERESOLVE src/app.py')

    assert (
        query.fts5() == '("exit code" AND "module" * AND "src app py") NOT ("eresolve")'
    )
    assert query.tsquery() == (
        "(('exit':A <-> 'code':A) | ('exit':B <-> 'code':B) | "
        "('exit':C <-> 'code':C) | ('exit':D <-> 'code':D)) & 'module':* & "
        "(('src':A <-> 'app':A <-> 'py':A) | ('src':B <-> 'app':B <-> 'py':B) | "
        "('src':C <-> 'app':C <-> 'py':C) | ('src':D <-> 'app':D <-> 'py':D)) & "
        "!'eresolve'"
    )
    # The GIN index looks up every positive word, each once and unweighted.
    assert query.index_tsquery() == (
        "'exit' & 'code' & 'module':* & 'src' & 'app' & 'py'"
    )


def test_query_without_phrases_is_its_own_index_query() -> None:
    assert compile_query("Module* npm -docker").index_tsquery() is None


@pytest.mark.parametrize("query", ["!!!", "🔥🚀", "-timeout", "* - **", '""', "-- ::"])
def test_query_without_words_to_match_is_rejected(query: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        compile_query(query)

    assert raised.value.errors[0]["loc"] == ["search_query"]


def test_overlong_word_is_rejected() -> None:
    with pytest.raises(ValidationFailed, match="longer than 500 characters"):
        compile_query("a" * 501)


def test_error_text_stays_searchable_as_written(database: Database) -> None:
    user = make_user(database)
    for message in ERROR_TEXTS.values():
        make_incident(database, user, error_message=message, error_log=None)

    make_incident(database, user, error_message="All green", error_log=None)

    for query, message in ERROR_TEXTS.items():
        found = matching(database, user, query)

        if query == "npm ERR!":
            assert found == {message, ERROR_TEXTS["ERESOLVE"]}
        else:
            assert found == {message}, query


def test_phrase_needs_consecutive_words_in_one_field(database: Database) -> None:
    user = make_user(database)
    make_incident(
        database, user, error_message="exit code 1 after 137 tries", error_log=None
    )
    make_incident(
        database,
        user,
        error_message="Killed with exit code",
        root_cause="137 is the out-of-memory kill",
        error_log=None,
    )

    assert matching(database, user, '"exit code 137"') == set()
    assert matching(database, user, "exit code 137") == {
        "exit code 1 after 137 tries",
        "Killed with exit code",
    }


def test_prefix_matches_the_start_of_words(database: Database) -> None:
    user = make_user(database)
    make_incident(database, user, error_message="ModuleNotFoundError", error_log=None)
    make_incident(database, user, error_message="git submodule missing", error_log=None)

    assert matching(database, user, "module*") == {"ModuleNotFoundError"}
    assert matching(database, user, "sub*") == {"git submodule missing"}
    assert matching(database, user, "submodule miss*") == {"git submodule missing"}


def test_exclusions_remove_matches_of_any_field(database: Database) -> None:
    user = make_user(database)
    make_incident(database, user, error_message="timeout", tags=["flaky"])
    make_incident(database, user, error_message="timeout", tags=["network"])
    make_incident(database, user, error_message="timeout", workflow="Nightly")

    found = matching(database, user, "timeout -flaky -nightly")

    assert found == {"timeout"}
    with database.transaction(write=False) as session:
        conditions = filter_conditions(
            IncidentFilters(search_query="timeout -flaky -nightly"),
            user.team_id,
            now=datetime.now(UTC),
            dialect=database.dialect,
        )
        tags = session.scalars(select(Incident.tags).where(*conditions)).all()

    assert tags == [["network"]]


def test_search_covers_every_text_field(database: Database) -> None:
    user = make_user(database)
    make_incident(
        database,
        user,
        error_message="m",
        root_cause="rootword",
        error_log="logword",
        repository="acme/repoword",
        workflow="flowword",
        tags=["tagword"],
    )
    make_incident(database, user, error_message="other", repository="beta/web")

    for word in ("rootword", "logword", "repoword", "flowword", "tagword", "acme"):
        assert matching(database, user, word) == {"m"}, word


def test_index_follows_inserts_updates_and_deletes(database: Database) -> None:
    user = make_user(database)
    incident = make_incident(database, user, error_message="first words")

    with database.transaction() as session:
        session.execute(
            update(Incident)
            .where(Incident.id == incident.id)
            .values(error_message="second words", root_cause="raw update")
        )

    after_update = (
        matching(database, user, "first"),
        matching(database, user, "second"),
        matching(database, user, "raw"),
    )
    with database.transaction() as session:
        session.execute(
            text("DELETE FROM incidents WHERE id = :id"), {"id": incident.id}
        )

    assert after_update == (set(), {"second words"}, {"second words"})
    assert matching(database, user, "second") == set()


def test_index_sees_the_words_the_query_sees(database: Database) -> None:
    user = make_user(database)
    corpus = (
        "naïve café — «quoted» 日本語 🔥 x:y a-b c/d e.f 0x1F snake_case "
        'CamelCase "npm ERR!" (paren) [brackets] {braces} 100% $HOME ~/.cache'
    )
    make_incident(
        database, user, error_message=corpus, error_log=None, tags=[], workflow=None
    )

    with database.transaction(write=False) as session:
        indexed = _indexed_words(session.connection(), database.dialect)

    expected = set(words_of(corpus)) | set(words_of("acme/web-app"))
    assert indexed == expected | set(
        words_of("Conflicting peer dependency on react@17")
    )


def _indexed_words(connection: object, dialect: str) -> set[str]:
    if dialect == "sqlite":
        connection.execute(  # type: ignore[attr-defined]
            text(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.incidents_words "
                "USING fts5vocab(main, incidents_fts, 'col')"
            )
        )
        # The facet words of the seventh column are no text of the incident.
        query = "SELECT term FROM temp.incidents_words WHERE col != 'search_facets'"
    else:
        query = "SELECT unnest(tsvector_to_array(search_vector)) FROM incidents"

    return set(connection.scalars(text(query)))  # type: ignore[attr-defined]


def test_bulk_indexing_indexes_rows_inserted_inside_it(database: Database) -> None:
    user = make_user(database)
    make_incident(database, user, error_message="before the load")
    now = datetime.now(UTC)

    with (
        bulk_indexing(database.engine, rows=BULK_ROWS),
        database.transaction() as session,
    ):
        session.execute(
            insert(Incident),
            [
                {
                    "public_id": f"inc_{index:012x}",
                    "team_id": user.team_id,
                    "source": "jenkins",
                    "severity": "low",
                    "failure_type": "unknown",
                    "outcome": "pending",
                    "error_message": f"bulk row {index}",
                    "tags": [],
                    "timestamp": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for index in range(3)
            ],
        )

    make_incident(database, user, error_message="after the load")

    assert matching(database, user, "bulk") == {
        "bulk row 0",
        "bulk row 1",
        "bulk row 2",
    }
    assert matching(database, user, "load") == {"before the load", "after the load"}
    with database.transaction(write=False) as session:
        objects = _full_text_objects(session.connection(), database.dialect)

    assert objects == (
        {"incidents_fts_insert", "incidents_fts_update", "incidents_fts_delete"}
        if database.is_sqlite
        else {"ix_incidents_search_vector"}
    )


def _full_text_objects(connection: object, dialect: str) -> set[str]:
    if dialect == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%USING gin%'"
    return set(connection.scalars(text(query)))  # type: ignore[attr-defined]


def test_bulk_indexing_creates_every_index_again(database: Database) -> None:
    user = make_user(database)
    make_incident(database, user, error_message="before the load", tags=["ci"])
    before = _index_definitions(database)

    with bulk_indexing(database.engine, rows=BULK_ROWS):
        during = _index_definitions(database)

    after = _index_definitions(database)
    unique = {name for name, sql in before.items() if sql is None or "UNIQUE" in sql}
    assert after == before
    assert set(during) == unique
    assert "ix_incidents_search_created" in set(before) - unique
    assert matching(database, user, "before") == {"before the load"}


def test_bulk_indexing_restores_through_a_connection_with_an_older_schema(
    database: Database,
) -> None:
    # A pooled SQLite connection that last read the schema before the load
    # dropped its indexes still believes they exist, and SQLite checks CREATE
    # INDEX against that belief when it compiles the statement.
    user = make_user(database)
    make_incident(database, user, error_message="before the load", tags=["ci"])
    before = _index_definitions(database)
    engine = database.engine
    # Idle in the pool, each with the schema read: the load's statements take
    # them in turn, so its last transaction runs on one idle since the drop.
    pooled = [engine.connect() for _ in range(4)]
    for connection in pooled:
        connection.execute(text("SELECT count(*) FROM incident_tags")).all()
    for connection in pooled:
        connection.close()

    with bulk_indexing(engine, rows=BULK_ROWS):
        pass

    assert _index_definitions(database) == before
    assert matching(database, user, "before") == {"before the load"}


def _index_definitions(database: Database) -> dict[str, str | None]:
    if database.is_sqlite:
        query = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name IN ('incidents', 'incident_tags')"
        )
    else:
        query = (
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename IN ('incidents', 'incident_tags')"
        )
    with database.transaction(write=False) as session:
        rows = session.execute(text(query)).all()
    return {str(name): definition for name, definition in rows}


def test_what_a_killed_load_set_aside_comes_back_at_start_up(
    database: Database, settings: Settings
) -> None:
    user = make_user(database)
    before = _index_definitions(database)
    load = bulk_indexing(database.engine, rows=BULK_ROWS)
    load.__enter__()
    make_incident(database, user, error_message="written while the load ran")

    # The load's process is gone: a new one knows only what the database holds.
    restarted = Database.from_settings(settings)
    try:
        restore_set_aside(restarted.engine)
    finally:
        restarted.dispose()

    with database.transaction(write=False) as session:
        aside = session.scalar(text("SELECT count(*) FROM search_set_aside"))
        objects = _full_text_objects(session.connection(), database.dialect)
    assert _index_definitions(database) == before
    assert aside == 0
    assert matching(database, user, "written") == {"written while the load ran"}
    assert objects == (
        {"incidents_fts_insert", "incidents_fts_update", "incidents_fts_delete"}
        if database.is_sqlite
        else {"ix_incidents_search_vector"}
    )
    load.__exit__(None, None, None)


def _total(database: Database, user: User, **filters: Any) -> int:
    """The search's total with every text query planned broad and counted."""
    with database.transaction(write=False) as session:
        response = search_service.search_incidents(
            session,
            user,
            SearchRequest(page_size=1, **filters),
            secret_key="k" * 48,
            limits=search_service.SearchLimits(count_limit=1_000, broad_limit=0),
            page_url=lambda query: "http://testserver/",
        )
    return response.summary.total_results


def test_counts_follow_changes_of_every_facet(database: Database) -> None:
    # SQLite counts a broad text search's matches with its facet filters in
    # FTS5 (migration 0015); the entry must follow each facet's change.
    user = make_user(database)
    incidents = [
        make_incident(database, user, error_message=f"npm ERR! code E{number}")
        for number in range(4)
    ]
    changed = {
        "severity": (Severity.CRITICAL, {"severities": ["critical"]}),
        "source": ("gitlab_ci", {"sources": ["gitlab_ci"]}),
        "outcome": ("rolled_back", {"outcomes": ["rolled_back"]}),
        "failure_type": ("out_of_memory", {"failure_types": ["out_of_memory"]}),
    }
    before = {
        column: _total(database, user, search_query="npm", **filters)
        for column, (_, filters) in changed.items()
    }
    with database.transaction() as session:
        for column, (value, _) in changed.items():
            session.execute(
                update(Incident)
                .where(Incident.id.in_([incidents[0].id, incidents[1].id]))
                .values({column: value})
            )
    after = {
        column: _total(database, user, search_query="npm", **filters)
        for column, (_, filters) in changed.items()
    }
    old_values = _total(
        database,
        user,
        search_query="npm",
        severities=["high"],
        sources=["github_actions"],
        outcomes=["pending"],
        failure_types=["dependency_error"],
    )

    # Two matches or more fill more than the page of one, so they are counted.
    assert before == dict.fromkeys(changed, 0)
    assert after == dict.fromkeys(changed, 2)
    assert old_values == 2


def test_each_facet_word_is_one_word() -> None:
    assert all(words_of(word) == [word] for word in FACET_WORDS)
    assert {"sev4", "srcgithubactions", "outrolledback"} <= FACET_WORDS


@pytest.mark.parametrize(
    ("query", "reaches"),
    [
        ("npm install", False),
        ("failed", False),
        ('"exit code 137"', False),
        ("sev4", True),
        ("fail*", True),
        ("timeout -srcjenkins", True),
        ('"code outpending"', True),
    ],
)
def test_queries_that_could_match_facet_words_are_told(
    query: str, reaches: bool
) -> None:
    text_query = text_query_of(IncidentFilters(search_query=query))

    assert text_query is not None
    assert text_query.reaches_facets is reaches


@pytest.mark.parametrize(
    "query",
    ["sev3", "srcgithubactions", "outpending", "faildependencyerror", "outp*", "sev*"],
)
def test_facet_words_are_not_text(database: Database, query: str) -> None:
    user = make_user(database)
    make_incident(database, user, error_message="npm ERR! code ERESOLVE")

    assert matching(database, user, query) == set()
    assert _total(database, user, search_query=query) == 0
