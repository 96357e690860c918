"""Webhook deliveries that made or matched an incident, so a replay is a no-op."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from devflowfix.models.base import Base, BigIntPK, UTCDateTime, utcnow


class WebhookDelivery(Base):
    """A provider's delivery id, remembered with the incident it led to."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("team_id", "provider", "delivery_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    team_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("teams.id", ondelete="CASCADE")
    )
    provider: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[str] = mapped_column(String(128))
    incident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
