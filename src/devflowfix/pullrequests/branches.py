"""The fix branch: from the remote's base branch to a pushed commit with the change.

Cancellation is honoured before every step up to the push, through
`JobHooks.cancelled`; right before the push `JobHooks.commit_point` makes the
job uncancellable, and after it nothing stops the work any more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import structlog
from pydantic import ValidationError
from sqlalchemy.orm import Session

from devflowfix.errors import Conflict, UpstreamFailed, ValidationFailed
from devflowfix.pullrequests import messages
from devflowfix.pullrequests.git import (
    GitError,
    PatchDoesNotApply,
    RemoteRefs,
    Workspace,
)
from devflowfix.pullrequests.schemas import (
    NO_CHANGES,
    FixChanges,
    FixTarget,
    PullRequestParameters,
    check_branch_name,
)

log = structlog.get_logger(__name__)

T = TypeVar("T")


class PullRequestCancelled(Exception):
    """The fix was cancelled before the push; the remote is untouched."""


@dataclass(frozen=True)
class JobHooks:
    """How the fix talks to its job: progress, cancellation and the database.

    `report` must not raise; `cancelled` is asked between steps until the push;
    `transaction` gives a write session that commits when its block ends;
    `commit_point` is called right before the remote is changed and raises
    (the job's `JobCancelled`) when the job was cancelled before it.
    """

    report: Callable[[int, str], None]
    cancelled: Callable[[], bool]
    transaction: Callable[[], AbstractContextManager[Session]]
    commit_point: Callable[[], None] = field(default=lambda: None)


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
    """The fix branch as it is on the remote after the push (or without one)."""

    base_branch: str
    base_commit: str
    branch: str
    commit: str
    changed_files: list[str]
    pushed: bool


def fix_branch_name(incident_id: str) -> str:
    """The branch a fix for the incident lives on: `devflowfix/fix-<incident id>`."""
    return f"devflowfix/fix-{incident_id}"


@dataclass(frozen=True)
class StartPoint:
    """Where the fix commit goes: on the base branch, or on the existing fix branch."""

    base: str
    base_commit: str
    branch: str
    commit: str
    reused: bool


def push_fix_branch(
    workspace: Workspace,
    incident: FixTarget,
    parameters: PullRequestParameters,
    hooks: JobHooks,
    propose: ChangeProposer | None,
    incident_url: str | None,
) -> FixBranch:
    """Fetch the base, apply the changes, commit and push the fix branch."""
    # TODO: an existing fix branch is extended, never rebased onto a base that
    # moved on; its pull request then shows as out of date.
    start = _fetch_start(workspace, incident, parameters, hooks)

    verb = "Reusing" if start.reused else "Creating"
    report_step(hooks, 30, f"{verb} {start.branch}")
    workspace.load_tree(start.commit)
    base_tree = BaseTree(workspace, start.base_commit)
    changes = _changes_for(parameters, incident, base_tree, propose)

    report_step(hooks, 45, "Applying the changes")
    _apply(workspace, changes, may_be_applied=start.reused)
    tree = workspace.index_tree()
    changed = tree != workspace.tree_of(start.commit)
    if not changed and not start.reused:
        raise Conflict(
            f"The changes are already on {start.base}; there is nothing to fix."
        )

    report_step(hooks, 60, "Committing the fix")
    title = parameters.title or messages.default_title(incident)
    message = messages.commit_message(incident, title, incident_url)
    commit = workspace.commit(tree, start.commit, message) if changed else start.commit

    # The last point where a cancel stops the job: after the push it finishes.
    report_step(hooks, 70, f"Pushing {start.branch}")
    hooks.commit_point()
    if changed:
        _git(lambda: workspace.push(commit, start.branch))
        log.info("pull_request.pushed", incident_id=incident.incident_id, commit=commit)

    changed_files = workspace.changed_paths(workspace.tree_of(start.base_commit), tree)
    return FixBranch(
        start.base, start.base_commit, start.branch, commit, changed_files, changed
    )


def _fetch_start(
    workspace: Workspace,
    incident: FixTarget,
    parameters: PullRequestParameters,
    hooks: JobHooks,
) -> StartPoint:
    branch = fix_branch_name(incident.incident_id)
    incident_branch = _branch_or_none(incident.branch)
    asked = [name for name in (parameters.base_branch, incident_branch) if name]
    refs = _git(lambda: workspace.remote_refs([*asked, branch]))
    base = _choose_base(parameters.base_branch, incident_branch, refs, branch)

    report_step(hooks, 10, f"Fetching {base}")
    reused = branch in refs.heads
    tips = _git(lambda: workspace.fetch([base, branch] if reused else [base]))

    commit = tips[branch] if reused else tips[base]
    return StartPoint(base, tips[base], branch, commit, reused)


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
        raise ValidationFailed.for_field("patch", NO_CHANGES)

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
        raise ValidationFailed.for_field("patch", str(exc)) from exc
    except GitError as exc:
        raise ValidationFailed(f"The changes cannot be applied: {exc}") from exc


def report_step(hooks: JobHooks, progress: int, name: str) -> None:
    """Stop here if the job was cancelled, else report the step as progress."""
    if hooks.cancelled():
        raise PullRequestCancelled(f"Cancelled before: {name}.")
    hooks.report(progress, name)


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
