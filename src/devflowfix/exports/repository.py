"""Queries of the exports: how many incidents match, and the rows in batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Text,
    case,
    cast,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import InstrumentedAttribute, Session

from devflowfix.exports.cells import FORMULA_STARTS, TAG_SEPARATOR
from devflowfix.models import Incident, Job
from devflowfix.vocabulary import JobStatus, Severity

DEFAULT_BATCH_SIZE = 2000
# The CSV's datetimes on SQLite: strftime's format for `2026-11-28T10:30:00Z`.
SQLITE_UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class IncidentRow(NamedTuple):
    """One incident as exported: every user-facing field, no log, no analysis."""

    id: int
    incident_id: str
    timestamp: datetime
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    source: str
    severity: Severity
    failure_type: str
    outcome: str
    repository: str | None
    branch: str | None
    commit_sha: str | None
    workflow: str | None
    job: str | None
    run_url: str | None
    external_id: str | None
    error_message: str
    root_cause: str | None
    suggested_fix: str | None
    confidence: float | None
    tags: list[str]
    resolution_time_seconds: int | None


# The CSV's datetimes, and its user text columns around confidence and tags.
DATETIMES = (
    Incident.timestamp,
    Incident.created_at,
    Incident.updated_at,
    Incident.resolved_at,
)
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
# In the order of `IncidentRow`'s fields.
ROW_COLUMNS = (
    Incident.id,
    Incident.public_id,
    *DATETIMES,
    Incident.source,
    Incident.severity,
    Incident.failure_type,
    Incident.outcome,
    *TEXT_BEFORE_CONFIDENCE,
    Incident.confidence,
    Incident.tags,
    Incident.resolution_time_seconds,
)


def count_matching(
    session: Session, conditions: Sequence[ColumnElement[bool]], *, cap: int | None
) -> int:
    """How many incidents match, counting no further than `cap` when it is given."""
    matching = select(Incident.id).where(*conditions)
    if cap is not None:
        matching = matching.limit(cap)
    total = session.scalar(select(func.count()).select_from(matching.subquery()))
    return int(total or 0)


def iter_incident_rows(
    session: Session,
    conditions: Sequence[ColumnElement[bool]],
    *,
    limit: int | None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[IncidentRow]:
    """The matching incidents, newest first, as typed rows (for the PDF report)."""
    for batch in _iter_batches(session, ROW_COLUMNS, conditions, limit, batch_size):
        for row in batch:
            yield IncidentRow._make(row)


def iter_csv_records(
    session: Session,
    conditions: Sequence[ColumnElement[bool]],
    *,
    limit: int | None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[Sequence[Any]]:
    """The matching incidents, newest first, each row the CSV's cells.

    The database prepares every cell, datetimes as text, severities by name and
    user text neutralised, so the writer hands its rows to the csv module as
    they come: building Python objects per value and text again from them would
    cost more than everything else an export does.
    """
    columns = csv_columns(session.get_bind().dialect.name)
    for batch in _iter_batches(session, columns, conditions, limit, batch_size):
        yield from batch


def csv_columns(dialect: str) -> tuple[Any, ...]:
    """The CSV's cells, in `csv_writer.INCIDENT_COLUMNS` order."""
    return (
        Incident.public_id,
        *(utc_text(column, dialect=dialect) for column in DATETIMES),
        Incident.source,
        severity_name(),
        Incident.failure_type,
        Incident.outcome,
        *(neutralised(column) for column in TEXT_BEFORE_CONFIDENCE),
        Incident.confidence,
        tag_text(dialect=dialect),
        Incident.resolution_time_seconds,
        *(neutralised(column) for column in TEXT_AFTER_TAGS),
    )


def neutralised(column: Any) -> ColumnElement[str]:
    """The text with an apostrophe in front when it starts a formula.

    The SQL twin of `cells.neutralise`, so that the database, not Python, looks
    at each cell; a test holds the two to the same answers.
    """
    starts = func.substr(column, 1, 1).in_(sorted(FORMULA_STARTS))
    return case((starts, literal("'", String()) + column), else_=column)


def severity_name() -> ColumnElement[str]:
    """The stored severity rank as its name."""
    return case(
        *((Incident.severity == severity, severity.value) for severity in Severity),
        else_=None,
    )


def tag_text(*, dialect: str) -> ColumnElement[str]:
    """The tags as one cell, separated by spaces, neutralised like other text."""
    if dialect == "postgresql":
        elements = (
            func.jsonb_array_elements_text(Incident.tags)
            .table_valued("value", with_ordinality="position")
            .render_derived()
        )
        joined = select(
            func.string_agg(
                elements.c.value,
                aggregate_order_by(literal(TAG_SEPARATOR), elements.c.position),
            )
        ).scalar_subquery()
        raw: ColumnElement[str] = cast(Incident.tags, Text())
    else:
        elements = func.json_each(Incident.tags).table_valued("value")
        joined = select(
            func.group_concat(elements.c.value, TAG_SEPARATOR)
        ).scalar_subquery()
        raw = type_coerce(Incident.tags, Text())
    return tag_apostrophe(raw) + func.coalesce(joined, literal("", String()))


def tag_apostrophe(raw: ColumnElement[str]) -> ColumnElement[str]:
    """An apostrophe when the tags, as JSON text `raw`, start a formula."""
    # JSON text of a list of strings starts `["`: its third character is the
    # first tag's, which decides the apostrophe without joining the tags twice.
    first = func.substr(raw, 3, 1).in_(sorted(FORMULA_STARTS))
    return case((first, literal("'", String())), else_=literal("", String()))


def utc_text(column: InstrumentedAttribute[Any], *, dialect: str) -> ColumnElement[str]:
    """A datetime column as ISO 8601 UTC text to the second: `2026-11-28T10:30:00Z`."""
    if dialect == "postgresql":
        return func.to_char(
            func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"Z"', type_=String()
        )
    # SQLite keeps UTC as `YYYY-MM-DD HH:MM:SS.ffffff` text, which strftime reads.
    return func.strftime(SQLITE_UTC_FORMAT, column, type_=String())


def _iter_batches(
    session: Session,
    columns: Sequence[Any],
    conditions: Sequence[ColumnElement[bool]],
    limit: int | None,
    batch_size: int,
) -> Iterator[Sequence[Any]]:
    """Rows of `columns`, newest first, in batches of `batch_size`.

    One query read through a cursor batch by batch (a named server-side cursor
    on PostgreSQL; SQLite steps its cursor as rows are fetched), so memory holds
    one batch whatever the export's size and the database scans the index once.
    Keyset paging was the alternative, but with a date filter the database has
    two upper bounds on `created_at` and SQLite may pick the filter's, which
    rescans the rows already exported for every batch.
    """
    query = (
        select(*columns)
        .where(*conditions)
        .order_by(Incident.created_at.desc(), Incident.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    streaming = session.connection().execution_options(yield_per=batch_size)
    yield from streaming.execute(query).partitions()


def driver_statement(
    session: Session, query: Select[Any]
) -> tuple[str, dict[str, Any] | list[Any]]:
    """`query` as the SQL and the parameters the driver itself would be given.

    For statements run on the driver's cursor: PostgreSQL's COPY, which takes
    no bound parameters (psycopg merges them into the text, quoted), and the
    SQLite export's raw read. Each value goes through its column type's
    conversion, as in an execute; a positional driver (SQLite's `?`) gets them
    as a list in the statement's order.
    """
    dialect = session.get_bind().dialect
    compiled = query.compile(dialect=dialect)
    state = compiled.construct_expanded_state()
    unescaped = {escaped: name for name, escaped in compiled.escaped_bind_names.items()}
    expanded_from = {
        expanded: name
        for name, expansion in state.parameter_expansion.items()
        for expanded in expansion
    }
    parameters: dict[str, Any] = {}

    for key, value in state.parameters.items():
        name = expanded_from.get(key, unescaped.get(key, key))
        bind_type = compiled.binds[unescaped.get(name, name)].type
        process = bind_type.dialect_impl(dialect).bind_processor(dialect)
        parameters[key] = value if process is None else process(value)
    if compiled.positional:
        return state.statement, [parameters[key] for key in state.positiontup or ()]

    return state.statement, parameters


def recent_export_runs(
    session: Session, job_type: str, *, count: int
) -> list[tuple[dict[str, Any] | None, datetime | None, datetime | None]]:
    """Result, start and end of the last completed jobs of `job_type`, any user's.

    Newest first by id, which walks the primary key backwards and stops after
    `count` matches however many jobs the table holds.
    """
    query = (
        select(Job.result, Job.started_at, Job.completed_at)
        .where(Job.job_type == job_type, Job.status == JobStatus.COMPLETED.value)
        .order_by(Job.id.desc())
        .limit(count)
    )
    return [tuple(row) for row in session.execute(query)]
