"""Queries of the fix pull request: reading its incident and recording the fix."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from devflowfix.incidents.repository import find_incident
from devflowfix.models import Incident
from devflowfix.models.base import utcnow

__all__ = ["find_incident", "record_fix"]


def record_fix(
    session: Session,
    team_id: int,
    incident_id: str,
    *,
    pull_request_url: str | None,
    branch: str,
    commit_sha: str,
) -> bool:
    """Store the fix on the team's incident; False when the incident is gone."""
    result = session.execute(
        update(Incident)
        .where(Incident.team_id == team_id, Incident.public_id == incident_id)
        .values(
            fix_pull_request_url=pull_request_url,
            fix_branch=branch,
            fix_commit_sha=commit_sha,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)
