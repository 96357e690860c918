"""HTTP with retries for provider APIs: backoff, rate limits, a size cap.

429 and 5xx answers, timeouts and failed connections are retried with
exponential backoff (1 s, 2 s, 4 s, ...). A wait the provider asks for
(`Retry-After`, or GitHub's `X-RateLimit-Reset` with no requests remaining)
replaces the backoff; a wait longer than `max_wait_seconds` gives up at once,
since blocking a job worker for an hour helps nobody.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from devflowfix.config import Settings

BACKOFF_BASE_SECONDS = 1.0
USER_AGENT = "devflowfix-log-fetcher"
Sleep = Callable[[float], None]


class LogFetchError(Exception):
    """A log could not be fetched; the message says why, fit for the incident."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class FetchOptions:
    timeout_seconds: float = 30.0
    attempts: int = 4
    max_wait_seconds: float = 60.0
    max_bytes: int = 5 * 1024 * 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchOptions:
        return cls(
            timeout_seconds=settings.log_fetch_timeout_seconds,
            attempts=settings.log_fetch_attempts,
            max_wait_seconds=settings.log_fetch_max_wait_seconds,
            max_bytes=settings.log_fetch_max_bytes,
        )

    @property
    def download_deadline_seconds(self) -> float:
        """How long one download may take in all, however it trickles in."""
        return self.timeout_seconds * 4


def new_client(options: FetchOptions) -> httpx.Client:
    # httpx drops the Authorization header when a redirect leaves the origin,
    # so a token never follows GitHub's redirect to its log storage.
    return httpx.Client(
        timeout=options.timeout_seconds,
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT},
    )


def requested_wait(response: httpx.Response, now: float) -> float | None:
    """The seconds the provider asks to wait before the next request, if any."""
    retry_after = response.headers.get("retry-after")
    if retry_after:
        if retry_after.strip().isdigit():
            return float(retry_after)
        try:
            return max(0.0, parsedate_to_datetime(retry_after).timestamp() - now)
        except (TypeError, ValueError):
            return None

    reset = response.headers.get("x-ratelimit-reset")
    if response.headers.get("x-ratelimit-remaining") == "0" and reset:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            return None

    return None


def is_retryable(response: httpx.Response) -> bool:
    if response.status_code == 429 or response.status_code >= 500:
        return True
    # GitHub answers an exhausted rate limit with 403 and no requests left.
    return (
        response.status_code == 403
        and response.headers.get("x-ratelimit-remaining") == "0"
    )


def get_with_retries(
    client: httpx.Client,
    url: str,
    options: FetchOptions,
    *,
    label: str,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    auth: tuple[str, str] | None = None,
    sleep: Sleep = time.sleep,
) -> bytes:
    """The body of a GET, keeping its last `max_bytes`, retried as above."""
    problem = "no answer"
    for attempt in range(options.attempts):
        try:
            with client.stream(
                "GET", url, headers=headers, params=params, auth=auth
            ) as response:
                if response.status_code < 300:
                    return _tail_of_body(response, options, label)
                problem = f"HTTP {response.status_code}"
                if not is_retryable(response):
                    raise LogFetchError(
                        _refusal(label, response.status_code), retryable=False
                    )
                wait = requested_wait(response, time.time())
        except httpx.TimeoutException:
            problem, wait = "a timeout", None
        except httpx.TransportError as exc:
            problem, wait = f"a connection error ({type(exc).__name__})", None

        if attempt + 1 == options.attempts:
            break

        delay = BACKOFF_BASE_SECONDS * 2**attempt if wait is None else wait
        if delay > options.max_wait_seconds:
            raise LogFetchError(
                f"{label} asked to wait {delay:.0f} s (rate limited); giving up "
                f"after {attempt + 1} attempts.",
                retryable=True,
            )
        sleep(delay)

    raise LogFetchError(
        f"{label} failed after {options.attempts} attempts; the last was {problem}.",
        retryable=True,
    )


def _tail_of_body(response: httpx.Response, options: FetchOptions, label: str) -> bytes:
    started = time.monotonic()
    kept = bytearray()
    for chunk in response.iter_bytes():
        kept += chunk
        if len(kept) > 2 * options.max_bytes:
            del kept[: len(kept) - options.max_bytes]
        if time.monotonic() - started > options.download_deadline_seconds:
            raise LogFetchError(
                f"{label} sent the log too slowly (over "
                f"{options.download_deadline_seconds:.0f} s).",
                retryable=True,
            )

    return bytes(kept[-options.max_bytes :])


def _refusal(label: str, status: int) -> str:
    if status in (401, 403):
        return (
            f"{label} refused the credentials (HTTP {status}); check the team's token."
        )
    if status in (404, 410):
        return f"{label} has no such log (HTTP {status}); it may have expired."
    return f"{label} answered HTTP {status}."
