"""Queries for incidents and their tag rows."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from devflowfix.models import Incident, IncidentTag


def find_incident(session: Session, team_id: int, public_id: str) -> Incident | None:
    """The team's incident with this public id; other teams' incidents are invisible."""
    return session.scalar(
        select(Incident).where(
            Incident.team_id == team_id, Incident.public_id == public_id
        )
    )


def find_incident_by_external_id(
    session: Session, team_id: int, source: str, external_id: str
) -> Incident | None:
    return session.scalar(
        select(Incident).where(
            Incident.team_id == team_id,
            Incident.source == source,
            Incident.external_id == external_id,
        )
    )


def add_incident(session: Session, incident: Incident) -> Incident:
    session.add(incident)
    session.flush()
    write_tag_rows(session, incident)
    return incident


def write_tag_rows(session: Session, incident: Incident) -> None:
    """Make the tag rows of `incident` equal its `tags` list."""
    session.execute(delete(IncidentTag).where(IncidentTag.incident_id == incident.id))
    if incident.tags:
        session.execute(
            insert(IncidentTag),
            [
                {"incident_id": incident.id, "tag": tag, "team_id": incident.team_id}
                for tag in incident.tags
            ],
        )


def replace_tag_rows(
    session: Session, team_id: int, tags_by_incident: dict[int, list[str]]
) -> None:
    """`write_tag_rows` for many incidents of a team at once, set-based."""
    if not tags_by_incident:
        return
    session.execute(
        delete(IncidentTag).where(IncidentTag.incident_id.in_(list(tags_by_incident)))
    )
    rows = [
        {"incident_id": incident_id, "tag": tag, "team_id": team_id}
        for incident_id, tags in tags_by_incident.items()
        for tag in tags
    ]
    if rows:
        session.execute(insert(IncidentTag), rows)


def remove_incident(session: Session, incident: Incident) -> None:
    session.delete(incident)
    session.flush()


def page_incidents(
    session: Session, team_id: int, *, offset: int, limit: int
) -> tuple[list[Incident], int]:
    """One page of the team's incidents, newest first, and the team's total."""
    rows = session.scalars(
        select(Incident)
        .where(Incident.team_id == team_id)
        .order_by(Incident.created_at.desc(), Incident.id.desc())
        .offset(offset)
        .limit(limit)
    )
    total = session.scalar(
        select(func.count()).select_from(Incident).where(Incident.team_id == team_id)
    )
    return list(rows), int(total or 0)
