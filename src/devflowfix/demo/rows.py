"""Incident rows, a batch at a time, drawn cheaply from the pre-built bundles.

Rows are tuples in the order of `INCIDENT_COLUMNS`, with the values the ORM would
store: severity as its rank, tags and matched rules as JSON text, datetimes as
UTC text that both SQLite and PostgreSQL read back as the same instant.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import TYPE_CHECKING

from devflowfix.demo.bundles import Branch, Bundle, Pipeline
from devflowfix.demo.logs import HOUR
from devflowfix.vocabulary import Outcome

if TYPE_CHECKING:
    from devflowfix.demo.vectors import RowVectors

INCIDENT_COLUMNS = (
    "id", "public_id", "team_id", "source", "severity", "failure_type", "outcome",
    "repository", "branch", "commit_sha", "workflow", "job", "run_url",
    "external_id", "error_message", "error_log", "root_cause", "suggested_fix",
    "confidence", "tags", "timestamp", "created_at", "updated_at", "resolved_at",
    "resolution_time_seconds", "analysed_at", "matched_rules", "similar_incidents",
    "created_by_id",
)  # fmt: skip
TAG_COLUMNS = ("incident_id", "tag", "team_id")
# With the search vector computed by the loader (PostgreSQL), rows end with it.
VECTOR_COLUMNS = (*INCIDENT_COLUMNS, "search_vector")

WINDOW_DAYS = 120
SECOND = 1_000_000
MINUTE_US = 60 * SECOND
HOUR_US = 60 * MINUTE_US
UNANALYSED_SHARE = 0.04
# Share of incidents with each outcome that someone has marked resolved.
RESOLVED_SHARE: dict[str, float] = {
    Outcome.PENDING: 0.03,
    Outcome.SUCCESS: 0.92,
    Outcome.FAILED: 0.35,
    Outcome.ESCALATED: 0.15,
    Outcome.ROLLED_BACK: 0.85,
    Outcome.TIMEOUT: 0.3,
    Outcome.CANCELLED: 0.5,
}
# Median minutes from failure to resolution, per outcome.
RESOLUTION_MEDIAN_MINUTES: dict[str, float] = {
    Outcome.SUCCESS: 40,
    Outcome.ROLLED_BACK: 25,
    Outcome.ESCALATED: 600,
}
DEFAULT_RESOLUTION_MEDIAN_MINUTES = 150
WEEKDAY_LOAD = (1.0, 1.08, 1.05, 1.0, 0.82, 0.22, 0.18)
# UTC hours: Europe's working day, then the Americas'.
HOURLY_LOAD = (
    0.12, 0.08, 0.06, 0.06, 0.08, 0.15, 0.3, 0.55, 0.85, 1.0, 1.05, 1.0,
    0.9, 1.05, 1.15, 1.2, 1.1, 0.95, 0.75, 0.6, 0.45, 0.35, 0.25, 0.18,
)  # fmt: skip
POOL_SIZE = 4096
MASK_48 = (1 << 48) - 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Row = tuple[object, ...]


@dataclass(slots=True)
class Batch:
    """Incident rows and their tag rows, ready for the database driver."""

    incidents: list[Row] = field(default_factory=list)
    tags: list[tuple[int, str, int]] = field(default_factory=list)
    columns: tuple[str, ...] = INCIDENT_COLUMNS


class Timeline:
    """When failures happen: hourly slots over the last 120 days, weighted."""

    def __init__(self, now: datetime, rng: random.Random) -> None:
        end = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        start = now - timedelta(days=WINDOW_DAYS) + timedelta(hours=1)
        first = int(start.timestamp()) // 3600 + 1
        self.hours = list(range(first, int(end.timestamp()) // 3600))
        busy_days = set(rng.sample(range(len(self.hours) // 24), 5))
        weights = [self._load(hour, first, busy_days) for hour in self.hours]
        self.cumulative = list(accumulate(weights))

    @staticmethod
    def _load(hour: int, first: int, busy_days: set[int]) -> float:
        moment = datetime.fromtimestamp(hour * 3600, UTC)
        weight = WEEKDAY_LOAD[moment.weekday()] * HOURLY_LOAD[moment.hour]
        growth = 0.8 + 0.4 * (hour - first) / (WINDOW_DAYS * 24)
        storm = 3.0 if (hour - first) // 24 in busy_days else 1.0
        return weight * growth * storm

    def hours_for(
        self, rng: random.Random, start: int, count: int, total: int
    ) -> list[int]:
        """Sorted hour numbers for rows `start` to `start + count` of `total`."""
        whole = self.cumulative[-1]
        low, high = whole * start / total, whole * (start + count) / total
        points = sorted(rng.uniform(low, high) for _ in range(count))
        last = len(self.hours) - 1
        hours, cumulative = self.hours, self.cumulative
        return [hours[min(bisect.bisect(cumulative, point), last)] for point in points]


class PublicIds:
    """Public ids that look random but are a keyed permutation of incident ids.

    Each step (odd multiplier, offset, xor with a right shift) is invertible on
    48 bits, so no two incidents of a load, or of loads with one seed, share one.
    """

    def __init__(self, rng: random.Random) -> None:
        self.multipliers = [rng.getrandbits(48) | 1 for _ in range(3)]
        self.offset = rng.getrandbits(48)

    def __call__(self, incident_id: int) -> str:
        first, second, third = self.multipliers
        value = (incident_id * first + self.offset) & MASK_48
        value ^= value >> 24
        value = (value * second) & MASK_48
        value ^= value >> 21
        value = (value * third) & MASK_48
        value ^= value >> 24
        return f"inc_{value:012x}"


class TimeFormat:
    """Microseconds since the epoch as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        self.minutes: dict[int, str] = {}
        self.hours: dict[int, str] = {}

    def __call__(self, micros: int) -> str:
        minute, rest = divmod(micros, MINUTE_US)
        prefix = self.minutes.get(minute)
        if prefix is None:
            moment = datetime.fromtimestamp(minute * 60, UTC)
            prefix = moment.strftime("%Y-%m-%d %H:%M:")
            self.minutes[minute] = prefix
        seconds, fraction = divmod(rest, SECOND)
        return f"{prefix}{seconds:02d}.{fraction:06d}{self.suffix}"

    def log_hour(self, hour: int) -> str:
        """The 'YYYY-MM-DDTHH' that stands in for `logs.HOUR` in log excerpts."""
        text = self.hours.get(hour)
        if text is None:
            text = datetime.fromtimestamp(hour * 3600, UTC).strftime("%Y-%m-%dT%H")
            self.hours[hour] = text
        return text


def _lognormal_pool(
    rng: random.Random, median_seconds: float, sigma: float
) -> list[int]:
    mu = math.log(median_seconds)
    return [
        max(SECOND, int(rng.lognormvariate(mu, sigma) * SECOND))
        for _ in range(POOL_SIZE)
    ]


def _uuid(rng: random.Random) -> str:
    text = f"{rng.getrandbits(128):032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:]}"


Link = tuple[str | None, str | None]


class RunLinks:
    """How one pipeline's source names a run: its URL and its CI run id.

    Run ids grow with the incident id, so they are unique per source and team
    across loads, and newer runs have higher numbers as on the real systems.
    """

    def __init__(self, pipeline: Pipeline, rng: random.Random) -> None:
        repository = pipeline.repository
        self.rng = rng
        self.slug, self.owner = repository.slug, repository.owner
        self.name, self.namespace = repository.name, repository.namespace
        self.locate: Callable[[int, Branch, str], Link] = getattr(
            self, pipeline.source.value
        )

    def github_actions(self, row_id: int, branch: Branch, app: str) -> Link:
        run = 5_000_000_000 + row_id * 17 + int(self.rng.random() * 17)
        return f"https://github.com/{self.slug}/actions/runs/{run}", str(run)

    def gitlab_ci(self, row_id: int, branch: Branch, app: str) -> Link:
        run = 1_100_000_000 + row_id * 11 + int(self.rng.random() * 11)
        return f"https://gitlab.com/{self.slug}/-/pipelines/{run}", str(run)

    def jenkins(self, row_id: int, branch: Branch, app: str) -> Link:
        job = f"https://jenkins.{self.owner}.internal/job/{self.name}"
        url = f"{job}/job/{branch.jenkins_path}/{row_id}/"
        return url, f"{self.name}/{branch.name}#{row_id}"

    def circleci(self, row_id: int, branch: Branch, app: str) -> Link:
        job = 400_000 + row_id * 3 + int(self.rng.random() * 3)
        project = f"https://app.circleci.com/pipelines/github/{self.slug}"
        url = f"{project}/{9_000 + row_id // 37}/workflows/{_uuid(self.rng)}"
        return f"{url}/jobs/{job}", str(job)

    def azure_pipelines(self, row_id: int, branch: Branch, app: str) -> Link:
        build = 80_000 + row_id * 5 + int(self.rng.random() * 5)
        project = f"https://dev.azure.com/{self.owner}/{self.name}"
        return f"{project}/_build/results?buildId={build}", str(build)

    def argocd(self, row_id: int, branch: Branch, app: str) -> Link:
        url = f"https://argocd.{self.owner}.internal/applications/argocd/{app}"
        return f"{url}?view=tree&operation=true", f"{app}:{row_id}"

    def kubernetes(self, row_id: int, branch: Branch, app: str) -> Link:
        console = f"https://console.{self.owner}.internal/k8s/ns/{self.namespace}"
        return f"{console}/events", _uuid(self.rng)

    def manual(self, row_id: int, branch: Branch, app: str) -> Link:
        return None, None


class RowFactory:
    """Builds the incident rows of one load, batch after batch."""

    def __init__(
        self,
        pipelines: list[Pipeline],
        *,
        rng: random.Random,
        team_id: int,
        user_id: int,
        now: datetime,
        time_suffix: str,
        total: int,
    ) -> None:
        self.pipelines = pipelines
        self.links = [RunLinks(pipeline, rng) for pipeline in pipelines]
        self.public_id = PublicIds(rng)
        self.sources = [str(pipeline.source.value) for pipeline in pipelines]
        self.indexes = list(range(len(pipelines)))
        self.cumulative = list(accumulate(pipeline.weight for pipeline in pipelines))
        self.rng, self.rand = rng, rng.random
        self.team_id, self.user_id, self.total = team_id, user_id, total

        self.now = (now - EPOCH) // timedelta(microseconds=1)
        self.timeline = Timeline(now, rng)
        self.format = TimeFormat(time_suffix)
        self.produced = 0
        # Set by a loader that writes each row's search vector (PostgreSQL).
        self.vectors: RowVectors | None = None

        self.webhook_delays = _clipped(_lognormal_pool(rng, 15, 1.0), 2, 900)
        self.manual_delays = _clipped(_lognormal_pool(rng, 1200, 1.0), 60, 86400)
        self.analysis_delays = _clipped(_lognormal_pool(rng, 6, 0.8), 1, 120)
        self.edit_delays = _clipped(_lognormal_pool(rng, 120, 2.0), 1, 7 * 86400)
        self.durations = {
            str(outcome): _clipped(
                _lognormal_pool(rng, 60 * _median_minutes(outcome), 1.3),
                120,
                30 * 86400,
            )
            for outcome in Outcome
        }

    def build(self, first_id: int, count: int) -> Batch:
        """The next `count` rows, with ids from `first_id` on."""
        rng = self.rng
        picks = rng.choices(self.indexes, cum_weights=self.cumulative, k=count)
        hours = self.timeline.hours_for(rng, self.produced, count, self.total)
        self.produced += count

        batch = Batch(
            columns=INCIDENT_COLUMNS if self.vectors is None else VECTOR_COLUMNS
        )
        append_tag, team_id = batch.tags.append, self.team_id
        for offset in range(count):
            row_id = first_id + offset
            public_id = self.public_id(row_id)
            row, tags = self._row(row_id, public_id, picks[offset], hours[offset])
            batch.incidents.append(row)
            for tag in tags:
                append_tag((row_id, tag, team_id))

        return batch

    def _row(
        self, row_id: int, public_id: str, index: int, hour: int
    ) -> tuple[Row, tuple[str, ...]]:
        rand, when = self.rand, self.format
        pipeline = self.pipelines[index]
        chosen = int(rand() * len(pipeline.bundles))
        bundle = pipeline.bundles[chosen]
        branch = pipeline.branches[int(rand() * len(pipeline.branches))]
        outcome = bundle.outcomes[int(rand() * len(bundle.outcomes))]
        analysed = rand() >= UNANALYSED_SHARE
        source = self.sources[index]
        manual = source == "manual"
        happened, created, updated, resolved, analysed_at = self._times(
            bundle, hour, outcome, analysed, manual
        )

        url, external_id = self.links[index].locate(row_id, branch, bundle.workflow)
        tag_choice = int(rand() * len(bundle.tag_choices))
        tags, tags_json = bundle.tag_choices[tag_choice]
        row: Row = (
            row_id, public_id, self.team_id, source,
            bundle.severities[int(rand() * len(bundle.severities))],
            bundle.failure_type, outcome, pipeline.repository.slug, branch.name,
            f"{self.rng.getrandbits(160):040x}", bundle.workflow, bundle.job, url,
            external_id, bundle.error_message,
            bundle.error_log.replace(HOUR, when.log_hour(hour)),
            bundle.root_cause if analysed else None,
            bundle.suggested_fix if analysed else None,
            bundle.confidences[int(rand() * len(bundle.confidences))]
            if analysed else None,
            tags_json, when(happened), when(created), when(updated),
            None if resolved is None else when(resolved),
            None if resolved is None else (resolved - happened) // SECOND,
            None if analysed_at is None else when(analysed_at),
            bundle.rules_json if analysed else None, None,
            self.user_id if manual else None,
        )  # fmt: skip
        if self.vectors is not None:
            vector = self.vectors.text(index, chosen, analysed, tag_choice, hour)
            row = (*row, vector)

        return row, tags

    def _times(
        self, bundle: Bundle, hour: int, outcome: str, analysed: bool, manual: bool
    ) -> tuple[int, int, int, int | None, int | None]:
        """When it failed, was recorded, last changed, resolved and analysed."""
        rand = self.rand
        second = bundle.end_second
        if second is None:
            second = rand() * 3599
        happened = hour * HOUR_US + int((second + rand() * 0.9) * SECOND)
        delays = self.manual_delays if manual else self.webhook_delays
        created = happened + delays[int(rand() * POOL_SIZE)]

        analysed_at = None
        if analysed:
            analysed_at = created + self.analysis_delays[int(rand() * POOL_SIZE)]

        resolved = None
        if rand() < RESOLVED_SHARE[outcome]:
            duration = self.durations[outcome][int(rand() * POOL_SIZE)]
            resolved = max(happened + duration, created + 30 * SECOND)
            if resolved > self.now:
                resolved = None

        latest = max(created, analysed_at or 0, resolved or 0)
        updated = min(self.now, latest + self.edit_delays[int(rand() * POOL_SIZE)])
        return happened, created, max(updated, latest), resolved, analysed_at


def _median_minutes(outcome: Outcome) -> float:
    return RESOLUTION_MEDIAN_MINUTES.get(outcome, DEFAULT_RESOLUTION_MEDIAN_MINUTES)


def _clipped(values: list[int], low_seconds: int, high_seconds: int) -> list[int]:
    low, high = low_seconds * SECOND, high_seconds * SECOND
    return [min(high, max(low, value)) for value in values]
