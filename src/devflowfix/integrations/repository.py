"""Queries for team integrations."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from devflowfix.models import TeamIntegration


def find_integration(
    session: Session, team_id: int, provider: str
) -> TeamIntegration | None:
    return session.scalar(
        select(TeamIntegration).where(
            TeamIntegration.team_id == team_id, TeamIntegration.provider == provider
        )
    )


def find_team_integrations(session: Session, team_id: int) -> list[TeamIntegration]:
    return list(
        session.scalars(
            select(TeamIntegration)
            .where(TeamIntegration.team_id == team_id)
            .order_by(TeamIntegration.provider)
        )
    )


def find_all_integrations(session: Session) -> list[TeamIntegration]:
    return list(session.scalars(select(TeamIntegration).order_by(TeamIntegration.id)))


def add_integration(session: Session, integration: TeamIntegration) -> None:
    session.add(integration)
    session.flush()
