"""Queries behind the analysis: candidates for similar incidents, and the
batches of incidents that analysis jobs take."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from devflowfix.analysis.similar import Candidate
from devflowfix.models import Incident
from devflowfix.search.repository import filter_conditions
from devflowfix.search.schemas import IncidentFilters

SAME_SIGNATURE_LIMIT = 20
SAME_TYPE_LIMIT = 200
TEXT_MATCH_LIMIT = 50


def find_similar_candidates(
    session: Session,
    incident: Incident,
    *,
    signature: str,
    failure_type: str,
    terms: str | None,
    now: datetime,
) -> list[Candidate]:
    """Past incidents of the same team that may be like `incident`: the same
    signature, recent ones of the same failure type, and text matches."""
    others = [Incident.team_id == incident.team_id, Incident.id != incident.id]
    rows = _rows(
        session,
        [*others, Incident.error_signature == signature],
        SAME_SIGNATURE_LIMIT,
    )

    rows += _rows(
        session,
        [
            *others,
            Incident.failure_type == failure_type,
            Incident.error_signature.is_not(None),
        ],
        SAME_TYPE_LIMIT,
    )

    if terms:
        filters = IncidentFilters(search_query=terms)
        conditions = filter_conditions(
            filters, incident.team_id, now=now, dialect=session.get_bind().dialect.name
        )
        rows += _rows(
            session, [*conditions, Incident.id != incident.id], TEXT_MATCH_LIMIT
        )

    return rows


def _rows(
    session: Session, conditions: list[ColumnElement[bool]], limit: int
) -> list[Candidate]:
    # Only the columns the comparison needs: logs stay in the database.
    rows = session.execute(
        select(
            Incident.public_id,
            Incident.error_signature,
            Incident.error_message,
            Incident.failure_type,
            Incident.resolved_at,
            Incident.suggested_fix,
        )
        .where(*conditions)
        .order_by(Incident.created_at.desc(), Incident.id.desc())
        .limit(limit)
    )

    return [
        Candidate(
            incident_id=row.public_id,
            signature=row.error_signature or f"manual: {row.error_message}",
            failure_type=row.failure_type,
            resolved=row.resolved_at is not None,
            suggested_fix=row.suggested_fix,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class AnalysisScope:
    """The incidents one analysis job takes, fixed when its first attempt began.

    `up_to_id` leaves out incidents created after that (automatic analysis
    queues jobs of their own for them); `now` resolves date presets the same
    way on every attempt. `analysed_before` None takes only incidents never
    analysed; a time takes those not analysed since then, so a re-analysis
    resumed by a retried attempt skips what an earlier attempt re-analysed.
    """

    team_id: int
    now: datetime
    dialect: str
    up_to_id: int
    incident_ids: Sequence[str] | None = None
    filters: IncidentFilters | None = None
    analysed_before: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions = [Incident.team_id == self.team_id, Incident.id <= self.up_to_id]
        if self.filters is not None:
            conditions += filter_conditions(
                self.filters, self.team_id, now=self.now, dialect=self.dialect
            )

        if self.analysed_before is None:
            conditions.append(Incident.analysed_at.is_(None))
        else:
            conditions.append(
                or_(
                    Incident.analysed_at.is_(None),
                    Incident.analysed_at < self.analysed_before,
                )
            )

        return conditions


@dataclass(frozen=True)
class AnalysisBatch:
    """The next incidents to analyse, as (id, public id), and where it ended.

    `cursor` is the last incident id taken, or with given ids how many of
    them (sorted) were gone through; `passed` is how many of the selection
    the batch went past, taken or not.
    """

    incidents: list[tuple[int, str]]
    cursor: int
    passed: int
    last: bool


def highest_incident_id(session: Session) -> int:
    return int(session.scalar(select(func.max(Incident.id))) or 0)


def count_incidents_to_analyse(session: Session, scope: AnalysisScope) -> int:
    """How many incidents the scope selects now; given ids count as given."""
    if scope.incident_ids is not None:
        return len(scope.incident_ids)
    total = session.scalar(
        select(func.count()).select_from(Incident).where(*scope.conditions())
    )
    return int(total or 0)


def find_incidents_to_analyse(
    session: Session, scope: AnalysisScope, *, cursor: int, limit: int
) -> AnalysisBatch:
    """The next batch of the scope's incidents after `cursor`, in id order."""
    ids = scope.incident_ids
    if ids is not None:
        chunk = ids[cursor : cursor + limit]
        rows = session.execute(
            select(Incident.id, Incident.public_id)
            .where(*scope.conditions(), Incident.public_id.in_(chunk))
            .order_by(Incident.id)
        )
        end = cursor + len(chunk)
        found = [(row.id, row.public_id) for row in rows]
        return AnalysisBatch(found, end, len(chunk), end >= len(ids))

    rows = session.execute(
        select(Incident.id, Incident.public_id)
        .where(*scope.conditions(), Incident.id > cursor)
        .order_by(Incident.id)
        .limit(limit)
    )
    found = [(row.id, row.public_id) for row in rows]
    end = found[-1][0] if found else cursor

    return AnalysisBatch(found, end, len(found), len(found) < limit)
