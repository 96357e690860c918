"""Rules of the exports: which incidents, which path, and what the file says."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

import structlog
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from devflowfix.analytics.service import compute_analytics
from devflowfix.config import Settings
from devflowfix.exports import csv_lines, repository
from devflowfix.exports.analytics_csv import analytics_csv
from devflowfix.exports.csv_writer import write_csv_chunks
from devflowfix.exports.estimates import describe_estimate, estimate_export_seconds
from devflowfix.exports.files import ExportFile, analytics_filename, incidents_filename
from devflowfix.exports.pdf_analytics import write_analytics_pdf
from devflowfix.exports.pdf_incidents import IncidentReportContext, write_incident_pdf
from devflowfix.exports.progress import NO_CONTROL, ExportControl
from devflowfix.exports.repository import IncidentRow
from devflowfix.exports.schemas import (
    AnalyticsExportQuery,
    CsvExportParameters,
    ExportFormat,
    ExportJobParameters,
    ExportType,
    IncidentExportQuery,
    PdfExportParameters,
)
from devflowfix.jobs.dispatch import JobDispatcher
from devflowfix.jobs.service import enqueue_job
from devflowfix.models import Incident, Job, User
from devflowfix.models.base import utcnow
from devflowfix.search.repository import filter_conditions
from devflowfix.search.schemas import IncidentFilters

log = structlog.get_logger(__name__)

# At most this many incidents come back in the response; more go to a job.
DIRECT_EXPORT_MAX = 100
FILTER_LABELS = {
    "search_query": "Search",
    "sources": "Source",
    "severities": "Severity",
    "outcomes": "Outcome",
    "failure_types": "Failure type",
    "tags": "Tags (all of)",
    "repository": "Repository",
    "min_confidence": "Confidence at least",
    "max_confidence": "Confidence at most",
    "date_preset": "Date preset",
    "start_date": "Created from",
    "end_date": "Created until",
    "timezone": "Timezone",
}


@dataclass(frozen=True)
class IncidentExport:
    """One export of a team's incidents, as the request or the job defines it."""

    team_id: int
    team_name: str
    filters: IncidentFilters
    # None exports every match (a CSV job may); the request's is 1-1000.
    limit: int | None
    output_format: ExportFormat
    as_of: datetime

    def conditions(self, dialect: str) -> list[ColumnElement[bool]]:
        """The filters, plus nothing created after the export was asked for.

        The bound makes a job that runs later export what the request saw,
        not incidents that arrived in between.
        """
        conditions = filter_conditions(
            self.filters, self.team_id, now=self.as_of, dialect=dialect
        )
        conditions.append(Incident.created_at <= self.as_of)

        return conditions


@dataclass(frozen=True)
class ExportWritten:
    """What an export wrote: its incidents and, for a PDF, its pages."""

    incidents: int
    pages: int | None = None


@dataclass(frozen=True)
class QueuedExport:
    """An export too large for the response, handed to a job."""

    job: Job
    incidents: int
    message: str
    estimated_time: str


def filters_of(filters: IncidentFilters | None) -> IncidentFilters:
    """The filters of an export; none selects every incident of the team."""
    return filters if filters is not None else IncidentFilters()


def incident_export_filename(export: IncidentExport) -> str:
    """The file name of an export, the same on the direct path and in a job."""
    return incidents_filename(export.output_format, export.as_of)


def plan_incident_export(
    session: Session, user: User, query: IncidentExportQuery, *, now: datetime
) -> tuple[IncidentExport, int]:
    """The export a request asks for and how many incidents it will hold."""
    export = IncidentExport(
        team_id=user.team_id,
        team_name=user.team.name,
        filters=query.filters(),
        limit=query.limit,
        output_format=query.output_format,
        as_of=now,
    )
    conditions = export.conditions(_dialect(session))
    count = repository.count_matching(session, conditions, cap=export.limit)

    return export, count


def export_incidents(
    session: Session,
    write_session: Session,
    user: User,
    query: IncidentExportQuery,
    *,
    now: datetime,
    dispatcher: JobDispatcher,
    settings: Settings,
) -> ExportFile | QueuedExport:
    """The file of the user's team's incidents, or the job that will write it.

    At most `DIRECT_EXPORT_MAX` incidents come back as the file; more queue an
    export job in `write_session`, which the caller commits with the request.
    Nothing else writes, so a direct export never takes SQLite's write lock.
    """
    export, count = plan_incident_export(session, user, query, now=now)
    if count <= DIRECT_EXPORT_MAX:
        return export_incidents_directly(session, export)

    parameters = export_job_parameters(export)
    job = enqueue_job(
        write_session,
        user,
        export_job_type(export.output_format),
        parameters,
        dispatcher=dispatcher,
        settings=settings,
    )
    seconds = estimate_export_seconds(session, job.job_type, count)
    log.info("export.queued", job_id=job.public_id, incidents=count)

    return QueuedExport(
        job=job,
        incidents=count,
        message=f"Export job created for {count} incidents",
        estimated_time=describe_estimate(seconds),
    )


def export_job_type(output_format: ExportFormat) -> str:
    """`export_csv` or `export_pdf`."""
    return f"export_{output_format.value}"


def export_job_parameters(export: IncidentExport) -> ExportJobParameters:
    """The job parameters that export what `export` selects."""
    model = (
        CsvExportParameters
        if export.output_format is ExportFormat.CSV
        else PdfExportParameters
    )
    return model.model_validate(
        {
            "export_type": ExportType.INCIDENTS,
            "format": export.output_format,
            "filters": export.filters.model_dump(exclude_unset=True),
            "limit": export.limit,
        }
    )


def check_export_parameters(
    session: Session, user: User, parameters: ExportJobParameters
) -> None:
    """Refuse filters that cannot run, such as an unusable search query (422)."""
    if parameters.export_type == ExportType.INCIDENTS:
        filter_conditions(
            filters_of(parameters.filters),
            user.team_id,
            now=utcnow(),
            dialect=_dialect(session),
        )


def export_incidents_directly(session: Session, export: IncidentExport) -> ExportFile:
    """The file of a small export, written inside the request's transaction.

    The file (at most `DIRECT_EXPORT_MAX` incidents) is complete before the
    endpoint returns, so no database connection is held while the client reads.
    """
    out = io.BytesIO()
    write_incident_export(session, export, out)
    log.info("export.direct", output_format=export.output_format.value)
    return ExportFile(
        incident_export_filename(export),
        export.output_format.media_type,
        iter([out.getvalue()]),
    )


def write_incident_export(
    session: Session,
    export: IncidentExport,
    out: BinaryIO,
    *,
    control: ExportControl = NO_CONTROL,
) -> ExportWritten:
    """Stream an export of any size into `out`: the same bytes on every path."""
    conditions = export.conditions(_dialect(session))
    total = repository.count_matching(session, conditions, cap=export.limit)
    if export.output_format is ExportFormat.CSV:
        # Closed at once when the writer stops early (a cancel): on PostgreSQL
        # that ends the COPY, which would otherwise hold the connection.
        with closing(
            csv_lines.iter_csv_chunks(session, conditions, limit=export.limit)
        ) as chunks:
            written = write_csv_chunks(chunks, out, total=total, control=control)
        return ExportWritten(incidents=written)

    rows = _Counted(
        repository.iter_incident_rows(session, conditions, limit=export.limit)
    )
    matching = repository.count_matching(session, conditions, cap=None)
    context = _report_context(export, matching)
    pages = write_incident_pdf(rows, out, context, total=total, control=control)

    return ExportWritten(incidents=rows.count, pages=pages)


class _Counted(Iterator[IncidentRow]):
    """Rows passed through, counted."""

    def __init__(self, rows: Iterator[IncidentRow]) -> None:
        self._rows = rows
        self.count = 0

    def __next__(self) -> IncidentRow:
        row = next(self._rows)
        self.count += 1
        return row


def _report_context(export: IncidentExport, matching: int) -> IncidentReportContext:
    return IncidentReportContext(
        team=export.team_name,
        generated_at=export.as_of,
        filters=describe_filters(export.filters, export.as_of),
        matching=matching,
        limit=export.limit,
    )


def describe_filters(filters: IncidentFilters, now: datetime) -> list[tuple[str, str]]:
    """The filters a client set, as labelled lines for a report."""
    lines = [
        (FILTER_LABELS.get(name, name), _describe_value(value))
        for name, value in filters.applied().items()
    ]
    window = filters.date_range(now)

    if window is not None and window.preset is not None:
        start = window.start.isoformat() if window.start else "the start"
        end = window.end.isoformat() if window.end else "now"
        lines.append(("Date range", f"{start} to {end} (end excluded)"))

    return lines


def _describe_value(value: Any) -> str:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ", ".join(str(item) for item in value)
    return str(value)


def export_analytics(
    session: Session, user: User, query: AnalyticsExportQuery, *, now: datetime
) -> ExportFile:
    """The team's analytics over the last `days` days as a CSV table or a PDF."""
    report = compute_analytics(session, user, days=query.days, now=now)
    filename = analytics_filename(query.output_format, query.days, now)
    media_type = query.output_format.media_type

    if query.output_format is ExportFormat.CSV:
        content = analytics_csv(report)
    else:
        out = io.BytesIO()
        write_analytics_pdf(report, out)
        content = out.getvalue()

    log.info(
        "export.analytics", output_format=query.output_format.value, days=query.days
    )
    return ExportFile(filename, media_type, iter([content]))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name
