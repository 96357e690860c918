"""GitHub and GitLab APIs against a local stand-in: requests, idempotency, limits."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from devflowfix import __version__
from devflowfix.pullrequests.providers import (
    GitHubPullRequests,
    GitLabMergeRequests,
    ProviderError,
    PullRequest,
    RetryPolicy,
    ensure_pull_request,
)
from devflowfix.pullrequests.remotes import Provider, Remote
from factories import git
from forge import FORGE_TOKEN, Answer, FakeForge, PullRecord

BRANCH = "devflowfix/fix-inc_0123456789ab"
NOW = 1_800_000_000.0


class Sleeps(list[float]):
    """Records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http:
        yield http


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def policy(sleeps: Sleeps) -> RetryPolicy:
    return RetryPolicy(attempts=3, max_wait_seconds=60, sleep=sleeps, clock=lambda: NOW)


def pushed(forge: FakeForge, project: str) -> None:
    git(forge.root / f"{project}.git", "branch", BRANCH, "main")


def github(
    forge: FakeForge,
    client: httpx.Client,
    policy: RetryPolicy,
    *,
    token: str = FORGE_TOKEN,
    api_url: str | None = None,
) -> GitHubPullRequests:
    remote = Remote(
        url=f"{forge.url}/acme/web-app.git",
        provider=Provider.GITHUB,
        project="acme/web-app",
        api_url=api_url or f"{forge.url}/api/v3",
        token=token,
    )
    return GitHubPullRequests(remote, client, policy)


def gitlab(
    forge: FakeForge, client: httpx.Client, policy: RetryPolicy
) -> GitLabMergeRequests:
    remote = Remote(
        url=f"{forge.url}/acme/tools/cli.git",
        provider=Provider.GITLAB,
        project="acme/tools/cli",
        api_url=f"{forge.url}/api/v4",
        token=FORGE_TOKEN,
    )
    return GitLabMergeRequests(remote, client, policy)


def open_fix(api: GitHubPullRequests | GitLabMergeRequests) -> tuple[PullRequest, bool]:
    return ensure_pull_request(
        api, branch=BRANCH, base="main", title="Fix the sum", body="Details."
    )


def test_github_opens_a_pull_request_with_the_documented_request(
    forge: FakeForge, client: httpx.Client, policy: RetryPolicy
) -> None:
    pushed(forge, "acme/web-app")

    opened = open_fix(github(forge, client, policy))

    assert opened == (PullRequest(f"{forge.url}/acme/web-app/pull/1", 1), True)
    find, create = forge.api_requests()
    assert (find.method, find.path) == ("GET", "/api/v3/repos/acme/web-app/pulls")
    assert find.query == {
        "head": [f"acme:{BRANCH}"],
        "state": ["open"],
        "per_page": ["10"],
    }
    assert (create.method, create.path) == ("POST", "/api/v3/repos/acme/web-app/pulls")
    assert create.body == {
        "title": "Fix the sum",
        "head": BRANCH,
        "base": "main",
        "body": "Details.",
    }
    for request in (find, create):
        assert request.headers["Authorization"] == f"Bearer {FORGE_TOKEN}"
        assert request.headers["Accept"] == "application/vnd.github+json"
        assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
        assert request.headers["User-Agent"] == f"DevFlowFix/{__version__}"


def test_github_returns_the_open_pull_request_instead_of_a_second(
    forge: FakeForge, client: httpx.Client, policy: RetryPolicy
) -> None:
    pushed(forge, "acme/web-app")
    api = github(forge, client, policy)
    first, _ = open_fix(api)

    again = open_fix(api)

    assert again == (first, False)
    assert len(forge.pulls) == 1
    assert [r.method for r in forge.api_requests()] == ["GET", "POST", "GET"]


def test_github_pull_request_opened_meanwhile_by_another_run_is_returned(
    forge: FakeForge, client: httpx.Client, policy: RetryPolicy
) -> None:
    pushed(forge, "acme/web-app")
    forge.pulls.append(PullRecord(7, "acme/web-app", BRANCH, "main", "Fix", ""))
    forge.queue(Answer(200, []))

    opened = open_fix(github(forge, client, policy))

    assert opened == (PullRequest(f"{forge.url}/acme/web-app/pull/7", 7), False)
    assert [r.method for r in forge.api_requests()] == ["GET", "POST", "GET"]


def test_github_refuses_a_head_branch_that_was_never_pushed(
    forge: FakeForge, client: httpx.Client, policy: RetryPolicy
) -> None:
    with pytest.raises(ProviderError) as caught:
        open_fix(github(forge, client, policy))

    assert str(caught.value) == (
        "GitHub answered 422 to POST /repos/acme/web-app/pulls: Validation Failed; "
        "PullRequest head invalid"
    )


def test_gitlab_opens_a_merge_request_for_a_nested_project(
    forge: FakeForge, client: httpx.Client, policy: RetryPolicy
) -> None:
    pushed(forge, "acme/tools/cli")

    opened = open_fix(gitlab(forge, client, policy))

    assert opened == (
        PullRequest(f"{forge.url}/acme/tools/cli/-/merge_requests/1", 1),
        True,
    )
    find, create = forge.api_requests()
    path = "/api/v4/projects/acme%2Ftools%2Fcli/merge_requests"
    assert (find.method, find.path, create.method, create.path) == (
        "GET",
        path,
        "POST",
        path,
    )
    assert find.query == {
        "source_branch": [BRANCH],
        "state": ["opened"],
        "per_page": ["10"],
    }
    assert create.body == {
        "source_branch": BRANCH,
        "target_branch": "main",
        "title": "Fix the sum",
        "description": "Details.",
    }
    assert create.headers["PRIVATE-TOKEN"] == FORGE_TOKEN
    assert "Authorization" not in create.headers


def test_gitlab_merge_request_opened_meanwhile_is_returned(
    forge: FakeForge, client: httpx.Client, policy: RetryPolicy
) -> None:
    pushed(forge, "acme/tools/cli")
    forge.pulls.append(PullRecord(3, "acme/tools/cli", BRANCH, "main", "Fix", ""))
    forge.queue(Answer(200, []))

    opened = open_fix(gitlab(forge, client, policy))

    assert opened == (
        PullRequest(f"{forge.url}/acme/tools/cli/-/merge_requests/3", 3),
        False,
    )


def test_a_rate_limit_with_retry_after_is_waited_out(
    forge: FakeForge, client: httpx.Client, policy: RetryPolicy, sleeps: Sleeps
) -> None:
    pushed(forge, "acme/web-app")
    forge.queue(Answer(429, {"message": "Too many requests"}, {"Retry-After": "7"}))

    opened = open_fix(github(forge, client, policy))

    assert opened[1] is True
    assert sleeps == [7.0]
    assert [r.method for r in forge.api_requests()] == ["GET", "GET", "POST"]


def test_an_exhausted_github_quota_waits_until_the_reset(
    forge: FakeForge, client: httpx.Client, policy: RetryPolicy, sleeps: Sleeps
) -> None:
    pushed(forge, "acme/web-app")
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 30)}
    forge.queue(Answer(403, {"message": "API rate limit exceeded"}, headers))

    open_fix(github(forge, client, policy))

    assert sleeps == [31.0]


def test_gitlab_ratelimit_reset_header_is_honoured(
    forge: FakeForge, client: httpx.Client, policy: RetryPolicy, sleeps: Sleeps
) -> None:
    pushed(forge, "acme/tools/cli")
    headers = {"RateLimit-Remaining": "0", "RateLimit-Reset": str(int(NOW) + 4)}
    forge.queue(Answer(429, {"message": "Retry later"}, headers))

    open_fix(gitlab(forge, client, policy))

    assert sleeps == [5.0]


def test_a_reset_beyond_the_wait_bound_fails_at_once_with_the_providers_message(
    forge: FakeForge, client: httpx.Client, policy: RetryPolicy, sleeps: Sleeps
) -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 3599)}
    forge.queue(Answer(403, {"message": "API rate limit exceeded for user"}, headers))

    with pytest.raises(ProviderError) as caught:
        open_fix(github(forge, client, policy))

    assert str(caught.value) == (
        "GitHub answered 403 to GET /repos/acme/web-app/pulls (rate limited; it "
        "resets in 3600 s, longer than the 60 s this service waits): API rate "
        "limit exceeded for user"
    )
    assert sleeps == []


def test_a_rate_limit_that_persists_fails_after_the_attempts(
    forge: FakeForge, client: httpx.Client, policy: RetryPolicy, sleeps: Sleeps
) -> None:
    limited = Answer(429, {"message": "Too many requests"}, {"Retry-After": "2"})
    forge.queue(limited, limited, limited)

    with pytest.raises(ProviderError) as caught:
        open_fix(github(forge, client, policy))

    assert str(caught.value) == (
        "GitHub answered 429 to GET /repos/acme/web-app/pulls (still rate limited "
        "after 3 attempts): Too many requests"
    )
    assert sleeps == [2.0, 2.0]


def test_server_errors_are_retried_with_backoff(
    forge: FakeForge, client: httpx.Client, policy: RetryPolicy, sleeps: Sleeps
) -> None:
    pushed(forge, "acme/web-app")
    forge.queue(Answer(502, {"message": "Server Error"}), Answer(503, None))

    opened = open_fix(github(forge, client, policy))

    assert opened[1] is True
    assert sleeps == [1.0, 2.0]


def test_a_refused_token_fails_at_once_with_a_hint(
    forge: FakeForge, client: httpx.Client, policy: RetryPolicy, sleeps: Sleeps
) -> None:
    with pytest.raises(ProviderError) as caught:
        open_fix(github(forge, client, policy, token="ghp_wrong"))

    assert str(caught.value) == (
        "GitHub answered 401 to GET /repos/acme/web-app/pulls (check the token in "
        "the team's GitHub integration): Bad credentials"
    )
    assert sleeps == []


def test_a_token_echoed_by_the_provider_is_redacted(
    forge: FakeForge, client: httpx.Client, policy: RetryPolicy
) -> None:
    forge.queue(Answer(403, {"message": f"token {FORGE_TOKEN} lacks repo scope"}))

    with pytest.raises(ProviderError) as caught:
        open_fix(github(forge, client, policy))

    assert str(caught.value) == (
        "GitHub answered 403 to GET /repos/acme/web-app/pulls (the token lacks the "
        "permission): token *** lacks repo scope"
    )


def test_an_unreachable_api_fails_after_the_attempts(
    forge: FakeForge, client: httpx.Client, policy: RetryPolicy, sleeps: Sleeps
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    api = github(forge, client, policy, api_url=f"http://127.0.0.1:{port}/api/v3")

    with pytest.raises(ProviderError) as caught:
        open_fix(api)

    assert str(caught.value) == (
        f"GitHub at 127.0.0.1:{port} could not be reached after 3 attempts "
        "(ConnectError)"
    )
    assert sleeps == [1.0, 2.0]
