"""The analytics figures as the API returns them."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class Period(BaseModel):
    """Whole UTC days: `start` is the first day's midnight, `end` the day after."""

    start: datetime
    end: datetime
    days: int


class Totals(BaseModel):
    incidents: int
    resolved: int = Field(description="Incidents of the period with `resolved_at`.")
    unresolved: int
    decided: int = Field(description="Incidents whose outcome is not `pending`.")
    succeeded: int = Field(description="Incidents whose outcome is `success`.")
    success_rate: float | None = Field(
        description="succeeded / decided x 100, two decimals; null with none decided."
    )


class ResolutionTimes(BaseModel):
    """Seconds from failure to resolution over the period's resolved incidents."""

    mean: float | None
    median: float | None
    p90: float | None


class DayCounts(BaseModel):
    day: date = Field(serialization_alias="date")
    incidents: int = Field(description="Incidents created on this UTC day.")
    resolved: int = Field(description="Incidents resolved on this UTC day.")


class RankedCount(BaseModel):
    name: str
    incidents: int


class Change(BaseModel):
    """One figure now and in the previous period of the same length."""

    current: int | float | None
    previous: int | float | None
    difference: int | float | None
    percent: float | None = Field(
        description="difference / previous x 100, one decimal; null from zero."
    )


class PeriodFigures(BaseModel):
    period: Period
    totals: Totals
    resolution_time_seconds: ResolutionTimes


class AnalyticsRead(BaseModel):
    """A team's incidents over the last `days` UTC days, today included."""

    success: bool = True
    team: str
    generated_at: datetime
    days: int
    period: Period
    totals: Totals
    resolution_time_seconds: ResolutionTimes
    by_source: dict[str, int]
    by_severity: dict[str, int]
    by_outcome: dict[str, int]
    by_failure_type: dict[str, int]
    daily: list[DayCounts]
    top_repositories: list[RankedCount]
    top_failure_types: list[RankedCount]
    previous: PeriodFigures
    change: dict[str, Change]
