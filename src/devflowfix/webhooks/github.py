"""GitHub Actions `workflow_job` and `workflow_run` events.

A failure is a completed job or run whose conclusion is `failure`, `timed_out`
or `startup_failure`. Every job of one run attempt belongs to one incident:
its external id is the run id (with `/attempt-N` for re-runs).
"""

from __future__ import annotations

from typing import Any

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

FAILED = frozenset({"failure", "timed_out", "startup_failure"})
HINTS = {"timed_out": "timed_out", "startup_failure": "startup_failure"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Repository(_Model):
    full_name: str
    default_branch: str | None = None


class Step(_Model):
    name: str
    conclusion: str | None = None


class WorkflowJob(_Model):
    id: int
    run_id: int
    run_attempt: int = 1
    name: str
    workflow_name: str | None = None
    head_branch: str | None = None
    head_sha: str | None = None
    html_url: str | None = None
    conclusion: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    steps: list[Step] = []


class WorkflowRun(_Model):
    id: int
    run_attempt: int = 1
    name: str | None = None
    head_branch: str | None = None
    head_sha: str | None = None
    html_url: str | None = None
    conclusion: str | None = None
    updated_at: str | None = None


class WorkflowJobEvent(_Model):
    action: str
    workflow_job: WorkflowJob
    repository: Repository


class WorkflowRunEvent(_Model):
    action: str
    workflow_run: WorkflowRun
    repository: Repository


def read_event(event: str, payload: dict[str, Any]) -> FailureEvent | Ignored:
    """The failure in a GitHub delivery, or why it is ignored."""
    if event == "ping":
        return Ignored("ping")
    if event == "workflow_job":
        return _job_failure(WorkflowJobEvent.model_validate(payload))
    if event == "workflow_run":
        return _run_failure(WorkflowRunEvent.model_validate(payload))
    return Ignored(f"the {event} event is not handled")


def external_id(run_id: int, attempt: int) -> str:
    return str(run_id) if attempt <= 1 else f"{run_id}/attempt-{attempt}"


def _ignored(action: str, conclusion: str | None) -> Ignored | None:
    if action != "completed":
        return Ignored(f"action {action}")
    if conclusion not in FAILED:
        return Ignored(f"conclusion {conclusion}")
    return None


def _job_failure(event: WorkflowJobEvent) -> FailureEvent | Ignored:
    job = event.workflow_job
    ignored = _ignored(event.action, job.conclusion)
    if ignored is not None:
        return ignored

    conclusion = job.conclusion or "failure"
    failed_step = next(
        (step.name for step in job.steps if step.conclusion in FAILED), None
    )

    return FailureEvent(
        provider=Provider.GITHUB,
        external_id=external_id(job.run_id, job.run_attempt),
        conclusion=conclusion,
        happened_at=parse_time(job.completed_at) or parse_time(job.started_at) or now(),
        details=_details(event.repository, job.run_id, job.run_attempt, conclusion),
        repository=repository_or_none(event.repository.full_name),
        branch=text_or_none(job.head_branch),
        default_branch=event.repository.default_branch,
        commit_sha=commit_or_none(job.head_sha),
        workflow=text_or_none(job.workflow_name),
        job=text_or_none(job.name),
        run_url=url_or_none(job.html_url),
        failed_step=text_or_none(failed_step),
        job_ids=(job.id,),
    )


def _run_failure(event: WorkflowRunEvent) -> FailureEvent | Ignored:
    run = event.workflow_run
    ignored = _ignored(event.action, run.conclusion)
    if ignored is not None:
        return ignored

    conclusion = run.conclusion or "failure"
    return FailureEvent(
        provider=Provider.GITHUB,
        external_id=external_id(run.id, run.run_attempt),
        conclusion=conclusion,
        happened_at=parse_time(run.updated_at) or now(),
        details=_details(event.repository, run.id, run.run_attempt, conclusion),
        repository=repository_or_none(event.repository.full_name),
        branch=text_or_none(run.head_branch),
        default_branch=event.repository.default_branch,
        commit_sha=commit_or_none(run.head_sha),
        workflow=text_or_none(run.name),
        run_url=url_or_none(run.html_url),
    )


def _details(
    repository: Repository, run_id: int, attempt: int, conclusion: str
) -> dict[str, Any]:
    return {
        "provider": Provider.GITHUB.value,
        "repository": repository.full_name,
        "run_id": run_id,
        "run_attempt": attempt,
        "conclusion": conclusion,
        "hint": HINTS.get(conclusion),
    }
