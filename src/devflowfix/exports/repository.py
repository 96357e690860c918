"""Queries of the exports: how many incidents match, and the rows in batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.orm import Session

from devflowfix.models import Incident
from devflowfix.vocabulary import Severity

DEFAULT_BATCH_SIZE = 2000


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


# In the order of `IncidentRow`'s fields.
ROW_COLUMNS = (
    Incident.id,
    Incident.public_id,
    Incident.timestamp,
    Incident.created_at,
    Incident.updated_at,
    Incident.resolved_at,
    Incident.source,
    Incident.severity,
    Incident.failure_type,
    Incident.outcome,
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
    """The matching incidents, newest first, read in batches of `batch_size`.

    Keyset paging on (created_at, id): each batch is one short indexed query that
    starts where the last one ended, so memory holds one batch whatever the count
    and no cursor stays open between batches.
    """
    remaining = limit
    after: tuple[datetime, int] | None = None
    while remaining is None or remaining > 0:
        size = batch_size if remaining is None else min(batch_size, remaining)
        rows = _fetch_batch(session, conditions, after=after, size=size)
        yield from rows
        if len(rows) < size:
            return
        if remaining is not None:
            remaining -= len(rows)
        last = rows[-1]
        after = (last.created_at, last.id)


def _fetch_batch(
    session: Session,
    conditions: Sequence[ColumnElement[bool]],
    *,
    after: tuple[datetime, int] | None,
    size: int,
) -> list[IncidentRow]:
    query = select(*ROW_COLUMNS).where(*conditions)
    if after is not None:
        query = query.where(tuple_(Incident.created_at, Incident.id) < after)
    query = query.order_by(Incident.created_at.desc(), Incident.id.desc()).limit(size)
    return [IncidentRow._make(row) for row in session.execute(query)]
