"""Failures any pipeline can hit: shell, disk, network, time limits, runners."""

from __future__ import annotations

from devflowfix.demo.failures.base import CI, Context, Failure, Registry
from devflowfix.demo.failures.pools import (
    ENVIRONMENT_VARIABLES,
    INSTALL_COMMANDS,
    RUNNER_NAMES,
    TEST_COMMANDS,
    UPSTREAM_HOSTS,
)
from devflowfix.vocabulary import FailureType, Source

registry = Registry()

TOOLS = ("jq", "yq", "aws", "helm", "gh", "envsubst", "zip", "xmllint", "kubectl")
SCRIPTS = (
    "scripts/deploy.sh",
    "scripts/ci/bootstrap.sh",
    "bin/release",
    "tools/gen.sh",
)


@registry.add(
    "shell.command_not_found",
    FailureType.CONFIGURATION_ERROR,
    stage="build",
    weight=1.5,
    confidence=0.93,
)
def command_not_found(c: Context) -> Failure:
    tool, script = c.pick(TOOLS), c.pick(SCRIPTS)
    at = c.num(5, 80)
    message = f"{script}: line {at}: {tool}: command not found"

    return Failure(
        message=message,
        root_cause=(
            f"{script} calls `{tool}`, which the new runner image no longer ships."
        ),
        suggested_fix=(
            f"Install {tool} in a setup step (or pin the previous runner image) "
            f"and fail early with `command -v {tool}`."
        ),
        command=f"./{script}",
        output=[f"+ ./{script}", f"Preparing release {c.version(1, 4)}", message],
        exit_code=127,
    )


@registry.add(
    "shell.permission_denied",
    FailureType.PERMISSION_DENIED,
    stage="build",
    weight=1.5,
    confidence=0.95,
)
def script_permission_denied(c: Context) -> Failure:
    script = c.pick(SCRIPTS)
    message = f"/usr/bin/bash: line 1: ./{script}: Permission denied"

    return Failure(
        message=message,
        root_cause=(
            f"{script} lost its executable bit when it was re-added to git from "
            "Windows."
        ),
        suggested_fix=(
            f"`git update-index --chmod=+x {script}` and commit, or call it with "
            f"`bash {script}`."
        ),
        command=f"./{script}",
        output=[message],
        exit_code=126,
    )


@registry.add(
    "runner.no_space_left",
    FailureType.DISK_SPACE,
    stage="build",
    weight=2,
    confidence=0.96,
)
def no_space_left(c: Context) -> Failure:
    ecosystem = c.repository.ecosystem
    path = c.pick(
        (
            "/var/lib/docker/overlay2/"
            + c.hex(64)
            + "/diff/usr/lib/x86_64-linux-gnu/libLLVM-17.so.1",
            f"{c.workdir}/node_modules/.cache/webpack/{c.hex(8)}.pack",
            f"/home/runner/.gradle/caches/transforms-4/{c.hex(32)}/transformed",
            f"{c.workdir}/target/release/deps/lib{c.noun()}-{c.hex(16)}.rlib",
        )
    )
    variants = (
        f"OSError: [Errno 28] No space left on device: '{path}'",
        f"ENOSPC: no space left on device, write '{path}'",
        f"failed to register layer: write {path}: no space left on device",
        f"error: failed to write {path}: No space left on device (os error 28)",
    )
    message = c.pick(variants)
    free = c.num(4, 180)

    output = [
        message,
        f"You are running out of disk space. The runner will stop working when "
        f"the machine runs out of disk space. Free space left: {free} MB",
    ]

    return Failure(
        message=message,
        root_cause=(
            f"The runner's disk was full ({free} MB free): the build cache and "
            "docker layers from earlier jobs are not pruned on this self-hosted "
            "runner."
        ),
        suggested_fix=(
            "Prune docker images and caches after each job (`docker system prune "
            "-af`), or move caches to a larger volume."
        ),
        command=INSTALL_COMMANDS[ecosystem],
        output=output,
    )


@registry.add(
    "network.could_not_resolve_host",
    FailureType.NETWORK_ERROR,
    stage="build",
    weight=1.5,
    confidence=0.88,
)
def could_not_resolve_host(c: Context) -> Failure:
    host = "gitlab.com" if c.source is Source.GITLAB_CI else "github.com"
    slug = c.repository.slug
    message = (
        f"fatal: unable to access 'https://{host}/{slug}.git/': Could not resolve "
        f"host: {host}"
    )

    return Failure(
        message=message,
        root_cause=(
            "DNS lookups failed on the runner for about two minutes while its "
            "resolver restarted."
        ),
        suggested_fix=(
            "Re-run the job; configure a secondary resolver on self-hosted runners."
        ),
        command="git fetch --prune --unshallow origin",
        output=[
            "Fetching the repository",
            message,
            "The process '/usr/bin/git' failed with exit code 128",
        ],
        exit_code=128,
    )


@registry.add(
    "network.upstream_timeout",
    FailureType.NETWORK_ERROR,
    stage="build",
    weight=2,
    confidence=0.84,
)
def upstream_timeout(c: Context) -> Failure:
    ecosystem = c.repository.ecosystem
    host = c.pick(UPSTREAM_HOSTS[ecosystem])
    millis = c.num(30000, 135000)
    message = c.pick(
        (
            (
                f"curl: (28) Failed to connect to {host} port 443 after {millis} "
                "ms: Connection timed out"
            ),
            (
                f"dial tcp: lookup {host} on 127.0.0.53:53: read udp "
                f"127.0.0.1:{c.num(30000, 60000)}->127.0.0.53:53: i/o timeout"
            ),
            f'Get "https://{host}/": net/http: TLS handshake timeout',
            (
                f"ReadTimeoutError: HTTPSConnectionPool(host='{host}', port=443): "
                "Read timed out. (read timeout=15)"
            ),
            (
                f"Connect to {host}:443 "
                f"[{host}/151.101.{c.num(0, 255)}.{c.num(0, 255)}] failed: Connect "
                "timed out"
            ),
        )
    )

    return Failure(
        message=message,
        root_cause=(
            f"{host} did not answer in time from the runner's network; the "
            "provider's status page reported degraded performance."
        ),
        suggested_fix=(
            "Retry with backoff, and serve dependencies from a proxy cache "
            "(Artifactory, Nexus, a pull-through mirror)."
        ),
        command=INSTALL_COMMANDS[ecosystem],
        output=[f"Retrying ({c.num(1, 4)}/5) after connection error", message],
    )


JOB_TIMEOUTS = {
    Source.GITHUB_ACTIONS: (
        "##[error]The job running on runner {runner} has exceeded the maximum "
        "execution time of {minutes} minutes."
    ),
    Source.GITLAB_CI: (
        "ERROR: Job failed: execution took longer than {hours}h0m0s seconds"
    ),
    Source.JENKINS: (
        "Timeout has been exceeded\nCancelling nested steps due to timeout"
    ),
    Source.CIRCLECI: (
        "Too long with no output (exceeded 10m0s): context deadline exceeded"
    ),
    Source.AZURE_PIPELINES: (
        "##[error]The job running on agent {runner} ran longer than the maximum "
        "time of {minutes} minutes."
    ),
}


@registry.add(
    "runner.job_timeout",
    FailureType.TIMEOUT,
    stage="test",
    weight=2.5,
    confidence=0.9,
)
def job_timeout(c: Context) -> Failure:
    minutes = c.pick((30, 45, 60, 120, 360))
    template = JOB_TIMEOUTS.get(c.source, JOB_TIMEOUTS[Source.GITHUB_ACTIONS])
    text = template.format(
        runner=c.pick(RUNNER_NAMES), minutes=minutes, hours=max(1, minutes // 60)
    )
    command = TEST_COMMANDS[c.repository.ecosystem]
    lines = text.replace("##[error]", "").split("\n")

    return Failure(
        message=lines[0],
        root_cause=(
            f"`{command}` hung after the last test output: a test waits on a "
            "network call without a timeout, so the job ran into its time limit."
        ),
        suggested_fix=(
            "Give the client calls in tests explicit timeouts and set a per-test "
            "timeout shorter than the job's."
        ),
        command=command,
        output=[f"... {c.num(40, 900)} tests passed", *lines],
    )


LOST_RUNNER = {
    Source.GITHUB_ACTIONS: (
        "The self-hosted runner: {runner} lost communication with the server. "
        "Verify the machine is running and has a healthy network connection."
    ),
    Source.GITLAB_CI: (
        "ERROR: Job failed (system failure): prepare environment: waiting for pod "
        "running: timed out waiting for pod to start"
    ),
    Source.JENKINS: (
        "Cannot contact {runner}: "
        "java.lang.InterruptedException\nhudson.remoting.ChannelClosedException: "
        'Channel "hudson.remoting.Channel@{hex}:{runner}": Remote call on '
        "{runner} failed. The channel is closing down or has closed down"
    ),
    Source.CIRCLECI: 'Received "killed" signal',
    Source.AZURE_PIPELINES: (
        "##[error]We stopped hearing from agent {runner}. Verify the agent machine "
        "is running and has a healthy network connection."
    ),
}


@registry.add("runner.lost", FailureType.INFRASTRUCTURE_ERROR, stage="test", weight=2)
def runner_lost(c: Context) -> Failure:
    runner = c.pick(RUNNER_NAMES)
    template = LOST_RUNNER.get(c.source, LOST_RUNNER[Source.GITHUB_ACTIONS])
    lines = template.format(runner=runner, hex=c.hex(8)).replace("##[error]", "")
    first = lines.split("\n")[0]

    return Failure(
        message=first,
        root_cause=(
            f"The runner {runner} was preempted (spot instance reclaimed) in the "
            "middle of the job."
        ),
        suggested_fix=(
            "Re-run the job; retry automatically on runner loss and keep long jobs "
            "off spot capacity."
        ),
        command=TEST_COMMANDS[c.repository.ecosystem],
        output=lines.split("\n"),
    )


@registry.add(
    "runner.service_container",
    FailureType.INFRASTRUCTURE_ERROR,
    stage="test",
    confidence=0.82,
)
def service_container(c: Context) -> Failure:
    service = c.pick(("postgres", "redis", "kafka", "elasticsearch", "mysql"))
    output = [
        f"Starting {service} service container",
        (
            f"{service} service is starting, waiting {c.num(2, 30)} seconds before "
            "checking again."
        ),
        f"{service} service is unhealthy.",
        (
            "Error: Failed to initialize container "
            f"{service}:{c.pick(('16', '7', '3.7', '8.14.1', '8.4'))}"
        ),
        "Error: One or more containers failed to start.",
    ]

    return Failure(
        message=(
            f"Error: Failed to initialize container {service}: {service} service "
            "is unhealthy"
        ),
        root_cause=(
            f"The {service} service container did not pass its health check in "
            "time on a loaded runner."
        ),
        suggested_fix=(
            f"Increase the {service} health-check retries, or start it with less "
            "memory pressure."
        ),
        command="",
        output=output,
    )


INVALID_CONFIG = {
    Source.GITHUB_ACTIONS: (
        ".github/workflows/ci.yml",
        (
            "Invalid workflow file: .github/workflows/ci.yml#L{at}: The workflow is "
            "not valid. .github/workflows/ci.yml (Line: {at}, Col: {col}): Unexpected "
            "value '{key}'"
        ),
    ),
    Source.GITLAB_CI: (
        ".gitlab-ci.yml",
        (
            "Found errors in your .gitlab-ci.yml: jobs:{job} config contains unknown "
            "keys: {key}"
        ),
    ),
    Source.JENKINS: (
        "Jenkinsfile",
        (
            "org.codehaus.groovy.control.MultipleCompilationErrorsException: startup "
            'failed: WorkflowScript: {at}: Invalid option type "{key}". Valid option '
            "types: [buildDiscarder, disableConcurrentBuilds, timeout] @ line {at}, "
            "column {col}."
        ),
    ),
    Source.CIRCLECI: (
        ".circleci/config.yml",
        (
            "Config does not conform to schema: {{:workflows {{:build-test-deploy "
            "{{:jobs [{{:{job} {{:{key} disallowed-key}}}}]}}}}}}"
        ),
    ),
    Source.AZURE_PIPELINES: (
        "azure-pipelines.yml",
        "/azure-pipelines.yml (Line: {at}, Col: {col}): Unexpected value '{key}'",
    ),
}
TYPO_KEYS = (
    "runs-on-group",
    "enviroment",
    "timeout-minute",
    "needs_",
    "dependancies",
    "stratgy",
)


@registry.add(
    "ci.invalid_config",
    FailureType.CONFIGURATION_ERROR,
    stage="build",
    weight=1.5,
    confidence=0.95,
)
def invalid_config(c: Context) -> Failure:
    source = c.source if c.source in INVALID_CONFIG else Source.GITHUB_ACTIONS
    path, template = INVALID_CONFIG[source]
    key, at = c.pick(TYPO_KEYS), c.num(8, 140)
    message = template.format(
        at=at, col=c.num(3, 15), key=key, job=c.pick(("test", "deploy", "build"))
    )

    return Failure(
        message=message,
        root_cause=(
            f"{path} has a misspelt key `{key}` (line {at}), so the pipeline "
            "definition is rejected before any job starts."
        ),
        suggested_fix=(
            f"Fix the key in {path} and validate pipeline files in pre-commit with "
            "the CI system's linter."
        ),
        command="",
        output=[message],
    )


@registry.add(
    "app.missing_environment",
    FailureType.CONFIGURATION_ERROR,
    stage="test",
    weight=1.5,
    confidence=0.9,
)
def missing_environment(c: Context) -> Failure:
    variable = c.pick(ENVIRONMENT_VARIABLES)
    message = {
        "python": (
            "pydantic_core._pydantic_core.ValidationError: 1 validation error for "
            f"Settings\n{variable.lower()}\n  Field required [type=missing, "
            "input_value={}, input_type=dict]"
        ),
        "node": f"Error: Missing required environment variable {variable}",
        "java": (
            "java.lang.IllegalStateException: Failed to load ApplicationContext: "
            f"Could not resolve placeholder '{variable}' in value "
            f'"${{{variable}}}"'
        ),
        "go": f"config: required key {variable} missing value",
        "dotnet": (
            f"System.InvalidOperationException: Configuration value '{variable}' "
            "is missing."
        ),
        "ruby": f'KeyError: key not found: "{variable}"',
        "php": f'RuntimeException: Environment variable not found: "{variable}".',
        "rust": f"Error: missing environment variable {variable}",
    }.get(c.repository.ecosystem, f"error: {variable} is not set")
    first = message.split("\n")[0]

    return Failure(
        message=first if len(first) > 60 else message.replace("\n", " "),
        root_cause=(
            f"{variable} is not set in the CI environment: the variable is defined "
            "for the default branch only."
        ),
        suggested_fix=(
            f"Define {variable} for all branches (or give tests a safe default) in "
            "the CI settings."
        ),
        command=TEST_COMMANDS[c.repository.ecosystem],
        output=message.split("\n"),
    )


@registry.add(
    "git.authentication_failed",
    FailureType.AUTHENTICATION_ERROR,
    stage="build",
    weight=1.2,
    confidence=0.92,
)
def git_authentication_failed(c: Context) -> Failure:
    host = "gitlab.com" if c.source is Source.GITLAB_CI else "github.com"
    shared = c.pick(
        ("shared-protos", "ci-templates", "terraform-modules", "design-tokens")
    )
    dependency = f"{c.repository.owner}/{shared}"
    status = c.pick((401, 403))
    message = (
        f"fatal: unable to access 'https://{host}/{dependency}.git/': The "
        f"requested URL returned error: {status}"
    )

    return Failure(
        message=message,
        root_cause=(
            f"The job clones the private {dependency} with a token that has no "
            f"access to it ({status})."
        ),
        suggested_fix=(
            f"Grant the CI token read access to {dependency}, or vendor the dependency."
        ),
        command=f"git clone https://{host}/{dependency}.git",
        output=[f"Cloning into '{dependency.split('/')[1]}'...", message],
        exit_code=128,
    )


@registry.add(
    "cloud.expired_token",
    FailureType.AUTHENTICATION_ERROR,
    stage="deploy",
    sources=CI,
    confidence=0.93,
)
def expired_token(c: Context) -> Failure:
    bucket = f"{c.repository.namespace}-{c.repository.name}-artifacts"
    message = (
        "An error occurred (ExpiredToken) when calling the PutObject operation: "
        "The security token included in the request is expired"
    )

    return Failure(
        message=message,
        root_cause=(
            "The job's assumed-role session lasts one hour and the upload ran "
            "after a long test stage."
        ),
        suggested_fix=(
            "Assume the role right before the upload step, or raise the session "
            "duration."
        ),
        command=f"aws s3 sync dist/ s3://{bucket}/",
        output=[f"upload: dist/index.html to s3://{bucket}/index.html", message],
    )


@registry.add(
    "unknown.segfault", FailureType.UNKNOWN, stage="test", weight=0.8, confidence=0.35
)
def segfault(c: Context) -> Failure:
    command = TEST_COMMANDS[c.repository.ecosystem]
    signal = c.pick(
        (
            "Segmentation fault (core dumped)",
            "Illegal instruction (core dumped)",
            "Bus error",
        )
    )

    return Failure(
        message=f"{signal} while running `{command}`",
        root_cause=(
            "The process died from a signal without a stack trace; the cause is "
            "not clear from the log."
        ),
        suggested_fix=(
            "Re-run with core dumps or a debug build to see which native extension "
            "crashes."
        ),
        command=command,
        output=[f"... {c.num(10, 600)} passed", signal],
        exit_code=139,
    )


@registry.add(
    "unknown.exit_code", FailureType.UNKNOWN, stage="build", weight=1.2, confidence=0.3
)
def bare_exit_code(c: Context) -> Failure:
    code = c.pick((1, 2, 255, 3))
    message = c.pick(
        (
            f"Error: Process completed with exit code {code}.",
            f"ERROR: script returned exit code {code}",
            f"make: *** [Makefile:{c.num(20, 200)}: ci] Error {code}",
            f"##[error]Bash exited with code '{code}'.",
        )
    ).replace("##[error]", "")

    return Failure(
        message=message,
        root_cause=(
            "The step failed without printing an error; the log does not show what "
            "went wrong."
        ),
        suggested_fix=(
            "Re-run with debug logging enabled (`set -x`, the CI system's debug "
            "flag) to see the failing command."
        ),
        command="make ci",
        output=[f"make[1]: Entering directory '{c.workdir}'", message],
        exit_code=code,
    )
