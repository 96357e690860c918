"""Rules of the exports: which incidents, which path, and what the file says."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

import structlog
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from devflowfix.analytics.service import compute_analytics
from devflowfix.errors import ValidationFailed
from devflowfix.exports import repository
from devflowfix.exports.analytics_csv import analytics_csv
from devflowfix.exports.csv_writer import iter_incident_csv, write_incident_csv
from devflowfix.exports.files import ExportFile, analytics_filename, incidents_filename
from devflowfix.exports.pdf_analytics import write_analytics_pdf
from devflowfix.exports.pdf_incidents import IncidentReportContext, write_incident_pdf
from devflowfix.exports.progress import NO_CONTROL, ExportControl
from devflowfix.exports.schemas import (
    AnalyticsExportQuery,
    ExportFormat,
    IncidentExportQuery,
)
from devflowfix.models import Incident, User
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
    limit: int
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
    session: Session, user: User, query: IncidentExportQuery, *, now: datetime
) -> ExportFile:
    """The user's team's incidents as the file the query asks for."""
    export, count = plan_incident_export(session, user, query, now=now)
    if count > DIRECT_EXPORT_MAX:
        # TODO: hand exports of more than 100 incidents to an export_csv or
        # export_pdf job and answer 202; until those job types are registered
        # they are refused, and clients must lower `limit` or narrow the filters.
        raise ValidationFailed.for_field(
            "limit",
            f"{count} incidents match; at most {DIRECT_EXPORT_MAX} can be exported "
            "in the response, and larger exports need an export job, which this "
            f"server cannot run yet. Ask for limit={DIRECT_EXPORT_MAX} or narrow "
            "the filters.",
        )

    return export_incidents_directly(session, export)


def export_incidents_directly(session: Session, export: IncidentExport) -> ExportFile:
    """The file of a small export, read inside the request's transaction.

    The rows (at most `DIRECT_EXPORT_MAX`) are read before the endpoint returns,
    so the streamed CSV holds no database connection while the client reads.
    """
    filename = incidents_filename(export.output_format, export.as_of)
    media_type = export.output_format.media_type
    log.info("export.direct", output_format=export.output_format.value)
    if export.output_format is ExportFormat.CSV:
        conditions = export.conditions(_dialect(session))
        records = list(
            repository.iter_csv_records(session, conditions, limit=export.limit)
        )
        return ExportFile(filename, media_type, iter_incident_csv(records))

    out = io.BytesIO()
    write_incident_export(session, export, out)
    return ExportFile(filename, media_type, iter([out.getvalue()]))


def write_incident_export(
    session: Session,
    export: IncidentExport,
    out: BinaryIO,
    *,
    control: ExportControl = NO_CONTROL,
) -> int:
    """Stream an export of any size into `out`; returns the incidents written."""
    conditions = export.conditions(_dialect(session))
    total = repository.count_matching(session, conditions, cap=export.limit)
    if export.output_format is ExportFormat.CSV:
        records = repository.iter_csv_records(session, conditions, limit=export.limit)
        write_incident_csv(records, out, total=total, control=control)
        return total

    rows = repository.iter_incident_rows(session, conditions, limit=export.limit)
    matching = repository.count_matching(session, conditions, cap=None)
    context = _report_context(export, matching)
    write_incident_pdf(rows, out, context, total=total, control=control)
    return total


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
