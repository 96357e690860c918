"""Queries for incidents and their tag rows."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, delete, func, insert, select
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


def change_tag_rows(
    session: Session,
    team_id: int,
    added: list[tuple[int, str]],
    removed: list[tuple[int, str]],
) -> None:
    """Add and remove (incident id, tag) rows: `write_tag_rows` for many
    incidents at once, touching only the rows that change."""
    by_tag: dict[str, list[int]] = {}
    for incident_id, tag in removed:
        by_tag.setdefault(tag, []).append(incident_id)

    for tag, incident_ids in by_tag.items():
        session.execute(
            delete(IncidentTag).where(
                IncidentTag.tag == tag, IncidentTag.incident_id.in_(incident_ids)
            )
        )

    if added:
        # The table, not the entity: an executemany without ORM bookkeeping.
        session.execute(
            insert(cast(Table, IncidentTag.__table__)),
            [
                {"incident_id": incident_id, "tag": tag, "team_id": team_id}
                for incident_id, tag in added
            ],
        )


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
