"""Job logs from the providers' APIs, for incidents that came by webhook.

- GitHub Actions: `GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs` (a
  redirect to the log file); a run without job ids lists its failed jobs first
  with `GET .../actions/runs/{run_id}/attempts/{attempt}/jobs`.
- GitLab CI: `GET /projects/{id}/jobs/{job_id}/trace` under `/api/v4`; a
  pipeline without job ids lists `GET .../pipelines/{id}/jobs?scope[]=failed`.
- Jenkins: `GET {base_url}/{build path}/consoleText` with basic auth.

The logs of several failed jobs are joined, each under a header line.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from devflowfix.integrations.retry import (
    FetchOptions,
    LogFetchError,
    Sleep,
    get_with_retries,
    new_client,
)
from devflowfix.vocabulary import Provider

# TODO: a run with more failed jobs contributes only its first five logs.
MAX_JOBS = 5
FAILED_CONCLUSIONS = frozenset({"failure", "timed_out", "startup_failure"})


@dataclass(frozen=True)
class LogTarget:
    """Where an incident's log lives and the credentials to read it."""

    provider: Provider
    api_url: str
    token: str
    details: dict[str, Any] = field(default_factory=dict)


def fetch_job_log(
    target: LogTarget,
    options: FetchOptions,
    *,
    client: httpx.Client | None = None,
    sleep: Sleep = time.sleep,
) -> str:
    """The failed jobs' log text; raises `LogFetchError` with the reason."""
    own_client = client is None
    http = client or new_client(options)

    try:
        fetch = {
            Provider.GITHUB: _github_log,
            Provider.GITLAB: _gitlab_log,
            Provider.JENKINS: _jenkins_log,
        }[target.provider]
        return fetch(http, target, options, sleep)
    finally:
        if own_client:
            http.close()


def _joined(parts: list[tuple[str, bytes]]) -> str:
    if len(parts) == 1:
        return parts[0][1].decode("utf-8", errors="replace")
    return "\n".join(
        f"===== {name} =====\n" + body.decode("utf-8", errors="replace")
        for name, body in parts
    )


def _json(body: bytes, label: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise LogFetchError(
            f"{label} answered with invalid JSON.", retryable=True
        ) from exc


def _github_log(
    http: httpx.Client, target: LogTarget, options: FetchOptions, sleep: Sleep
) -> str:
    headers = {
        "Authorization": f"Bearer {target.token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }

    repository = target.details["repository"]
    base = f"{target.api_url}/repos/{repository}/actions"
    job_ids = list(target.details.get("job_ids") or [])

    if not job_ids:
        run, attempt = target.details["run_id"], target.details.get("run_attempt", 1)
        body = get_with_retries(
            http,
            f"{base}/runs/{run}/attempts/{attempt}/jobs",
            options,
            label="GitHub",
            headers=headers,
            params={"per_page": 100},
            sleep=sleep,
        )
        jobs = _json(body, "GitHub").get("jobs", [])
        job_ids = [
            job["id"] for job in jobs if job.get("conclusion") in FAILED_CONCLUSIONS
        ]
        if not job_ids:
            raise LogFetchError(
                "GitHub lists no failed job for the run.", retryable=False
            )

    parts = [
        (
            f"job {job_id}",
            get_with_retries(
                http,
                f"{base}/jobs/{job_id}/logs",
                options,
                label="GitHub",
                headers=headers,
                sleep=sleep,
            ),
        )
        for job_id in job_ids[:MAX_JOBS]
    ]

    return _joined(parts)


def _gitlab_log(
    http: httpx.Client, target: LogTarget, options: FetchOptions, sleep: Sleep
) -> str:
    headers = {"PRIVATE-TOKEN": target.token}
    project = f"{target.api_url}/projects/{target.details['project_id']}"
    job_ids = list(target.details.get("job_ids") or [])

    if not job_ids:
        pipeline = target.details["pipeline_id"]
        body = get_with_retries(
            http,
            f"{project}/pipelines/{pipeline}/jobs",
            options,
            label="GitLab",
            headers=headers,
            params={"scope[]": "failed", "per_page": 100},
            sleep=sleep,
        )
        job_ids = [job["id"] for job in _json(body, "GitLab")]
        if not job_ids:
            raise LogFetchError(
                "GitLab lists no failed job for the pipeline.", retryable=False
            )

    parts = [
        (
            f"job {job_id}",
            get_with_retries(
                http,
                f"{project}/jobs/{job_id}/trace",
                options,
                label="GitLab",
                headers=headers,
                sleep=sleep,
            ),
        )
        for job_id in job_ids[:MAX_JOBS]
    ]

    return _joined(parts)


def _jenkins_log(
    http: httpx.Client, target: LogTarget, options: FetchOptions, sleep: Sleep
) -> str:
    user, _, api_token = target.token.partition(":")
    path = str(target.details["build_path"]).strip("/")
    body = get_with_retries(
        http,
        f"{target.api_url}/{path}/consoleText",
        options,
        label="Jenkins",
        auth=(user, api_token),
        sleep=sleep,
    )

    return body.decode("utf-8", errors="replace")
