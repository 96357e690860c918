"""What a provider's failure event says, in the service's own terms."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from devflowfix.errors import AppError
from devflowfix.vocabulary import Provider, Severity

MAX_TEXT = 255
MAX_URL = 2048
REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
COMMIT = re.compile(r"^[0-9a-fA-F]{7,64}$")
URL = re.compile(r"^https?://\S+$")
DEPLOY_WORDS = re.compile(r"deploy|release|publish|prod", re.IGNORECASE)
DEFAULT_BRANCHES = frozenset({"main", "master"})
GITLAB_TIME = re.compile(r"^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) (?:UTC|\+0000)$")


class InvalidPayload(AppError):
    status_code = 400
    code = "invalid_json"
    default_message = "The webhook body is not a JSON object."


@dataclass(frozen=True)
class Ignored:
    """An event that is acknowledged and stores nothing: a ping, a success."""

    reason: str


@dataclass(frozen=True)
class FailureEvent:
    """A failed run, job or build, ready to become an incident."""

    provider: Provider
    external_id: str
    conclusion: str
    happened_at: datetime
    details: dict[str, Any]
    repository: str | None = None
    branch: str | None = None
    default_branch: str | None = None
    on_tag: bool = False
    commit_sha: str | None = None
    workflow: str | None = None
    job: str | None = None
    run_url: str | None = None
    failed_step: str | None = None
    log_excerpt: str | None = None
    job_ids: tuple[int, ...] = field(default_factory=tuple)

    @property
    def severity(self) -> Severity:
        """The default rule: a failure where releases come from is high, and
        critical when it deploys or releases; elsewhere it is medium."""
        default = self.default_branch
        on_release_line = self.on_tag or (
            self.branch is not None
            and (self.branch == default if default else self.branch in DEFAULT_BRANCHES)
        )
        if not on_release_line:
            return Severity.MEDIUM

        names = f"{self.workflow or ''} {self.job or ''}"
        return Severity.CRITICAL if DEPLOY_WORDS.search(names) else Severity.HIGH

    def placeholder_message(self, provider_label: str) -> str:
        """The error message until the log is analysed: what the event said."""
        what = f"job '{self.job}'" if self.job else "run"
        where = f" in workflow '{self.workflow}'" if self.workflow else ""
        step = f" at step '{self.failed_step}'" if self.failed_step else ""
        return f"{provider_label} {what}{where} failed ({self.conclusion}){step}."


def text_or_none(value: object, limit: int = MAX_TEXT) -> str | None:
    """A trimmed string that fits a column, or None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value[:limit] or None


def repository_or_none(value: object) -> str | None:
    text = text_or_none(value)
    if text and text.endswith(".git"):
        text = text[:-4]
    return text if text and REPOSITORY.match(text) else None


def commit_or_none(value: object) -> str | None:
    text = text_or_none(value, 64)
    return text if text and COMMIT.match(text) else None


def url_or_none(value: object) -> str | None:
    text = text_or_none(value, MAX_URL)
    return text if text and URL.match(text) else None


def parse_time(value: object) -> datetime | None:
    """ISO 8601 or GitLab's older `2016-08-12 15:23:28 UTC`, as aware UTC."""
    if not isinstance(value, str) or not value:
        return None

    legacy = GITLAB_TIME.match(value)
    text = f"{legacy.group(1)}T{legacy.group(2)}+00:00" if legacy else value
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None

    return (
        parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    )


def now() -> datetime:
    return datetime.now(UTC)
