"""The pool of pre-rendered incident texts that rows are drawn from.

Rendering a failure and framing its log costs tens of microseconds, far too much
per row of a million-row load; so each pipeline (a repository on one source) gets a
fixed set of bundles up front and rows pick among them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TypeVar
from urllib.parse import quote

from devflowfix.demo.catalog import (
    CLUSTER_SOURCES,
    FAILURE_TAGS,
    GENERIC_TAGS,
    REPOSITORIES,
    Repository,
    branch_pool,
    job_names,
    source_weights,
)
from devflowfix.demo.failures import Context, Template, templates_for
from devflowfix.demo.logs import frame_log
from devflowfix.vocabulary import FailureType, Outcome, Severity, Source

# How often each failure type shows up in CI pipelines and on clusters.
CI_MIX: dict[FailureType, float] = {
    FailureType.TEST_FAILURE: 17,
    FailureType.FLAKY_TEST: 8,
    FailureType.BUILD_FAILURE: 6,
    FailureType.COMPILATION_ERROR: 6,
    FailureType.DEPENDENCY_ERROR: 9,
    FailureType.LINT_ERROR: 7,
    FailureType.TIMEOUT: 5,
    FailureType.NETWORK_ERROR: 5,
    FailureType.OUT_OF_MEMORY: 4,
    FailureType.DISK_SPACE: 3,
    FailureType.PERMISSION_DENIED: 3,
    FailureType.AUTHENTICATION_ERROR: 4,
    FailureType.CONFIGURATION_ERROR: 5,
    FailureType.INFRASTRUCTURE_ERROR: 4,
    FailureType.DOCKER_ERROR: 4,
    FailureType.DEPLOYMENT_FAILURE: 4,
    FailureType.SECURITY_SCAN: 4,
    FailureType.UNKNOWN: 2,
}
CLUSTER_MIX: dict[FailureType, float] = {
    FailureType.DEPLOYMENT_FAILURE: 30,
    FailureType.OUT_OF_MEMORY: 16,
    FailureType.DOCKER_ERROR: 12,
    FailureType.CONFIGURATION_ERROR: 12,
    FailureType.INFRASTRUCTURE_ERROR: 8,
    FailureType.NETWORK_ERROR: 7,
    FailureType.AUTHENTICATION_ERROR: 5,
    FailureType.PERMISSION_DENIED: 4,
    FailureType.TIMEOUT: 4,
    FailureType.DISK_SPACE: 2,
}
# Weights of low, medium, high, critical.
SEVERITY_MIX: dict[FailureType, tuple[int, int, int, int]] = {
    FailureType.SECURITY_SCAN: (5, 20, 45, 30),
    FailureType.DEPLOYMENT_FAILURE: (5, 25, 45, 25),
    FailureType.OUT_OF_MEMORY: (10, 35, 40, 15),
    FailureType.INFRASTRUCTURE_ERROR: (10, 35, 40, 15),
    FailureType.AUTHENTICATION_ERROR: (10, 40, 38, 12),
    FailureType.LINT_ERROR: (60, 30, 8, 2),
    FailureType.FLAKY_TEST: (40, 45, 13, 2),
    FailureType.TEST_FAILURE: (20, 50, 25, 5),
}
DEFAULT_SEVERITY_MIX = (20, 45, 28, 7)
# Weights of pending, success, failed, escalated, rolled_back, timeout, cancelled.
OUTCOME_MIX: dict[FailureType, tuple[int, ...]] = {
    FailureType.DEPLOYMENT_FAILURE: (8, 25, 12, 12, 35, 4, 4),
    FailureType.FLAKY_TEST: (10, 55, 10, 3, 0, 5, 17),
    FailureType.TIMEOUT: (10, 30, 15, 8, 2, 25, 10),
    FailureType.SECURITY_SCAN: (25, 30, 10, 25, 0, 0, 10),
    FailureType.INFRASTRUCTURE_ERROR: (10, 45, 10, 15, 3, 7, 10),
    FailureType.UNKNOWN: (25, 20, 20, 25, 0, 5, 5),
}
DEFAULT_OUTCOME_MIX = (12, 40, 18, 8, 1, 6, 15)
OUTCOMES = tuple(Outcome)
TAG_COUNTS = (0, 1, 1, 1, 2, 2, 2, 3, 3, 4)
TABLE_SIZE = 100

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Bundle:
    """The texts and the value tables of one kind of incident in one pipeline."""

    failure_type: str
    workflow: str
    job: str
    error_message: str
    error_log: str
    end_second: float | None
    root_cause: str
    suggested_fix: str
    severities: tuple[int, ...]
    outcomes: tuple[str, ...]
    confidences: tuple[float, ...]
    tag_choices: tuple[tuple[tuple[str, ...], str], ...]
    rules_json: str


@dataclass(frozen=True, slots=True)
class Branch:
    name: str
    jenkins_path: str


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A repository's pipeline on one source, with the bundles it can produce."""

    repository: Repository
    source: Source
    weight: float
    bundles: tuple[Bundle, ...]
    branches: tuple[Branch, ...]


def build_pipelines(rng: random.Random, bundles_per_pipeline: int) -> list[Pipeline]:
    """Every pipeline of the demo organisation, each with its bundle pool."""
    pipelines = []
    for repository in REPOSITORIES:
        branches = tuple(
            Branch(name, quote(quote(name, safe=""), safe=""))
            for name in branch_pool(repository, rng)
        )
        for source, share in source_weights(repository):
            bundles = tuple(_bundles(rng, repository, source, bundles_per_pipeline))
            weight = repository.weight * share
            pipelines.append(Pipeline(repository, source, weight, bundles, branches))

    return pipelines


def _bundles(
    rng: random.Random, repository: Repository, source: Source, count: int
) -> list[Bundle]:
    templates = templates_for(repository, source)
    mix = _mix_for(source)
    by_type: dict[FailureType, list[Template]] = {}
    for template in templates:
        if mix.get(template.failure_type, 0) > 0:
            by_type.setdefault(template.failure_type, []).append(template)

    types = sorted(by_type)
    type_weights = [mix[failure_type] for failure_type in types]
    bundles = []
    for failure_type in rng.choices(types, type_weights, k=count):
        candidates = by_type[failure_type]
        template = rng.choices(candidates, [t.weight for t in candidates])[0]
        bundles.append(_render(rng, repository, source, template))

    return bundles


def _mix_for(source: Source) -> dict[FailureType, float]:
    if source in CLUSTER_SOURCES:
        return CLUSTER_MIX
    if source is Source.MANUAL:
        return {**CLUSTER_MIX, **CI_MIX}
    return CI_MIX


def _render(
    rng: random.Random, repository: Repository, source: Source, template: Template
) -> Bundle:
    failure = template.render(Context(rng, repository, source))
    workflow, job = job_names(repository, source, template.stage, rng)
    excerpt = frame_log(failure, repository, source, job, rng)
    failure_type = template.failure_type
    on_cluster = source in CLUSTER_SOURCES

    return Bundle(
        failure_type=failure_type.value,
        workflow=workflow,
        job=job,
        error_message=failure.message,
        error_log=excerpt.text,
        end_second=excerpt.end_second,
        root_cause=failure.root_cause,
        suggested_fix=failure.suggested_fix,
        severities=_severity_table(failure_type, on_cluster),
        outcomes=_outcome_table(failure_type),
        confidences=_confidences(rng, template.confidence),
        tag_choices=_tag_choices(rng, repository, failure_type),
        rules_json=json.dumps([template.rule]),
    )


def _table(values: Sequence[T], weights: Sequence[float]) -> tuple[T, ...]:
    """`values` repeated in proportion to `weights`, TABLE_SIZE entries in all."""
    total = sum(weights)
    table: list[T] = []
    for value, weight in zip(values, weights, strict=True):
        table.extend([value] * round(TABLE_SIZE * weight / total))
    return tuple((table + table[-1:] * TABLE_SIZE)[:TABLE_SIZE])


@cache
def _severity_table(failure_type: FailureType, on_cluster: bool) -> tuple[int, ...]:
    low, medium, high, critical = SEVERITY_MIX.get(failure_type, DEFAULT_SEVERITY_MIX)
    if on_cluster:
        high, critical = int(high * 1.6), int(critical * 1.6)
    ranks = [severity.rank for severity in Severity]
    return _table(ranks, (low, medium, high, critical))


@cache
def _outcome_table(failure_type: FailureType) -> tuple[str, ...]:
    weights = OUTCOME_MIX.get(failure_type, DEFAULT_OUTCOME_MIX)
    return _table([outcome.value for outcome in OUTCOMES], weights)


def _confidences(rng: random.Random, typical: float) -> tuple[float, ...]:
    values = (min(0.99, max(0.05, rng.gauss(typical, 0.06))) for _ in range(6))
    return tuple(round(value, 2) for value in values)


def _tag_choices(
    rng: random.Random, repository: Repository, failure_type: FailureType
) -> tuple[tuple[tuple[str, ...], str], ...]:
    specific = FAILURE_TAGS[failure_type.value]
    pool = (*specific, *specific, *specific, repository.ecosystem, *GENERIC_TAGS)
    choices = []
    for _ in range(5):
        count = TAG_COUNTS[int(rng.random() * len(TAG_COUNTS))]
        picked = (pool[int(rng.random() * len(pool))] for _ in range(count + 2))
        tags = list(dict.fromkeys(picked))[:count]
        choices.append((tuple(tags), json.dumps(tags)))
    return tuple(choices)
