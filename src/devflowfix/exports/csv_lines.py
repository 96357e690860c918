"""The incident CSV without stdlib csv: the fast path of every CSV export.

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
- SQLite has no COPY, and building the cells or the lines in SQL costs it
  more than Python needs: the query reads the columns as stored,
  `csv_sqlite` joins each row's fields with control characters and
  `csv_quoting` quotes a whole batch of rows in a few passes over its bytes.

Either way the lines come in UTF-8 chunks of `CHUNK_ROWS`.
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
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from devflowfix.exports import csv_sqlite, repository
from devflowfix.exports.cells import FORMULA_STARTS
from devflowfix.exports.csv_writer import CHUNK_ROWS, CsvChunk, csv_rows_chunk
from devflowfix.exports.repository import severity_name, tag_text, utc_text
from devflowfix.models import Incident

FORMULA_CODES = sorted(ord(start) for start in FORMULA_STARTS)


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

    query = _limited(_ordered(csv_sqlite.STORED_COLUMNS, conditions), limit)
    yield from csv_sqlite.iter_stored_chunks(session, query, chunk_rows)


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
        *(utc_text(column, dialect="postgresql") for column in repository.DATETIMES),
        _text(Incident.source),
        severity_name(),
        _text(Incident.failure_type),
        _text(Incident.outcome),
        *(
            _text(copy_neutralised(column))
            for column in repository.TEXT_BEFORE_CONFIDENCE
        ),
        confidence_text(),
        _text(copy_tag_text()),
        Incident.resolution_time_seconds,
        *(_text(copy_neutralised(column)) for column in repository.TEXT_AFTER_TAGS),
    )


def copy_neutralised(column: Any) -> ColumnElement[str]:
    """`repository.neutralised` by the first character's code point.

    `ascii()` returns an integer that six integer comparisons test, where
    `substr(...) IN (...)` builds a text value per cell and compares it as
    text: of the server's time per row, thirteen such cells were the most.
    """
    starts = func.ascii(column).in_(FORMULA_CODES)
    return case((starts, literal("'", String()) + column), else_=column)


def copy_tag_text() -> ColumnElement[str]:
    """`repository.tag_text` from the tags' JSON text where that text is plain.

    Expanding the array per row (`jsonb_array_elements_text` and `string_agg`)
    was the costliest cell of the COPY, about 11 us of server time per row.
    PostgreSQL prints a jsonb array of strings as `["a", "b"]`, so where the
    text holds no backslash (no escaped character) and nothing but `", "`
    separates the strings, the cell is the text between `["` and `"]` with each
    separator made a space. Any other array (escapes, numbers, nesting) takes
    the reference expression.
    """
    raw = cast(Incident.tags, Text())
    inner = func.substr(raw, 3, func.length(raw) - 4)
    joined = func.replace(inner, literal('", "', String()), literal(" ", String()))
    plain = and_(
        raw.like(literal('["%"]', String())),
        func.strpos(raw, literal("\\", String())) == 0,
        func.strpos(joined, literal('"', String())) == 0,
    )
    return case(
        (raw == literal("[]", String()), literal("", String())),
        (plain, _copy_tag_apostrophe(raw) + joined),
        else_=tag_text(dialect="postgresql"),
    )


def _copy_tag_apostrophe(raw: ColumnElement[str]) -> ColumnElement[str]:
    first = func.ascii(func.substr(raw, 3, 1)).in_(FORMULA_CODES)
    return case((first, literal("'", String())), else_=literal("", String()))


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
