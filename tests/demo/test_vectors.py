"""The demo loader's own search vectors on PostgreSQL: equal to the column's
expression for every row, small loads and bulk loads alike."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from devflowfix.db import Database, create_db_engine
from devflowfix.db.migrate import upgrade_to_head
from devflowfix.demo import load_demo
from devflowfix.demo.bundles import build_pipelines
from devflowfix.demo.logs import HOUR
from devflowfix.demo.rows import RowFactory
from devflowfix.demo.vectors import (
    MARKED_HOUR,
    compute_row_vectors,
    parse,
    render,
)
from devflowfix.demo.vectors import (
    _marked as marked,
)
from devflowfix.demo.vectors import (
    _split_log as split_log,
)
from devflowfix.search.maintenance import BULK_ROWS
from devflowfix.search.vectors import POSTGRES_VECTOR

POSTGRES_URL = os.environ.get("DEVFLOWFIX_TEST_POSTGRES_URL")
EMAIL = "demo@example.com"
MISMATCHED = text(
    "SELECT count(*) FROM incidents "  # noqa: S608
    f"WHERE search_vector IS DISTINCT FROM {POSTGRES_VECTOR}"
)
# The column's expression over one row's texts given as parameters.
EXPRESSION_OF = text(
    "SELECT CAST(CAST(:vector AS tsvector) AS text) = "  # noqa: S608
    f"CAST({POSTGRES_VECTOR} AS text) "
    "FROM (SELECT :error_message AS error_message, :root_cause AS root_cause, "
    ":workflow AS workflow, :repository AS repository, :error_log AS error_log, "
    "CAST(:tags AS jsonb) AS tags) AS incidents"
)

pytestmark = pytest.mark.postgres


def _admin(statement: str) -> None:
    assert POSTGRES_URL
    url = make_url(POSTGRES_URL).set(drivername="postgresql", database="postgres")
    with psycopg.connect(url.render_as_string(False), autocommit=True) as admin:
        admin.execute(statement)


@pytest.fixture
def database() -> Iterator[Database]:
    """An empty, migrated PostgreSQL database of this test's own."""
    if not POSTGRES_URL:
        pytest.skip("DEVFLOWFIX_TEST_POSTGRES_URL is not set")
    name = f"devflowfix_vectors_test_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    database = Database(create_db_engine(url))
    try:
        upgrade_to_head(database.engine)
        yield database
    finally:
        database.dispose()
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize(
    "incidents", [pytest.param(1_500, id="small"), pytest.param(25_000, id="bulk")]
)
def test_every_loaded_vector_equals_the_expression(
    database: Database, incidents: int
) -> None:
    assert (incidents < BULK_ROWS) is (incidents == 1_500)

    load_demo(database, incidents=incidents, team_name="demo", email=EMAIL, seed=5)

    with database.engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM incidents")) == incidents
        assert connection.scalar(MISMATCHED) == 0


def test_the_loader_writes_the_vector_of_every_demo_row(database: Database) -> None:
    rng = random.Random(3)
    factory = RowFactory(
        build_pipelines(rng, 12),
        rng=rng,
        team_id=1,
        user_id=1,
        now=datetime(2026, 6, 1, 9, 30, tzinfo=UTC),
        time_suffix="+00",
        total=3_000,
    )
    factory.vectors = compute_row_vectors(
        database.engine,
        factory.pipelines,
        factory.timeline.hours,
        factory.format.log_hour,
    )

    rows = factory.build(1, 3_000).incidents

    # None would leave the row to the trigger: every demo bundle qualifies.
    assert all(isinstance(row[-1], str) and row[-1] for row in rows)
    with database.engine.connect() as connection:
        for row in rows[:200]:
            expected = connection.scalar(
                EXPRESSION_OF,
                {
                    "vector": row[-1],
                    "error_message": row[14],
                    "root_cause": row[16],
                    "workflow": row[10],
                    "repository": row[7],
                    "error_log": row[15],
                    "tags": row[19],
                },
            )
            assert expected is True, row[0]


def test_a_placeholder_that_touches_a_word_is_left_to_the_trigger() -> None:
    assert marked(f"at {HOUR}:05 done") == f"at {MARKED_HOUR}:05 done"
    assert marked(f"{HOUR}:05") == f"{MARKED_HOUR}:05"
    assert marked(f"at x{HOUR}:05") is None
    assert marked(f"at {HOUR}5") is None


def test_markers_must_come_out_as_consecutive_words() -> None:
    log = f"{MARKED_HOUR} one"
    good = "'one':4 'zqhourmarkera':1 'zqhourmarkerb':2 'zqhourmarkerc':3"
    # A log that holds a marker word itself: the positions do not add up.
    extra = "'one':4 'zqhourmarkera':1,5 'zqhourmarkerb':2 'zqhourmarkerc':3"
    apart = "'one':2 'zqhourmarkera':1 'zqhourmarkerb':3 'zqhourmarkerc':4"

    split = split_log(good, log)

    assert split is not None
    assert (split.words, split.highest, split.hours) == (
        [("one", [4])],
        4,
        ([1], [2], [3]),
    )
    assert split_log(extra, log) is None
    assert split_log(apart, log) is None


def test_vector_text_round_trips_with_moved_positions() -> None:
    words = parse("'it''s':1A,3A 'x':2A")

    assert words == [("it''s", [1, 3]), ("x", [2])]
    assert render(words, 10, "B") == "'it''s':11B,13B 'x':12B"
    assert render(words, 0, "D") == "'it''s':1,3 'x':2"


def test_a_row_without_a_vector_gets_the_triggers(database: Database) -> None:
    load_demo(database, incidents=20, team_name="demo", email=EMAIL, seed=9)

    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO incidents (public_id, team_id, source, severity, "
                "failure_type, outcome, error_message, error_log, tags, timestamp, "
                "created_at, updated_at) SELECT 'inc_00000000abcd', team_id, source, "
                "severity, failure_type, outcome, 'copied: ' || error_message, "
                "error_log, tags, timestamp, created_at, updated_at "
                "FROM incidents ORDER BY id LIMIT 1"
            )
        )
        connection.execute(
            text(
                "UPDATE incidents SET tags = '[\"moved\"]', "
                "error_message = error_message || ' again' WHERE id % 2 = 0"
            )
        )
        assert connection.scalar(MISMATCHED) == 0
        assert connection.scalar(
            text(
                "SELECT count(*) FROM incidents "
                "WHERE search_vector @@ to_tsquery('simple', 'moved & again')"
            )
        ) == connection.scalar(text("SELECT count(*) FROM incidents WHERE id % 2 = 0"))
