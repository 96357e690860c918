"""SQLite's CSV lines from the stored values equal the reference writer's bytes.

`csv_sqlite` reads the columns as stored and quotes a chunk's joined fields in
bulk; these rows hold the forms it knows (datetimes with and without
microseconds, escaped tags), forms only a hand-written row can hold, which
must reach strftime or the reference cells, and values holding the control
characters it joins fields with. Generated rows close the gaps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, literal, update

from devflowfix.db import Database
from devflowfix.exports.csv_lines import iter_csv_chunks
from devflowfix.exports.csv_writer import HEADER, iter_incident_csv
from devflowfix.exports.repository import iter_csv_records
from devflowfix.models import Incident, User
from factories import make_incidents, make_user

ONLY_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
# Stored by hand: forms strftime reads that the application never writes.
HAND_WRITTEN_DATETIMES = (
    "2026-11-28 10:30:00",
    "2026-11-28 10:30:00.5",
    "2026-11-28 10:30:59.999600",
    "2026-11-28 23:59:59.999999",
    "2026-11-28T10:30:00",
    "2026-11-28 10:30:00+02:00",
    "2026-11-28 10:30:00Z",
    "2026-11-28 10:30",
    "2026-11-28",
    "2026-02-30 10:30:00.000000",
    "2026-11-28 24:00:00.000000",
    "0000-01-01 00:00:00.000000",
    "2026-11-28 10:30:00.000000 ",
    "2026-11-28 10:30:00.000000\x00junk",
    "2024-02-29 10:30:00.000000",
    "2000-02-29 10:30:00.000000",
    "2100-02-29 10:30:00.000000",
    "2026-04-31 10:30:00.000000",
    "2026-13-01 10:30:00.000000",
    "0001-01-01 00:00:00.000000",
    "9999-12-31 23:59:59.998999",
    # Digits that are not ASCII.
    "\uff12\uff10\uff12\uff16-11-28 10:30:00.000000",
    "",
    "not a date",
)
HAND_WRITTEN_TAGS = (
    "[]",
    "[ ]",
    '["a" , "b"]',
    '[ "=x"]',
    '["=x"]',
    '["\\t=x"]',
    '["\\u00fcber", "\\u65e5\\u672c"]',
    '["\\ud83d\\ude80"]',
    '["a\\u0000b"]',
    '["\\"q\\"", "c,d"]',
    "[1, null, 2.5]",
    '{"a": "b"}',
    '"solo"',
    "null",
)


# The characters `csv_quoting` joins fields with, the marks of its passes, and
# what csv quotes or the formula rule looks at.
SEPARATOR_TEXT = (
    "a\x1fb",
    "\x1d=x",
    "row\x1eend",
    "\x1c",
    "\x1f\x1f",
    "\x01,\x02",
    "x\x1d",
)
# Generated text: what csv quotes, formula starts, NUL, escapes, characters
# beyond the Basic Multilingual Plane; the separators only in one column, so
# that most rows take the fast path.
TEXT_ALPHABET = st.sampled_from(list(",\"\r\n=+-@\t 'a;\\\x00\x01\x02\x1bü日🚀\u2028"))
GENERATED_TEXT = st.none() | st.text(TEXT_ALPHABET, max_size=6)
SEPARATOR_ALPHABET = TEXT_ALPHABET | st.sampled_from(list("\x1c\x1d\x1e\x1f"))
TEXT_COLUMN_NAMES = (
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
GENERATED_ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "text": st.fixed_dictionaries(
                {column: GENERATED_TEXT for column in TEXT_COLUMN_NAMES}
            ),
            "workflow": GENERATED_TEXT | st.text(SEPARATOR_ALPHABET, max_size=4),
            "error_message": st.text(TEXT_ALPHABET, max_size=6),
            "tags": st.lists(
                st.text(TEXT_ALPHABET, max_size=3), max_size=3, unique=True
            ),
            "confidence": st.none() | st.floats(allow_nan=False),
            "seconds": st.none() | st.integers(-(2**62), 2**62),
            "microsecond": st.sampled_from([0, 1, 998999, 999000, 999999])
            | st.integers(0, 999999),
            "resolved": st.booleans(),
        }
    ),
    min_size=1,
    max_size=8,
)


@pytest.fixture
def member(database: Database) -> User:
    return make_user(database)


def both_bytes(
    database: Database, member: User, *, chunk_rows: int = 4
) -> tuple[bytes, bytes]:
    team = [Incident.team_id == member.team_id]
    with database.transaction(write=False) as session:
        records = iter_csv_records(session, team, limit=None)
        reference = b"".join(iter_incident_csv(records))
        chunks = iter_csv_chunks(session, team, limit=None, chunk_rows=chunk_rows)
        fast = HEADER + b"".join(chunk.data for chunk in chunks)
    return fast, reference


def store_raw(database: Database, incident_id: int, **values: Any) -> None:
    """Write values as they are, past the column types' conversions."""
    table = Incident.__table__
    # A literal binds with the type of its Python value, not the column's.
    raw = {table.c[column]: literal(value) for column, value in values.items()}
    with database.transaction() as session:
        session.execute(update(table).where(table.c.id == incident_id).values(raw))


def test_datetimes_with_and_without_microseconds_give_the_reference_bytes(
    database: Database, member: User
) -> None:
    for microsecond in (0, 1, 500000, 998999, 999000, 999499, 999500, 999999):
        moment = datetime(2026, 12, 31, 23, 59, 59, microsecond, tzinfo=UTC)
        make_incidents(
            database,
            member,
            1,
            timestamp=moment,
            created_at=moment,
            updated_at=moment,
            resolved_at=moment,
        )

    fast, reference = both_bytes(database, member)

    assert fast == reference
    assert fast.count(b"2026-12-31T23:59:59Z") == 32


@ONLY_SQLITE
def test_hand_written_datetimes_give_the_reference_bytes(
    database: Database, member: User
) -> None:
    ids = make_incidents(database, member, len(HAND_WRITTEN_DATETIMES))
    for incident_id, stored in zip(ids, HAND_WRITTEN_DATETIMES, strict=True):
        store_raw(database, incident_id, created_at=stored, resolved_at=stored)

    fast, reference = both_bytes(database, member)

    assert fast == reference
    assert b",2026-11-28T08:30:00Z," in fast


@ONLY_SQLITE
def test_hand_written_tags_give_the_reference_bytes(
    database: Database, member: User
) -> None:
    ids = make_incidents(database, member, len(HAND_WRITTEN_TAGS))
    for incident_id, stored in zip(ids, HAND_WRITTEN_TAGS, strict=True):
        store_raw(database, incident_id, tags=stored)

    fast, reference = both_bytes(database, member)

    assert fast == reference
    assert ",über 日本," in fast.decode("utf-8")
    assert ",'=x," in fast.decode("utf-8")


@ONLY_SQLITE
def test_values_of_other_types_than_declared_give_the_reference_bytes(
    database: Database, member: User
) -> None:
    ids = make_incidents(database, member, 5)
    store_raw(database, ids[0], confidence="high")
    store_raw(database, ids[1], resolution_time_seconds=1.5)
    store_raw(database, ids[2], severity=9, source="a,b")
    store_raw(database, ids[3], created_at=2461000.5, confidence=1)
    store_raw(database, ids[4], resolution_time_seconds="soon, maybe")

    fast, reference = both_bytes(database, member)

    assert fast == reference
    assert b',"soon, maybe",' in fast


@ONLY_SQLITE
def test_rows_for_the_reference_query_keep_their_line_breaks_quoted(
    database: Database, member: User
) -> None:
    ids = make_incidents(
        database, member, 3, error_message="first\nsecond", root_cause='a,"b"\r\n'
    )
    store_raw(database, ids[0], tags="[1, null, 2.5]")
    store_raw(database, ids[1], confidence="high")

    fast, reference = both_bytes(database, member)

    assert fast == reference
    assert fast.count(b',"first\nsecond",') == 3


@ONLY_SQLITE
def test_separator_characters_in_values_give_the_reference_bytes(
    database: Database, member: User
) -> None:
    ids = make_incidents(database, member, 2 * len(SEPARATOR_TEXT) + 4)
    for number, text in enumerate(SEPARATOR_TEXT):
        store_raw(database, ids[2 * number], error_message=text, job=text)
        store_raw(database, ids[2 * number + 1], source=text, public_id=text)
    store_raw(database, ids[-1], tags='["a\\u001fb"]')
    store_raw(database, ids[-2], confidence="0.5\x1f")
    store_raw(database, ids[-3], resolved_at="2026-11-28 10:30:00.000000\x1e")

    fast, reference = both_bytes(database, member, chunk_rows=5)

    assert fast == reference
    assert "\x1d=x" in fast.decode("utf-8")


@ONLY_SQLITE
def test_empty_text_and_null_give_the_reference_bytes(
    database: Database, member: User
) -> None:
    ids = make_incidents(database, member, 3)
    empty = dict.fromkeys(TEXT_COLUMN_NAMES, "")
    store_raw(database, ids[0], **empty, public_id="", source="", error_message="")
    store_raw(database, ids[1], **dict.fromkeys(TEXT_COLUMN_NAMES))
    store_raw(database, ids[2], failure_type="", outcome="")

    fast, reference = both_bytes(database, member)

    assert fast == reference


@ONLY_SQLITE
def test_blobs_and_numbers_where_text_belongs_give_the_reference_bytes(
    database: Database, member: User
) -> None:
    ids = make_incidents(database, member, 4)
    store_raw(database, ids[0], repository=b"acme,web", error_message=b"x")
    store_raw(database, ids[1], tags=b'["a"]', created_at=b"2026-11-28 10:30:00")
    store_raw(database, ids[2], timestamp=20261128, updated_at=2461000.5)
    store_raw(database, ids[3], fix_branch=b"\x1f")

    fast, reference = both_bytes(database, member)

    assert fast == reference
    assert b"b'acme,web'" in fast


@ONLY_SQLITE
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=GENERATED_ROWS, chunk_rows=st.sampled_from([1, 2, 1000]))
def test_generated_rows_give_the_reference_bytes(
    database: Database, member: User, rows: list[dict[str, Any]], chunk_rows: int
) -> None:
    start = datetime(2026, 11, 28, 23, 59, 59, tzinfo=UTC)
    for number, row in enumerate(rows):
        moment = start.replace(microsecond=row["microsecond"]) + timedelta(hours=number)
        text = {**row["text"], "workflow": row["workflow"]}
        # (team, source, external_id) is unique.
        if text["external_id"] is not None:
            text["external_id"] += str(number)
        make_incidents(
            database,
            member,
            1,
            **text,
            error_message=row["error_message"],
            tags=row["tags"],
            confidence=row["confidence"],
            resolution_time_seconds=row["seconds"],
            timestamp=moment,
            updated_at=moment,
            resolved_at=moment if row["resolved"] else None,
        )

    try:
        fast, reference = both_bytes(database, member, chunk_rows=chunk_rows)
    finally:
        with database.transaction() as session:
            session.execute(delete(Incident).where(Incident.team_id == member.team_id))

    assert fast == reference


@ONLY_SQLITE
def test_chunks_hold_whole_batches_and_the_asked_rows(
    database: Database, member: User
) -> None:
    make_incidents(database, member, 700)
    team = [Incident.team_id == member.team_id]

    with database.transaction(write=False) as session:
        chunks = list(iter_csv_chunks(session, team, limit=None, chunk_rows=300))
    fast, reference = both_bytes(database, member)

    assert [chunk.rows for chunk in chunks] == [300, 300, 100]
    assert HEADER + b"".join(chunk.data for chunk in chunks) == reference
    assert fast == reference
