"""Rules of a fix pull request: from an incident and a change to a pushed branch.

The steps, each reported as progress: resolve the repository, fetch the base
branch (depth 1), create or reuse `devflowfix/fix-<incident id>`, apply the
changes, commit, push, open or find the pull request, record it on the incident.
Cancellation is honoured between steps until the push; after it the work
finishes, so that a pushed branch always gets its pull request and record.

Running it again for the same incident is safe: the branch and the open pull
request are found and returned; a new commit is only made when the branch does
not hold the change yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx
import structlog
from pydantic import ValidationError
from sqlalchemy.orm import Session

from devflowfix.config import Settings
from devflowfix.errors import Conflict, NotFound, UpstreamFailed, ValidationFailed
from devflowfix.pullrequests import messages, repository
from devflowfix.pullrequests.git import (
    GitError,
    Identity,
    PatchDoesNotApply,
    RemoteRefs,
    Workspace,
)
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
    NO_CHANGES,
    FixChanges,
    FixTarget,
    PullRequestParameters,
    PullRequestResult,
    check_branch_name,
)

log = structlog.get_logger(__name__)

HTTP_TIMEOUT_SECONDS = 30.0
T = TypeVar("T")


class PullRequestCancelled(Exception):
    """The fix was cancelled before the push; the remote is untouched."""


@dataclass(frozen=True)
class JobHooks:
    """How the fix talks to its job: progress, cancellation and the database.

    `report` must not raise; `cancelled` is asked between steps until the push;
    `transaction` gives a write session that commits when its block ends.
    """

    report: Callable[[int, str], None]
    cancelled: Callable[[], bool]
    transaction: Callable[[], AbstractContextManager[Session]]


class BaseTree:
    """Read access to the base branch, for a proposer of changes."""

    def __init__(self, workspace: Workspace, commit: str) -> None:
        self._workspace = workspace
        self.commit = commit

    def read_file(self, path: str) -> str | None:
        return self._workspace.read_file(self.commit, path)

    def list_files(self) -> list[str]:
        return self._workspace.list_files(self.commit)


class ChangeProposer(Protocol):
    """A language-model provider that proposes the change for an incident.

    It answers like a request would: `{"patch": ...}` or `{"files": {...}}`, and
    the answer is validated like one.
    """

    def __call__(self, incident: FixTarget, base: BaseTree) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class FixBranch:
    base_branch: str
    base_commit: str
    branch: str
    commit: str
    changed_files: list[str]
    pushed: bool


def fix_branch_name(incident_id: str) -> str:
    """The branch a fix for the incident lives on: `devflowfix/fix-<incident id>`."""
    return f"devflowfix/fix-{incident_id}"


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
    _step(hooks, 5, "Resolving the repository")
    identity = Identity(settings.git_author_name, settings.git_author_email)
    incident_url = _incident_url(settings, incident.incident_id)

    with Workspace.create(
        remote, identity, timeout_seconds=settings.git_timeout_seconds, parent=work_root
    ) as workspace:
        fix = _push_fix_branch(
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


def _push_fix_branch(
    workspace: Workspace,
    incident: FixTarget,
    parameters: PullRequestParameters,
    hooks: JobHooks,
    propose: ChangeProposer | None,
    incident_url: str | None,
) -> FixBranch:
    branch = fix_branch_name(incident.incident_id)
    incident_branch = _branch_or_none(incident.branch)
    asked = [parameters.base_branch, incident_branch, branch]
    refs = _git(lambda: workspace.remote_refs([name for name in asked if name]))
    base = _choose_base(parameters.base_branch, incident_branch, refs, branch)

    _step(hooks, 10, f"Fetching {base}")
    reused = branch in refs.heads
    tips = _git(lambda: workspace.fetch([base, branch] if reused else [base]))
    start = tips[branch] if reused else tips[base]

    _step(hooks, 30, f"Reusing {branch}" if reused else f"Creating {branch}")
    workspace.load_tree(start)
    changes = _changes_for(
        parameters, incident, BaseTree(workspace, tips[base]), propose
    )

    _step(hooks, 45, "Applying the changes")
    _apply(workspace, changes, may_be_applied=reused)
    tree = workspace.index_tree()
    changed = tree != workspace.tree_of(start)
    if not changed and not reused:
        raise Conflict(f"The changes are already on {base}; there is nothing to fix.")

    _step(hooks, 60, "Committing the fix")
    title = parameters.title or messages.default_title(incident)
    message = messages.commit_message(incident, title, incident_url)
    commit = workspace.commit(tree, start, message) if changed else start

    # The last point where a cancel stops the job: after the push it finishes.
    _step(hooks, 70, f"Pushing {branch}")
    if changed:
        _git(lambda: workspace.push(commit, branch))
        log.info("pull_request.pushed", incident_id=incident.incident_id, commit=commit)
    changed_files = workspace.changed_paths(workspace.tree_of(tips[base]), tree)
    return FixBranch(base, tips[base], branch, commit, changed_files, pushed=changed)


def _choose_base(
    explicit: str | None, incident_branch: str | None, refs: RemoteRefs, branch: str
) -> str:
    if explicit is not None:
        if explicit not in refs.heads:
            raise ValidationFailed.for_field(
                "base_branch", f"the repository has no branch {explicit}"
            )
        base = explicit
    elif incident_branch is not None and incident_branch in refs.heads:
        base = incident_branch
    elif refs.default_branch is not None:
        base = refs.default_branch
    else:
        raise ValidationFailed.for_field(
            "base_branch",
            "the repository has no default branch (is it empty?); give base_branch",
        )
    if base == branch:
        raise ValidationFailed.for_field(
            "base_branch", f"the base branch cannot be the fix branch {branch}"
        )
    return base


def _changes_for(
    parameters: PullRequestParameters,
    incident: FixTarget,
    base: BaseTree,
    propose: ChangeProposer | None,
) -> FixChanges:
    if not parameters.is_empty:
        return parameters
    if propose is None:
        raise ValidationFailed.for_field(
            "patch", NO_CHANGES[0].upper() + NO_CHANGES[1:]
        )
    proposal = propose(incident, base)
    try:
        return FixChanges.model_validate(proposal)
    except ValidationError as exc:
        reasons = "; ".join(error["msg"] for error in exc.errors(include_input=False))
        raise ValidationFailed(
            f"The proposed changes cannot be used: {reasons}"
        ) from exc


def _apply(workspace: Workspace, changes: FixChanges, *, may_be_applied: bool) -> None:
    try:
        if changes.patch is not None:
            workspace.apply_patch(changes.patch, may_be_applied=may_be_applied)
        elif changes.files is not None:
            workspace.write_files(changes.files)
    except PatchDoesNotApply as exc:
        raise ValidationFailed.for_field("patch", str(exc).capitalize()) from exc
    except GitError as exc:
        raise ValidationFailed(f"The changes cannot be applied: {exc}") from exc


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
        message=_summary(fix, pull_request, created),
    )


def _summary(fix: FixBranch, pull_request: PullRequest | None, created: bool) -> str:
    pushed = (
        f"Pushed {fix.commit[:12]} to {fix.branch}."
        if fix.pushed
        else f"{fix.branch} already holds the change; nothing was pushed."
    )
    if pull_request is None:
        return f"{pushed} The remote has no pull-request API, so none was opened."
    if created:
        return f"{pushed} Opened pull request #{pull_request.number}."
    return f"{pushed} Pull request #{pull_request.number} was already open."


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


def _step(hooks: JobHooks, progress: int, step: str) -> None:
    if hooks.cancelled():
        raise PullRequestCancelled(f"Cancelled before: {step}.")
    hooks.report(progress, step)


def _git(action: Callable[[], T]) -> T:
    """Run a git step against the remote; its failure is the remote's, a 502."""
    try:
        return action()
    except GitError as exc:
        raise UpstreamFailed(str(exc)) from exc


def _branch_or_none(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return check_branch_name(name)
    except ValueError:
        return None


def _incident_url(settings: Settings, incident_id: str) -> str | None:
    if settings.public_base_url is None:
        return None
    return f"{settings.public_base_url}/api/v1/incidents/{incident_id}"
