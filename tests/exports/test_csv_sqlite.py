"""SQLite's CSV lines from the stored values equal the reference writer's bytes.

`stored_line` reads the columns as stored; these rows hold the forms it knows
(datetimes with and without microseconds, escaped tags) and forms only a
hand-written row can hold, which must reach the reference cells by id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import literal, update

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


@pytest.fixture
def member(database: Database) -> User:
    return make_user(database)


def both_bytes(database: Database, member: User) -> tuple[bytes, bytes]:
    team = [Incident.team_id == member.team_id]
    with database.transaction(write=False) as session:
        records = iter_csv_records(session, team, limit=None)
        reference = b"".join(iter_incident_csv(records))
        chunks = iter_csv_chunks(session, team, limit=None, chunk_rows=4)
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
