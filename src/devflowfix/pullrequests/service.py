"""Rules of a fix pull request: from an incident and a change to an open PR.

The steps, each reported as progress: resolve the repository, fetch the base
branch (depth 1), create or reuse `devflowfix/fix-<incident id>`, apply the
changes, commit, push (those in `branches`), open or find the pull request,
record it on the incident. Cancellation is honoured between steps until the
push; after it the work finishes, so that a pushed branch always gets its pull
request and its record.

Running it again for the same incident is safe: the branch and the open pull
request are found and returned; a new commit is only made when the branch does
not hold the change yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import structlog
from pydantic import ValidationError
from sqlalchemy.orm import Session

from devflowfix.config import Settings
from devflowfix.errors import NotFound, UpstreamFailed, ValidationFailed
from devflowfix.models import User
from devflowfix.pullrequests import messages, repository
from devflowfix.pullrequests.branches import (
    ChangeProposer,
    FixBranch,
    JobHooks,
    push_fix_branch,
    report_step,
)
from devflowfix.pullrequests.git import Identity, Workspace
from devflowfix.pullrequests.providers import (
    ProviderError,
    PullRequest,
    RetryPolicy,
    api_for,
    ensure_pull_request,
)
from devflowfix.pullrequests.remotes import (
    Credentials,
    Provider,
    Remote,
    resolve_remote,
)
from devflowfix.pullrequests.schemas import (
    FixTarget,
    PullRequestParameters,
    PullRequestResult,
)

log = structlog.get_logger(__name__)

HTTP_TIMEOUT_SECONDS = 30.0


def validate_pull_request_parameters(
    raw: Mapping[str, Any], *, settings: Settings, can_propose: bool = False
) -> PullRequestParameters:
    """The job's parameters, or a 422 naming every field that is wrong."""
    context = {
        "allow_local_remotes": settings.allow_local_remotes,
        "changes_optional": can_propose,
    }
    try:
        return PullRequestParameters.model_validate(raw, context=context)
    except ValidationError as exc:
        errors = [
            {
                "loc": ["parameters", *error["loc"]],
                "msg": error["msg"],
                "type": error["type"],
            }
            for error in exc.errors(include_input=False, include_url=False)
        ]
        raise ValidationFailed(errors=errors) from exc


def check_fix_request(
    session: Session, user: User, parameters: PullRequestParameters
) -> None:
    """Refuse (422) an incident that is not the team's, or one with no repository."""
    incident = repository.find_incident(session, user.team_id, parameters.incident_id)
    if incident is None:
        raise _parameter_error(
            "incident_id", f"Your team has no incident {parameters.incident_id}."
        )
    if parameters.repository is None and not incident.repository:
        raise _parameter_error(
            "repository",
            f"Incident {parameters.incident_id} names no repository; give "
            "`repository`.",
        )


def _parameter_error(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        message,
        errors=[
            {
                "loc": ["body", "parameters", field],
                "msg": message,
                "type": "value_error",
            }
        ],
    )


def load_fix_target(session: Session, team_id: int, incident_id: str) -> FixTarget:
    """What the fix needs of the team's incident; `NotFound` for any other."""
    incident = repository.find_incident(session, team_id, incident_id)
    if incident is None:
        raise NotFound(f"No incident {incident_id}.")

    return FixTarget(
        incident_id=incident.public_id,
        team_id=incident.team_id,
        source=incident.source,
        failure_type=incident.failure_type,
        error_message=incident.error_message,
        repository=incident.repository,
        branch=incident.branch,
        commit_sha=incident.commit_sha,
        run_url=incident.run_url,
        root_cause=incident.root_cause,
        suggested_fix=incident.suggested_fix,
        error_log=incident.error_log,
    )


def create_fix_pull_request(
    incident: FixTarget,
    parameters: PullRequestParameters,
    *,
    credentials: Mapping[Provider, Credentials],
    settings: Settings,
    hooks: JobHooks,
    propose: ChangeProposer | None = None,
    http_client: httpx.Client | None = None,
    retry_policy: RetryPolicy | None = None,
    work_root: Path | None = None,
) -> dict[str, Any]:
    """Push the incident's fix branch, open or find its pull request, record both.

    Returns the job's result (`PullRequestResult` as JSON).
    """
    remote = _resolve_remote(incident, parameters, credentials, settings)
    report_step(hooks, 5, "Resolving the repository")
    incident_url = _incident_url(settings, incident.incident_id)

    with Workspace.create(
        remote,
        Identity(settings.git_author_name, settings.git_author_email),
        timeout_seconds=settings.git_timeout_seconds,
        parent=work_root,
    ) as workspace:
        fix = push_fix_branch(
            workspace, incident, parameters, hooks, propose, incident_url
        )

    hooks.report(85, "Opening the pull request")
    title = parameters.title or messages.default_title(incident)
    body = parameters.body or messages.default_body(
        incident,
        base_branch=fix.base_branch,
        changed_files=fix.changed_files,
        incident_url=incident_url,
    )
    policy = retry_policy or RetryPolicy(
        attempts=settings.provider_attempts,
        max_wait_seconds=settings.provider_max_wait_seconds,
    )
    opened = _open_pull_request(remote, fix, title, body, policy, http_client)

    hooks.report(95, "Recording the fix on the incident")
    result = _result_of(incident, parameters, remote, fix, opened)
    _record_fix(hooks, incident, result)

    log.info(
        "pull_request.completed",
        incident_id=incident.incident_id,
        branch=fix.branch,
        commit_sha=fix.commit,
        pushed=fix.pushed,
        pull_request_url=result.pull_request_url,
        created=result.pull_request_created,
    )
    return result.model_dump(mode="json")


def _resolve_remote(
    incident: FixTarget,
    parameters: PullRequestParameters,
    credentials: Mapping[Provider, Credentials],
    settings: Settings,
) -> Remote:
    repository_text = parameters.repository or incident.repository
    if not repository_text:
        raise ValidationFailed.for_field(
            "repository",
            f"incident {incident.incident_id} names no repository; give `repository`",
        )

    remote = resolve_remote(
        repository_text,
        source=incident.source,
        credentials=credentials,
        allow_local=settings.allow_local_remotes,
    )
    if remote.provider is not None and not remote.token:
        raise ValidationFailed.for_field(
            "repository",
            f"no {remote.provider.value} token is configured for the team; an admin "
            f"sets one with PUT /api/v1/integrations/{remote.provider.value}",
        )

    return remote


def _open_pull_request(
    remote: Remote,
    fix: FixBranch,
    title: str,
    body: str,
    policy: RetryPolicy,
    http_client: httpx.Client | None,
) -> tuple[PullRequest, bool] | None:
    client = http_client or httpx.Client(timeout=HTTP_TIMEOUT_SECONDS)
    try:
        api = api_for(remote, client, policy)
        if api is None:
            return None
        return ensure_pull_request(
            api, branch=fix.branch, base=fix.base_branch, title=title, body=body
        )
    except ProviderError as exc:
        raise UpstreamFailed(
            f"The branch {fix.branch} was pushed, but the pull request failed: {exc}"
        ) from exc
    finally:
        if http_client is None:
            client.close()


def _result_of(
    incident: FixTarget,
    parameters: PullRequestParameters,
    remote: Remote,
    fix: FixBranch,
    opened: tuple[PullRequest, bool] | None,
) -> PullRequestResult:
    pull_request, created = opened if opened is not None else (None, False)
    return PullRequestResult(
        incident_id=incident.incident_id,
        repository=parameters.repository or incident.repository or remote.url,
        remote=remote.url,
        provider=remote.provider.value if remote.provider else None,
        base_branch=fix.base_branch,
        base_commit_sha=fix.base_commit,
        branch=fix.branch,
        commit_sha=fix.commit,
        changed_files=fix.changed_files,
        pushed=fix.pushed,
        pull_request_url=pull_request.url if pull_request else None,
        pull_request_number=pull_request.number if pull_request else None,
        pull_request_created=created,
        message=messages.result_summary(
            branch=fix.branch,
            commit=fix.commit,
            pushed=fix.pushed,
            pull_request_number=pull_request.number if pull_request else None,
            created=created,
        ),
    )


def _record_fix(
    hooks: JobHooks, incident: FixTarget, result: PullRequestResult
) -> None:
    with hooks.transaction() as session:
        recorded = repository.record_fix(
            session,
            incident.team_id,
            incident.incident_id,
            pull_request_url=result.pull_request_url,
            branch=result.branch,
            commit_sha=result.commit_sha,
        )
    if not recorded:
        log.warning("pull_request.incident_gone", incident_id=incident.incident_id)


def _incident_url(settings: Settings, incident_id: str) -> str | None:
    if settings.public_base_url is None:
        return None
    return f"{settings.public_base_url}/api/v1/incidents/{incident_id}"
