"""Words, names and numbers that many failure templates draw their slots from."""

from __future__ import annotations

from devflowfix.demo.failures.base import Context
from devflowfix.vocabulary import Source

VERBS = (
    "creates",
    "rejects",
    "updates",
    "refunds",
    "parses",
    "serialises",
    "retries",
    "cancels",
    "imports",
    "exports",
    "merges",
    "validates",
    "archives",
    "schedules",
    "renders",
    "caches",
    "paginates",
    "deduplicates",
    "signs",
    "expires",
)
CONDITIONS = (
    "when_amount_is_negative",
    "with_expired_token",
    "on_duplicate_event",
    "for_unknown_currency",
    "with_empty_payload",
    "after_timeout",
    "in_utc",
    "across_dst_change",
    "with_unicode_name",
    "for_archived_account",
    "without_permission",
    "with_large_batch",
    "on_second_attempt",
    "when_disabled",
    "with_missing_field",
    "for_leap_year",
    "concurrently",
    "after_restart",
)
ENVIRONMENT_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "API_BASE_URL",
    "SENTRY_DSN",
    "STRIPE_API_KEY",
    "AWS_REGION",
    "KAFKA_BROKERS",
    "OIDC_ISSUER",
    "SMTP_HOST",
    "FEATURE_FLAGS_URL",
)
REGISTRIES = (
    "ghcr.io",
    "registry.gitlab.com",
    "docker.io",
    "quay.io",
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "europe-docker.pkg.dev",
    "acrprod.azurecr.io",
)
RUNNER_NAMES = (
    "ci-runner-07",
    "gpu-runner-2",
    "build-arm64-03",
    "self-hosted-linux-12",
    "k8s-runner-5f7c9",
    "mac-mini-04",
    "windows-2022-09",
)
BASE_IMAGES = (
    "python:3.12-slim",
    "node:20-alpine",
    "eclipse-temurin:21-jre",
    "golang:1.23-bookworm",
    "rust:1.80-slim",
    "mcr.microsoft.com/dotnet/aspnet:8.0",
    "ruby:3.3-alpine",
    "php:8.3-fpm",
    "debian:bookworm-slim",
    "ubuntu:24.04",
)
K8S_NAMESPACES = ("payments", "web", "data", "platform", "search", "claims")
UPSTREAM_HOSTS = {
    "python": ("pypi.org", "files.pythonhosted.org"),
    "node": ("registry.npmjs.org", "registry.yarnpkg.com"),
    "java": ("repo.maven.apache.org", "plugins.gradle.org"),
    "go": ("proxy.golang.org", "sum.golang.org"),
    "rust": ("index.crates.io", "static.crates.io"),
    "dotnet": ("api.nuget.org", "pkgs.dev.azure.com"),
    "ruby": ("rubygems.org", "index.rubygems.org"),
    "php": ("repo.packagist.org", "api.github.com"),
    "cpp": ("github.com", "conan.io"),
    "terraform": ("registry.terraform.io", "releases.hashicorp.com"),
}
INSTALL_COMMANDS = {
    "python": "pip install -r requirements.txt",
    "node": "npm ci",
    "java": "./gradlew dependencies --refresh-dependencies",
    "go": "go mod download",
    "rust": "cargo fetch --locked",
    "dotnet": "dotnet restore",
    "ruby": "bundle install --jobs 4",
    "php": "composer install --no-interaction --prefer-dist",
    "cpp": "conan install . --build=missing",
    "terraform": "terraform init -input=false",
}
TEST_COMMANDS = {
    "python": "pytest -q -n auto",
    "node": "npm test -- --ci",
    "java": "./mvnw -B verify",
    "go": "go test -race ./...",
    "rust": "cargo test --workspace",
    "dotnet": "dotnet test --no-build -c Release",
    "ruby": "bundle exec rspec",
    "php": "vendor/bin/phpunit",
    "cpp": "ctest --output-on-failure",
    "terraform": "terraform validate",
}


def line(c: Context) -> int:
    return c.num(12, 480)


def test_name(c: Context) -> str:
    return f"test_{c.pick(VERBS)}_{c.noun()}_{c.pick(CONDITIONS)}"


def camel_test_name(c: Context) -> str:
    words = [c.pick(VERBS), c.noun(), *c.pick(CONDITIONS).split("_")]
    return words[0] + "".join(word.capitalize() for word in words[1:])


def title(word: str) -> str:
    return word[:1].upper() + word[1:]


def ghsa(c: Context) -> str:
    alphabet = "23456789cfghjmpqrvwx"
    groups = ("".join(c.pick(alphabet) for _ in range(4)) for _ in range(3))
    return "GHSA-" + "-".join(groups)


def cve(c: Context) -> str:
    return f"CVE-{c.num(2021, 2025)}-{c.num(1000, 52000)}"


def image(c: Context) -> str:
    repository = c.repository
    registry = "registry.gitlab.com" if c.source is Source.GITLAB_CI else "ghcr.io"
    return f"{registry}/{repository.slug}"


def duration(c: Context, low_seconds: int, high_seconds: int) -> str:
    seconds = c.num(low_seconds, high_seconds)
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"


POD_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def pod(c: Context) -> str:
    template_hash = "".join(c.pick(POD_ALPHABET) for _ in range(9))
    suffix = "".join(c.pick(POD_ALPHABET) for _ in range(5))
    return f"{c.repository.name}-{template_hash}-{suffix}"
