"""Incident request and response bodies, with the vocabularies enforced."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from devflowfix.fields import Tags, UTCDatetime, trimmed
from devflowfix.models import Incident
from devflowfix.vocabulary import FailureType, Outcome, Severity, Source

Repository = Annotated[
    str,
    StringConstraints(
        max_length=255,
        pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$",
    ),
    Field(
        description="`owner/name`; GitLab's nested groups are allowed.",
        examples=["acme/payments-api"],
    ),
]
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=255), AfterValidator(trimmed)
]
LongText = Annotated[str, Field(max_length=20_000)]
CommitSha = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{7,64}$")]
RunUrl = Annotated[str, Field(max_length=2048, pattern=r"^https?://[^\s]+$")]
Confidence = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False, strict=True)]


class IncidentFields(BaseModel):
    model_config = ConfigDict(
        extra="forbid", str_max_length=1_000_000, use_enum_values=True
    )

    repository: Repository | None = None
    branch: ShortText | None = None
    commit_sha: CommitSha | None = None
    workflow: ShortText | None = None
    job: ShortText | None = None
    run_url: RunUrl | None = None
    error_log: str | None = Field(
        default=None,
        description="The log excerpt; the service keeps its last part when too long.",
    )
    root_cause: LongText | None = None
    suggested_fix: LongText | None = None
    confidence: Confidence | None = None
    resolved_at: UTCDatetime | None = None


class IncidentCreate(IncidentFields):
    source: Source
    severity: Severity
    error_message: Annotated[str, Field(min_length=1, max_length=20_000)]
    failure_type: FailureType = FailureType.UNKNOWN
    outcome: Outcome = Outcome.PENDING
    external_id: ShortText | None = Field(
        default=None, description="The CI's run id; unique per team and source."
    )
    tags: Tags = Field(default_factory=list)
    timestamp: UTCDatetime | None = Field(
        default=None, description="When the failure happened; defaults to now."
    )


class IncidentUpdate(IncidentFields):
    """Fields to change; a field left out keeps its value, `null` clears it."""

    severity: Severity | None = None
    failure_type: FailureType | None = None
    outcome: Outcome | None = None
    error_message: Annotated[str, Field(min_length=1, max_length=20_000)] | None = None
    tags: Tags | None = None


class AnalysisRead(BaseModel):
    analysed_at: datetime | None
    matched_rules: list[str]
    similar_incidents: list[dict[str, Any]]
    status: str | None = Field(
        default=None,
        description=(
            "`awaiting_log` (from a webhook, the log is still at the provider), "
            "`analysed`, or `log_unavailable` (the fetch failed; see `error`)."
        ),
    )
    error: str | None = Field(
        default=None, description="Why the log could not be fetched."
    )


class FixRead(BaseModel):
    """The fix pull request opened for the incident, if any."""

    pull_request_url: str | None
    branch: str | None
    commit_sha: str | None


class IncidentRead(BaseModel):
    incident_id: str
    timestamp: datetime
    source: Source
    severity: Severity
    failure_type: FailureType
    error_message: str
    root_cause: str | None
    confidence: float | None
    outcome: Outcome
    created_at: datetime
    resolved_at: datetime | None
    resolution_time_seconds: int | None
    updated_at: datetime
    repository: str | None
    branch: str | None
    commit_sha: str | None
    workflow: str | None
    job: str | None
    run_url: str | None
    external_id: str | None
    suggested_fix: str | None
    tags: list[str]
    analysis: AnalysisRead
    fix: FixRead

    @classmethod
    def of(cls, incident: Incident) -> Self:
        return cls.model_validate(_incident_values(incident))


class IncidentDetail(IncidentRead):
    error_log: str | None

    @classmethod
    def of(cls, incident: Incident) -> Self:
        return cls.model_validate(
            {**_incident_values(incident), "error_log": incident.error_log}
        )


def _incident_values(incident: Incident) -> dict[str, Any]:
    # Never the log: lists and search results leave it unloaded (it is large).
    return {
        "incident_id": incident.public_id,
        "timestamp": incident.timestamp,
        "source": incident.source,
        "severity": incident.severity,
        "failure_type": incident.failure_type,
        "error_message": incident.error_message,
        "root_cause": incident.root_cause,
        "confidence": incident.confidence,
        "outcome": incident.outcome,
        "created_at": incident.created_at,
        "resolved_at": incident.resolved_at,
        "resolution_time_seconds": incident.resolution_time_seconds,
        "updated_at": incident.updated_at,
        "repository": incident.repository,
        "branch": incident.branch,
        "commit_sha": incident.commit_sha,
        "workflow": incident.workflow,
        "job": incident.job,
        "run_url": incident.run_url,
        "external_id": incident.external_id,
        "suggested_fix": incident.suggested_fix,
        "tags": list(incident.tags or ()),
        "analysis": {
            "analysed_at": incident.analysed_at,
            "matched_rules": list(incident.matched_rules or ()),
            "similar_incidents": list(incident.similar_incidents or ()),
            "status": incident.analysis_status,
            "error": incident.analysis_error,
        },
        "fix": {
            "pull_request_url": incident.fix_pull_request_url,
            "branch": incident.fix_branch,
            "commit_sha": incident.fix_commit_sha,
        },
    }


class IncidentPage(BaseModel):
    incidents: list[IncidentRead]
    total: int
    page: int
    page_size: int
