"""Export request parameters and the answer of an export handed to a job."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from devflowfix.errors import ValidationFailed
from devflowfix.fields import Tags
from devflowfix.incidents.schemas import Repository
from devflowfix.search.dates import DatePreset
from devflowfix.search.schemas import IncidentFilters
from devflowfix.vocabulary import FailureType, Outcome, Severity, Source

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_8601(value: Any) -> Any:
    # Pydantic would read "-1945" as a Unix time; the parameter is ISO 8601.
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError(
            "give an ISO 8601 date or date-time, e.g. 2026-12-01T00:00:00Z"
        )
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_8601)]
MAX_EXPORT_LIMIT = 1000
DEFAULT_EXPORT_LIMIT = 100
# An export job has no limit of 1,000. A CSV streams, so any size fits; a PDF
# holds its incident table in memory until the layout is done.
MAX_JOB_CSV_INCIDENTS = 100_000_000
MAX_JOB_PDF_INCIDENTS = 10_000
DEFAULT_ANALYTICS_DAYS = 30
Unit = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class ExportFormat(StrEnum):
    CSV = "csv"
    PDF = "pdf"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self]


MEDIA_TYPES: dict[ExportFormat, str] = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.PDF: "application/pdf",
}

# Query parameter names of the export and the filter field each one sets.
FILTER_FIELDS: dict[str, str] = {
    "source": "sources",
    "severity": "severities",
    "outcome": "outcomes",
    "failure_type": "failure_types",
    "tags": "tags",
    "repository": "repository",
    "search_query": "search_query",
    "min_confidence": "min_confidence",
    "max_confidence": "max_confidence",
    "date_preset": "date_preset",
    "start_date": "start_date",
    "end_date": "end_date",
    "timezone": "timezone",
}


class IncidentExportQuery(BaseModel):
    """The query parameters of `GET /api/v1/incidents/export`.

    The spec's singular names (`source`, `severity`, `outcome`) may be repeated
    to take several values, like every other list filter of the search request.
    """

    model_config = ConfigDict(extra="forbid")

    output_format: ExportFormat = Field(
        alias="format", description="The file to produce: `csv` or `pdf`."
    )
    limit: int = Field(
        default=DEFAULT_EXPORT_LIMIT,
        ge=1,
        le=MAX_EXPORT_LIMIT,
        description="Most incidents to export, newest first.",
    )
    source: list[Source] | None = Field(default=None, description="Repeat for more.")
    severity: list[Severity] | None = Field(
        default=None, description="Repeat for more."
    )
    outcome: list[Outcome] | None = Field(default=None, description="Repeat for more.")
    failure_type: list[FailureType] | None = Field(
        default=None, description="Repeat for more."
    )
    tags: Tags | None = Field(
        default=None, description="Incidents that have all of these tags."
    )
    repository: Repository | None = None
    search_query: str | None = Field(
        default=None, max_length=10_000, description="The search's text query."
    )
    min_confidence: Unit | None = None
    max_confidence: Unit | None = None
    date_preset: DatePreset | None = None
    start_date: IsoDatetime | None = Field(
        default=None, description="ISO 8601; without an offset it is UTC."
    )
    end_date: IsoDatetime | None = Field(
        default=None, description="ISO 8601, inclusive; without an offset it is UTC."
    )
    timezone: str | None = Field(
        default=None, description="IANA timezone whose days the date presets count."
    )

    def filters(self) -> IncidentFilters:
        """The search filters these parameters set; bad combinations are a 422."""
        values = {
            field: getattr(self, name)
            for name, field in FILTER_FIELDS.items()
            if name in self.model_fields_set
        }
        try:
            return IncidentFilters.model_validate(values)
        except ValidationError as exc:
            raise _query_errors(exc) from exc


def _query_errors(exc: ValidationError) -> ValidationFailed:
    names = {field: name for name, field in FILTER_FIELDS.items()}
    errors: list[dict[str, Any]] = []
    for error in exc.errors():
        loc = [names.get(str(part), str(part)) for part in error["loc"]]
        errors.append(
            {"loc": ["query", *loc], "msg": error["msg"], "type": error["type"]}
        )
    message = errors[0]["msg"] if len(errors) == 1 else "Invalid request parameters"
    return ValidationFailed(message, errors=errors)


class AnalyticsExportQuery(BaseModel):
    """The query parameters of `GET /api/v1/analytics/export`."""

    model_config = ConfigDict(extra="forbid")

    output_format: ExportFormat = Field(
        alias="format", description="The file to produce: `csv` or `pdf`."
    )
    days: int = Field(
        default=30, ge=1, le=365, description="Days to analyse, ending today (UTC)."
    )


class ExportType(StrEnum):
    INCIDENTS = "incidents"
    ANALYTICS = "analytics"


class ExportJobParameters(BaseModel):
    """Parameters of the export_csv and export_pdf jobs.

    Incidents take the filters of the search request and a limit; analytics
    take days. The job type decides the format; `format`, when given, must be
    that one.
    """

    model_config = ConfigDict(extra="forbid", serialize_by_alias=True)
    export_format: ClassVar[ExportFormat]
    default_limit: ClassVar[int | None]

    export_type: ExportType = Field(
        default=ExportType.INCIDENTS, description="`incidents` or `analytics`."
    )
    filters: IncidentFilters | None = Field(
        default=None,
        description="Incidents only: the search request's filter fields; none or "
        "`{}` exports every incident of the team. Date presets count from the "
        "job's creation.",
    )
    limit: int | None = None
    days: int | None = Field(
        default=None,
        ge=1,
        le=365,
        description=f"Analytics only: days to analyse, ending on the job's day "
        f"(UTC); default {DEFAULT_ANALYTICS_DAYS}.",
    )

    @model_validator(mode="after")
    def _check_export_type(self) -> Self:
        given = self.model_fields_set
        if self.export_type == ExportType.ANALYTICS:
            misplaced = sorted(given & {"filters", "limit"})
            if misplaced:
                raise ValueError(
                    f"an analytics export takes days, not {', '.join(misplaced)}"
                )
        elif "days" in given:
            raise ValueError("days belongs to analytics exports, not to incidents")

        return self

    @property
    def incident_limit(self) -> int | None:
        """The most incidents to export; None exports every match."""
        return self.limit if self.limit is not None else self.default_limit

    @property
    def analytics_days(self) -> int:
        return self.days or DEFAULT_ANALYTICS_DAYS


class CsvExportParameters(ExportJobParameters):
    """An export_csv job: a CSV file of incidents or of analytics."""

    export_format = ExportFormat.CSV
    default_limit = None

    output_format: Literal["csv"] = Field(default="csv", alias="format")
    limit: int | None = Field(
        default=None,
        ge=1,
        le=MAX_JOB_CSV_INCIDENTS,
        description="Incidents only: most incidents to export, newest first; "
        "default every match.",
    )


class PdfExportParameters(ExportJobParameters):
    """An export_pdf job: the incident report or the analytics report."""

    export_format = ExportFormat.PDF
    default_limit = MAX_JOB_PDF_INCIDENTS

    output_format: Literal["pdf"] = Field(default="pdf", alias="format")
    limit: int | None = Field(
        default=None,
        ge=1,
        le=MAX_JOB_PDF_INCIDENTS,
        description=f"Incidents only: most incidents in the report, newest "
        f"first; default {MAX_JOB_PDF_INCIDENTS:,}.",
    )


class ExportJobCreated(BaseModel):
    """The answer when an export is too large to come back in the response."""

    success: bool = True
    message: str = Field(examples=["Export job created for 500 incidents"])
    job_id: str
    status_url: str
    estimated_time: str = Field(examples=["2-5 minutes"])
