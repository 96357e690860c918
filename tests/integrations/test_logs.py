"""Fetching job logs from provider APIs played by a real local HTTP server."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devflowfix.integrations.logs import LogTarget, fetch_job_log
from devflowfix.integrations.retry import FetchOptions, LogFetchError
from devflowfix.vocabulary import Provider
from provider_server import ProviderServer, Reply, running_server

OPTIONS = FetchOptions(timeout_seconds=2.0, attempts=3, max_wait_seconds=30.0)
JOB_LOGS = "/repos/acme/orders/actions/jobs/{}/logs"


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with running_server() as server:
        yield server


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def github_target(server: ProviderServer, **details: Any) -> LogTarget:
    return LogTarget(
        Provider.GITHUB,
        server.url,
        "ghp_token123",
        {"repository": "acme/orders", "run_id": 77, "run_attempt": 1, **details},
    )


def fetch(target: LogTarget, options: FetchOptions = OPTIONS) -> tuple[str, Sleeps]:
    sleeps = Sleeps()
    return fetch_job_log(target, options, sleep=sleeps), sleeps


def test_github_job_logs_are_fetched_with_the_token(server: ProviderServer) -> None:
    server.reply(JOB_LOGS.format(11), Reply(body=b"npm test\nFAILED\n"))

    text, sleeps = fetch(github_target(server, job_ids=[11]))

    assert text == "npm test\nFAILED\n"
    assert sleeps == []
    request = server.received[0]
    assert request.headers["Authorization"] == "Bearer ghp_token123"
    assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert request.headers["User-Agent"] == "devflowfix-log-fetcher"


def test_the_token_does_not_follow_a_redirect_to_the_log_storage(
    server: ProviderServer,
) -> None:
    with running_server() as storage:
        storage.reply("/logs/11.txt?sig=abc", Reply(body=b"the log"))
        server.reply(
            JOB_LOGS.format(11),
            Reply(302, headers={"Location": f"{storage.url}/logs/11.txt?sig=abc"}),
        )

        text, _ = fetch(github_target(server, job_ids=[11]))

        assert text == "the log"
        assert "Authorization" not in storage.received[0].headers


def test_a_run_without_job_ids_lists_and_joins_its_failed_jobs(
    server: ProviderServer,
) -> None:
    jobs = {
        "total_count": 3,
        "jobs": [
            {"id": 1, "conclusion": "success"},
            {"id": 2, "conclusion": "failure"},
            {"id": 3, "conclusion": "timed_out"},
        ],
    }
    server.reply(
        "/repos/acme/orders/actions/runs/77/attempts/1/jobs?per_page=100",
        Reply(body=json.dumps(jobs).encode()),
    )
    server.reply(JOB_LOGS.format(2), Reply(body=b"lint failed"))
    server.reply(JOB_LOGS.format(3), Reply(body=b"tests hung"))

    text, _ = fetch(github_target(server))

    assert text == "===== job 2 =====\nlint failed\n===== job 3 =====\ntests hung"


def test_gitlab_traces_are_fetched_with_the_private_token(
    server: ProviderServer,
) -> None:
    server.reply(
        "/api/v4/projects/48/pipelines/15/jobs?scope%5B%5D=failed&per_page=100",
        Reply(body=b'[{"id": 801, "status": "failed"}]'),
    )
    server.reply("/api/v4/projects/48/jobs/801/trace", Reply(body=b"$ pytest\nE  boom"))
    target = LogTarget(
        Provider.GITLAB,
        f"{server.url}/api/v4",
        "glpat-xyz",
        {"project_id": 48, "pipeline_id": 15},
    )

    text, _ = fetch(target)

    assert text == "$ pytest\nE  boom"
    assert server.received[1].headers["PRIVATE-TOKEN"] == "glpat-xyz"


def test_jenkins_console_text_is_fetched_with_basic_auth(
    server: ProviderServer,
) -> None:
    server.reply("/job/billing_main/418/consoleText", Reply(body=b"Finished: FAILURE"))
    target = LogTarget(
        Provider.JENKINS,
        server.url,
        "ci-bot:11aa22bb",
        {"build_path": "job/billing_main/418/"},
    )

    text, _ = fetch(target)

    assert text == "Finished: FAILURE"
    expected = base64.b64encode(b"ci-bot:11aa22bb").decode()
    assert server.received[0].headers["Authorization"] == f"Basic {expected}"


def test_server_errors_are_retried_with_exponential_backoff(
    server: ProviderServer,
) -> None:
    server.reply(JOB_LOGS.format(11), Reply(502), Reply(503), Reply(body=b"finally"))

    text, sleeps = fetch(github_target(server, job_ids=[11]))

    assert text == "finally"
    assert sleeps == [1.0, 2.0]


def test_retry_after_is_honoured(server: ProviderServer) -> None:
    server.reply(
        JOB_LOGS.format(11), Reply(429, headers={"Retry-After": "7"}), Reply(body=b"ok")
    )

    _, sleeps = fetch(github_target(server, job_ids=[11]))

    assert sleeps == [7.0]


def test_an_exhausted_github_rate_limit_waits_for_the_reset(
    server: ProviderServer,
) -> None:
    reset = int(time.time()) + 20
    server.reply(
        JOB_LOGS.format(11),
        Reply(
            403,
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        ),
        Reply(body=b"ok"),
    )

    _, sleeps = fetch(github_target(server, job_ids=[11]))

    assert len(sleeps) == 1
    assert 17 <= sleeps[0] <= 20


def test_a_wait_longer_than_allowed_gives_up_at_once(server: ProviderServer) -> None:
    server.reply(JOB_LOGS.format(11), Reply(429, headers={"Retry-After": "3600"}))

    with pytest.raises(LogFetchError) as caught:
        fetch(github_target(server, job_ids=[11]))

    assert str(caught.value) == (
        "GitHub asked to wait 3600 s (rate limited); giving up after 1 attempts."
    )
    assert caught.value.retryable is True
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "GitHub refused the credentials (HTTP 401); check the team's token."),
        (404, "GitHub has no such log (HTTP 404); it may have expired."),
        (410, "GitHub has no such log (HTTP 410); it may have expired."),
    ],
)
def test_refusals_are_not_retried(
    server: ProviderServer, status: int, message: str
) -> None:
    server.reply(JOB_LOGS.format(11), Reply(status))

    with pytest.raises(LogFetchError) as caught:
        fetch(github_target(server, job_ids=[11]))

    assert str(caught.value) == message
    assert caught.value.retryable is False
    assert len(server.received) == 1


def test_a_provider_that_keeps_failing_fails_after_the_attempts(
    server: ProviderServer,
) -> None:
    server.reply(JOB_LOGS.format(11), Reply(500))

    with pytest.raises(LogFetchError) as caught:
        fetch(github_target(server, job_ids=[11]))

    assert str(caught.value) == (
        "GitHub failed after 3 attempts; the last was HTTP 500."
    )
    assert len(server.received) == 3


def test_a_slow_provider_times_out_and_is_retried(server: ProviderServer) -> None:
    server.reply(JOB_LOGS.format(11), Reply(delay_seconds=1.5), Reply(body=b"fast now"))
    options = FetchOptions(timeout_seconds=0.3, attempts=2)

    text, sleeps = fetch(github_target(server, job_ids=[11]), options)

    assert text == "fast now"
    assert sleeps == [1.0]


def test_a_log_that_trickles_in_past_the_deadline_is_abandoned(
    server: ProviderServer,
) -> None:
    server.reply(
        JOB_LOGS.format(11),
        Reply(body=b"x" * 60, chunks=30, chunk_delay_seconds=0.2),
    )
    options = FetchOptions(timeout_seconds=1.0, attempts=1)

    with pytest.raises(LogFetchError) as caught:
        fetch(github_target(server, job_ids=[11]), options)

    assert str(caught.value) == "GitHub sent the log too slowly (over 4 s)."


def test_only_the_end_of_a_huge_log_is_kept(server: ProviderServer) -> None:
    body = b"".join(b"line %05d\n" % n for n in range(1000))
    server.reply(JOB_LOGS.format(11), Reply(body=body, chunks=20))
    options = FetchOptions(max_bytes=1000)

    text, _ = fetch(github_target(server, job_ids=[11]), options)

    assert text.encode() == body[-1000:]


def test_an_unreachable_provider_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    target = LogTarget(
        Provider.GITHUB,
        f"http://127.0.0.1:{port}",
        "t",
        {"repository": "acme/orders", "job_ids": [11]},
    )

    with pytest.raises(LogFetchError) as caught:
        fetch(target, FetchOptions(attempts=2))

    assert str(caught.value) == (
        "GitHub failed after 2 attempts; the last was a connection error "
        "(ConnectError)."
    )
