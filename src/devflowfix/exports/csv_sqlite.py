"""The incident CSV on SQLite: a batch's fields joined, then quoted in bulk.

SQLite has no COPY, and preparing the cells in SQL (strftime, json_each, CASE)
costs it more than Python needs to turn the stored text into the same cells.
So the query selects the columns as stored, through the driver's own cursor,
`BATCH_ROWS` at a time, and each batch becomes its CSV in two steps:

1. One short function per row (`stored_text`) does what only Python does
   exactly and cheaply: it checks the four datetimes with one regular
   expression and slices them to ISO 8601 (the hour looked up in a cache
   that holds only calendar dates), prints the confidence as `repr` does,
   looks the tags' cell up in a cache, and joins the row's text cells with
   control characters instead of commas: `\\x1d` before a cell of user text
   (the formula rule applies to it), `\\x1f` before any other, `\\x1e` after
   the row.
2. `csv_quoting.quote_chunk` turns the batch's text into CSV lines in a few
   passes over its bytes (translate, count, find, join): apostrophes before
   formula starts, quotes around the fields that need them, commas, CRLF.

Nothing refuses the separator characters in stored text, so the batch counts
them: more than the rows' fields need means a value holds one, and only the
rows whose values hold one are set aside.

What the fast path cannot prove it writes as the reference writer does is
not guessed at. A datetime in another form than SQLAlchemy stores (one
SQLite would have to interpret, such as `2026-02-30` or one with an offset, a
fraction from `.999` up that a version rounding to milliseconds would move a
second on, a number) gets its cells from SQLite's own strftime, the
reference expression, over the values read. Tags that are not a list of
plain strings, a confidence or a duration of another type, a blob where text
belongs and a separator in a value send the row to the reference query by id,
a batch's such rows in one query. tests/exports/test_csv_sqlite.py holds the
bytes to the reference writer's, on generated rows too.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnClause,
    Select,
    String,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from devflowfix.exports import csv_quoting, repository
from devflowfix.exports.cells import FORMULA_STARTS, TAG_SEPARATOR
from devflowfix.exports.csv_quoting import FIELD, ROW_END, USER_FIELD
from devflowfix.exports.csv_writer import CsvChunk
from devflowfix.models import Incident

_EMPTY: ColumnClause[str] = literal_column("''", String())


def _text(column: Any) -> Any:
    # An empty string and NULL make the same cell; joining needs text. Columns
    # declared NOT NULL go without: a NULL there fails the join, and its row
    # goes to the reference query.
    return func.ifnull(column, _EMPTY)


# In the order `stored_text` reads them: the id, then the CSV's columns.
STORED_COLUMNS = (
    Incident.id,
    Incident.public_id,
    Incident.timestamp,
    Incident.created_at,
    Incident.updated_at,
    _text(Incident.resolved_at),
    Incident.source,
    _text(repository.severity_name()),
    Incident.failure_type,
    Incident.outcome,
    *(
        column if column is Incident.error_message else _text(column)
        for column in repository.TEXT_BEFORE_CONFIDENCE
    ),
    Incident.confidence,
    Incident.tags,
    Incident.resolution_time_seconds,
    *(_text(column) for column in repository.TEXT_AFTER_TAGS),
)
# The four datetimes as SQLAlchemy stores UTC in SQLite, joined by `FIELD`,
# the last one empty when the incident is unresolved. Spelled out digit by
# digit, which the regular expression engine checks faster than `\d{4}`.
_STORED_DATETIME = r"\d\d\d\d-\d\d-\d\d \d\d:[0-5]\d:[0-5]\d\.\d\d\d\d\d\d"
STORED_DATETIMES = re.compile(
    f"{_STORED_DATETIME}{FIELD}" * 3 + f"(?:{_STORED_DATETIME})?", re.ASCII
).fullmatch
# A fraction from .999 up is left to SQLite: a version that rounds to
# milliseconds would move it a second on.
ROUNDED_UP = ".999"
# Characters JSON escapes decode to that SQLite versions have not all decoded
# alike: NUL, surrogates and whatever lies beyond the Basic Multilingual Plane.
UNSURE_TAG_TEXT = re.compile("[\x00\ud800-\udfff\U00010000-\U0010ffff]")
# Rows read and quoted together: their objects and the passes' copies of
# their text (about 80 KB for demo rows) stay in the processor's cache, where
# 1,000 rows at a time (the chunks handed out) spilled and took a fifth longer.
BATCH_ROWS = 125
# Distinct hours and tag lists repeat from row to row; the caches stay small.
CACHED_VALUES = 16384
# What a row whose line comes from the reference query holds until then.
SET_ASIDE = csv_quoting.SET_ASIDE + ROW_END
_SQLITE_UTC = "SELECT " + ", ".join(["strftime(?, ?)"] * len(repository.DATETIMES))


_UNKNOWN = object()


class UnusualValue(Exception):
    """A stored value in a form the fast path leaves to the reference query."""


class UnusualDatetime(Exception):
    """A datetime in a form the fast path leaves to SQLite's strftime."""


class StoredCells:
    """The parts of cells that repeat across rows, each worked out once.

    `hours` maps a stored hour (`2026-11-28 10`) of a calendar date to its
    cell's start (`2026-11-28T10`); `tags` maps stored tags to their cell
    before quoting, or to None when the reference query must write it.
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.hours: dict[str, str] = {}
        self.tags: dict[Any, str | None] = {}

    def tag_text(self, stored: Any) -> str | None:
        """The tags' cell before quoting, None for the reference query's."""
        if len(self.tags) > CACHED_VALUES:
            self.tags.clear()
        text = self.tags[stored] = _tag_text(stored)
        return text

    def learn_hours(self, row: Sequence[Any]) -> None:
        """Add the row's hours; `UnusualDatetime` if one is not an hour."""
        if len(self.hours) > CACHED_VALUES:
            self.hours.clear()
        for stored in row[2:6]:
            if stored and stored[:13] not in self.hours:
                self.hours[stored[:13]] = _hour(stored[:13])

    def strftime_moments(self, row: Sequence[Any]) -> str:
        """The row's four datetime cells as SQLite's strftime writes them."""
        formats = [repository.SQLITE_UTC_FORMAT] * len(repository.DATETIMES)
        pairs = zip(formats, row[2:6], strict=True)
        parameters = [part for pair in pairs for part in pair]
        cells = self.connection.execute(_SQLITE_UTC, parameters).fetchone()
        return FIELD.join(cell or "" for cell in cells)


def iter_stored_chunks(
    session: Session, query: Select[Any], chunk_rows: int
) -> Iterator[CsvChunk]:
    """The CSV lines of `query` (over `STORED_COLUMNS`), `chunk_rows` at a time."""
    statement, parameters = repository.driver_statement(session, query)
    connection = session.connection().connection.driver_connection
    if not isinstance(connection, sqlite3.Connection):
        raise TypeError("the stored columns are read through a sqlite3 connection")

    cells = StoredCells(connection)
    cursor = connection.cursor()
    try:
        cursor.execute(statement, parameters)
        parts: list[bytes] = []
        rows_in_parts = 0
        # Batches end where chunks do, so that every chunk but the last holds
        # exactly `chunk_rows`.
        while rows := cursor.fetchmany(min(BATCH_ROWS, chunk_rows - rows_in_parts)):
            parts.append(chunk_csv(session, rows, cells))
            rows_in_parts += len(rows)
            if rows_in_parts == chunk_rows:
                yield CsvChunk(b"".join(parts), rows_in_parts)
                parts, rows_in_parts = [], 0
        if parts:
            yield CsvChunk(b"".join(parts), rows_in_parts)
    finally:
        cursor.close()


def chunk_csv(
    session: Session, rows: Sequence[Sequence[Any]], cells: StoredCells
) -> bytes:
    """The CSV lines of `rows`, CRLF-terminated, as UTF-8."""
    texts = _row_texts(rows, cells)
    data = csv_quoting.quote_chunk("".join(texts), _separators(texts))
    if data is None:
        # A value holds a separator: set its row aside and quote the others.
        for index, text in enumerate(texts):
            if not csv_quoting.holds_only_own_separators(text):
                texts[index] = SET_ASIDE
        data = csv_quoting.quote_chunk("".join(texts), _separators(texts))
        if data is None:
            raise AssertionError("rows without separators in values quote")
    set_aside = [
        row[0] for row, text in zip(rows, texts, strict=True) if text == SET_ASIDE
    ]
    if not set_aside:
        return data

    lines = reference_lines(session, set_aside)
    parts = data.split(csv_quoting.SET_ASIDE.encode())
    pieces = [parts[0]]
    for incident_id, part in zip(set_aside, parts[1:], strict=True):
        pieces.append(lines[incident_id])
        # The placeholder's line end follows it; the reference line has one.
        pieces.append(part[2:])
    return b"".join(pieces)


def _separators(texts: list[str]) -> int:
    set_aside = texts.count(SET_ASIDE)
    normal = len(texts) - set_aside
    return (
        normal * csv_quoting.SEPARATORS_PER_ROW
        + set_aside * csv_quoting.SEPARATORS_PER_SET_ASIDE
    )


def _row_texts(rows: Sequence[Sequence[Any]], cells: StoredCells) -> list[str]:
    texts = []
    for row in rows:
        try:
            try:
                texts.append(stored_text(row, cells))
            except (KeyError, UnusualDatetime):
                texts.append(_learned_text(row, cells))
        except (UnusualValue, TypeError):
            texts.append(SET_ASIDE)
    return texts


def _learned_text(row: Sequence[Any], cells: StoredCells) -> str:
    """`stored_text` once the row's hours are known."""
    try:
        cells.learn_hours(row)
        return stored_text(row, cells)
    except (UnusualDatetime, TypeError):
        return stored_text(row, cells, cells.strftime_moments(row))


def stored_text(
    row: Sequence[Any], cells: StoredCells, moments: str | None = None
) -> str:
    """The row's fields joined by separators, before quoting.

    `moments` are the four datetime cells when they are not the stored text
    sliced. Raises `KeyError` for an hour not yet in `cells`,
    `UnusualDatetime` for datetimes to leave to strftime, `TypeError` for a
    value of another type than the column's (a blob, a number in text) and
    `UnusualValue` for tags, a confidence or a duration the reference query
    must write.
    """
    # One function with no call per cell: this runs for every row.
    if moments is None:
        stored = row[2:6]
        joined = FIELD.join(stored)
        if STORED_DATETIMES(joined) is None or ROUNDED_UP in joined:
            raise UnusualDatetime(joined)
        hours = cells.hours
        timestamp, created, updated, resolved = stored
        moments = (
            f"{hours[timestamp[:13]]}{timestamp[13:19]}Z{FIELD}"
            f"{hours[created[:13]]}{created[13:19]}Z{FIELD}"
            f"{hours[updated[:13]]}{updated[13:19]}Z{FIELD}"
            + (f"{hours[resolved[:13]]}{resolved[13:19]}Z" if resolved else "")
        )
    tags = cells.tags.get(row[21], _UNKNOWN)
    if tags is _UNKNOWN:
        tags = cells.tag_text(row[21])
    if tags is None:
        raise UnusualValue(row[21])
    confidence = row[20]
    if confidence.__class__ is float:
        confidence = repr(confidence)
    elif confidence is not None:
        raise UnusualValue(confidence)
    seconds = row[22]
    if seconds.__class__ is int:
        seconds = repr(seconds)
    elif seconds is not None:
        raise UnusualValue(seconds)

    return (
        f"{row[1]}{FIELD}{moments}{FIELD}{FIELD.join(row[6:10])}{USER_FIELD}"
        f"{USER_FIELD.join(row[10:20])}{FIELD}"
        f"{confidence or ''}{FIELD}{tags}{FIELD}{seconds or ''}{USER_FIELD}"
        f"{USER_FIELD.join(row[23:26])}{ROW_END}"
    )


@cache
def _reference_query() -> Select[Any]:
    # Built once: the expressions cost far more to build than to run.
    cells = repository.csv_columns("sqlite")
    ids: BindParameter[list[int]] = bindparam("incident_ids", expanding=True)
    return select(Incident.id, *cells).where(Incident.id.in_(ids))


def reference_lines(session: Session, incident_ids: list[int]) -> dict[int, bytes]:
    """The lines of the incidents, CRLF-terminated, from the reference cells."""
    rows = session.execute(_reference_query(), {"incident_ids": incident_ids})
    lines = {}
    buffer = io.StringIO()
    # The same line terminator as the reference writer: csv quotes a cell
    # holding CR or LF only when they are part of it.
    writer = csv.writer(buffer, lineterminator="\r\n")
    for incident_id, *cells in rows:
        writer.writerow(cells)
        lines[incident_id] = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
    return lines


def _hour(text: str) -> str:
    """`2026-11-28 10` as `2026-11-28T10`; `UnusualDatetime` unless it is one."""
    # SQLite would move a day past the month's end to the next month (or not,
    # by version); only a calendar date and an hour of it are sliced.
    day, hour = text[:10], text[11:]
    try:
        date.fromisoformat(day)
    except ValueError:
        raise UnusualDatetime(text) from None
    digits = len(hour) == 2 and hour.isascii() and hour.isdigit()
    if text[10:11] != " " or not digits or hour >= "24":
        raise UnusualDatetime(text)
    return f"{day}T{hour}"


def _tag_text(stored: Any) -> str | None:
    """The tags cell of `repository.tag_text` from the stored JSON, unquoted.

    None when the reference query must write it.
    """
    if stored == "[]":
        return ""
    if stored.__class__ is not str:
        return None

    try:
        tags = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        return None

    joined = TAG_SEPARATOR.join(tags)
    if UNSURE_TAG_TEXT.search(joined):
        return None
    # As in SQL: the third character of the JSON text decides the apostrophe.
    apostrophe = "'" if stored[2:3] in FORMULA_STARTS else ""
    return apostrophe + joined
