"""Pull requests on GitHub and merge requests on GitLab, through their REST APIs.

Both are idempotent for a head branch: an open pull request for it is found and
returned instead of a second one. Rate limits (429, or 403 with `Retry-After` or
an exhausted `X-RateLimit-Remaining`) are waited out when the wait is within
`RetryPolicy.max_wait_seconds`; server errors and unreachable hosts are retried
too; either way at most `RetryPolicy.attempts` requests, then the provider's own
message is raised as `ProviderError`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx
import structlog

from devflowfix import __version__
from devflowfix.pullrequests.remotes import Provider, Remote, redact

log = structlog.get_logger(__name__)

GITHUB_API_VERSION = "2022-11-28"
USER_AGENT = f"DevFlowFix/{__version__}"
RETRIED_STATUSES = frozenset({500, 502, 503, 504})
# GitHub's advice for a secondary rate limit that names no time: wait a minute.
UNTIMED_LIMIT_SECONDS = 60.0
MAX_MESSAGE_CHARS = 500


class ProviderError(Exception):
    """The provider refused or failed; the message is the provider's own, redacted."""


@dataclass(frozen=True)
class PullRequest:
    url: str
    number: int


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; `sleep` and `clock` are seams for tests."""

    attempts: int = 3
    max_wait_seconds: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], float] = field(default=time.time)


class PullRequestApi(ABC):
    """One provider's pull requests for one project."""

    label: ClassVar[str]

    def __init__(self, remote: Remote, client: httpx.Client, policy: RetryPolicy):
        if remote.api_url is None or remote.project is None:
            raise ValueError("the remote has no pull-request API")
        self.api_url = remote.api_url.rstrip("/")
        self.project = remote.project
        self.client = client
        self.policy = policy
        self._token = remote.token or ""
        self._secrets = remote.secrets

    @abstractmethod
    def find_open_pull_request(self, branch: str) -> PullRequest | None:
        """The open pull request whose head is `branch`, if there is one."""

    @abstractmethod
    def open_pull_request(
        self, branch: str, base: str, title: str, body: str
    ) -> PullRequest | None:
        """Open a pull request; None when the provider says one already exists."""

    @abstractmethod
    def request_headers(self) -> dict[str, str]:
        """The request headers, with the token."""

    def call_api(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        accepted: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """One API call, retried per the policy; a ProviderError when it fails."""
        for attempt in range(1, self.policy.attempts + 1):
            last = attempt == self.policy.attempts
            try:
                response = self.client.request(
                    method,
                    self.api_url + path,
                    params=params,
                    json=body,
                    headers=self.request_headers(),
                )
            except httpx.TransportError as exc:
                if last:
                    raise self._unreachable(exc) from exc
                self._pause(method, path, None, float(2 ** (attempt - 1)))
                continue

            if response.is_success or response.status_code in accepted:
                return response

            wait = self._retry_wait(response, attempt)
            if wait is None or last:
                raise self._failure(method, path, response, attempted=attempt)
            self._pause(method, path, response.status_code, wait)

        raise AssertionError("the retry loop always returns or raises")

    def _pause(self, method: str, path: str, status: int | None, wait: float) -> None:
        log.warning(
            "provider.retry",
            provider=self.label,
            method=method,
            path=path,
            status=status,
            wait_seconds=round(wait, 3),
        )
        self.policy.sleep(wait)

    def _retry_wait(self, response: httpx.Response, attempt: int) -> float | None:
        wait = self._rate_limit_wait(response)
        if wait is None and response.status_code in RETRIED_STATUSES:
            wait = float(2 ** (attempt - 1))
        if wait is None or wait > self.policy.max_wait_seconds:
            return None
        return wait

    def _rate_limit_wait(self, response: httpx.Response) -> float | None:
        """Seconds until the limit resets, or None when this is no rate limit."""
        headers = response.headers
        remaining = headers.get(
            "x-ratelimit-remaining", headers.get("ratelimit-remaining")
        )
        limited = response.status_code == 429 or (
            response.status_code == 403
            and ("retry-after" in headers or remaining == "0")
        )
        if not limited:
            return None

        retry_after = _seconds_of_retry_after(
            headers.get("retry-after"), self.policy.clock()
        )
        if retry_after is not None:
            return retry_after

        reset = headers.get("x-ratelimit-reset", headers.get("ratelimit-reset"))
        if reset is not None and reset.isdigit():
            return max(0.0, int(reset) - self.policy.clock()) + 1.0

        return UNTIMED_LIMIT_SECONDS

    def _failure(
        self, method: str, path: str, response: httpx.Response, *, attempted: int
    ) -> ProviderError:
        message = self.provider_message(response)
        status = response.status_code
        prefix = f"{self.label} answered {status} to {method} {path}"

        wait = self._rate_limit_wait(response)
        if wait is not None and wait > self.policy.max_wait_seconds:
            return ProviderError(
                f"{prefix} (rate limited; it resets in {wait:.0f} s, longer than the "
                f"{self.policy.max_wait_seconds:g} s this service waits): {message}"
            )
        if wait is not None:
            return ProviderError(
                f"{prefix} (still rate limited after {attempted} attempts): {message}"
            )

        return ProviderError(f"{prefix}{_hint(self.label, status)}: {message}")

    def _unreachable(self, exc: httpx.TransportError) -> ProviderError:
        host = urlsplit(self.api_url).netloc
        return ProviderError(
            f"{self.label} at {host} could not be reached after "
            f"{self.policy.attempts} attempts ({type(exc).__name__})"
        )

    def provider_message(self, response: httpx.Response) -> str:
        """The provider's own explanation, redacted and cut to a readable length."""
        try:
            data = response.json()
        except ValueError:
            text = response.text.strip() or response.reason_phrase
        else:
            text = _flatten_message(data) or response.reason_phrase
        return redact(text, self._secrets)[:MAX_MESSAGE_CHARS]


class GitHubPullRequests(PullRequestApi):
    label = "GitHub"

    def request_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": GITHUB_API_VERSION,
            "User-Agent": USER_AGENT,
        }

    def find_open_pull_request(self, branch: str) -> PullRequest | None:
        owner = self.project.split("/", 1)[0]
        response = self.call_api(
            "GET",
            f"/repos/{self.project}/pulls",
            params={"head": f"{owner}:{branch}", "state": "open", "per_page": "10"},
        )

        pulls = response.json()
        if not isinstance(pulls, list) or not pulls:
            return None

        return PullRequest(url=pulls[0]["html_url"], number=int(pulls[0]["number"]))

    def open_pull_request(
        self, branch: str, base: str, title: str, body: str
    ) -> PullRequest | None:
        response = self.call_api(
            "POST",
            f"/repos/{self.project}/pulls",
            body={"title": title, "head": branch, "base": base, "body": body},
            accepted=frozenset({422}),
        )

        if response.status_code == 422:
            if "already exists" in self.provider_message(response):
                return None
            raise self._failure(
                "POST", f"/repos/{self.project}/pulls", response, attempted=1
            )

        data = response.json()
        return PullRequest(url=data["html_url"], number=int(data["number"]))


class GitLabMergeRequests(PullRequestApi):
    label = "GitLab"

    def request_headers(self) -> dict[str, str]:
        return {
            "PRIVATE-TOKEN": self._token,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }

    @property
    def _project_path(self) -> str:
        return f"/projects/{quote(self.project, safe='')}/merge_requests"

    def find_open_pull_request(self, branch: str) -> PullRequest | None:
        response = self.call_api(
            "GET",
            self._project_path,
            params={"source_branch": branch, "state": "opened", "per_page": "10"},
        )

        requests = response.json()
        if not isinstance(requests, list) or not requests:
            return None

        return PullRequest(url=requests[0]["web_url"], number=int(requests[0]["iid"]))

    def open_pull_request(
        self, branch: str, base: str, title: str, body: str
    ) -> PullRequest | None:
        response = self.call_api(
            "POST",
            self._project_path,
            body={
                "source_branch": branch,
                "target_branch": base,
                "title": title,
                "description": body,
            },
            accepted=frozenset({409}),
        )

        if response.status_code == 409:
            return None

        data = response.json()
        return PullRequest(url=data["web_url"], number=int(data["iid"]))


def api_for(
    remote: Remote, client: httpx.Client, policy: RetryPolicy
) -> PullRequestApi | None:
    """The pull-request API of the remote's provider; None for a plain git remote."""
    if remote.provider is Provider.GITHUB:
        return GitHubPullRequests(remote, client, policy)
    if remote.provider is Provider.GITLAB:
        return GitLabMergeRequests(remote, client, policy)
    return None


def ensure_pull_request(
    api: PullRequestApi, *, branch: str, base: str, title: str, body: str
) -> tuple[PullRequest, bool]:
    """The open pull request for `branch`, opened now when there was none.

    The flag says whether this call opened it.
    """
    # TODO: only open pull requests are found; after one was closed or merged a
    # rerun opens another (or fails with the provider's "no commits" message).
    existing = api.find_open_pull_request(branch)
    if existing is not None:
        return existing, False

    opened = api.open_pull_request(branch, base, title, body)
    if opened is not None:
        log.info("pull_request.opened", provider=api.label, url=opened.url)
        return opened, True

    # Another run opened it between our look-up and our request.
    existing = api.find_open_pull_request(branch)
    if existing is None:
        raise ProviderError(
            f"{api.label} says a pull request for {branch} exists but lists none open"
        )

    return existing, False


def _seconds_of_retry_after(value: str | None, now: float) -> float | None:
    # Retry-After is either a number of seconds or an HTTP date.
    if value is None:
        return None
    if value.strip().isdigit():
        return float(value.strip())

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None

    return max(0.0, moment.timestamp() - now)


def _flatten_message(data: Any) -> str:
    # GitHub: {"message", "errors": [{"message"} | {"code", "field"}]};
    # GitLab: {"message": str | list | {field: [str]}} or {"error": str}.
    if isinstance(data, str):
        return data
    if isinstance(data, list):
        return "; ".join(filter(None, (_flatten_message(item) for item in data)))
    if not isinstance(data, dict):
        return ""

    parts = [
        _flatten_message(data.get(key))
        for key in ("message", "error", "error_description")
        if data.get(key)
    ]
    for error in data.get("errors") or []:
        if isinstance(error, dict):
            parts.append(
                error.get("message") or " ".join(str(v) for v in error.values())
            )
        else:
            parts.append(str(error))

    if not parts and all(isinstance(value, list) for value in data.values()):
        parts = [f"{key} {_flatten_message(value)}" for key, value in data.items()]

    return "; ".join(part for part in parts if part)


def _hint(label: str, status: int) -> str:
    if status == 401:
        return f" (check the token in the team's {label} integration)"
    if status == 404:
        return " (no such repository, or the token cannot see it)"
    if status == 403:
        return " (the token lacks the permission)"
    return ""
