"""The demo organisation: repositories, their CI systems, branches, jobs and tags."""

from __future__ import annotations

import random
from dataclasses import dataclass

from devflowfix.vocabulary import Source

CI_SOURCES: tuple[Source, ...] = (
    Source.GITHUB_ACTIONS,
    Source.GITLAB_CI,
    Source.JENKINS,
    Source.CIRCLECI,
    Source.AZURE_PIPELINES,
)
CLUSTER_SOURCES: tuple[Source, ...] = (Source.ARGOCD, Source.KUBERNETES)

ECOSYSTEMS = (
    "python",
    "node",
    "java",
    "go",
    "rust",
    "dotnet",
    "ruby",
    "php",
    "cpp",
    "terraform",
)


@dataclass(frozen=True, slots=True)
class Repository:
    """One repository of the demo organisation and where its pipelines run."""

    slug: str
    ecosystem: str
    ci: Source
    deploy: Source | None
    nouns: tuple[str, ...]
    weight: float

    @property
    def owner(self) -> str:
        return self.slug.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.slug.split("/", 1)[1]

    @property
    def package(self) -> str:
        return self.name.replace("-", "_")

    @property
    def camel(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("-"))

    @property
    def namespace(self) -> str:
        return self.owner.split("-", 1)[0]


SOURCE_CODES = {
    "gh": Source.GITHUB_ACTIONS,
    "gl": Source.GITLAB_CI,
    "jk": Source.JENKINS,
    "cc": Source.CIRCLECI,
    "az": Source.AZURE_PIPELINES,
    "argo": Source.ARGOCD,
    "k8s": Source.KUBERNETES,
}

# slug, ecosystem, CI, deploys (or -), weight, nouns used in file and test names
REPOSITORY_TABLE = """
meridian-pay/ledger-service     python gh argo 2.2 ledger entry balance journal account
meridian-pay/fraud-scoring      python gh argo 1.4 score rule signal merchant velocity
atlas-data/etl-pipelines        python gl k8s  1.8 extract loader schema partition batch
atlas-data/feature-store        python gl k8s  1.0 feature snapshot registry backfill
harborlight/notification-worker python gh argo 1.3 email webhook template digest queue
bluefin-labs/ml-inference       python gh k8s  1.2 model tokenizer batcher predictor
quarry-io/search-indexer        python cc k8s  0.9 index document crawler shard analyzer
tidewater/django-portal         python az k8s  0.8 customer policy claim invoice profile
harborlight/web-dashboard       node   gh argo 2.0 chart widget session filter sidebar
harborlight/checkout-frontend   node   gh argo 1.7 cart checkout coupon payment address
meridian-pay/merchant-portal    node   gh argo 1.2 merchant payout report dispute
quarry-io/api-gateway-bff       node   cc k8s  1.0 route proxy session limiter schema
bluefin-labs/design-system      node   gh -    0.9 button modal tooltip theme table
tidewater/mobile-bff            node   az k8s  0.7 quote policy device push profile
fernwood/docs-site              node   gl -    0.5 page sidebar search navigation
atlas-data/graphql-api          node   gl k8s  1.0 resolver dataset loader schema query
meridian-pay/payments-core      java   jk argo 2.0 payment refund capture settlement
meridian-pay/settlement-batch   java   jk argo 1.1 settlement payout batch cutoff fee
fernwood/inventory-service      java   gl argo 1.3 stock warehouse reservation sku
tidewater/claims-engine         java   jk k8s  1.4 claim policy assessor rule adjuster
quarry-io/kafka-connectors      java   cc k8s  0.8 connector offset sink topic converter
harborlight/android-app         java   gh -    1.0 screen login cart order notification
fernwood/edge-proxy             go     gl argo 1.4 router listener upstream tls health
quarry-io/log-shipper           go     cc k8s  0.8 tailer buffer sink parser batch
bluefin-labs/k8s-operator       go     gh k8s  1.1 reconciler controller webhook lease
harborlight/auth-service        go     gh argo 1.5 token session jwks client consent
atlas-data/ingest-gateway       go     gl k8s  0.9 ingest batch schema quota stream
bluefin-labs/vector-db          rust   gh k8s  1.0 index segment query planner storage
fernwood/wasm-filters           rust   gl -    0.5 filter header policy matcher
quarry-io/parquet-tools         rust   cc -    0.5 reader writer schema column page
tidewater/policy-api            dotnet az k8s  1.4 policy premium quote endorsement
tidewater/billing-service       dotnet az k8s  1.1 invoice payment ledger dunning
meridian-pay/reconciliation     dotnet jk argo 0.8 statement match ledger export bank
harborlight/storefront-rails    ruby   gh argo 1.3 product order cart customer discount
tidewater/agent-portal          ruby   az k8s  0.6 agent commission lead quote
fernwood/marketing-cms          php    gl k8s  0.7 page post media campaign form
quarry-io/legacy-billing        php    jk k8s  0.6 invoice customer tariff usage
bluefin-labs/edge-runtime       cpp    gh -    0.7 scheduler tensor allocator kernel
fernwood/firmware-sdk           cpp    gl -    0.5 driver sensor buffer protocol
meridian-pay/infrastructure     terraform gh - 1.2 network cluster database bucket
harborlight/platform-terraform  terraform gh - 0.9 vpc eks rds iam
atlas-data/platform-live        terraform gl - 0.6 gke bigquery bucket network
"""


def _parse_repositories(table: str) -> tuple[Repository, ...]:
    repositories = []
    for line in table.strip().splitlines():
        slug, ecosystem, ci, deploy, weight, *nouns = line.split()
        repositories.append(
            Repository(
                slug=slug,
                ecosystem=ecosystem,
                ci=SOURCE_CODES[ci],
                deploy=SOURCE_CODES.get(deploy),
                nouns=tuple(nouns),
                weight=float(weight),
            )
        )

    return tuple(repositories)


REPOSITORIES = _parse_repositories(REPOSITORY_TABLE)

DEPLOY_SHARE = 0.13
MANUAL_SHARE = 0.025


def source_weights(repository: Repository) -> list[tuple[Source, float]]:
    """How a repository's incidents split between its CI, its deploys and people."""
    weights = [(repository.ci, 1.0 - DEPLOY_SHARE - MANUAL_SHARE)]
    if repository.deploy is None:
        weights[0] = (repository.ci, 1.0 - MANUAL_SHARE)
    else:
        weights.append((repository.deploy, DEPLOY_SHARE))
    weights.append((Source.MANUAL, MANUAL_SHARE))
    return weights


DEPENDABOT_ECOSYSTEM = {
    "python": "pip",
    "node": "npm_and_yarn",
    "java": "gradle",
    "go": "go_modules",
    "rust": "cargo",
    "dotnet": "nuget",
    "ruby": "bundler",
    "php": "composer",
    "cpp": "github_actions",
    "terraform": "terraform",
}
BUMPED_PACKAGES = {
    "python": ("requests", "sqlalchemy", "pydantic", "boto3", "celery", "httpx"),
    "node": ("react", "webpack", "eslint", "axios", "next", "typescript"),
    "java": ("spring-boot", "jackson-databind", "junit-jupiter", "netty-all"),
    "go": ("golang.org/x/net", "google.golang.org/grpc", "github.com/spf13/cobra"),
    "rust": ("tokio", "serde", "clap", "hyper", "rustls"),
    "dotnet": ("Newtonsoft.Json", "Serilog", "xunit", "Npgsql"),
    "ruby": ("rails", "puma", "sidekiq", "nokogiri"),
    "php": ("laravel/framework", "guzzlehttp/guzzle", "phpunit/phpunit"),
    "cpp": ("actions/checkout", "actions/cache", "docker/build-push-action"),
    "terraform": ("hashicorp/aws", "hashicorp/google", "hashicorp/kubernetes"),
}
FEATURE_WORDS = (
    "retry-backoff", "dark-mode", "bulk-export", "new-onboarding", "cache-warmup",
    "audit-log", "rate-limits", "sso-login", "multi-currency", "search-facets",
    "webhook-v2", "async-workers", "otel-tracing", "csv-import", "feature-flags",
    "graphql-pagination", "idempotency-keys", "pdf-invoices", "mfa", "sharding",
)  # fmt: skip
TICKET_PREFIXES = ("PAY", "PLAT", "WEB", "DATA", "OPS", "CORE", "SEC")


def branch_pool(repository: Repository, rng: random.Random) -> list[str]:
    """Branch names of one repository, repeated in proportion to how often CI runs."""
    pool = ["main"] * 52
    for _ in range(10):
        pool.append(f"release/{rng.randint(1, 4)}.{rng.randint(0, 19)}")
    for _ in range(26):
        ticket = f"{rng.choice(TICKET_PREFIXES)}-{rng.randint(100, 4999)}"
        kind = rng.choice(("feature", "feature", "fix", "hotfix", "chore"))
        pool.append(f"{kind}/{ticket}-{rng.choice(FEATURE_WORDS)}")
    for _ in range(10):
        pool.append(_bot_branch(repository, rng))

    return pool


def _bot_branch(repository: Repository, rng: random.Random) -> str:
    package = rng.choice(BUMPED_PACKAGES[repository.ecosystem])
    version = f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 12)}"
    if repository.ci is Source.GITHUB_ACTIONS:
        ecosystem = DEPENDABOT_ECOSYSTEM[repository.ecosystem]
        return f"dependabot/{ecosystem}/{package}-{version}"
    return f"renovate/{package.replace('/', '-').lower()}-{version.rsplit('.', 1)[0]}.x"


# ecosystem, stage, job names separated by "|"; a key may span several lines.
JOB_TABLE = """
python test test (3.11)|test (3.12)|test (3.12, ubuntu-latest)|pytest|unit-tests
python test integration-tests
python lint lint|ruff|pre-commit|mypy|flake8
python build build|build-wheel|package
node test test (20.x)|test (22.x)|unit-tests|jest|vitest
node lint lint|eslint|typecheck|prettier
node build build|build (20.x)|bundle
java test test (17)|test (21)|unit-tests|integration-tests|verify
java lint checkstyle|spotless|lint
java build build (17)|build (21)|assemble|package
go test test|test (1.22)|test (1.23)|race|integration
go lint golangci-lint|lint|vet
go build build|build (linux/amd64)|build (linux/arm64)|goreleaser
rust test test (stable)|test (nightly)|cargo-test|miri
rust lint clippy|rustfmt|lint
rust build build (stable)|build (x86_64-unknown-linux-gnu)|build (aarch64-apple-darwin)
dotnet test Test|Unit tests|Integration tests
dotnet lint Format check|Analyzers
dotnet build Build|Build (Release)|Publish
ruby test rspec|test|system-tests|rspec (3.3)
ruby lint rubocop|lint|brakeman
ruby build assets|build|bundle
php test phpunit|tests (8.3)|pest|tests (8.2)
php lint phpstan|php-cs-fixer|psalm
php build build|composer|assets
cpp test ctest|test (gcc-13)|test (clang-17)|sanitizers
cpp lint clang-tidy|clang-format|cppcheck
cpp build build (gcc-13)|build (clang-17)|build (windows-latest)|cmake
terraform test validate|terratest|plan (staging)
terraform lint fmt|tflint|validate
terraform build plan (staging)|plan (production)|init
"""


def _parse_jobs(table: str) -> dict[str, dict[str, tuple[str, ...]]]:
    jobs: dict[str, dict[str, tuple[str, ...]]] = {}
    for line in table.strip().splitlines():
        ecosystem, stage, names = line.split(" ", 2)
        stages = jobs.setdefault(ecosystem, {})
        stages[stage] = stages.get(stage, ()) + tuple(names.split("|"))
    return jobs


JOBS = _parse_jobs(JOB_TABLE)
COMMON_JOBS: dict[str, tuple[str, ...]] = {
    "security": ("trivy", "security-scan", "dependency-audit", "codeql", "secret-scan"),
    "image": ("docker", "build-image", "docker-build (linux/amd64)", "publish-image"),
    "deploy": ("deploy-staging", "deploy-production", "deploy (staging)", "release"),
    "infra": ("apply (staging)", "apply (production)", "plan (production)"),
    "e2e": ("e2e", "playwright", "smoke-tests", "cypress"),
}
WORKFLOWS: dict[str, tuple[str, ...]] = {
    "test": ("CI", "CI", "CI", "Build and test", "Tests", "Pull request"),
    "lint": ("CI", "Lint", "Code quality", "Pull request"),
    "build": ("CI", "Build", "Build and test", "Release"),
    "security": ("Security", "CodeQL", "Container scan", "Nightly security"),
    "image": ("Docker", "Build and push image", "Release", "CI"),
    "deploy": ("Deploy", "CD", "Release", "Deploy to production"),
    "infra": ("Terraform", "Infrastructure", "Terraform apply"),
    "e2e": ("E2E", "Nightly", "End-to-end tests"),
}
STAGE_TITLES = {
    "test": ("Unit Tests", "Test", "Integration Tests"),
    "lint": ("Lint", "Static Analysis", "Code Style"),
    "build": ("Build", "Compile", "Package"),
    "security": ("Security Scan", "Dependency Check", "Image Scan"),
    "image": ("Docker Build", "Build Image", "Publish Image"),
    "deploy": ("Deploy to Staging", "Deploy to Production", "Helm Upgrade"),
    "infra": ("Terraform Plan", "Terraform Apply"),
    "e2e": ("E2E Tests", "Smoke Tests"),
}


def job_names(
    repository: Repository, source: Source, stage: str, rng: random.Random
) -> tuple[str, str]:
    """A plausible (workflow, job) pair for a stage of a repository's pipeline."""
    jobs = JOBS[repository.ecosystem].get(stage) or COMMON_JOBS[stage]
    if source is Source.GITHUB_ACTIONS:
        return rng.choice(WORKFLOWS[stage]), rng.choice(jobs)
    if source is Source.GITLAB_CI:
        return stage, rng.choice(jobs).replace(" (", ": [").replace(")", "]")
    if source is Source.JENKINS:
        return f"{repository.namespace}/{repository.name}", rng.choice(
            STAGE_TITLES[stage]
        )
    if source is Source.CIRCLECI:
        workflow = rng.choice(("build-test-deploy", "main", "nightly", "pr-checks"))
        return workflow, rng.choice(jobs).split(" ")[0]
    if source is Source.AZURE_PIPELINES:
        return f"{repository.name}-ci", rng.choice(STAGE_TITLES[stage])
    if source is Source.ARGOCD:
        return f"{repository.name}-{rng.choice(ENVIRONMENTS)}", "sync"
    if source is Source.KUBERNETES:
        return f"{repository.namespace}/{repository.name}", rng.choice(CONTAINERS)

    return "reported by hand", stage


ENVIRONMENTS = ("staging", "staging", "production", "production", "sandbox")
CONTAINERS = ("app", "api", "worker", "migrate", "app", "api")

GENERIC_TAGS = (
    "needs-triage", "ci", "regression", "known-issue", "on-call", "release-blocker",
    "customer-impact", "nightly", "p1", "p2", "p3", "main-branch", "pr", "retried",
    "runner", "cache", "linux", "arm64", "windows", "macos", "team:platform",
    "team:payments", "team:web", "team:data", "hotfix",
)  # fmt: skip
FAILURE_TAGS: dict[str, tuple[str, ...]] = {
    "build_failure": ("build", "packaging", "toolchain"),
    "test_failure": ("tests", "unit-tests", "integration-tests", "regression"),
    "flaky_test": ("flaky", "tests", "quarantine", "retried", "timing"),
    "compilation_error": ("build", "compiler", "breaking-change"),
    "dependency_error": ("dependencies", "upstream", "lockfile", "dependabot"),
    "lint_error": ("lint", "code-style", "types"),
    "timeout": ("timeout", "slow", "runner"),
    "network_error": ("network", "upstream", "dns", "transient"),
    "out_of_memory": ("memory", "oom", "resources"),
    "disk_space": ("disk", "runner", "resources", "cache"),
    "permission_denied": ("permissions", "rbac", "iam"),
    "authentication_error": ("auth", "credentials", "secrets", "registry"),
    "configuration_error": ("config", "yaml", "env"),
    "infrastructure_error": ("infra", "runner", "capacity", "transient"),
    "docker_error": ("docker", "image", "registry"),
    "deployment_failure": ("deploy", "rollback", "kubernetes", "helm"),
    "security_scan": ("security", "cve", "vulnerability", "sbom"),
    "unknown": ("needs-triage", "investigate"),
}  # fmt: skip
