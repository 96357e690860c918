"""The runner and its limits: disk, memory, network, time and the CI itself."""

from __future__ import annotations

from devflowfix.analysis.rules.base import Rule, Tier, rule
from devflowfix.vocabulary import FailureType as F

RETRY_NETWORK = (
    "Retry the job; if it keeps failing, check that the service is up and "
    "reachable from the runner, and add retries with backoff to the step."
)

RULES: tuple[Rule, ...] = (
    rule(
        "disk.no_space",
        F.DISK_SPACE,
        Tier.CAUSE,
        r"[Nn]o space left on device|\bENOSPC\b|You are running out of disk space|"
        r"There is not enough space on the disk|insufficient disk space",
        keywords=[
            "no space left",
            "enospc",
            "out of disk space",
            "enough space on the disk",
            "insufficient disk space",
        ],
        cause="The runner ran out of disk space (No space left on device).",
        fix="Free space before the heavy step (remove unused SDKs and Docker "
        "images, prune caches) or use a runner with a larger disk.",
        weight=1,
        examples=["write /var/lib/docker/tmp/GetImageBlob: no space left on device"],
    ),
    rule(
        "memory.killed",
        F.OUT_OF_MEMORY,
        Tier.CAUSE,
        r"Out of memory: Killed process \d{1,9} \((?P<process>[^)\n]{1,80})\)|"
        r"Cannot allocate memory|exit code 137\b|signal: killed$|"
        r"returned a non-zero code: 137\b|^Killed$|Killed signal terminated program "
        r"(?P<process2>[\w+\-]{1,40})|terminated by another process: signal=SIGKILL",
        keywords=["out of memory", "cannot allocate memory", "137", "killed"],
        cause="The process[ {process}] was killed for running out of memory "
        "(exit code 137, the kernel's OOM killer).",
        fix="Reduce the step's memory use (fewer parallel workers, smaller "
        "batches) or run it on a runner with more memory.",
        weight=1,
        examples=["Error: Process completed with exit code 137."],
    ),
    rule(
        "network.dns",
        F.NETWORK_ERROR,
        Tier.CAUSE,
        r"Could not resolve host:? '?(?P<host>[\w.\-]{1,200})|getaddrinfo "
        r"(?:ENOTFOUND|EAI_AGAIN) (?P<host2>[\w.\-]{1,200})|Temporary failure in "
        r"name resolution|dial tcp: lookup (?P<host3>[\w.\-]{1,200})[^\n]{0,80}"
        r"no such host|Name or service not known",
        keywords=[
            "could not resolve host",
            "getaddrinfo",
            "name resolution",
            "lookup",
            "name or service not known",
        ],
        cause="The job could not resolve the host name[ {host}] (DNS failure).",
        fix="Retry the job; if it persists, check the host name and the "
        "runner's DNS or proxy settings.",
        weight=1,
        examples=[
            "fatal: unable to access 'https://github.com/acme/x.git/': Could "
            "not resolve host: github.com"
        ],
    ),
    rule(
        "network.connection",
        F.NETWORK_ERROR,
        Tier.CAUSE,
        r"E(?:CONNRESET|CONNREFUSED|TIMEDOUT|SOCKETTIMEDOUT|HOSTUNREACH)\b",
        keywords=["econn", "etimedout", "esockettimedout", "ehostunreach"],
        cause="A network connection failed during the job (refused, reset or "
        "timed out).",
        fix=RETRY_NETWORK,
        weight=1,
        examples=["npm ERR! code ECONNRESET"],
    ),
    rule(
        "network.refused",
        F.NETWORK_ERROR,
        Tier.CAUSE,
        r"onnection (?:reset by peer|refused|timed out|to (?P<host>[\w.\-]{1,200}):"
        r"\d{1,5} refused)",
        keywords=[
            "connection reset",
            "connection refused",
            "connection timed out",
            "connection to ",
        ],
        cause="A network connection[ to {host}] was refused, reset or timed out "
        "during the job.",
        fix=RETRY_NETWORK,
        weight=1,
        examples=[
            'connection to server at "127.0.0.1", port 5432 failed: Connection refused'
        ],
    ),
    rule(
        "network.connect_failed",
        F.NETWORK_ERROR,
        Tier.CAUSE,
        r"Failed to connect to (?P<host>[\w.\-]{1,200}) port \d{1,5}",
        keywords=["failed to connect to"],
        cause="The job could not connect to {host}.",
        fix=RETRY_NETWORK,
        weight=1,
        examples=["curl: (7) Failed to connect to localhost port 8080 after 0 ms"],
    ),
    rule(
        "network.timed_out",
        F.NETWORK_ERROR,
        Tier.CAUSE,
        r"(?:Read|Connect) timed out|TLS handshake timeout|Network is unreachable|"
        r"NewConnectionError|ConnectTimeoutError|ReadTimeoutError|"
        r"HTTPSConnectionPool\(host='(?P<host>[^'\n]{1,200})'",
        keywords=[
            "read timed out",
            "connect timed out",
            "tls handshake timeout",
            "network is unreachable",
            "newconnectionerror",
            "connecttimeouterror",
            "readtimeouterror",
            "httpsconnectionpool",
        ],
        cause="A network request[ to {host}] timed out or could not connect "
        "during the job.",
        fix=RETRY_NETWORK,
        weight=1,
        examples=["TimeoutError: The read operation timed out; Read timed out."],
    ),
    rule(
        "network.io_timeout",
        F.NETWORK_ERROR,
        Tier.CAUSE,
        r"i/o timeout",
        keywords=["i/o timeout"],
        cause="A network connection timed out during the job (i/o timeout).",
        fix=RETRY_NETWORK,
        weight=1,
        examples=["dial tcp 10.0.0.12:443: i/o timeout"],
    ),
    rule(
        "network.tls",
        F.NETWORK_ERROR,
        Tier.CAUSE,
        r"CERTIFICATE_VERIFY_FAILED|SSL certificate problem: (?P<reason>[^\n]{1,120})|"
        r"x509: certificate (?P<reason2>[^\n]{1,120})|"
        r"UNABLE_TO_GET_ISSUER_CERT_LOCALLY|"
        r"SELF_SIGNED_CERT_IN_CHAIN",
        keywords=["certificate", "unable_to_get_issuer", "self_signed_cert"],
        cause="A TLS connection failed certificate verification[: {reason}].",
        fix="Install the proxy's or internal CA certificate on the runner (or "
        "renew the server's certificate); never turn verification off.",
        weight=1,
        examples=["curl: (60) SSL certificate problem: certificate has expired"],
    ),
    rule(
        "network.http_unavailable",
        F.NETWORK_ERROR,
        Tier.TOOL,
        r"\b(?P<status>502 Bad Gateway|503 Service Unavailable|504 Gateway "
        r"Time-?out)\b|HTTP (?P<status2>50[234]) curl \d{1,3}|returned error: "
        r"(?P<status3>50[234])\b",
        keywords=[
            "bad gateway",
            "service unavailable",
            "gateway time",
            "http 50",
            "returned error: 50",
        ],
        ignore_case=True,
        cause="A remote service answered HTTP {status} during the job.",
        fix="Retry the job; the service was down or overloaded. Add retries "
        "with backoff to steps that call it.",
        weight=1,
        examples=["error: RPC failed; HTTP 503 Service Unavailable"],
    ),
    rule(
        "timeout.github_job",
        F.TIMEOUT,
        Tier.CAUSE,
        r"has exceeded the maximum execution time of (?P<minutes>\d{1,5}) minutes",
        keywords=["maximum execution time"],
        cause="The job ran past its time limit of {minutes} minutes and was cancelled.",
        fix="Find the step that hangs or slowed down (compare step durations "
        "with a passing run); raise timeout-minutes only for real slow work.",
        weight=1,
        examples=[
            "##[error]The job running on runner GitHub Actions 12 has exceeded "
            "the maximum execution time of 30 minutes."
        ],
    ),
    rule(
        "timeout.gitlab_job",
        F.TIMEOUT,
        Tier.CAUSE,
        r"ERROR: Job failed: execution took longer than (?P<limit>[^\n]{1,40}?) "
        r"seconds",
        keywords=["execution took longer than"],
        cause="The job ran longer than its timeout ({limit}) and GitLab stopped it.",
        fix="Find the step that hangs or slowed down; raise the job's "
        "`timeout:` only for real slow work.",
        weight=1,
        examples=["ERROR: Job failed: execution took longer than 1h0m0s seconds"],
    ),
    rule(
        "timeout.jenkins",
        F.TIMEOUT,
        Tier.CAUSE,
        r"Cancelling nested steps due to timeout|Timeout has been exceeded|"
        r"Build timed out \(after (?P<minutes>\d{1,5}) minutes\)",
        keywords=["due to timeout", "timeout has been exceeded", "build timed out"],
        cause="Jenkins stopped the build because it ran past its timeout[ of "
        "{minutes} minutes].",
        fix="Find the stage that hangs or slowed down; raise the timeout() "
        "only for real slow work.",
        weight=1,
        examples=["Cancelling nested steps due to timeout"],
    ),
    rule(
        "timeout.command",
        F.TIMEOUT,
        Tier.TOOL,
        r"context deadline exceeded|[Oo]peration timed out after|"
        r"timed out after (?P<duration>\d{1,6} ?(?:ms|s|seconds|minutes|m))\b",
        keywords=["deadline exceeded", "timed out after"],
        cause="An operation in the job timed out[ after {duration}].",
        fix="Check what the operation waited for; retry if the service was "
        "slow, and give it a realistic timeout.",
        examples=["Error: context deadline exceeded"],
    ),
    rule(
        "infra.github_runner",
        F.INFRASTRUCTURE_ERROR,
        Tier.CAUSE,
        r"The runner has received a shutdown signal|lost communication with the "
        r"server|The hosted runner encountered an error|No runner matching the "
        r"specified labels|The operation was canceled\.\n[^\n]{0,100}runner",
        keywords=[
            "shutdown signal",
            "lost communication",
            "hosted runner encountered",
            "no runner matching",
        ],
        cause="The CI runner failed during the job (it shut down or lost its "
        "connection), not the code.",
        fix="Re-run the job; if it recurs, check the self-hosted runner's "
        "health (memory, disk, restarts) or the runner labels.",
        weight=1,
        examples=["##[error]The runner has received a shutdown signal."],
    ),
    rule(
        "infra.gitlab_runner",
        F.INFRASTRUCTURE_ERROR,
        Tier.CAUSE,
        r"ERROR: Job failed \(system failure\): (?P<reason>[^\n]{1,200})|"
        r"ERROR: Preparation failed: (?P<reason2>[^\n]{1,200})",
        keywords=["system failure", "preparation failed"],
        cause="The GitLab runner failed before or around the job: {reason}.",
        fix="Retry the job; if it recurs, check the runner's executor (Docker "
        "or Kubernetes) and its logs.",
        weight=1,
        examples=[
            "ERROR: Job failed (system failure): Error response from daemon: "
            "container create: no such image"
        ],
    ),
    rule(
        "infra.jenkins_agent",
        F.INFRASTRUCTURE_ERROR,
        Tier.CAUSE,
        r"Backing channel '(?P<agent>[^'\n]{1,120})' is disconnected|"
        r"Agent (?P<agent2>\S{1,120}) (?:went offline|was disconnected) during the "
        r"build|ChannelClosedException|Issue with creating launcher for agent",
        keywords=[
            "backing channel",
            "during the build",
            "channelclosedexception",
            "creating launcher",
        ],
        cause="The Jenkins agent[ {agent}] disconnected during the build.",
        fix="Re-run the build; check the agent's health (memory, disk, "
        "network) and its connection to the controller.",
        weight=1,
        examples=[
            "java.io.IOException: Backing channel 'linux-agent-3' is disconnected."
        ],
    ),
)
