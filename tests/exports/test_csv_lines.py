"""The fast CSV path on each database writes the reference writer's bytes.

PostgreSQL's COPY and SQLite's SQL-built lines are held to stdlib csv over the
cells of `repository.csv_columns`, on rows written straight into the table so
that they hold what validation would never let through.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import ColumnElement, func, select
from sqlalchemy import text as sql_text

from devflowfix.db import Database
from devflowfix.exports.csv_lines import iter_csv_chunks
from devflowfix.exports.csv_writer import HEADER, iter_incident_csv
from devflowfix.exports.repository import iter_csv_records
from devflowfix.models import Incident, User
from factories import make_incidents, make_user

TEXT_COLUMNS = (
    "repository",
    "branch",
    "commit_sha",
    "workflow",
    "job",
    "run_url",
    "external_id",
    "root_cause",
    "suggested_fix",
    "fix_pull_request_url",
    "fix_branch",
    "fix_commit_sha",
)
TRICKY_TEXT = (
    "plain",
    "a,b",
    'say "hi"',
    '"',
    ",",
    "line one\nline two",
    "carriage\ronly",
    "windows\r\nline",
    "=1+1",
    "+cmd",
    "-rf /",
    "@SUM(A1)",
    "\tindented",
    "\r=x",
    " =not a formula",
    "ünïcødé ✓ 日本語 🚀",
    "trailing space ",
    "\\.",
    "\\N",
    "NULL",
    "",
    None,
)
TRICKY_TAGS: tuple[list[str], ...] = (
    [],
    ["ci"],
    ["=sum", "b"],
    ["@ops", "-x"],
    ["ünï", "日本"],
    ['quo"te', "com,ma"],
    ["new\nline"],
)
CONFIDENCES = (
    None,
    0.0,
    -0.0,
    1.0,
    0.1,
    0.5,
    1 / 3,
    2 / 3,
    0.1 + 0.2,
    1e-05,
    1e-07,
    0.000123,
    5e-324,
    0.123456789012345678,
    0.9999999999999999,
)


ONLY_POSTGRES = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
# jsonb written by hand: arrays COPY's plain-text tags must read as the
# reference does, and arrays and values it must leave to the reference.
HAND_WRITTEN_JSONB_TAGS = (
    "[]",
    '[""]',
    '["", ""]',
    '["a]"]',
    '["[x"]',
    '["x", "y", "z"]',
    '["=x", "y"]',
    '["日本", "ü"]',
    '["\\t=x"]',
    '["x\\", \\"y"]',
    '["a", 1, "b"]',
    '["a", ["b"]]',
    '["a", {"k": "b"}, "c"]',
    "[1, null, 2.5]",
)


@pytest.fixture
def member(database: Database) -> User:
    return make_user(database)


def reference_bytes(database: Database, conditions: Sequence[Any]) -> bytes:
    with database.transaction(write=False) as session:
        records = iter_csv_records(session, conditions, limit=None)
        return b"".join(iter_incident_csv(records))


def fast_bytes(
    database: Database,
    conditions: Sequence[ColumnElement[bool]],
    *,
    limit: int | None = None,
    chunk_rows: int = 1000,
) -> tuple[bytes, list[int]]:
    with database.transaction(write=False) as session:
        chunks = list(
            iter_csv_chunks(session, conditions, limit=limit, chunk_rows=chunk_rows)
        )
    return HEADER + b"".join(chunk.data for chunk in chunks), [
        chunk.rows for chunk in chunks
    ]


def load_tricky_rows(database: Database, member: User) -> int:
    """One row per tricky value, each in every text column, with tags and figures."""
    count = 0
    for number, text in enumerate(TRICKY_TEXT):
        make_incidents(
            database,
            member,
            1,
            error_message=text if text is not None else "",
            **{column: text for column in TEXT_COLUMNS},
            tags=TRICKY_TAGS[number % len(TRICKY_TAGS)],
            confidence=CONFIDENCES[number % len(CONFIDENCES)],
            resolution_time_seconds=None if number % 2 else number * 61,
            resolved_at=None if number % 2 else datetime(2026, 11, 29, tzinfo=UTC),
        )
        count += 1
    for confidence in CONFIDENCES:
        make_incidents(database, member, 1, confidence=confidence)
        count += 1
    return count


def test_fast_lines_equal_the_reference_writer_on_tricky_data(
    database: Database, member: User
) -> None:
    count = load_tricky_rows(database, member)
    team = [Incident.team_id == member.team_id]

    fast, chunks = fast_bytes(database, team)
    reference = reference_bytes(database, team)

    assert fast == reference
    assert chunks == [count]
    assert reference.count(b"\r\n'=1+1") == 0
    assert b",'=1+1," in reference
    assert b'"say ""hi"""' in reference


def test_fast_lines_split_into_chunks_of_whole_rows(
    database: Database, member: User
) -> None:
    count = load_tricky_rows(database, member)
    team = [Incident.team_id == member.team_id]

    fast, chunks = fast_bytes(database, team, chunk_rows=5)

    assert fast == reference_bytes(database, team)
    assert chunks == [5] * (count // 5) + ([count % 5] if count % 5 else [])


def test_fast_lines_keep_the_limit_and_the_filters(
    database: Database, member: User
) -> None:
    load_tricky_rows(database, member)
    make_incidents(database, make_user(database, team="globex"), 3)
    team = [Incident.team_id == member.team_id, Incident.repository.like("%,%")]

    fast, chunks = fast_bytes(database, team, limit=2)

    with database.transaction(write=False) as session:
        records = list(iter_csv_records(session, team, limit=2))
    assert fast == b"".join(iter_incident_csv(records))
    assert chunks == [2]


def test_confidences_outside_zero_to_one_still_give_the_reference_bytes(
    database: Database, member: User
) -> None:
    for confidence in (1.5, -2.0, 12345678901234567890.0, 1e-300):
        make_incidents(database, member, 1, confidence=confidence)
    team = [Incident.team_id == member.team_id]

    fast, _ = fast_bytes(database, team)

    assert fast == reference_bytes(database, team)
    assert b",1.5," in fast
    assert b",1.2345678901234567e+19," in fast


def test_no_matching_rows_give_no_chunks(database: Database, member: User) -> None:
    fast, chunks = fast_bytes(database, [Incident.team_id == member.team_id])

    assert (fast, chunks) == (HEADER, [])


def test_closing_the_lines_early_leaves_the_session_usable(
    database: Database, member: User
) -> None:
    make_incidents(database, member, 25)
    team = [Incident.team_id == member.team_id]

    with database.transaction(write=False) as session:
        chunks = iter_csv_chunks(session, team, limit=None, chunk_rows=10)
        first = next(chunks)
        chunks.close()
        counted = session.scalar(select(func.count()).select_from(Incident))

    assert (first.rows, counted) == (10, 25)


@ONLY_POSTGRES
def test_hand_written_jsonb_tags_give_the_reference_bytes(
    database: Database, member: User
) -> None:
    ids = make_incidents(database, member, len(HAND_WRITTEN_JSONB_TAGS))
    with database.transaction() as session:
        for incident_id, stored in zip(ids, HAND_WRITTEN_JSONB_TAGS, strict=True):
            session.execute(
                sql_text(
                    "UPDATE incidents SET tags = CAST(:tags AS jsonb) WHERE id = :id"
                ),
                {"tags": stored, "id": incident_id},
            )
    team = [Incident.team_id == member.team_id]

    fast, _ = fast_bytes(database, team)
    reference = reference_bytes(database, team)

    assert fast == reference
    assert ",x y z," in fast.decode("utf-8")
    assert ",'=x y," in fast.decode("utf-8")
    assert ",a]," in fast.decode("utf-8")
    assert ',"x"", ""y",' in fast.decode("utf-8")
