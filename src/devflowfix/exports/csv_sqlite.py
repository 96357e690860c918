"""The incident CSV on SQLite: stored values read raw, each line built in Python.

SQLite has no COPY, and preparing the cells in SQL (strftime, json_each, CASE)
costs it more than Python needs to turn the stored text into the same cells.
So the query selects the columns as stored, through the driver's own cursor,
and `stored_line` builds each line: what `repository.csv_columns` computes,
quoted as stdlib csv quotes (a field holding a comma, a double quote, CR or LF
is quoted, inner quotes doubled). A test holds the bytes to the reference
writer's.

`stored_line` knows the forms the application stores. A value in any other
form (only a hand-written row can hold one: a datetime SQLite would have to
interpret, such as `2026-02-30` or one with an offset; tags that are not a list
of strings; a number in a text column) sends its row to the reference query
by id, so every row still gets exactly the reference cells.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import date
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from devflowfix.exports import repository
from devflowfix.exports.cells import FORMULA_STARTS, TAG_SEPARATOR
from devflowfix.exports.csv_writer import CsvChunk
from devflowfix.models import Incident
from devflowfix.vocabulary import Severity

# In the order `stored_line` unpacks them: the id, then the CSV's columns.
STORED_COLUMNS = (
    Incident.id,
    Incident.public_id,
    *repository.DATETIMES,
    Incident.source,
    Incident.severity,
    Incident.failure_type,
    Incident.outcome,
    *repository.TEXT_BEFORE_CONFIDENCE,
    Incident.confidence,
    Incident.tags,
    Incident.resolution_time_seconds,
    *repository.TEXT_AFTER_TAGS,
)
SEVERITY_NAMES = {severity.rank: severity.value for severity in Severity}
# How SQLAlchemy stores a UTC datetime in SQLite (microseconds optional), with
# the hours, minutes and seconds in range. Fractions from .999 up are left to
# SQLite: a version that rounds to milliseconds would move them a second on.
STORED_DATETIME = re.compile(
    r"\d{4}-\d\d-\d\d (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.(?!999)\d+)?", re.ASCII
)
# Three or four datetimes in the form SQLAlchemy writes (six fraction digits),
# joined: one match per row costs a quarter of one per value.
STANDARD_DATETIMES = re.compile(
    r"(?:\d{4}-\d\d-\d\d (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.(?!999)\d{6}){3,4}",
    re.ASCII,
)
STANDARD_SIZES = (26, 26, 26, 26)
# Characters JSON escapes decode to that SQLite versions have not all decoded
# alike: NUL, surrogates and whatever lies beyond the Basic Multilingual Plane.
UNSURE_TAG_TEXT = re.compile("[\x00\ud800-\udfff\U00010000-\U0010ffff]")
# Distinct days and tag lists repeat from row to row; the caches stay small.
CACHED_VALUES = 16384


class UnusualValue(Exception):
    """A stored value in a form `stored_line` leaves to the reference query."""


def iter_stored_chunks(
    session: Session, query: Select[Any], chunk_rows: int
) -> Iterator[CsvChunk]:
    """The CSV lines of `query` (over `STORED_COLUMNS`), `chunk_rows` at a time."""
    statement, parameters = repository.driver_statement(session, query)
    connection = session.connection().connection.driver_connection
    if not isinstance(connection, sqlite3.Connection):
        raise TypeError("the stored columns are read through a sqlite3 connection")

    cursor = connection.cursor()
    try:
        cursor.execute(statement, parameters)
        while rows := cursor.fetchmany(chunk_rows):
            lines = _lines(session, rows)
            yield CsvChunk(("\r\n".join(lines) + "\r\n").encode("utf-8"), len(rows))
    finally:
        cursor.close()


def _lines(session: Session, rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = []
    for row in rows:
        try:
            lines.append(stored_line(row))
        except (UnusualValue, TypeError):
            lines.append(reference_line(session, row[0]))
    return lines


def stored_line(row: Sequence[Any]) -> str:
    """One CSV line, without its CRLF, from the stored values of `STORED_COLUMNS`."""
    # One flat unpacking and one call per cell: this runs for every row.
    (
        _,
        public_id,
        timestamp,
        created,
        updated,
        resolved,
        source,
        severity,
        failure_type,
        outcome,
        repository_name,
        branch,
        commit_sha,
        workflow,
        job,
        run_url,
        external_id,
        error_message,
        root_cause,
        suggested_fix,
        confidence,
        tags,
        resolution_seconds,
        pull_request_url,
        fix_branch,
        fix_commit_sha,
    ) = row

    return ",".join(
        (
            _field(public_id),
            _datetimes(timestamp, created, updated, resolved),
            _field(source),
            SEVERITY_NAMES.get(severity, ""),
            _field(failure_type),
            _field(outcome),
            _user_text(repository_name),
            _user_text(branch),
            _user_text(commit_sha),
            _user_text(workflow),
            _user_text(job),
            _user_text(run_url),
            _user_text(external_id),
            _user_text(error_message),
            _user_text(root_cause),
            _user_text(suggested_fix),
            _number(confidence, float),
            _tags(tags),
            _number(resolution_seconds, int),
            _user_text(pull_request_url),
            _user_text(fix_branch),
            _user_text(fix_commit_sha),
        )
    )


@cache
def _reference_query() -> Select[Any]:
    # Built once: the expressions cost far more to build than to run.
    cells = repository.csv_columns("sqlite")
    return select(*cells).where(Incident.id == bindparam("incident_id"))


def reference_line(session: Session, incident_id: int) -> str:
    """The line of one incident from the reference cells, by stdlib csv."""
    cells = session.execute(_reference_query(), {"incident_id": incident_id}).one()
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def _field(value: str | None) -> str:
    if value is None:
        return ""
    if '"' in value:
        return '"' + value.replace('"', '""') + '"'
    if "," in value or "\n" in value or "\r" in value:
        return '"' + value + '"'
    return value


def _user_text(value: str | None) -> str:
    """`cells.neutralise`, then quoted."""
    if not value:
        return ""
    if value[0] in FORMULA_STARTS:
        value = "'" + value
    return _field(value)


def _number(value: Any, kind: type) -> str:
    if value is None:
        return ""
    if value.__class__ is not kind:
        raise UnusualValue(value)
    # Python's shortest round-trip form of a float, as csv writes it.
    return repr(value)


def _datetimes(timestamp: str, created: str, updated: str, resolved: str | None) -> str:
    """The four datetime cells, joined; the standard form without `_utc` calls."""
    # A value that is not text fails the join (TypeError) or the match; the
    # lengths hold each value to one 26-character repeat of the pattern.
    joined = timestamp + created + updated + ("" if resolved is None else resolved)
    last = 26 if resolved is None else len(resolved)
    sizes = (len(timestamp), len(created), len(updated), last)
    if sizes != STANDARD_SIZES or STANDARD_DATETIMES.fullmatch(joined) is None:
        return ",".join((_utc(timestamp), _utc(created), _utc(updated), _utc(resolved)))

    return (
        f"{_day(timestamp[:10])}{timestamp[11:19]}Z,"
        f"{_day(created[:10])}{created[11:19]}Z,"
        f"{_day(updated[:10])}{updated[11:19]}Z,"
        + ("" if resolved is None else f"{_day(resolved[:10])}{resolved[11:19]}Z")
    )


def _utc(value: str | None) -> str:
    """Stored `2026-11-28 10:30:00.123456` as `2026-11-28T10:30:00Z`, like strftime."""
    if value is None:
        return ""
    if STORED_DATETIME.fullmatch(value) is None:
        raise UnusualValue(value)
    return _day(value[:10]) + value[11:19] + "Z"


@lru_cache(maxsize=CACHED_VALUES)
def _day(text: str) -> str:
    # SQLite would move a day past the month's end to the next month (or not,
    # by version); only a calendar date is formatted here.
    try:
        date.fromisoformat(text)
    except ValueError:
        raise UnusualValue(text) from None
    return text + "T"


@lru_cache(maxsize=CACHED_VALUES)
def _tags(stored: str) -> str:
    """The tags cell of `repository.tag_text` from the stored JSON text, quoted."""
    if stored == "[]":
        return ""

    try:
        tags = json.loads(stored)
    except ValueError:
        raise UnusualValue(stored) from None
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise UnusualValue(stored)

    joined = TAG_SEPARATOR.join(tags)
    if UNSURE_TAG_TEXT.search(joined):
        raise UnusualValue(stored)

    # As in SQL: the third character of the JSON text decides the apostrophe.
    apostrophe = "'" if stored[2:3] in FORMULA_STARTS else ""

    return _field(apostrophe + joined)
