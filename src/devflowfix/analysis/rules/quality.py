"""Gates around the code: security scans, flaky tests, linters, CI configuration."""

from __future__ import annotations

from devflowfix.analysis.rules.base import Rule, Tier, rule
from devflowfix.vocabulary import FailureType as F

RULES: tuple[Rule, ...] = (
    rule(
        "security.trivy",
        F.SECURITY_SCAN,
        Tier.CAUSE,
        r"^Total: (?P<total>[1-9]\d{0,5}) \((?:UNKNOWN: \d{1,5}, )?(?:LOW: \d{1,5}, )?"
        r"(?:MEDIUM: \d{1,5}, )?HIGH: (?P<high>\d{1,5}), "
        r"CRITICAL: (?P<critical>\d{1,5})\)",
        keywords=["total:"],
        cause="The container scan found {total} vulnerabilities ({critical} "
        "critical, {high} high) at or above the failing severity.",
        fix="Update the base image and the vulnerable packages listed in the "
        "table, rebuild, and scan again; accept a finding only with an "
        "expiry in .trivyignore.",
        examples=["Total: 3 (HIGH: 2, CRITICAL: 1)"],
    ),
    rule(
        "security.npm_audit",
        F.SECURITY_SCAN,
        Tier.CAUSE,
        r"^(?P<count>\d{1,5}) (?P<level>low|moderate|high|critical) severity "
        r"vulnerabilit(?:y|ies)$",
        keywords=["severity vulnerabilit"],
        cause="The dependency audit found {count} {level} severity vulnerabilities.",
        fix="Run `npm audit fix` (or upgrade the packages it names) and "
        "commit the lock file; review breaking upgrades.",
        examples=["3 high severity vulnerabilities"],
    ),
    rule(
        "security.snyk",
        F.SECURITY_SCAN,
        Tier.CAUSE,
        r"\u2717 (?P<level>Low|Medium|High|Critical) severity vulnerability found "
        r"in (?P<package>\S{1,120})",
        keywords=["severity vulnerability found in"],
        cause="Snyk found a {level} severity vulnerability in {package}.",
        fix="Upgrade {package} to the fixed version Snyk names, or add a "
        "justified ignore with an expiry.",
        examples=["\u2717 High severity vulnerability found in lodash"],
    ),
    rule(
        "security.python_audit",
        F.SECURITY_SCAN,
        Tier.CAUSE,
        r"Found (?P<count>\d{1,5}) known vulnerabilit(?:y|ies) in (?P<packages>"
        r"\d{1,5}) packages?",
        keywords=["known vulnerabilit"],
        cause="pip-audit found {count} known vulnerabilities in {packages} packages.",
        fix="Upgrade the packages listed to the fixed versions and refresh "
        "the lock file.",
        examples=["Found 2 known vulnerabilities in 1 package"],
    ),
    rule(
        "security.iac_scan",
        F.SECURITY_SCAN,
        Tier.CAUSE,
        r"Passed checks: \d{1,6}, Failed checks: (?P<count>[1-9]\d{0,5})",
        keywords=["failed checks:"],
        cause="The infrastructure security scan failed {count} checks.",
        fix="Fix the resources the failed checks name (or suppress a check "
        "with a justification next to the resource) and scan again.",
        examples=["Passed checks: 41, Failed checks: 2, Skipped checks: 0"],
    ),
    rule(
        "security.secrets",
        F.SECURITY_SCAN,
        Tier.CAUSE,
        r"leaks found: (?P<count>[1-9]\d{0,5})|(?P<count2>[1-9]\d{0,5}) secrets? "
        r"(?:detected|found)|Secret detected in",
        keywords=[
            "leaks found",
            "secret detected",
            "secrets detected",
            "secret found",
            "secrets found",
        ],
        cause="The secret scanner found {count} committed secrets.",
        fix="Revoke and rotate the exposed credentials first, then remove "
        "them from the code (and history) and load them from the CI's "
        "secrets.",
        examples=["WRN leaks found: 1"],
    ),
    rule(
        "security.code_scan",
        F.SECURITY_SCAN,
        Tier.CAUSE,
        r">> Issue: \[(?P<check>B\d{3}):(?P<name>\w{1,80})\]|Your code is affected "
        r"by (?P<count>\d{1,5}) vulnerabilit|error: (?P<count2>\d{1,5}) "
        r"vulnerabilit(?:y|ies) found|Dependency review detected vulnerable "
        r"packages",
        keywords=[">> issue:", "your code is affected", "vulnerabilit"],
        cause="A security scan failed the build[: {check} {name}][ ({count} "
        "vulnerabilities)].",
        fix="Fix the reported findings (upgrade the affected dependency or "
        "change the flagged code) and run the scanner again.",
        examples=[">> Issue: [B602:subprocess_popen_with_shell_equals_true]"],
    ),
    rule(
        "flaky.rerun",
        F.FLAKY_TEST,
        Tier.CAUSE,
        r"(?P<test>[\w/.\-]{1,200}::[^\s]{1,200}) RERUN|\b(?P<reruns>\d{1,4}) "
        r"rerun\b|^\s{0,8}(?P<flakes>\d{1,4}) flaky$|Flakes: (?P<flakes2>[1-9]\d{0,4})"
        r"|\(Attempt \d of \d\)|passed (?:on|after) retry|\bFLAKY\b"
        r"|RSpec::Retry: \d(?:st|nd|rd|th) try"
        r"|There (?:is|are) \d{1,4} flakes? and failOnFlakeCount",
        keywords=[
            "rerun",
            "flaky",
            "flake",
            "(attempt",
            "passed on retry",
            "passed after retry",
            "rspec::retry",
        ],
        on_warnings=True,
        cause="A flaky test: [{test} ]failed, then passed when run again, so "
        "the failure depends on timing or order rather than the change.",
        fix="Quarantine the test and fix its nondeterminism (shared state, "
        "timing, order, real network); do not just re-run until green.",
        examples=["tests/test_sync.py::test_poll_completes RERUN"],
    ),
    rule(
        "ci.github_workflow",
        F.CONFIGURATION_ERROR,
        Tier.CAUSE,
        r"Invalid workflow file: (?P<file>[^\s#]{1,200})(?:#L(?P<line>\d{1,6}))?|"
        r"Unrecognized named-value: '(?P<name>\w{1,60})'|Input required and not "
        r"supplied: (?P<input>[\w-]{1,80})|Unable to resolve action `(?P<action>"
        r"[^`\n]{1,120})`",
        keywords=[
            "invalid workflow file",
            "unrecognized named-value",
            "input required and not supplied",
            "unable to resolve action",
        ],
        cause="The workflow configuration is invalid[: {file}][ line {line}]"
        "[ (input {input} is not supplied)][ (action {action} does not "
        "resolve)].",
        fix="Fix the workflow file; a missing input is often a secret that is "
        "not set or not passed to the action.",
        examples=["Error: Input required and not supplied: token"],
    ),
    rule(
        "ci.gitlab_config",
        F.CONFIGURATION_ERROR,
        Tier.CAUSE,
        r"This GitLab CI configuration is invalid: (?P<reason>[^\n]{1,200})|"
        r"jobs:(?P<job>[\w-]{1,80}) config contains unknown keys?: "
        r"(?P<keys>[^\n]{1,80})",
        keywords=["gitlab ci configuration is invalid", "config contains unknown key"],
        cause="The GitLab CI configuration is invalid[: {reason}][ (job {job}: "
        "unknown keys {keys})].",
        fix="Fix .gitlab-ci.yml; the pipeline editor's lint tab validates it.",
        examples=[
            "This GitLab CI configuration is invalid: jobs:test script can't be blank"
        ],
    ),
    rule(
        "config.missing_variable",
        F.CONFIGURATION_ERROR,
        Tier.CAUSE,
        r"(?:environment variable|env var) (?P<variable>[A-Z][A-Z0-9_]{2,80}) "
        r"(?:is )?(?:not set|missing|required|is empty)|KeyError: '(?P<variable2>"
        r"[A-Z][A-Z0-9_]{2,80})'",
        keywords=["environment variable", "env var", "keyerror: '"],
        cause="The required setting {variable} is not set for the job.",
        fix="Define {variable} in the job's environment (a CI variable or "
        "secret); secrets are not passed to workflows from forks.",
        examples=["Error: environment variable DATABASE_URL is not set"],
    ),
    rule(
        "config.yaml",
        F.CONFIGURATION_ERROR,
        Tier.CAUSE,
        r"yaml\.(?:scanner\.ScannerError|parser\.ParserError)|error converting YAML "
        r"to JSON: (?P<reason>[^\n]{1,160})|mapping values are not allowed here",
        keywords=["yaml.", "yaml to json", "mapping values are not allowed"],
        cause="A YAML file does not parse[: {reason}].",
        fix="Fix the YAML indentation or quoting at the reported line; a YAML "
        "linter catches these before CI.",
        examples=[
            "error converting YAML to JSON: yaml: line 12: mapping values are "
            "not allowed in this context"
        ],
    ),
    rule(
        "lint.pre_commit",
        F.LINT_ERROR,
        Tier.TOOL,
        r"^(?P<hook>[\w .\-]{1,80}?)\.{3,100}Failed$",
        keywords=["...failed"],
        cause="The pre-commit hook '{hook}' failed.",
        fix="Run `pre-commit run --all-files` locally and commit what it fixes.",
        examples=["flake8...................................................Failed"],
    ),
    rule(
        "lint.shell_docker",
        F.LINT_ERROR,
        Tier.TOOL,
        r"^In (?P<file>\S{1,200}) line (?P<line>\d{1,7}):(?:\n[^\n]{0,300}){1,4}?"
        r"\s\^?-{0,40}\s?(?P<code>SC\d{4})|^(?P<file2>\S{1,200}):(?P<line2>\d{1,7}) "
        r"(?P<code2>DL\d{4}) (?:error|warning)",
        keywords=["sc1", "sc2", " dl3", " dl4"],
        cause="{code} reported in {file} at line {line}.",
        fix="Fix {file}:{line} as the linter suggests (shellcheck or "
        "hadolint document every code).",
        examples=["Dockerfile:7 DL3008 warning: Pin versions in apt get install"],
    ),
    rule(
        "lint.yaml_markdown",
        F.LINT_ERROR,
        Tier.TOOL,
        r"^  (?P<line>\d{1,7}):\d{1,5} {1,8}error {1,8}(?P<message>[^\n]{1,160})"
        r"\((?P<rule>[\w-]{1,60})\)$",
        keywords=[" error "],
        cause="yamllint reports {rule} at line {line}: {message}.",
        fix="Fix the line or adjust .yamllint if the rule does not fit.",
        examples=[
            "  12:81     error    line too long (97 > 80 characters)  (line-length)"
        ],
    ),
    rule(
        "lint.markdown",
        F.LINT_ERROR,
        Tier.TOOL,
        r"^(?P<file>[\w/.\-]{1,200}\.md):(?P<line>\d{1,7})(?::\d{1,5})? "
        r"(?P<code>MD\d{3})/[\w-]{1,60} ",
        keywords=[".md:"],
        cause="markdownlint reports {code} in {file} at line {line}.",
        fix="Fix the Markdown at {file}:{line}, or adjust the rule in the "
        "markdownlint configuration.",
        examples=["docs/setup.md:14 MD012/no-multiple-blanks Multiple blank lines"],
    ),
    rule(
        "docs.warnings_as_errors",
        F.BUILD_FAILURE,
        Tier.TOOL,
        r"^Warning, treated as error:\n(?P<message>[^\n]{1,200})",
        keywords=["warning, treated as error"],
        on_warnings=True,
        cause="The documentation build treats warnings as errors: {message}.",
        fix="Fix the reference or markup the warning names; build the docs "
        "locally with the same -W flag.",
        examples=["Warning, treated as error:\ndocs/api.rst:88:undefined label"],
    ),
    rule(
        "build.failed",
        F.BUILD_FAILURE,
        Tier.GENERIC,
        r"^\[ERROR\] BUILD FAILURE$|^FAILURE: Build failed with an exception\.$|"
        r"^Failed to compile\.$|^Build failed\b|^error: could not compile "
        r"`(?P<crate>[\w-]{1,80})`|^BUILD FAILED",
        keywords=[
            "build failure",
            "build failed",
            "failed to compile",
            "could not compile",
        ],
        cause="The build failed[ (crate {crate})]; the lines above the summary "
        "show the first error.",
        fix="Run the build locally with the same command and fix the first "
        "error it reports.",
        examples=["[ERROR] BUILD FAILURE"],
    ),
)
