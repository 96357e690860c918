"""Jenkins builds, as the Notification plugin posts them.

A failure is a completed build with status FAILURE or UNSTABLE (the plugin
sends COMPLETED and FINALIZED; both name the same build). The external id is
the job name and build number. The plugin can include the last lines of the
console log; they are kept as the incident's log excerpt.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from devflowfix.vocabulary import Provider
from devflowfix.webhooks.events import (
    FailureEvent,
    Ignored,
    commit_or_none,
    now,
    text_or_none,
    url_or_none,
)

FAILED = frozenset({"FAILURE", "UNSTABLE"})
DONE = frozenset({"COMPLETED", "FINALIZED"})
SCM_REPOSITORY = re.compile(r"[:/](?P<path>[\w.\-]+/[\w.\-]+?)(?:\.git)?/?$")
BRANCH_PREFIX = re.compile(r"^(?:origin/|refs/heads/)")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Scm(_Model):
    url: str | None = None
    branch: str | None = None
    commit: str | None = None


class Build(_Model):
    number: int
    phase: str
    status: str | None = None
    url: str
    full_url: str | None = None
    timestamp: int | None = None
    duration: int | None = None
    scm: Scm | None = None
    log: str | None = None


class Notification(_Model):
    name: str
    url: str
    build: Build


def read_event(payload: dict[str, Any]) -> FailureEvent | Ignored:
    """The failure in a Jenkins notification, or why it is ignored."""
    notification = Notification.model_validate(payload)
    build = notification.build

    if build.phase not in DONE:
        return Ignored(f"phase {build.phase}")
    if build.status not in FAILED:
        return Ignored(f"status {build.status}")

    scm = build.scm or Scm()
    return FailureEvent(
        provider=Provider.JENKINS,
        external_id=f"{notification.name}#{build.number}"[:255],
        conclusion=build.status or "FAILURE",
        happened_at=_finished_at(build),
        details={
            "provider": Provider.JENKINS.value,
            "job_name": notification.name,
            "build_number": build.number,
            "build_path": build.url,
            "conclusion": build.status,
            "hint": None,
        },
        repository=_repository(scm.url),
        branch=text_or_none(BRANCH_PREFIX.sub("", scm.branch or "")),
        commit_sha=commit_or_none(scm.commit),
        workflow=text_or_none(notification.name),
        run_url=url_or_none(build.full_url),
        log_excerpt=build.log or None,
    )


def _repository(url: str | None) -> str | None:
    match = SCM_REPOSITORY.search(url or "")
    return match.group("path") if match else None


def _finished_at(build: Build) -> datetime:
    if build.timestamp is None:
        return now()
    finished_ms = build.timestamp + (build.duration or 0)
    try:
        return datetime.fromtimestamp(finished_ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return now()
