"""The export_csv and export_pdf job handlers: exports of any size, as files.

An incident export is the one `GET /api/v1/incidents/export` would answer with
for the same filters, as of the job's creation: the same rows, the same file
name, the same bytes for a CSV. It is written straight from the database into
the job's result file, which becomes downloadable only once it is whole; a
cancelled or failed job leaves no file. Analytics exports are the files of
`GET /api/v1/analytics/export`.
"""

from __future__ import annotations

import math
from typing import Any

import structlog

from devflowfix.exports import service
from devflowfix.exports.progress import ExportControl, ExportStep
from devflowfix.exports.schemas import (
    AnalyticsExportQuery,
    CsvExportParameters,
    ExportFormat,
    ExportJobParameters,
    ExportType,
    PdfExportParameters,
)
from devflowfix.jobs.context import JobContext
from devflowfix.jobs.registry import JobType, register_job_type
from devflowfix.vocabulary import Role

log = structlog.get_logger(__name__)

# A PDF's progress: reading the rows and building the table is the first
# fifth of the work, laying out the pages the rest (bench/exports.py measures
# about ten incidents per page).
PDF_ROWS_SHARE = 20.0
INCIDENTS_PER_PAGE = 10


class ExportProgress:
    """Turns the writers' reports into the job's progress and current step."""

    def __init__(self, context: JobContext, output_format: ExportFormat) -> None:
        self.context = context
        self.output_format = output_format
        self.incidents = 0

    def control(self) -> ExportControl:
        # No separate cancellation check: `report` raises JobCancelled itself.
        return ExportControl(report=self.report)

    def report(self, step: ExportStep, done: int, total: int | None) -> None:
        """Record `done` of `total` rows written, or pages laid out."""
        if step is ExportStep.ROWS:
            self.incidents = total if total is not None else done
            self._report_rows(done, self.incidents)
        else:
            self._report_pages(done, total)

    def _report_rows(self, done: int, total: int) -> None:
        if self.output_format is ExportFormat.CSV:
            step = f"Wrote {done:,} of {total:,} incidents"
            self.context.report(done, step, total=total)
            return
        share = done / total if total else 1.0
        step = f"Read {done:,} of {total:,} incidents"
        self.context.report(PDF_ROWS_SHARE * share, step)

    def _report_pages(self, done: int, total: int | None) -> None:
        if total is not None:
            self.context.report(100, f"Rendered {total:,} pages")
            return
        # The page count is known only when the layout ends; until then it
        # is estimated from the incidents, and never shown as reached.
        expected = max(done + 1, math.ceil(self.incidents / INCIDENTS_PER_PAGE) + 1)
        share = min(done / expected, 0.99)
        step = f"Rendered page {done:,} of about {expected:,}"
        self.context.report(PDF_ROWS_SHARE + (100 - PDF_ROWS_SHARE) * share, step)


def export_csv(context: JobContext, parameters: CsvExportParameters) -> dict[str, Any]:
    """Write the CSV file of the selected incidents, or of the team's analytics."""
    return _run_export(context, parameters)


def export_pdf(context: JobContext, parameters: PdfExportParameters) -> dict[str, Any]:
    """Write the incident report or the analytics report as a PDF."""
    return _run_export(context, parameters)


def _run_export(context: JobContext, parameters: ExportJobParameters) -> dict[str, Any]:
    if parameters.export_type == ExportType.ANALYTICS:
        result = _export_analytics(context, parameters)
    else:
        result = _export_incidents(context, parameters)
    finished = context.result
    result["size_bytes"] = finished.size_bytes if finished is not None else 0
    log.info(
        "export.job_written",
        job_id=context.job_id,
        export_type=result["export_type"],
        output_format=result["format"],
        size_bytes=result["size_bytes"],
    )

    return result


def _export_incidents(
    context: JobContext, parameters: ExportJobParameters
) -> dict[str, Any]:
    output_format = parameters.export_format
    progress = ExportProgress(context, output_format)
    context.report(0, "Counting incidents")
    with context.read() as session:
        export = service.IncidentExport(
            team_id=context.team_id,
            team_name=context.load_user(session).team.name,
            filters=service.filters_of(parameters.filters),
            limit=parameters.incident_limit,
            output_format=output_format,
            as_of=context.created_at,
        )
        filename = service.incident_export_filename(export)
        with context.open_result(filename, output_format.media_type) as out:
            written = service.write_incident_export(
                session, export, out, control=progress.control()
            )

    result: dict[str, Any] = {
        "export_type": ExportType.INCIDENTS.value,
        "format": output_format.value,
        "incidents": written.incidents,
        "filename": filename,
    }
    if written.pages is not None:
        result["pages"] = written.pages

    return result


def _export_analytics(
    context: JobContext, parameters: ExportJobParameters
) -> dict[str, Any]:
    output_format = parameters.export_format
    days = parameters.analytics_days
    context.report(0, f"Computing {days} days of analytics")
    query = AnalyticsExportQuery.model_validate({"format": output_format, "days": days})
    with context.read() as session:
        export = service.export_analytics(
            session, context.load_user(session), query, now=context.created_at
        )

    with context.open_result(export.filename, export.media_type) as out:
        for chunk in export.chunks:
            out.write(chunk)

    context.report(100, f"Wrote {days} days of analytics")
    return {
        "export_type": ExportType.ANALYTICS.value,
        "format": output_format.value,
        "days": days,
        "filename": export.filename,
    }


register_job_type(
    JobType(
        name="export_csv",
        parameters=CsvExportParameters,
        handler=export_csv,
        role=Role.VIEWER,
        validate=service.check_export_parameters,
        description="Export incidents matching filters, or the analytics, as CSV.",
    )
)
register_job_type(
    JobType(
        name="export_pdf",
        parameters=PdfExportParameters,
        handler=export_pdf,
        role=Role.VIEWER,
        validate=service.check_export_parameters,
        description="Export incidents matching filters, or the analytics, as a PDF "
        "report.",
    )
)
