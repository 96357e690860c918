"""What a failure template is: a rule name, a failure type and a render function."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from devflowfix.demo.catalog import CI_SOURCES, CLUSTER_SOURCES, Repository
from devflowfix.vocabulary import FailureType, Source

T = TypeVar("T")

CI = frozenset(CI_SOURCES)
CLUSTER = frozenset(CLUSTER_SOURCES)
EVERYWHERE = CI | CLUSTER

WORKDIRS = {
    Source.GITHUB_ACTIONS: "/home/runner/work/{name}/{name}",
    Source.GITLAB_CI: "/builds/{slug}",
    Source.JENKINS: "/home/jenkins/agent/workspace/{name}",
    Source.CIRCLECI: "/home/circleci/project",
    Source.AZURE_PIPELINES: "/home/vsts/work/1/s",
    Source.ARGOCD: "/app",
    Source.KUBERNETES: "/app",
    Source.MANUAL: "/home/dev/src/{name}",
}


@dataclass(frozen=True, slots=True)
class Failure:
    """The texts of one failure: what the analysis says and what the log showed."""

    message: str
    root_cause: str
    suggested_fix: str
    command: str
    output: Sequence[str]
    exit_code: int = 1


@dataclass(slots=True)
class Context:
    """The random source and the repository a template renders a failure for."""

    rng: random.Random
    repository: Repository
    source: Source

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self.rng.random() * len(items))]

    def num(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def version(self, low: int = 1, high: int = 9) -> str:
        rng = self.rng
        return f"{rng.randint(low, high)}.{rng.randint(0, 30)}.{rng.randint(0, 15)}"

    def noun(self) -> str:
        return self.pick(self.repository.nouns)

    def hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(digits * 4):0{digits}x}"

    def seconds(self, low: float, high: float) -> str:
        return f"{self.rng.uniform(low, high):.2f}"

    @property
    def workdir(self) -> str:
        repository = self.repository
        return WORKDIRS[self.source].format(name=repository.name, slug=repository.slug)

    @property
    def on_cluster(self) -> bool:
        return self.source in CLUSTER


Render = Callable[[Context], Failure]


@dataclass(frozen=True, slots=True)
class Template:
    """A family of failures; `render` fills its slots with fresh values."""

    rule: str
    failure_type: FailureType
    stage: str
    ecosystems: frozenset[str] | None
    sources: frozenset[Source]
    weight: float
    confidence: float
    render: Render

    def fits(self, repository: Repository, source: Source) -> bool:
        """True when this failure can happen in the repository's pipeline on source."""
        if self.ecosystems is not None and repository.ecosystem not in self.ecosystems:
            return False
        return source is Source.MANUAL or source in self.sources


@dataclass(slots=True)
class Registry:
    """The templates one module defines, collected by the `add` decorator."""

    templates: list[Template] = field(default_factory=list)

    def add(
        self,
        rule: str,
        failure_type: FailureType,
        *,
        stage: str,
        ecosystems: str | None = None,
        sources: frozenset[Source] = CI,
        weight: float = 1.0,
        confidence: float = 0.9,
    ) -> Callable[[Render], Render]:
        """Register the decorated render function as a template."""

        def register(render: Render) -> Render:
            self.templates.append(
                Template(
                    rule=rule,
                    failure_type=failure_type,
                    stage=stage,
                    ecosystems=frozenset(ecosystems.split()) if ecosystems else None,
                    sources=sources,
                    weight=weight,
                    confidence=confidence,
                    render=render,
                )
            )

            return render

        return register
