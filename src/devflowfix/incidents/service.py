"""Rules for incidents: defaults, derived fields, size caps and uniqueness."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.orm import Session

from devflowfix.errors import Conflict, NotFound, ValidationFailed
from devflowfix.incidents import repository
from devflowfix.incidents.schemas import IncidentCreate, IncidentUpdate
from devflowfix.models import Incident, User
from devflowfix.models.base import utcnow

if TYPE_CHECKING:
    from devflowfix.analysis.automatic import AutomaticAnalysis

log = structlog.get_logger(__name__)


def cap_log(text: str | None, max_bytes: int) -> str | None:
    """Keep the last `max_bytes` of a log: the reason a build failed is at its end."""
    if text is None:
        return None
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[-max_bytes:].decode("utf-8", errors="ignore")


def resolution_seconds(
    happened_at: datetime, resolved_at: datetime | None
) -> int | None:
    if resolved_at is None:
        return None
    if resolved_at < happened_at:
        raise ValidationFailed.for_field(
            "resolved_at", "resolved_at is before the incident's timestamp."
        )
    return int((resolved_at - happened_at).total_seconds())


def create_incident(
    session: Session,
    user: User,
    data: IncidentCreate,
    *,
    max_log_bytes: int,
    analysis: AutomaticAnalysis | None = None,
) -> Incident:
    """Store a new incident for the user's team and queue its analysis."""
    if data.external_id is not None:
        existing = repository.find_incident_by_external_id(
            session, user.team_id, data.source, data.external_id
        )
        if existing is not None:
            raise Conflict(
                f"Incident {existing.public_id} already has external_id "
                f"{data.external_id!r} for source {data.source}."
            )

    now = utcnow()
    happened_at = data.timestamp or now
    values = data.model_dump(exclude={"timestamp", "error_log"})
    incident = Incident(
        **values,
        team_id=user.team_id,
        created_by_id=user.id,
        timestamp=happened_at,
        created_at=now,
        updated_at=now,
        error_log=cap_log(data.error_log, max_log_bytes),
        resolution_time_seconds=resolution_seconds(happened_at, data.resolved_at),
    )

    repository.add_incident(session, incident)
    if analysis is not None:
        analysis.queue(session, incident)

    log.info("incident.created", incident_id=incident.public_id, source=data.source)
    return incident


def find_incident(session: Session, user: User, incident_id: str) -> Incident:
    """The incident with this id in the user's team, else `NotFound`."""
    incident = repository.find_incident(session, user.team_id, incident_id)
    if incident is None:
        raise NotFound(f"No incident {incident_id}.")
    return incident


def update_incident(
    session: Session,
    user: User,
    incident_id: str,
    data: IncidentUpdate,
    *,
    max_log_bytes: int,
) -> Incident:
    """Change the given fields of an incident; derived fields follow."""
    incident = find_incident(session, user, incident_id)
    changes = data.model_dump(exclude_unset=True)
    for field in ("source", "severity", "failure_type", "outcome", "error_message"):
        if field in changes and changes[field] is None:
            raise ValidationFailed.for_field(field, f"{field} cannot be null.")
    if "error_log" in changes:
        changes["error_log"] = cap_log(changes["error_log"], max_log_bytes)

    for field, value in changes.items():
        setattr(incident, field, value)
    incident.resolution_time_seconds = resolution_seconds(
        incident.timestamp, incident.resolved_at
    )
    incident.updated_at = utcnow()
    session.flush()
    if "tags" in changes:
        repository.write_tag_rows(session, incident)

    log.info("incident.updated", incident_id=incident.public_id, fields=sorted(changes))
    return incident


def delete_incident(session: Session, user: User, incident_id: str) -> None:
    """Delete an incident of the user's team."""
    incident = find_incident(session, user, incident_id)
    repository.remove_incident(session, incident)
    log.info("incident.deleted", incident_id=incident_id)


def page_incidents(
    session: Session, user: User, *, page: int, page_size: int
) -> tuple[list[Incident], int]:
    """One page of the user's team's incidents, newest first."""
    return repository.page_incidents(
        session, user.team_id, offset=(page - 1) * page_size, limit=page_size
    )
