"""The domain's closed vocabularies: sources, severities, outcomes, failure types."""

from __future__ import annotations

from enum import StrEnum


class Source(StrEnum):
    GITHUB_ACTIONS = "github_actions"
    GITLAB_CI = "gitlab_ci"
    JENKINS = "jenkins"
    CIRCLECI = "circleci"
    AZURE_PIPELINES = "azure_pipelines"
    ARGOCD = "argocd"
    KUBERNETES = "kubernetes"
    MANUAL = "manual"


class Severity(StrEnum):
    """Severities in rising order; `rank` is what sorting uses."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return SEVERITY_RANKS[self]

    @classmethod
    def from_rank(cls, rank: int) -> Severity:
        return SEVERITIES_BY_RANK[rank]


SEVERITY_RANKS: dict[Severity, int] = {
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}
SEVERITIES_BY_RANK: dict[int, Severity] = {
    rank: severity for severity, rank in SEVERITY_RANKS.items()
}


class Outcome(StrEnum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILED = "failed"
    ESCALATED = "escalated"
    ROLLED_BACK = "rolled_back"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"


class FailureType(StrEnum):
    BUILD_FAILURE = "build_failure"
    TEST_FAILURE = "test_failure"
    FLAKY_TEST = "flaky_test"
    COMPILATION_ERROR = "compilation_error"
    DEPENDENCY_ERROR = "dependency_error"
    LINT_ERROR = "lint_error"
    TIMEOUT = "timeout"
    NETWORK_ERROR = "network_error"
    OUT_OF_MEMORY = "out_of_memory"
    DISK_SPACE = "disk_space"
    PERMISSION_DENIED = "permission_denied"
    AUTHENTICATION_ERROR = "authentication_error"
    CONFIGURATION_ERROR = "configuration_error"
    INFRASTRUCTURE_ERROR = "infrastructure_error"
    DOCKER_ERROR = "docker_error"
    DEPLOYMENT_FAILURE = "deployment_failure"
    SECURITY_SCAN = "security_scan"
    UNKNOWN = "unknown"


class Role(StrEnum):
    """User roles; each includes the rights of the ones before it."""

    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"

    def includes(self, other: Role) -> bool:
        return ROLE_ORDER.index(self) >= ROLE_ORDER.index(other)


ROLE_ORDER: tuple[Role, ...] = (Role.VIEWER, Role.MEMBER, Role.ADMIN)


class JobStatus(StrEnum):
    """Where a background job is in its life; the last three are final."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_JOB_STATUSES


FINAL_JOB_STATUSES = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}
)
ACTIVE_JOB_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.PROCESSING})


class Provider(StrEnum):
    """CI providers that send webhooks and serve job logs."""

    GITHUB = "github"
    GITLAB = "gitlab"
    JENKINS = "jenkins"

    @property
    def source(self) -> Source:
        return PROVIDER_SOURCES[self]


PROVIDER_SOURCES: dict[Provider, Source] = {
    Provider.GITHUB: Source.GITHUB_ACTIONS,
    Provider.GITLAB: Source.GITLAB_CI,
    Provider.JENKINS: Source.JENKINS,
}
