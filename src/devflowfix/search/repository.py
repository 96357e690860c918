"""Query building for incident filters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, exists, select

from devflowfix.models import Incident, IncidentTag
from devflowfix.search.schemas import IncidentFilters
from devflowfix.search.text import text_condition
from devflowfix.vocabulary import Severity


def filter_conditions(
    filters: IncidentFilters, team_id: int, *, now: datetime, dialect: str
) -> list[ColumnElement[bool]]:
    """The WHERE conditions that select the team's incidents matching `filters`."""
    conditions: list[ColumnElement[bool]] = [Incident.team_id == team_id]
    if filters.sources:
        conditions.append(Incident.source.in_(filters.sources))
    if filters.severities:
        conditions.append(
            Incident.severity.in_([Severity(value) for value in filters.severities])
        )
    if filters.outcomes:
        conditions.append(Incident.outcome.in_(filters.outcomes))
    if filters.failure_types:
        conditions.append(Incident.failure_type.in_(filters.failure_types))
    if filters.repository:
        conditions.append(Incident.repository == filters.repository)
    if filters.min_confidence is not None:
        conditions.append(Incident.confidence >= filters.min_confidence)
    if filters.max_confidence is not None:
        conditions.append(Incident.confidence <= filters.max_confidence)
    for tag in filters.tags or ():
        conditions.append(_has_tag(tag, team_id))
    conditions.extend(_date_conditions(filters, now))
    if filters.search_query:
        conditions.append(text_condition(filters.search_query, dialect=dialect))
    return conditions


def _has_tag(tag: str, team_id: int) -> ColumnElement[bool]:
    return exists(
        select(IncidentTag.incident_id).where(
            IncidentTag.team_id == team_id,
            IncidentTag.tag == tag,
            IncidentTag.incident_id == Incident.id,
        )
    )


def _date_conditions(
    filters: IncidentFilters, now: datetime
) -> list[ColumnElement[bool]]:
    window = filters.date_range(now)
    if window is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if window.start is not None:
        conditions.append(Incident.created_at >= window.start)
    if window.end is not None:
        conditions.append(
            Incident.created_at <= window.end
            if window.end_inclusive
            else Incident.created_at < window.end
        )
    return conditions
