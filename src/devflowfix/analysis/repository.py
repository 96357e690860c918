"""Queries behind the analysis: candidates for similar incidents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, select
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


def find_incident_ids_to_analyse(
    session: Session,
    team_id: int,
    *,
    filters: IncidentFilters | None = None,
    now: datetime,
    after_id: int = 0,
    limit: int = 100,
) -> list[tuple[int, str]]:
    """The next batch of the team's incidents to analyse, in id order, as
    (id, public id): those never analysed, or with `filters` those matching
    them (analysed or not). `after_id` is the checkpoint of the last batch."""
    if filters is None:
        conditions = [Incident.team_id == team_id, Incident.analysed_at.is_(None)]
    else:
        dialect = session.get_bind().dialect.name
        conditions = filter_conditions(filters, team_id, now=now, dialect=dialect)

    rows = session.execute(
        select(Incident.id, Incident.public_id)
        .where(*conditions, Incident.id > after_id)
        .order_by(Incident.id)
        .limit(limit)
    )
    return [(row.id, row.public_id) for row in rows]
