"""The words of a fix: commit message, pull-request title and body.

All of them are generated from the incident and its analysis, and all of them
name the incident, so a reader of the repository can find where the fix came from.
"""

from __future__ import annotations

from collections.abc import Sequence

from devflowfix.pullrequests.schemas import FixTarget

SUBJECT_CHARS = 72
EXCERPT_CHARS = 2000
MAX_LISTED_FILES = 50


def default_title(incident: FixTarget) -> str:
    """A title such as `Fix dependency error: npm ERR! code ERESOLVE`."""
    kind = incident.failure_type.replace("_", " ")
    if kind == "unknown":
        kind = "CI failure"
    return _shorten(f"Fix {kind}: {_first_line(incident.error_message)}", 120)


def commit_message(incident: FixTarget, title: str, incident_url: str | None) -> str:
    """The commit message: a short subject, the analysis, and the incident trailer."""
    lines = [_shorten(title, SUBJECT_CHARS), ""]
    if incident.root_cause:
        lines += [f"Root cause: {_excerpt(incident.root_cause, 500)}", ""]
    if incident.suggested_fix:
        lines += [f"Suggested fix: {_excerpt(incident.suggested_fix, 500)}", ""]
    lines.append(f"DevFlowFix-Incident: {incident.incident_id}")
    if incident_url:
        lines.append(f"DevFlowFix-Incident-URL: {incident_url}")

    return "\n".join(lines) + "\n"


def default_body(
    incident: FixTarget,
    *,
    base_branch: str,
    changed_files: Sequence[str],
    incident_url: str | None,
) -> str:
    """A Markdown description of the failure, its analysis and the changed files."""
    reference = (
        f"[{incident.incident_id}]({incident_url})"
        if incident_url
        else f"`{incident.incident_id}`"
    )
    where = f" in `{incident.repository}`" if incident.repository else ""
    on = f" on `{incident.branch}`" if incident.branch else ""
    at = f" at `{incident.commit_sha[:12]}`" if incident.commit_sha else ""
    parts = [
        f"DevFlowFix opened this pull request for incident {reference}: a "
        f"{incident.failure_type.replace('_', ' ')} from {incident.source}"
        f"{where}{on}{at}. It targets `{base_branch}`.",
    ]

    if incident.run_url:
        parts.append(f"CI run: {incident.run_url}")
    parts.append("### Error\n\n" + _fenced(_excerpt(incident.error_message)))
    if incident.root_cause:
        parts.append("### Root cause\n\n" + _excerpt(incident.root_cause))
    if incident.suggested_fix:
        parts.append("### Suggested fix\n\n" + _excerpt(incident.suggested_fix))
    parts.append("### Changes\n\n" + _file_list(changed_files))

    return "\n\n".join(parts) + "\n"


def result_summary(
    *,
    branch: str,
    commit: str,
    pushed: bool,
    pull_request_number: int | None,
    created: bool,
) -> str:
    """One sentence or two on what a run did, for the job's result."""
    if pushed:
        done = f"Pushed {commit[:12]} to {branch}."
    else:
        done = f"{branch} already holds the change; nothing was pushed."

    if pull_request_number is None:
        return f"{done} The remote has no pull-request API, so none was opened."
    if created:
        return f"{done} Opened pull request #{pull_request_number}."

    return f"{done} Pull request #{pull_request_number} was already open."


def _file_list(paths: Sequence[str]) -> str:
    listed = [f"- `{path}`" for path in paths[:MAX_LISTED_FILES]]
    if len(paths) > MAX_LISTED_FILES:
        listed.append(f"- and {len(paths) - MAX_LISTED_FILES} more")
    return "\n".join(listed) or "- none"


def _fenced(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text}\n{fence}"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return "CI failure"


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."
