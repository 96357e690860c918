"""The pr_creation job handler: a fix pull request for an incident.

At `POST /api/v1/jobs` the parameters are validated with this server's
`DEVFLOWFIX_ALLOW_LOCAL_REMOTES`, and the incident must be one of the team's.
The handler reads the incident and the team's GitHub and GitLab credentials in
a short read transaction and does the git and API work outside any
transaction, so SQLite's write lock is never held across the network.

Right before the push the job passes its commit point: until then a cancel
stops it and the remote stays untouched; from then on a cancel is refused and
the job finishes, so a pushed branch always gets its pull request and record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any

from devflowfix.config import Settings
from devflowfix.errors import AppError, ValidationFailed
from devflowfix.integrations.crypto import SecretBox
from devflowfix.integrations.service import pull_request_credentials
from devflowfix.jobs.context import JobCancelled, JobContext, JobFailed, JobStopped
from devflowfix.jobs.registry import JobType, register_job_type
from devflowfix.pullrequests.branches import JobHooks, PullRequestCancelled
from devflowfix.pullrequests.proposals import LanguageModelProposer
from devflowfix.pullrequests.remotes import Credentials, Provider, redact
from devflowfix.pullrequests.schemas import FixTarget, PullRequestParameters
from devflowfix.pullrequests.service import (
    check_fix_request,
    create_fix_pull_request,
    load_fix_target,
)


def validation_context(settings: Settings) -> dict[str, Any]:
    """How `PullRequestParameters` are validated on this server."""
    # Without a language model to propose them, the changes are required.
    return {
        "allow_local_remotes": settings.allow_local_remotes,
        "changes_optional": settings.llm_enabled,
    }


def create_pull_request(
    context: JobContext, parameters: PullRequestParameters
) -> dict[str, Any]:
    """Push the incident's fix branch, open or find its pull request, record both."""
    credentials: Mapping[Provider, Credentials] = {}
    proposer = (
        LanguageModelProposer.from_settings(context.settings)
        if parameters.is_empty
        else None
    )
    try:
        incident, credentials = _load_fix(context, parameters)
        return create_fix_pull_request(
            incident,
            parameters,
            credentials=credentials,
            settings=context.settings,
            hooks=_hooks(context),
            propose=proposer,
        )
    except PullRequestCancelled as exc:
        raise JobCancelled from exc
    except AppError as exc:
        secrets = [access.token for access in credentials.values() if access.token]
        raise JobFailed(redact(_reason(exc), secrets)) from exc
    finally:
        if proposer is not None:
            proposer.close()


def _load_fix(
    context: JobContext, parameters: PullRequestParameters
) -> tuple[FixTarget, dict[Provider, Credentials]]:
    # A read, closed before any git command runs.
    with context.read() as session:
        incident = load_fix_target(session, context.team_id, parameters.incident_id)
        credentials = pull_request_credentials(
            session, context.team_id, SecretBox.from_settings(context.settings)
        )
    return incident, credentials


def _hooks(context: JobContext) -> JobHooks:
    return JobHooks(
        report=_reporter(context),
        cancelled=context.cancelled,
        transaction=context.transaction,
        commit_point=context.commit_point,
    )


def _reporter(context: JobContext) -> Callable[[int, str], None]:
    def report(progress: int, step: str) -> None:
        # The fix asks `cancelled` between its steps itself, and after the push
        # nothing may stop it: a report that finds the job stopped says nothing.
        with suppress(JobStopped):
            context.report(progress, step)

    return report


def _reason(error: AppError) -> str:
    if error.message == ValidationFailed.default_message and error.errors:
        return "; ".join(str(item.get("msg", "")) for item in error.errors)
    return error.message


register_job_type(
    JobType(
        name="pr_creation",
        parameters=PullRequestParameters,
        handler=create_pull_request,
        validate=check_fix_request,
        validation_context=validation_context,
        description="Push a fix branch for an incident and open its pull request.",
    )
)
