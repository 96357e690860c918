"""The incident filters that search, exports and bulk jobs share."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from devflowfix.fields import Tags, UTCDatetime
from devflowfix.incidents.schemas import Repository
from devflowfix.search.dates import DatePreset, DateRange, resolve_preset
from devflowfix.vocabulary import FailureType, Outcome, Severity, Source


def _known_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {value!r}; use an IANA name") from exc
    return value


Unit = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False, strict=True)]


class IncidentFilters(BaseModel):
    """Which incidents of the team to take; every given filter must hold."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    search_query: Annotated[str, Field(max_length=10_000)] | None = Field(
        default=None,
        description=(
            "Full text over error message, root cause, log, repository, workflow "
            'and tags. Words are ANDed; "quoted phrases", -exclusions, prefix*.'
        ),
    )
    sources: list[Source] | None = None
    severities: list[Severity] | None = None
    outcomes: list[Outcome] | None = None
    failure_types: list[FailureType] | None = None
    tags: Tags | None = Field(
        default=None, description="Incidents that have all of these tags."
    )
    repository: Repository | None = None
    min_confidence: Unit | None = None
    max_confidence: Unit | None = None
    date_preset: DatePreset | None = None
    start_date: UTCDatetime | None = None
    end_date: UTCDatetime | None = None
    timezone: Annotated[str, AfterValidator(_known_timezone)] | None = Field(
        default=None,
        description="IANA timezone whose days the date presets count; default UTC.",
    )

    @model_validator(mode="after")
    def _check_ranges(self) -> Self:
        if (
            self.min_confidence is not None
            and self.max_confidence is not None
            and self.min_confidence > self.max_confidence
        ):
            raise ValueError("min_confidence is above max_confidence")
        if self.date_preset and (self.start_date or self.end_date):
            raise ValueError("give date_preset or start_date/end_date, not both")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self

    def date_range(self, now: datetime) -> DateRange | None:
        """The creation-date range these filters select, resolved at `now`."""
        if self.date_preset:
            return resolve_preset(
                DatePreset(self.date_preset), now=now, timezone=self.timezone
            )
        if self.start_date or self.end_date:
            return DateRange(self.start_date, self.end_date, end_inclusive=True)
        return None

    def applied(self) -> dict[str, Any]:
        """Exactly the filters the client set, as JSON values."""
        return self.model_dump(mode="json", exclude_unset=True, exclude_none=True)
