"""Security scan failures: image and dependency scanners, secret scanners."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from devflowfix.demo.failures.base import Context, Failure, Registry
from devflowfix.demo.failures.pools import BASE_IMAGES, cve, ghsa, image
from devflowfix.vocabulary import FailureType

registry = Registry()

WEAKNESSES = (
    "prototype pollution",
    "regular expression denial of service",
    "path traversal",
    "server-side request forgery",
    "HTTP request smuggling",
    "XML external entity injection",
    "improper certificate validation",
    "heap buffer overflow",
    "open redirect",
    "uncontrolled resource consumption",
)
OS_PACKAGES = (
    "openssl",
    "libexpat1",
    "zlib1g",
    "libcurl4",
    "glibc",
    "libxml2",
    "perl-base",
)
LIBRARIES = {
    "python": ("jinja2", "urllib3", "cryptography", "requests", "pillow", "werkzeug"),
    "node": ("ws", "semver", "tough-cookie", "braces", "micromatch", "undici"),
    "java": ("jackson-databind", "netty-codec-http2", "snakeyaml", "spring-web"),
    "go": (
        "golang.org/x/net",
        "google.golang.org/grpc",
        "github.com/golang-jwt/jwt/v4",
    ),
    "rust": ("h2", "rustls-webpki", "openssl", "time"),
    "dotnet": ("System.Text.Json", "Newtonsoft.Json", "Azure.Identity"),
    "ruby": ("rack", "nokogiri", "actionpack", "puma"),
    "php": ("guzzlehttp/psr7", "symfony/http-kernel", "league/commonmark"),
    "cpp": ("openssl", "zlib", "curl"),
    "terraform": ("aws_s3_bucket", "aws_security_group"),
}


def _finding(c: Context, library: str) -> tuple[str, str, str, str]:
    installed = c.version(1, 5)
    major, minor, patch = installed.split(".")
    fixed = f"{major}.{minor}.{int(patch) + c.num(1, 4)}"
    return library, installed, fixed, c.pick(WEAKNESSES)


@registry.add(
    "security.trivy_image",
    FailureType.SECURITY_SCAN,
    stage="security",
    weight=3,
    confidence=0.97,
)
def trivy_image(c: Context) -> Failure:
    base = c.pick(BASE_IMAGES)
    rows, severities = [], {"CRITICAL": 0, "HIGH": 0}
    for _ in range(c.num(1, 4)):
        package, installed, fixed, _weakness = _finding(c, c.pick(OS_PACKAGES))
        severity = c.pick(("HIGH", "HIGH", "CRITICAL"))
        severities[severity] += 1
        rows.append(
            f"| {package:<11} | {cve(c):<14} | {severity:<8} | {installed:<9} "
            f"| {fixed:<9} |"
        )

    total = sum(severities.values())
    summary = (
        f"Total: {total} (UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: {severities['HIGH']}, "
        f"CRITICAL: {severities['CRITICAL']})"
    )
    tag = f"{image(c)}:sha-{c.hex(7)}"

    output = [
        f"{tag} (debian 12.{c.num(1, 8)})",
        "=" * 40,
        summary,
        "| Library     | Vulnerability  | Severity | Installed | Fixed     |",
        *rows,
    ]

    return Failure(
        message=f"trivy: {tag}: {summary}",
        root_cause=(
            f"The image is built on {base}, whose OS packages have {total} known "
            "HIGH/CRITICAL vulnerabilities with fixes available; the scan gate "
            "fails on them."
        ),
        suggested_fix=(
            f"Rebuild on the latest {base} patch release (or `apt-get upgrade` the "
            "listed packages) and rescan."
        ),
        command=f"trivy image --exit-code 1 --severity HIGH,CRITICAL {tag}",
        output=output,
    )


@registry.add(
    "security.dependency_audit",
    FailureType.SECURITY_SCAN,
    stage="security",
    ecosystems="python node java go rust dotnet ruby php",
    weight=3,
    confidence=0.95,
)
def dependency_audit(c: Context) -> Failure:
    ecosystem = c.repository.ecosystem
    library, installed, fixed, weakness = _finding(c, c.pick(LIBRARIES[ecosystem]))
    advisory = ghsa(c) if ecosystem in ("node", "python", "php") else cve(c)
    finding = Finding(library, installed, fixed, advisory)
    command, lines = AUDIT_REPORTS[ecosystem](c, finding)

    return Failure(
        message=(
            f"{library} {installed} is affected by {advisory} ({weakness}); fixed "
            f"in {fixed}"
        ),
        root_cause=(
            f"The locked version of {library} ({installed}) has a published "
            f"{weakness} advisory, {advisory}."
        ),
        suggested_fix=(
            f"Upgrade {library} to {fixed} or later and regenerate the lock file."
        ),
        command=command,
        output=lines,
    )


class Finding(NamedTuple):
    library: str
    installed: str
    fixed: str
    advisory: str


def _npm_audit(c: Context, finding: Finding) -> tuple[str, list[str]]:
    library = finding.library
    return "npm audit --audit-level=high", [
        "# npm audit report",
        "",
        f"{library}  <{finding.fixed}",
        "Severity: high",
        (
            f"{library} vulnerable to {c.pick(WEAKNESSES)} - "
            f"https://github.com/advisories/{finding.advisory}"
        ),
        "fix available via `npm audit fix`",
        f"node_modules/{library}",
        "",
        f"{c.num(1, 6)} high severity vulnerabilities",
    ]


def _pip_audit(c: Context, finding: Finding) -> tuple[str, list[str]]:
    return "pip-audit -r requirements.txt", [
        "Found 1 known vulnerability in 1 package",
        "Name     Version ID                  Fix Versions",
        "-------- ------- ------------------- ------------",
        f"{finding.library} {finding.installed}  {finding.advisory} {finding.fixed}",
    ]


def _govulncheck(c: Context, finding: Finding) -> tuple[str, list[str]]:
    library = finding.library
    return "govulncheck ./...", [
        f"Vulnerability #1: GO-{c.num(2023, 2025)}-{c.num(1000, 3400)}",
        f"    {c.pick(WEAKNESSES).capitalize()} in {library}",
        f"  Module: {library}",
        f"    Found in: {library}@v{finding.installed}",
        f"    Fixed in: {library}@v{finding.fixed}",
        "Your code is affected by 1 vulnerability from 1 module.",
    ]


def _cargo_audit(c: Context, finding: Finding) -> tuple[str, list[str]]:
    return "cargo audit", [
        "    Scanning Cargo.lock for vulnerabilities",
        f"Crate:     {finding.library}",
        f"Version:   {finding.installed}",
        f"ID:        RUSTSEC-{c.num(2023, 2025)}-{c.num(1, 99):04d}",
        f"Solution:  Upgrade to >={finding.fixed}",
        "error: 1 vulnerability found!",
    ]


def _bundle_audit(c: Context, finding: Finding) -> tuple[str, list[str]]:
    return "bundle exec bundle-audit check --update", [
        f"Name: {finding.library}",
        f"Version: {finding.installed}",
        f"CVE: {finding.advisory}",
        "Criticality: High",
        f"Solution: upgrade to '>= {finding.fixed}'",
        "Vulnerabilities found!",
    ]


def _dependency_check(c: Context, finding: Finding) -> tuple[str, list[str]]:
    return "./gradlew dependencyCheckAnalyze", [
        "> Task :dependencyCheckAnalyze",
        "One or more dependencies were identified with vulnerabilities that have "
        "a CVSS score greater than or equal to '7.0':",
        f"{finding.library}-{finding.installed}.jar: {finding.advisory}"
        f"({c.num(70, 98) / 10})",
    ]


def _dotnet_vulnerable(c: Context, finding: Finding) -> tuple[str, list[str]]:
    project = c.repository.camel
    return "dotnet list package --vulnerable --include-transitive", [
        f"The given project `{project}` has the following vulnerable packages",
        "   [net8.0]:",
        "   Top-level Package      Requested   Resolved   Severity   Advisory URL",
        f"   > {finding.library:<20} {finding.installed:<11} {finding.installed:<10} "
        f"High       https://github.com/advisories/{ghsa(c)}",
    ]


def _composer_audit(c: Context, finding: Finding) -> tuple[str, list[str]]:
    return "composer audit --locked", [
        "Found 1 security vulnerability advisory affecting 1 package:",
        f"| Package           | {finding.library}",
        "| Severity          | high",
        f"| Advisory ID       | {finding.advisory}",
        f"| Affected versions | <{finding.fixed}",
    ]


AUDIT_REPORTS: dict[str, Callable[[Context, Finding], tuple[str, list[str]]]] = {
    "node": _npm_audit,
    "python": _pip_audit,
    "go": _govulncheck,
    "rust": _cargo_audit,
    "ruby": _bundle_audit,
    "java": _dependency_check,
    "dotnet": _dotnet_vulnerable,
    "php": _composer_audit,
}


SECRET_RULES = (
    ("aws-access-token", "AKIA" + "X" * 4),
    ("github-pat", "ghp_"),
    ("slack-webhook-url", "https://hooks.slack.com/services/"),
    ("stripe-access-token", "sk_live_"),
    ("private-key", "-----BEGIN RSA PRIVATE KEY-----"),
)


@registry.add(
    "security.secret_leak",
    FailureType.SECURITY_SCAN,
    stage="security",
    weight=1.2,
    confidence=0.97,
)
def secret_leak(c: Context) -> Failure:
    rule, prefix = c.pick(SECRET_RULES)
    path = c.pick(
        (
            "config/settings.py",
            ".env.example",
            "scripts/seed.sh",
            "src/config.ts",
            "k8s/values-dev.yaml",
        )
    )
    at = c.num(2, 120)
    commit = c.hex(40)

    output = [
        "    ○",
        "    │╲",
        "    │ ○",
        "    ○ ░",
        "    ░    gitleaks",
        f"Finding:     {prefix}" + "*" * 12,
        f"RuleID:      {rule}",
        f"File:        {path}",
        f"Line:        {at}",
        f"Commit:      {commit}",
        "WRN leaks found: 1",
    ]

    return Failure(
        message=f"gitleaks: leaks found: 1 ({rule} in {path}:{at})",
        root_cause=(
            f"Commit {commit[:8]} adds a credential matching `{rule}` to {path}."
        ),
        suggested_fix=(
            "Revoke and rotate the credential first, then remove it from the "
            "history and load it from the secret store."
        ),
        command="gitleaks detect --redact -v",
        output=output,
    )


@registry.add(
    "security.iac_scan",
    FailureType.SECURITY_SCAN,
    stage="security",
    ecosystems="terraform",
    weight=2,
    confidence=0.94,
)
def iac_scan(c: Context) -> Failure:
    checks = (
        ("CKV_AWS_18", "Ensure the S3 bucket has access logging enabled"),
        (
            "CKV_AWS_24",
            "Ensure no security groups allow ingress from 0.0.0.0:0 to port 22",
        ),
        (
            "CKV_AWS_16",
            "Ensure all data stored in the RDS is securely encrypted at rest",
        ),
        ("CKV_AWS_145", "Ensure that S3 buckets are encrypted with KMS by default"),
    )
    check, text = c.pick(checks)
    path = f"/modules/{c.pick(('storage', 'network', 'database'))}/main.tf"

    output = [
        (
            f"Passed checks: {c.num(40, 300)}, Failed checks: 1, Skipped checks: "
            f"{c.num(0, 9)}"
        ),
        f'Check: {check}: "{text}"',
        "\tFAILED for resource: module.platform.aws_s3_bucket.logs",
        f"\tFile: {path}:{c.num(1, 60)}-{c.num(61, 120)}",
    ]

    return Failure(
        message=f"checkov: {check} FAILED: {text}",
        root_cause=f"A resource in {path} violates {check}.",
        suggested_fix=(
            f"Fix the resource to satisfy {check}, or document an explicit skip "
            "with a reason."
        ),
        command="checkov -d . --compact",
        output=output,
    )
