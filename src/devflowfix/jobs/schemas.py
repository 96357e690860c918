"""Job request and response bodies, in the field names of the API contract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from devflowfix.jobs.registry import SPEC_JOB_TYPES
from devflowfix.models import Job
from devflowfix.vocabulary import JobStatus


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job_type: str = Field(
        max_length=64,
        description=f"One of {', '.join(SPEC_JOB_TYPES)}.",
        examples=["bulk_update"],
    )
    parameters: dict[str, Any] | None = Field(
        default=None,
        description="The job type's parameters; see the API documentation.",
        examples=[
            {
                "filters": {"severities": ["low"], "outcomes": ["pending"]},
                "changes": {"outcome": "success", "tags_add": ["triaged"]},
            }
        ],
    )


@dataclass(frozen=True)
class JobUrls:
    """Absolute URLs of jobs, under the absolute URL of `/api/v1/jobs`."""

    base: str

    def status_url(self, job: Job) -> str:
        return f"{self.base}/{job.public_id}"

    def result_url(self, job: Job) -> str | None:
        if job.status != JobStatus.COMPLETED or job.result_filename is None:
            return None
        return f"{self.base}/{job.public_id}/download"


class JobSummary(BaseModel):
    job_id: str
    job_type: str
    status: JobStatus
    progress: int = Field(ge=0, le=100)
    created_at: datetime
    completed_at: datetime | None
    status_url: str
    result_url: str | None

    @classmethod
    def of(cls, job: Job, urls: JobUrls) -> Self:
        return cls(
            job_id=job.public_id,
            job_type=job.job_type,
            status=JobStatus(job.status),
            progress=job.progress,
            created_at=job.created_at,
            completed_at=job.completed_at,
            status_url=urls.status_url(job),
            result_url=urls.result_url(job),
        )


class JobRead(JobSummary):
    current_step: str | None
    started_at: datetime | None
    estimated_completion: datetime | None
    result: dict[str, Any] | None
    error_message: str | None
    user_id: str
    parameters: dict[str, Any]

    @classmethod
    def of_owned(cls, job: Job, urls: JobUrls, owner_id: str) -> Self:
        summary = JobSummary.of(job, urls)
        return cls(
            **summary.model_dump(),
            current_step=job.current_step,
            started_at=job.started_at,
            estimated_completion=job.estimated_completion,
            result=job.result,
            error_message=job.error_message,
            user_id=owner_id,
            parameters=dict(job.parameters or {}),
        )


class JobPage(BaseModel):
    jobs: list[JobSummary]
    total: int
    page: int
    page_size: int


class ActiveJob(BaseModel):
    job_id: str
    job_type: str
    status: JobStatus
    progress: int
    current_step: str | None
    created_at: datetime
    started_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> Self:
        return cls(
            job_id=job.public_id,
            job_type=job.job_type,
            status=JobStatus(job.status),
            progress=job.progress,
            current_step=job.current_step,
            created_at=job.created_at,
            started_at=job.started_at,
        )


class ActiveJobs(BaseModel):
    success: bool = True
    count: int
    jobs: list[ActiveJob]


class JobStatistics(BaseModel):
    total_jobs: int
    by_status: dict[str, int] = Field(
        description="Every status, with 0 where the user has none."
    )
    by_type: dict[str, int] = Field(
        description="The job types the user has jobs of, most frequent first."
    )
    success_rate: float = Field(
        description="completed / (completed + failed) x 100, rounded to two "
        "places; 0 when no job has finished either way."
    )
    active_jobs: int = Field(description="queued + processing")


class JobStatisticsRead(BaseModel):
    success: bool = True
    statistics: JobStatistics
