"""Team integrations: per team and CI provider, the webhook secret, token and URL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from devflowfix.models.base import Base, BigIntPK, UTCDateTime, utcnow


class TeamIntegration(Base):
    """One provider's settings for one team; both secrets are stored encrypted."""

    __tablename__ = "team_integrations"
    __table_args__ = (UniqueConstraint("team_id", "provider"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    team_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("teams.id", ondelete="CASCADE")
    )
    provider: Mapped[str] = mapped_column(String(16))
    webhook_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    token_encrypted: Mapped[str | None] = mapped_column(Text)
    base_url: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )
