"""Rules of the analytics: the period, the definitions and the comparison."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy.orm import Session

from devflowfix.analytics import repository
from devflowfix.analytics.repository import Window
from devflowfix.analytics.schemas import (
    AnalyticsRead,
    Change,
    DayCounts,
    Period,
    PeriodFigures,
    RankedCount,
    ResolutionTimes,
    Totals,
)
from devflowfix.models import Incident, User
from devflowfix.vocabulary import FailureType, Outcome, Severity, Source

TOP_REPOSITORIES = 10
TOP_FAILURE_TYPES = 5
PERCENTILES = (0.5, 0.9)
Number = int | float


def analytics_period(days: int, now: datetime) -> Period:
    """The last `days` whole UTC days, today included."""
    first = datetime.combine(now.astimezone(UTC).date(), time(), UTC)
    start = first - timedelta(days=days - 1)
    return Period(start=start, end=start + timedelta(days=days), days=days)


def previous_period(period: Period) -> Period:
    """The period of the same length just before `period`."""
    length = timedelta(days=period.days)
    return Period(start=period.start - length, end=period.start, days=period.days)


def compute_analytics(
    session: Session, user: User, *, days: int, now: datetime
) -> AnalyticsRead:
    """The user's team's figures over the last `days` days, and their change."""
    dialect = session.get_bind().dialect.name
    period = analytics_period(days, now)
    window = Window(user.team_id, period.start, period.end)
    current = _period_figures(session, window, period, dialect=dialect)

    before = previous_period(period)
    previous = _period_figures(
        session, Window(user.team_id, before.start, before.end), before, dialect=dialect
    )

    by_failure_type = _counts(session, window, Incident.failure_type, FailureType)
    return AnalyticsRead(
        team=user.team.name,
        generated_at=now,
        days=days,
        period=period,
        totals=current.totals,
        resolution_time_seconds=current.resolution_time_seconds,
        by_source=_counts(session, window, Incident.source, Source),
        by_severity=_counts(session, window, Incident.severity, Severity),
        by_outcome=_counts(session, window, Incident.outcome, Outcome),
        by_failure_type=by_failure_type,
        daily=_daily(session, window, period, dialect=dialect),
        top_repositories=[
            RankedCount(name=name, incidents=count)
            for name, count in repository.top_repositories(
                session, window, TOP_REPOSITORIES
            )
        ],
        top_failure_types=_top(by_failure_type, TOP_FAILURE_TYPES),
        previous=previous,
        change=_changes(current, previous),
    )


def _period_figures(
    session: Session, window: Window, period: Period, *, dialect: str
) -> PeriodFigures:
    counts = repository.count_totals(session, window)
    median, p90 = repository.resolution_percentiles(
        session, window, PERCENTILES, dialect=dialect
    )

    totals = Totals(
        incidents=counts.incidents,
        resolved=counts.resolved,
        unresolved=counts.incidents - counts.resolved,
        decided=counts.decided,
        succeeded=counts.succeeded,
        success_rate=(
            round(counts.succeeded / counts.decided * 100, 2)
            if counts.decided
            else None
        ),
    )
    times = ResolutionTimes(
        mean=_round(counts.mean_resolution_seconds),
        median=_round(median),
        p90=_round(p90),
    )

    return PeriodFigures(period=period, totals=totals, resolution_time_seconds=times)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _counts(
    session: Session,
    window: Window,
    column: object,
    vocabulary: type[Source] | type[Severity] | type[Outcome] | type[FailureType],
) -> dict[str, int]:
    """Every value of the vocabulary in its own order, zero when it has none."""
    found = repository.count_by(session, window, column)  # type: ignore[arg-type]
    return {value.value: found.get(value.value, 0) for value in vocabulary}


def _top(counts: dict[str, int], limit: int) -> list[RankedCount]:
    ranked = sorted(
        ((name, count) for name, count in counts.items() if count),
        key=lambda item: (-item[1], item[0]),
    )
    return [RankedCount(name=name, incidents=count) for name, count in ranked[:limit]]


def _daily(
    session: Session, window: Window, period: Period, *, dialect: str
) -> list[DayCounts]:
    created = repository.count_per_day(
        session, window, Incident.created_at, dialect=dialect
    )
    resolved = repository.count_per_day(
        session, window, Incident.resolved_at, dialect=dialect
    )
    first = period.start.date()
    days = [first + timedelta(days=offset) for offset in range(period.days)]

    return [
        DayCounts(day=day, incidents=created.get(day, 0), resolved=resolved.get(day, 0))
        for day in days
    ]


def _changes(current: PeriodFigures, previous: PeriodFigures) -> dict[str, Change]:
    pairs: dict[str, tuple[Number | None, Number | None]] = {
        "incidents": (current.totals.incidents, previous.totals.incidents),
        "resolved": (current.totals.resolved, previous.totals.resolved),
        "unresolved": (current.totals.unresolved, previous.totals.unresolved),
        "success_rate": (current.totals.success_rate, previous.totals.success_rate),
    }

    for name in ("mean", "median", "p90"):
        pairs[f"resolution_{name}_seconds"] = (
            getattr(current.resolution_time_seconds, name),
            getattr(previous.resolution_time_seconds, name),
        )

    return {name: _change(now, before) for name, (now, before) in pairs.items()}


def _change(current: Number | None, previous: Number | None) -> Change:
    if current is None or previous is None:
        return Change(current=current, previous=previous, difference=None, percent=None)
    difference = current - previous
    if isinstance(difference, float):
        difference = round(difference, 2)
    percent = round(difference / previous * 100, 1) if previous else None
    return Change(
        current=current, previous=previous, difference=difference, percent=percent
    )
