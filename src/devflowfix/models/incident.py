"""Incidents: one CI/CD failure each, with its analysis, and their tags."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from devflowfix.models.base import (
    Base,
    BigIntPK,
    JSONType,
    SeverityType,
    UTCDateTime,
    new_public_id,
    utcnow,
)
from devflowfix.vocabulary import Severity

SEARCH_FILTER_COLUMNS = ("severity", "source", "outcome", "failure_type", "confidence")


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("team_id", "source", "external_id"),
        # Keyset paging and sorting: every sortable column with the id tie-breaker.
        # The creation order also carries the filter columns, so that search
        # checks filters inside the index instead of reading the wide rows.
        Index(
            "ix_incidents_search_created",
            "team_id",
            "created_at",
            "id",
            *SEARCH_FILTER_COLUMNS,
            "repository",
        ),
        Index("ix_incidents_team_updated", "team_id", "updated_at", "id"),
        Index("ix_incidents_team_severity", "team_id", "severity", "id"),
        Index("ix_incidents_team_confidence", "team_id", "confidence", "id"),
        Index(
            "ix_incidents_team_resolution", "team_id", "resolution_time_seconds", "id"
        ),
        # Filters and analytics breakdowns.
        Index("ix_incidents_team_source_created", "team_id", "source", "created_at"),
        Index("ix_incidents_team_outcome_created", "team_id", "outcome", "created_at"),
        Index(
            "ix_incidents_team_failure_created", "team_id", "failure_type", "created_at"
        ),
        Index("ix_incidents_team_repository", "team_id", "repository", "created_at"),
        # Full-text matches come back as ids; this looks each one up with its
        # filter and sort columns without touching the row.
        Index(
            "ix_incidents_search_id",
            "id",
            "team_id",
            "created_at",
            "updated_at",
            "resolution_time_seconds",
            *SEARCH_FILTER_COLUMNS,
            "repository",
        ),
        # Similar incidents: the same error signature within a team.
        Index("ix_incidents_team_signature", "team_id", "error_signature"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(24), unique=True, default=lambda: new_public_id("inc")
    )
    team_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("teams.id", ondelete="CASCADE")
    )
    source: Mapped[str] = mapped_column(String(32))
    severity: Mapped[Severity] = mapped_column(SeverityType())
    failure_type: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    repository: Mapped[str | None] = mapped_column(String(255))
    branch: Mapped[str | None] = mapped_column(String(255))
    commit_sha: Mapped[str | None] = mapped_column(String(64))
    workflow: Mapped[str | None] = mapped_column(String(255))
    job: Mapped[str | None] = mapped_column(String(255))
    run_url: Mapped[str | None] = mapped_column(String(2048))
    external_id: Mapped[str | None] = mapped_column(String(255))
    error_message: Mapped[str] = mapped_column(Text)
    error_log: Mapped[str | None] = mapped_column(Text)
    root_cause: Mapped[str | None] = mapped_column(Text)
    suggested_fix: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_time_seconds: Mapped[int | None] = mapped_column(Integer)
    analysed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    matched_rules: Mapped[list[str] | None] = mapped_column(JSONType)
    similar_incidents: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    # `awaiting_log` (from a webhook, the log is still at the provider),
    # `analysed`, or `log_unavailable` (fetching failed; `analysis_error` says why).
    analysis_status: Mapped[str | None] = mapped_column(String(16))
    analysis_error: Mapped[str | None] = mapped_column(Text)
    error_signature: Mapped[str | None] = mapped_column(String(255))
    # What a log fetch needs from the webhook: provider, run, job and build ids.
    provider_details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    # The fix pull request opened for the incident (see devflowfix.pullrequests);
    # the URL stays empty when the remote has no pull-request API.
    fix_pull_request_url: Mapped[str | None] = mapped_column(String(2048))
    fix_branch: Mapped[str | None] = mapped_column(String(255))
    fix_commit_sha: Mapped[str | None] = mapped_column(String(64))


class IncidentTag(Base):
    """One row per tag of an incident, so "has all these tags" is an index lookup.

    `incidents.tags` keeps the same list for reading; the incidents repository
    writes both together.
    """

    __tablename__ = "incident_tags"
    __table_args__ = (
        Index("ix_incident_tags_team_tag", "team_id", "tag", "incident_id"),
    )

    incident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[int] = mapped_column(BigInteger)
