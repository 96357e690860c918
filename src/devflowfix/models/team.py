"""Teams: the unit of tenancy that owns incidents and integrations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from devflowfix.models.base import Base, BigIntPK, UTCDateTime, new_public_id, utcnow


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(24), unique=True, default=lambda: new_public_id("team")
    )
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
