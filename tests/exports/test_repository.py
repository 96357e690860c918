"""The export queries on each database: keyset batches and the cells SQL prepares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from devflowfix.db import Database
from devflowfix.exports.cells import FORMULA_STARTS, neutralise
from devflowfix.exports.csv_writer import INCIDENT_COLUMNS
from devflowfix.exports.repository import (
    count_matching,
    iter_csv_records,
    iter_incident_rows,
)
from devflowfix.models import Incident, User
from factories import make_incident, make_user

TEXT_COLUMNS = (
    "repository",
    "branch",
    "commit_sha",
    "workflow",
    "job",
    "run_url",
    "external_id",
    "error_message",
    "root_cause",
    "suggested_fix",
    "fix_pull_request_url",
    "fix_branch",
    "fix_commit_sha",
)
SAMPLES = ("=1+1", "+cmd", "-rf", "@SUM(A1)", "\t=x", "\r=x", "a=1", " =1", "ok")


@pytest.fixture
def member(database: Database) -> User:
    return make_user(database)


def newest_first(database: Database) -> list[str]:
    with database.transaction(write=False) as session:
        return list(
            session.scalars(
                select(Incident.public_id).order_by(
                    Incident.created_at.desc(), Incident.id.desc()
                )
            )
        )


def team_of(user: User) -> list[object]:
    return [Incident.team_id == user.team_id]


def test_batches_return_every_incident_once_newest_first(
    database: Database, member: User
) -> None:
    moment = datetime(2026, 11, 20, 8, tzinfo=UTC)
    for number in range(23):
        # Groups of three share a creation time: the id must break the ties.
        created_at = moment - timedelta(minutes=number // 3)
        make_incident(database, member, created_at=created_at)

    expected = newest_first(database)

    with database.transaction(write=False) as session:
        rows = [
            row.incident_id
            for row in iter_incident_rows(
                session, team_of(member), limit=None, batch_size=4
            )
        ]
        records = [
            record[0]
            for record in iter_csv_records(
                session, team_of(member), limit=None, batch_size=5
            )
        ]
        first_ten = [
            record[0]
            for record in iter_csv_records(
                session, team_of(member), limit=10, batch_size=4
            )
        ]

    assert rows == expected
    assert records == expected
    assert first_ten == expected[:10]
    assert len(set(rows)) == 23


def test_counting_stops_at_the_cap(database: Database, member: User) -> None:
    for _ in range(5):
        make_incident(database, member)

    with database.transaction(write=False) as session:
        capped = count_matching(session, team_of(member), cap=3)
        exact = count_matching(session, team_of(member), cap=None)

    assert (capped, exact) == (3, 5)


def test_csv_cells_hold_text_datetimes_and_severity_names(
    database: Database, member: User
) -> None:
    incident = make_incident(
        database,
        member,
        created_at=datetime(2026, 11, 28, 10, 31, 5, 987654, tzinfo=UTC),
        resolved_at="2026-11-28T10:45:00Z",
        severity="critical",
        tags=["frontend", "npm"],
        suggested_fix=None,
    )

    with database.transaction(write=False) as session:
        record = next(iter_csv_records(session, team_of(member), limit=1))

    cells = dict(zip(INCIDENT_COLUMNS, record, strict=True))
    assert cells["incident_id"] == incident.public_id
    assert cells["timestamp"] == "2026-11-28T10:30:00Z"
    assert cells["created_at"] == "2026-11-28T10:31:05Z"
    assert cells["resolved_at"] == "2026-11-28T10:45:00Z"
    assert cells["severity"] == "critical"
    assert cells["tags"] == "frontend npm"
    assert cells["confidence"] == 0.85
    assert cells["resolution_time_seconds"] == 900
    assert cells["suggested_fix"] is None


@pytest.mark.parametrize("sample", SAMPLES)
def test_sql_neutralises_each_text_cell_as_the_python_rule_does(
    database: Database, member: User, sample: str
) -> None:
    incident = make_incident(database, member)
    # Straight into the table: data from any writer must come out safe.
    with database.transaction() as session:
        session.execute(
            update(Incident)
            .where(Incident.id == incident.id)
            .values(dict.fromkeys(TEXT_COLUMNS, sample))
        )

    with database.transaction(write=False) as session:
        record = next(iter_csv_records(session, team_of(member), limit=1))

    cells = dict(zip(INCIDENT_COLUMNS, record, strict=True))
    assert {name: cells[name] for name in TEXT_COLUMNS} == dict.fromkeys(
        TEXT_COLUMNS, neutralise(sample)
    )
    assert neutralise(sample).startswith("'") == (sample[0] in FORMULA_STARTS)


@pytest.mark.parametrize(
    ("tags", "cell"),
    [
        (["+1", "ok"], "'+1 ok"),
        (["-x"], "'-x"),
        (["@team", "=x"], "'@team =x"),
        (["ok", "+1"], "ok +1"),
        (["#ops"], "#ops"),
        ([], ""),
    ],
)
def test_tag_cell_is_neutralised_by_its_first_tag(
    database: Database, member: User, tags: list[str], cell: str
) -> None:
    incident = make_incident(database, member)
    with database.transaction() as session:
        session.execute(
            update(Incident).where(Incident.id == incident.id).values(tags=tags)
        )

    with database.transaction(write=False) as session:
        record = next(iter_csv_records(session, team_of(member), limit=1))

    assert record[INCIDENT_COLUMNS.index("tags")] == cell
    assert cell == neutralise(" ".join(tags))
