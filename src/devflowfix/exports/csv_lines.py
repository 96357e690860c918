"""The incident CSV written by the database: the fast path of every CSV export.

The bytes are exactly those of the reference writer (`csv_writer`, stdlib csv
over `repository.csv_columns`): the same cells, RFC 4180 quoting of fields
that hold a comma, a double quote, CR or LF, CRLF line ends, UTF-8. A test
holds the two to the same bytes on data made to trip them up.

- PostgreSQL writes the file itself: `COPY (SELECT ...) TO STDOUT WITH
  (FORMAT csv)` over the same cells. COPY quotes exactly where csv does; what
  differs is settled in SQL (empty text becomes NULL, which COPY leaves
  unquoted, and whole-number confidences get their `.0`) or in Python (COPY
  ends lines with LF; each CopyData message is one row, so the LF to replace
  is its last byte).
- SQLite has no COPY: the query builds each line with `||`, quoting in SQL,
  around the confidence, which Python formats with `repr` as csv does (SQLite
  cannot print the shortest decimal of a double).

Python then only joins lines and writes bytes, `CHUNK_ROWS` lines at a time.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from typing import Any

import psycopg
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Text,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from devflowfix.exports import repository
from devflowfix.exports.csv_writer import CHUNK_ROWS, CsvChunk, csv_rows_chunk
from devflowfix.exports.repository import (
    neutralised,
    severity_name,
    tag_text,
    utc_text,
)
from devflowfix.models import Incident

# Columns whose user text is neutralised, in the CSV's order around confidence.
TEXT_BEFORE_CONFIDENCE = (
    Incident.repository,
    Incident.branch,
    Incident.commit_sha,
    Incident.workflow,
    Incident.job,
    Incident.run_url,
    Incident.external_id,
    Incident.error_message,
    Incident.root_cause,
    Incident.suggested_fix,
)
TEXT_AFTER_TAGS = (
    Incident.fix_pull_request_url,
    Incident.fix_branch,
    Incident.fix_commit_sha,
)
DATETIMES = (
    Incident.timestamp,
    Incident.created_at,
    Incident.updated_at,
    Incident.resolved_at,
)
# A field that holds one of these is quoted, by csv and by COPY alike.
NEEDS_QUOTES = '*[,"\r\n]*'


def iter_csv_chunks(
    session: Session,
    conditions: Sequence[ColumnElement[bool]],
    *,
    limit: int | None,
    chunk_rows: int = CHUNK_ROWS,
) -> Generator[CsvChunk, None, None]:
    """The CSV rows of the matching incidents, newest first, in UTF-8 chunks.

    Close the iterator (`contextlib.closing`) when stopping early: on
    PostgreSQL that ends the COPY before the transaction goes on.
    """
    if session.get_bind().dialect.name == "postgresql":
        if not _confidences_outside_unit(session, conditions):
            yield from _copy_chunks(session, conditions, limit, chunk_rows)
            return
        yield from _reference_chunks(session, conditions, limit, chunk_rows)
        return
    yield from _sqlite_chunks(session, conditions, limit, chunk_rows)


def _ordered(columns: Sequence[Any], conditions: Sequence[ColumnElement[bool]]) -> Any:
    return (
        select(*columns)
        .where(*conditions)
        .order_by(Incident.created_at.desc(), Incident.id.desc())
    )


def _limited(query: Select[Any], limit: int | None) -> Select[Any]:
    return query if limit is None else query.limit(limit)


# PostgreSQL ------------------------------------------------------------------


def copy_cells() -> tuple[Any, ...]:
    """The cells of `repository.csv_columns` as COPY must see them."""
    return (
        _text(Incident.public_id),
        *(utc_text(column, dialect="postgresql") for column in DATETIMES),
        _text(Incident.source),
        severity_name(),
        _text(Incident.failure_type),
        _text(Incident.outcome),
        *(_text(neutralised(column)) for column in TEXT_BEFORE_CONFIDENCE),
        confidence_text(),
        _text(tag_text(dialect="postgresql")),
        Incident.resolution_time_seconds,
        *(_text(neutralised(column)) for column in TEXT_AFTER_TAGS),
    )


def _text(value: Any) -> ColumnElement[str]:
    # COPY writes an empty string as `""` and NULL as nothing; csv writes both
    # as nothing.
    return func.nullif(value, literal("", String()))


def confidence_text() -> ColumnElement[str]:
    """The confidence as Python's `repr` prints it, for values in [0, 1].

    PostgreSQL prints the shortest decimal that reads back as the same double,
    as `repr` does, but whole numbers without `.0`. Values outside [0, 1]
    (only a hand-written row can hold one) print differently in more ways;
    `iter_csv_chunks` sends such a team's exports to the reference writer.
    """
    value = Incident.confidence
    shown = cast(value, Text())
    return case(
        (value == func.trunc(value), shown + literal(".0", String())),
        else_=shown,
    )


def _confidences_outside_unit(
    session: Session, conditions: Sequence[ColumnElement[bool]]
) -> bool:
    # NaN sorts above every number in PostgreSQL, so `> 1` finds it too.
    outside = or_(Incident.confidence < 0, Incident.confidence > 1)
    return bool(session.scalar(select(exists().where(*conditions, outside))))


def _copy_chunks(
    session: Session,
    conditions: Sequence[ColumnElement[bool]],
    limit: int | None,
    chunk_rows: int,
) -> Iterator[CsvChunk]:
    query = _limited(_ordered(copy_cells(), conditions), limit)
    statement, parameters = repository.driver_statement(session, query)
    connection = session.connection().connection.driver_connection
    if not isinstance(connection, psycopg.Connection):
        raise TypeError("COPY needs a psycopg connection")
    encoding = connection.info.encoding
    # COPY prints doubles in their shortest exact form only with this setting
    # (the default); LOCAL ends with the export's transaction.
    connection.execute("SET LOCAL extra_float_digits = 1")
    with (
        connection.cursor() as cursor,
        cursor.copy(
            f"COPY ({statement}) TO STDOUT WITH (FORMAT csv)", parameters
        ) as copy,
    ):
        lines: list[Any] = []
        # The protocol sends every row of a COPY in a CopyData message of its
        # own ("always one per row"), so each one ends with its LF.
        for row in copy:
            lines.append(row[:-1])
            if len(lines) == chunk_rows:
                yield _crlf_chunk(lines, encoding)
                lines = []
        if lines:
            yield _crlf_chunk(lines, encoding)


def _crlf_chunk(lines: list[Any], encoding: str) -> CsvChunk:
    data = b"\r\n".join(lines) + b"\r\n"
    if encoding != "utf-8":
        data = data.decode(encoding).encode("utf-8")
    return CsvChunk(data, len(lines))


def _reference_chunks(
    session: Session,
    conditions: Sequence[ColumnElement[bool]],
    limit: int | None,
    chunk_rows: int,
) -> Iterator[CsvChunk]:
    records = repository.iter_csv_records(
        session, conditions, limit=limit, batch_size=chunk_rows
    )
    batch: list[Sequence[Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) == chunk_rows:
            yield csv_rows_chunk(batch)
            batch = []
    if batch:
        yield csv_rows_chunk(batch)


# SQLite ----------------------------------------------------------------------


def line_cells() -> tuple[Any, ...]:
    """A line in three parts: the cells before confidence, it, and the rest.

    The first part ends with the comma before confidence; the last begins with
    the comma after it and ends with CRLF.
    """
    head = [
        _quoted(Incident.public_id),
        *(_plain(utc_text(column, dialect="sqlite")) for column in DATETIMES),
        _quoted(Incident.source),
        _plain(severity_name()),
        _quoted(Incident.failure_type),
        _quoted(Incident.outcome),
        *(_quoted(neutralised(column), column) for column in TEXT_BEFORE_CONFIDENCE),
    ]
    tail = [
        _quoted(tag_text(dialect="sqlite")),
        _plain(type_coerce(Incident.resolution_time_seconds, String())),
        *(_quoted(neutralised(column), column) for column in TEXT_AFTER_TAGS),
    ]
    comma = literal(",", String())
    return (
        _joined(head) + comma,
        Incident.confidence,
        comma + _joined(tail) + literal("\r\n", String()),
    )


def _plain(value: ColumnElement[Any]) -> ColumnElement[str]:
    return func.coalesce(value, literal("", String()))


def _quoted(value: Any, raw: Any = None) -> ColumnElement[str]:
    """The field, quoted with inner quotes doubled when it needs quotes.

    Neutralising adds an apostrophe, which needs no quotes, so the test may
    look at the column's raw text (`raw`), which is cheaper to get.
    """
    tested = value if raw is None else raw
    needs_quotes = tested.op("GLOB")(literal(NEEDS_QUOTES, String()))
    quote = literal('"', String())
    doubled = func.replace(value, quote, literal('""', String()))
    return case((needs_quotes, quote + doubled + quote), else_=_plain(value))


def _joined(cells: Sequence[ColumnElement[str]]) -> ColumnElement[str]:
    line = cells[0]
    for cell in cells[1:]:
        line = line + literal(",", String()) + cell
    return line


def _sqlite_chunks(
    session: Session,
    conditions: Sequence[ColumnElement[bool]],
    limit: int | None,
    chunk_rows: int,
) -> Iterator[CsvChunk]:
    query = _limited(_ordered(line_cells(), conditions), limit)
    streaming = session.connection().execution_options(yield_per=chunk_rows)
    for batch in streaming.execute(query).partitions():
        text = "".join(
            [
                head + ("" if confidence is None else repr(confidence)) + tail
                for head, confidence, tail in batch
            ]
        )
        yield CsvChunk(text.encode("utf-8"), len(batch))
