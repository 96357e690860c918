"""GitLab CI `Pipeline Hook` and `Job Hook` events.

A failure is a pipeline with status `failed`, or a failed job that is not
allowed to fail. Every job of a pipeline belongs to one incident: its external
id is the pipeline id.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict

from devflowfix.vocabulary import Provider
from devflowfix.webhooks.events import (
    FailureEvent,
    Ignored,
    commit_or_none,
    now,
    parse_time,
    repository_or_none,
    text_or_none,
    url_or_none,
)

# GitLab's failure reasons that say the job did not fail on its own code.
HINTS = {
    "job_execution_timeout": "timed_out",
    "stuck_or_timeout_failure": "timed_out",
    "runner_system_failure": "runner_system_failure",
    "scheduler_failure": "runner_system_failure",
    "runner_unsupported": "runner_system_failure",
    "data_integrity_failure": "runner_system_failure",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Project(_Model):
    id: int
    path_with_namespace: str | None = None
    web_url: str | None = None
    default_branch: str | None = None


class PipelineAttributes(_Model):
    id: int
    ref: str | None = None
    tag: bool = False
    sha: str | None = None
    status: str
    name: str | None = None
    url: str | None = None
    finished_at: str | None = None
    created_at: str | None = None


class Build(_Model):
    id: int
    name: str
    status: str
    allow_failure: bool = False
    failure_reason: str | None = None


class PipelineEvent(_Model):
    object_kind: str
    object_attributes: PipelineAttributes
    project: Project
    builds: list[Build] = []


class JobRepository(_Model):
    homepage: str | None = None


class JobEvent(_Model):
    object_kind: str
    build_id: int
    build_name: str
    build_status: str
    build_allow_failure: bool = False
    build_failure_reason: str | None = None
    build_finished_at: str | None = None
    build_started_at: str | None = None
    pipeline_id: int
    project_id: int
    ref: str | None = None
    tag: bool = False
    sha: str | None = None
    project: Project | None = None
    repository: JobRepository | None = None


def read_event(event: str, payload: dict[str, Any]) -> FailureEvent | Ignored:
    """The failure in a GitLab delivery, or why it is ignored."""
    if event == "Pipeline Hook":
        return _pipeline_failure(PipelineEvent.model_validate(payload))
    if event == "Job Hook":
        return _job_failure(JobEvent.model_validate(payload))
    return Ignored(f"the {event or 'unnamed'} event is not handled")


def _pipeline_failure(event: PipelineEvent) -> FailureEvent | Ignored:
    pipeline = event.object_attributes
    if pipeline.status != "failed":
        return Ignored(f"status {pipeline.status}")

    failed = [b for b in event.builds if b.status == "failed" and not b.allow_failure]
    reason = next((b.failure_reason for b in failed if b.failure_reason), None)
    web_url = event.project.web_url

    return FailureEvent(
        provider=Provider.GITLAB,
        external_id=str(pipeline.id),
        conclusion=reason or "failed",
        happened_at=parse_time(pipeline.finished_at)
        or parse_time(pipeline.created_at)
        or now(),
        details=_details(event.project.id, pipeline.id, reason),
        repository=repository_or_none(event.project.path_with_namespace),
        branch=text_or_none(pipeline.ref),
        default_branch=event.project.default_branch,
        on_tag=pipeline.tag,
        commit_sha=commit_or_none(pipeline.sha),
        workflow=text_or_none(pipeline.name) or "pipeline",
        job=text_or_none(", ".join(build.name for build in failed)),
        run_url=url_or_none(pipeline.url)
        or url_or_none(f"{web_url}/-/pipelines/{pipeline.id}" if web_url else None),
        job_ids=tuple(build.id for build in failed),
    )


def _job_failure(event: JobEvent) -> FailureEvent | Ignored:
    if event.build_status != "failed":
        return Ignored(f"status {event.build_status}")
    if event.build_allow_failure:
        return Ignored("the job is allowed to fail")

    project = event.project
    web_url = project.web_url if project else None
    homepage = event.repository.homepage if event.repository else None
    path = project.path_with_namespace if project else None

    return FailureEvent(
        provider=Provider.GITLAB,
        external_id=str(event.pipeline_id),
        conclusion=event.build_failure_reason or "failed",
        happened_at=parse_time(event.build_finished_at)
        or parse_time(event.build_started_at)
        or now(),
        details=_details(
            event.project_id, event.pipeline_id, event.build_failure_reason
        ),
        repository=repository_or_none(path or _path_of(homepage)),
        branch=text_or_none(event.ref),
        default_branch=project.default_branch if project else None,
        on_tag=event.tag,
        commit_sha=commit_or_none(event.sha),
        workflow="pipeline",
        job=text_or_none(event.build_name),
        run_url=url_or_none(
            f"{web_url or homepage}/-/jobs/{event.build_id}"
            if web_url or homepage
            else None
        ),
        job_ids=(event.build_id,),
    )


def _path_of(homepage: str | None) -> str | None:
    if not homepage:
        return None
    return urlparse(homepage).path.strip("/") or None


def _details(project_id: int, pipeline_id: int, reason: str | None) -> dict[str, Any]:
    return {
        "provider": Provider.GITLAB.value,
        "project_id": project_id,
        "pipeline_id": pipeline_id,
        "conclusion": reason or "failed",
        "hint": HINTS.get(reason or ""),
    }
