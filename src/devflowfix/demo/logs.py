"""Log excerpts as each CI system prints them, from a failure's command and output.

Timestamps inside an excerpt carry a placeholder for the date and hour, filled in
per incident, so one excerpt serves many incidents and still agrees with each
incident's timestamp to the second.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from devflowfix.demo.catalog import Repository
from devflowfix.demo.failures import Failure
from devflowfix.vocabulary import Source

HOUR = "\x00"  # stands for "YYYY-MM-DDTHH" of the incident's timestamp
MIN_LOG_BYTES = 300
MAX_LOG_BYTES = 1500
TIMESTAMPED = frozenset(
    {Source.GITHUB_ACTIONS, Source.AZURE_PIPELINES, Source.JENKINS, Source.ARGOCD}
)

SETUP_STEPS = {
    "python": ("actions/setup-python@v5", "Successfully set up CPython (3.12.4)"),
    (
        "node"
    ): ((
        "actions/setup-node@v4"
    ), (
        "Found in cache @ /opt/hostedtoolcache/node/20.15.1/x64"
    )),
    (
        "java"
    ): ((
        "actions/setup-java@v4"
    ), (
        "Java configuration: Distribution: temurin, Version: 21.0.4+7"
    )),
    "go": ("actions/setup-go@v5", "Setup go version spec 1.23 ... found in cache"),
    (
        "rust"
    ): ((
        "dtolnay/rust-toolchain@stable"
    ), (
        "info: using existing install for 'stable-x86_64-unknown-linux-gnu'"
    )),
    (
        "dotnet"
    ): ((
        "actions/setup-dotnet@v4"
    ), (
        "dotnet-install: Installed version is 8.0.303."
    )),
    "ruby": ("ruby/setup-ruby@v1", "Using Ruby 3.3.4, bundler cache restored"),
    (
        "php"
    ): ((
        "shivammathur/setup-php@v2"
    ), (
        "PHP 8.3.10 is installed with extensions intl, pdo_pgsql"
    )),
    (
        "cpp"
    ): ((
        "lukka/get-cmake@latest"
    ), (
        "cmake 3.30.2 and ninja 1.12.1 restored from cache"
    )),
    "terraform": ("hashicorp/setup-terraform@v3", "Terraform v1.9.4 on linux_amd64"),
}  # fmt: skip
GITHUB_PREAMBLE = (
    "Current runner version: '2.319.1'",
    "##[group]Operating System",
    "Ubuntu",
    "22.04.4",
    "LTS",
    "##[endgroup]",
    "##[group]Runner Image",
    "Image: ubuntu-22.04",
    "Version: 20240818.1.0",
    "##[endgroup]",
)
GITLAB_RUNNERS = (
    "gitlab-runner-k8s-7f9c",
    "shared-runner-04",
    "saas-linux-medium-amd64",
)
TOOL_VERSIONS = {
    "python": ("python --version", "Python 3.12.4"),
    "node": ("node --version", "v20.15.1"),
    "java": ("java -version", 'openjdk version "21.0.4" 2024-07-16 LTS'),
    "go": ("go version", "go version go1.23.0 linux/amd64"),
    "rust": ("cargo --version", "cargo 1.80.1 (376290515 2024-07-16)"),
    "dotnet": ("dotnet --version", "8.0.303"),
    "ruby": ("ruby --version", "ruby 3.3.4 (2024-07-09 revision be1089c8ec) +YJIT"),
    "php": ("php --version", "PHP 8.3.10 (cli) (NTS)"),
    "cpp": ("cmake --version", "cmake version 3.30.2"),
    "terraform": ("terraform version", "Terraform v1.9.4 on linux_amd64"),
}
BASE_IMAGES = {
    "python": "python:3.12-slim",
    "node": "node:20-bookworm",
    "java": "eclipse-temurin:21-jdk",
    "go": "golang:1.23",
    "rust": "rust:1.80",
    "dotnet": "mcr.microsoft.com/dotnet/sdk:8.0",
    "ruby": "ruby:3.3",
    "php": "php:8.3-cli",
    "cpp": "gcc:13",
    "terraform": "hashicorp/terraform:1.9",
}


@dataclass(frozen=True, slots=True)
class LogExcerpt:
    """An excerpt of a failed job's log and the second of the hour it ends at."""

    text: str
    end_second: float | None


@dataclass(slots=True)
class _Lines:
    """Log lines with their offsets in seconds from the start of the excerpt."""

    rng: random.Random
    entries: list[tuple[float, str]]
    clock: float = 0.0
    output_at: int = 0

    def add(self, text: str, *, after: float = 0.05) -> None:
        self.clock += self.rng.uniform(0, after)
        self.entries.append((self.clock, text))

    def extend(self, texts: list[str] | tuple[str, ...], after: float = 0.05) -> None:
        for text in texts:
            self.add(text, after=after)


def frame_log(
    failure: Failure,
    repository: Repository,
    source: Source,
    job: str,
    rng: random.Random,
) -> LogExcerpt:
    """The excerpt of the log a failure leaves on `source`, 300-1500 bytes long."""
    lines = _Lines(rng, [])
    FRAMERS.get(source, _frame_plain)(lines, failure, repository, job)
    padding = _padding(source, repository, rng)
    entries = _fit(lines.entries, lines.output_at, source, padding)
    if source not in TIMESTAMPED:
        return LogExcerpt("\n".join(text for _, text in entries), None)

    span = min(entries[-1][0], 3000.0)
    start = rng.uniform(1.0, 3590.0 - span)
    stamp, last = STAMPS[source], len(entries) - 1
    text = "\n".join(
        _stamped(stamp, start + min(offset, span), line, index == last, source)
        for index, (offset, line) in enumerate(entries)
    )

    return LogExcerpt(text, start + span)


def _stamped(
    stamp: Callable[[float], str], second: float, line: str, last: bool, source: Source
) -> str:
    # Argo CD shows the application's status as a table; only the controller's
    # log line at the end carries a time.
    if source is Source.ARGOCD and not last:
        return line
    return stamp(second) + line


def _frame_github(
    lines: _Lines, failure: Failure, repository: Repository, job: str
) -> None:
    action, detail = SETUP_STEPS[repository.ecosystem]
    lines.extend(
        (
            "##[group]Run actions/checkout@v4",
            f"Syncing repository: {repository.slug}",
            "##[endgroup]",
            f"##[group]Run {action}",
            detail,
            "##[endgroup]",
        ),
        after=2.0,
    )

    if failure.command:
        lines.extend((f"##[group]Run {failure.command}", failure.command))
        lines.extend(("shell: /usr/bin/bash -e {0}", "##[endgroup]"))
    _add_output(lines, failure)

    lines.add("##[error]" + failure.message.split("\n")[0])
    lines.add(f"##[error]Process completed with exit code {failure.exit_code}.")


def _frame_gitlab(
    lines: _Lines, failure: Failure, repository: Repository, job: str
) -> None:
    runner = lines.rng.choice(GITLAB_RUNNERS)
    lines.extend(
        (
            "Running with gitlab-runner 17.2.1 (9882d9c7)",
            f"  on {runner} {_hex(lines.rng, 8)}, system ID: s_{_hex(lines.rng, 12)}",
            'Preparing the "docker" executor',
            f"Using docker image {BASE_IMAGES[repository.ecosystem]} ...",
            "Getting source from Git repository",
            "Fetching changes with git depth set to 20...",
            f"Checking out {_hex(lines.rng, 8)} as detached HEAD...",
            'Executing "step_script" stage of the job script',
        )
    )

    if failure.command:
        lines.add(f"$ {failure.command}")
    _add_output(lines, failure)

    lines.add("Cleaning up project directory and file based variables")
    lines.add(f"ERROR: Job failed: exit code {failure.exit_code}")


def _frame_jenkins(
    lines: _Lines, failure: Failure, repository: Repository, job: str
) -> None:
    lines.extend(
        (
            "[Pipeline] stage",
            f"[Pipeline] {{ ({job})",
            "[Pipeline] sh",
        ),
        after=1.0,
    )

    if failure.command:
        lines.add(f"+ {failure.command}")
    _add_output(lines, failure)

    lines.extend(("[Pipeline] }", "[Pipeline] // stage", "[Pipeline] End of Pipeline"))
    lines.add(f"ERROR: script returned exit code {failure.exit_code}")
    lines.add("Finished: FAILURE")


def _frame_circleci(
    lines: _Lines, failure: Failure, repository: Repository, job: str
) -> None:
    lines.add("#!/bin/bash -eo pipefail")
    if failure.command:
        lines.add(failure.command)
    _add_output(lines, failure)
    lines.add("")
    lines.add(f"Exited with code exit status {failure.exit_code}")


def _frame_azure(
    lines: _Lines, failure: Failure, repository: Repository, job: str
) -> None:
    lines.extend(
        (
            f"##[section]Starting: {job}",
            "=" * 78,
            "Task         : Command line",
            "Version      : 2.246.1",
            "=" * 78,
            "Generating script.",
            (
                "========================== Starting Command Output "
                "==========================="
            ),
            (
                "/usr/bin/bash --noprofile --norc "
                f"/home/vsts/work/_temp/{_hex(lines.rng, 8)}.sh"
            ),
        )
    )

    if failure.command:
        lines.add(failure.command)
    _add_output(lines, failure)

    lines.add(f"##[error]Bash exited with code '{failure.exit_code}'.")
    lines.add(f"##[section]Finishing: {job}")


def _frame_argocd(
    lines: _Lines, failure: Failure, repository: Repository, job: str
) -> None:
    lines.extend(
        (
            f"Name:               argocd/{repository.name}",
            "Project:            default",
            "Server:             https://kubernetes.default.svc",
            (
                "Repo:               "
                f"https://github.com/{repository.owner}/deploy-manifests.git"
            ),
            f"Path:               apps/{repository.name}",
            "Sync Status:        OutOfSync",
            "Health Status:      Degraded",
        )
    )

    _add_output(lines, failure)
    message = failure.message.split("\n")[0].replace('"', '\\"')
    lines.add(
        f'level=error msg="{message}" application=argocd/{repository.name}', after=5
    )


def _frame_plain(
    lines: _Lines, failure: Failure, repository: Repository, job: str
) -> None:
    if failure.command:
        lines.add(f"$ {failure.command}")
    _add_output(lines, failure)


def _add_output(lines: _Lines, failure: Failure) -> None:
    lines.clock += lines.rng.uniform(2.0, 240.0)
    lines.output_at = len(lines.entries)
    for text in failure.output:
        for part in text.split("\n"):
            lines.add(part, after=0.4)


def _fit(
    entries: list[tuple[float, str]],
    output_at: int,
    source: Source,
    padding: list[str],
) -> list[tuple[float, str]]:
    """Trim set-up lines, then the output's middle; pad short excerpts on top."""
    stamp_bytes = 30 if source in TIMESTAMPED else 1
    entries = [(offset, text[:400]) for offset, text in entries]
    sizes = [len(text.encode()) + stamp_bytes for _, text in entries]
    total = sum(sizes)

    while total > MAX_LOG_BYTES and output_at > 1:
        total -= sizes.pop(0)
        del entries[0]
        output_at -= 1

    while total > MAX_LOG_BYTES and len(entries) > 8:
        middle = output_at + (len(entries) - output_at) // 2
        total -= sizes.pop(middle)
        del entries[middle]

    # A little over the minimum: the estimate counts a newline after every line.
    while total < MIN_LOG_BYTES + 20 and padding:
        for line in reversed(padding.pop().split("\n")):
            entries.insert(0, (0.0, line))
            total += len(line.encode()) + stamp_bytes

    return entries


def _padding(source: Source, repository: Repository, rng: random.Random) -> list[str]:
    """Chunks of lines that come before a job's own output, to pad short excerpts."""
    tool, version = TOOL_VERSIONS[repository.ecosystem]
    if source is Source.GITHUB_ACTIONS:
        return list(GITHUB_PREAMBLE)

    if source in (Source.KUBERNETES, Source.ARGOCD):
        return [
            f"Context: {repository.namespace}-prod-eu-west-1",
            f"Workload: deployment/{repository.name}",
            "Replicas: 3 desired | 1 updated | 3 total | 2 available | 1 unavailable",
            "StrategyType: RollingUpdate (25% max unavailable, 25% max surge)",
            f"Image: ghcr.io/{repository.slug}:sha-{_hex(rng, 7)}",
            f"Namespace: {repository.namespace}",
        ]

    if source is Source.MANUAL:
        where = rng.choice(("a laptop", "the staging bastion", "a dev container"))
        return [
            f"Reproduced by hand on {where}, after the pipeline failed:",
            f"$ git rev-parse --short HEAD\n{_hex(rng, 7)}",
            f"$ git log -1 --format=%s\nMerge pull request #{rng.randint(200, 9000)} "
            f"from {repository.owner}/fix-{_hex(rng, 4)}",
            "$ uname -sm\n" + rng.choice(("Linux x86_64", "Darwin arm64")),
            f"$ {tool}\n{version}",
            "$ docker version --format '{{.Server.Version}}'\n27.1.1",
        ]

    return [
        f"Repository: {repository.slug}",
        f"Commit: {_hex(rng, 40)}",
        "Restoring cache... done",
        f"Cache key: {repository.ecosystem}-{_hex(rng, 16)}",
        "Checking out code... done",
        "Environment: CI=true",
        f"$ {tool}\n{version}",
        f"Runner: {rng.choice(GITLAB_RUNNERS)}",
    ]


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _iso_stamp(second: float) -> str:
    minute, rest = divmod(second, 60)
    return f"{HOUR}:{int(minute):02d}:{rest:010.7f}Z "


def _jenkins_stamp(second: float) -> str:
    minute, rest = divmod(second, 60)
    return f"[{HOUR}:{int(minute):02d}:{rest:06.3f}Z] "


def _argocd_stamp(second: float) -> str:
    minute, rest = divmod(second, 60)
    return f'time="{HOUR}:{int(minute):02d}:{int(rest):02d}Z" '


FRAMERS = {
    Source.GITHUB_ACTIONS: _frame_github,
    Source.GITLAB_CI: _frame_gitlab,
    Source.JENKINS: _frame_jenkins,
    Source.CIRCLECI: _frame_circleci,
    Source.AZURE_PIPELINES: _frame_azure,
    Source.ARGOCD: _frame_argocd,
}
STAMPS = {
    Source.GITHUB_ACTIONS: _iso_stamp,
    Source.AZURE_PIPELINES: _iso_stamp,
    Source.JENKINS: _jenkins_stamp,
    Source.ARGOCD: _argocd_stamp,
}
