"""Queries for webhook deliveries and the incidents they made."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from devflowfix.models import Incident, WebhookDelivery


def find_delivered_incident(
    session: Session, team_id: int, provider: str, delivery_id: str
) -> Incident | None:
    """The incident an earlier delivery with this id made or matched."""
    return session.scalar(
        select(Incident)
        .join(WebhookDelivery, WebhookDelivery.incident_id == Incident.id)
        .where(
            WebhookDelivery.team_id == team_id,
            WebhookDelivery.provider == provider,
            WebhookDelivery.delivery_id == delivery_id,
        )
    )


# TODO: deliveries are kept until their incident is deleted; nothing prunes
# the table sooner.
def add_delivery(
    session: Session, team_id: int, provider: str, delivery_id: str, incident_id: int
) -> None:
    session.add(
        WebhookDelivery(
            team_id=team_id,
            provider=provider,
            delivery_id=delivery_id,
            incident_id=incident_id,
        )
    )
    session.flush()
