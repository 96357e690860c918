"""Set-based analytics queries: one GROUP BY or aggregate per figure, both databases.

Every query selects the team's incidents created in `[start, end)`, except the
daily resolutions, which count incidents resolved in that range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from devflowfix.models import Incident
from devflowfix.vocabulary import Outcome


@dataclass(frozen=True)
class Window:
    team_id: int
    start: datetime
    end: datetime

    def created(self) -> list[ColumnElement[bool]]:
        """The incidents of the team created in the window."""
        return [
            Incident.team_id == self.team_id,
            Incident.created_at >= self.start,
            Incident.created_at < self.end,
        ]


@dataclass(frozen=True)
class TotalCounts:
    incidents: int
    resolved: int
    decided: int
    succeeded: int
    mean_resolution_seconds: float | None


def count_totals(session: Session, window: Window) -> TotalCounts:
    """Counts of all, resolved, decided and successful incidents, and the mean."""
    row = session.execute(
        select(
            func.count(),
            func.count(Incident.resolved_at),
            func.count().filter(Incident.outcome != Outcome.PENDING.value),
            func.count().filter(Incident.outcome == Outcome.SUCCESS.value),
            func.avg(Incident.resolution_time_seconds),
        ).where(*window.created())
    ).one()
    incidents, resolved, decided, succeeded, mean = row

    return TotalCounts(
        incidents=int(incidents),
        resolved=int(resolved),
        decided=int(decided),
        succeeded=int(succeeded),
        mean_resolution_seconds=None if mean is None else float(mean),
    )


def resolution_percentiles(
    session: Session, window: Window, shares: tuple[float, ...], *, dialect: str
) -> list[float | None]:
    """Continuous percentiles of the resolution time, as `percentile_cont` has them.

    PostgreSQL computes them itself. SQLite has no percentile function, so it
    ranks the values with window functions and interpolates between the two
    ranks around each share in the same query: the same definition, in SQL.
    """
    column = Incident.resolution_time_seconds
    resolved = [*window.created(), column.is_not(None)]
    if dialect == "postgresql":
        values = session.execute(
            select(
                *(func.percentile_cont(share).within_group(column) for share in shares)
            ).where(*resolved)
        ).one()
    else:
        values = session.execute(_interpolated_ranks(resolved, shares)).one()

    return [None if value is None else float(value) for value in values]


def _interpolated_ranks(
    conditions: list[ColumnElement[bool]], shares: tuple[float, ...]
) -> Any:
    column = Incident.resolution_time_seconds
    ranked = (
        select(
            column.label("value"),
            (func.row_number().over(order_by=column) - 1).label("rank"),
            func.count().over().label("total"),
        )
        .where(*conditions)
        .cte("ranked")
    )
    expressions = []

    for share in shares:
        position = literal(share) * (ranked.c.total - 1)
        lower = cast(position, Integer)
        weight = position - lower
        expressions.append(
            func.sum(
                case((ranked.c.rank == lower, ranked.c.value * (1 - weight)), else_=0)
                + case((ranked.c.rank == lower + 1, ranked.c.value * weight), else_=0)
            )
        )

    return select(*expressions).select_from(ranked)


def count_by(
    session: Session, window: Window, column: InstrumentedAttribute[Any]
) -> dict[str, int]:
    """Incidents per value of `column` (source, severity, outcome, failure type)."""
    rows = session.execute(
        select(column, func.count()).where(*window.created()).group_by(column)
    )
    return {str(getattr(value, "value", value)): int(count) for value, count in rows}


def top_repositories(
    session: Session, window: Window, limit: int
) -> list[tuple[str, int]]:
    """The repositories with the most incidents; ties in name order."""
    count = func.count().label("incidents")
    rows = session.execute(
        select(Incident.repository, count)
        .where(*window.created(), Incident.repository.is_not(None))
        .group_by(Incident.repository)
        .order_by(count.desc(), Incident.repository)
        .limit(limit)
    )

    return [(str(repository), int(total)) for repository, total in rows]


def count_per_day(
    session: Session,
    window: Window,
    column: InstrumentedAttribute[datetime | None],
    *,
    dialect: str,
) -> dict[date, int]:
    """Incidents per UTC day of `column` (created_at or resolved_at) in the window."""
    day = utc_day(column, dialect=dialect).label("day")
    rows = session.execute(
        select(day, func.count())
        .where(
            Incident.team_id == window.team_id,
            column >= window.start,
            column < window.end,
        )
        .group_by(day)
    )

    return {_as_date(value): int(count) for value, count in rows}


def utc_day(column: InstrumentedAttribute[Any], *, dialect: str) -> ColumnElement[Any]:
    """The UTC calendar day of a datetime column."""
    if dialect == "postgresql":
        return func.date(func.timezone("UTC", column))
    # SQLite stores UTC text, `YYYY-MM-DD HH:MM:SS.ffffff`; date() takes its day.
    return func.date(column)


def _as_date(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
