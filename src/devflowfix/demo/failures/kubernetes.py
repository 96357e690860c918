"""Failures of Kubernetes workloads: crash loops, image pulls, scheduling, probes."""

from __future__ import annotations

from devflowfix.demo.failures.base import (
    CI,
    CLUSTER,
    EVERYWHERE,
    Context,
    Failure,
    Registry,
)
from devflowfix.demo.failures.pools import (
    ENVIRONMENT_VARIABLES,
    K8S_NAMESPACES,
    image,
    pod,
)
from devflowfix.vocabulary import FailureType

registry = Registry()

SERVICES = "python node java go rust dotnet ruby php"
STARTUP_CRASHES = {
    "python": "KeyError: 'DATABASE_URL'",
    "node": "Error: Cannot find module '/app/dist/server.js'",
    "java": "org.springframework.beans.factory.BeanCreationException: Error "
    "creating bean with name 'dataSource'",
    "go": "panic: runtime error: invalid memory address or nil pointer dereference",
    "rust": "thread 'main' panicked at src/main.rs:41:10: config: missing field "
    "`listen_addr`",
    "dotnet": "Unhandled exception. System.InvalidOperationException: Unable to "
    "resolve service for type 'IClock'",
    "ruby": "ActiveRecord::ConnectionNotEstablished: connection to server at "
    '"10.4.2.17", port 5432 failed',
    "php": "PHP Fatal error:  Uncaught PDOException: SQLSTATE[HY000] [2002] "
    "Connection refused",
}


def _events_header(c: Context, name: str) -> str:
    return (
        f"$ kubectl -n {c.repository.namespace} get events "
        f"--field-selector involvedObject.name={name}"
    )


@registry.add(
    "k8s.crash_loop",
    FailureType.DEPLOYMENT_FAILURE,
    stage="deploy",
    ecosystems=SERVICES,
    sources=EVERYWHERE,
    weight=3,
    confidence=0.84,
)
def crash_loop(c: Context) -> Failure:
    name, container = pod(c), c.pick(("app", "api", "worker"))
    crash = STARTUP_CRASHES[c.repository.ecosystem]
    restarts = c.num(3, 40)

    output = [
        f"NAME{' ' * 34}READY   STATUS             RESTARTS",
        f"{name}   0/1     CrashLoopBackOff   {restarts} ({c.num(1, 5)}m ago)",
        f"$ kubectl logs {name} -c {container} --previous",
        crash,
        "LAST SEEN   TYPE      REASON    OBJECT              MESSAGE",
        f"{c.num(1, 9)}m          Warning   BackOff   pod/{name}   Back-off "
        f"restarting failed container {container} in pod {name}",
    ]

    return Failure(
        message=(
            f"Back-off restarting failed container {container} in pod {name} "
            "(CrashLoopBackOff)"
        ),
        root_cause=f"The new release crashes at start-up: {crash}",
        suggested_fix=(
            "Roll back to the previous revision, then fix the start-up error; a "
            "start-up check in CI (run the image with production config) would "
            "catch it earlier."
        ),
        command=f"kubectl rollout status deployment/{c.repository.name}",
        output=output,
    )


@registry.add(
    "k8s.image_pull_backoff",
    FailureType.DOCKER_ERROR,
    stage="deploy",
    sources=EVERYWHERE,
    weight=2,
    confidence=0.9,
)
def image_pull_backoff(c: Context) -> Failure:
    name, tag = pod(c), f"{image(c)}:sha-{c.hex(7)}"
    output = [
        _events_header(c, name),
        "LAST SEEN   TYPE      REASON    OBJECT    MESSAGE",
        (
            f"{c.num(1, 9)}m          Normal    Pulling   pod/{name}   Pulling "
            f'image "{tag}"'
        ),
        f"{c.num(1, 9)}m          Warning   Failed    pod/{name}   Failed to "
        "pull image "
        f'"{tag}": rpc error: code = NotFound desc = failed to pull and unpack '
        f'image "{tag}": not found',
        (
            f"{c.num(1, 9)}m          Warning   Failed    pod/{name}   Error: "
            "ImagePullBackOff"
        ),
    ]

    return Failure(
        message=f'Failed to pull image "{tag}": not found (ImagePullBackOff)',
        root_cause=(
            "The deployment references an image tag that was never pushed: the "
            "image job was skipped on this commit but the deploy ran."
        ),
        suggested_fix=(
            "Make the deploy job depend on the image job, and verify the tag "
            "exists before applying."
        ),
        command=f"kubectl rollout status deployment/{c.repository.name}",
        output=output,
    )


@registry.add(
    "k8s.oom_killed",
    FailureType.OUT_OF_MEMORY,
    stage="deploy",
    ecosystems=SERVICES,
    sources=CLUSTER,
    weight=2.5,
    confidence=0.95,
)
def oom_killed(c: Context) -> Failure:
    name, limit = pod(c), c.pick(("256Mi", "512Mi", "1Gi", "2Gi"))
    output = [
        f"$ kubectl describe pod {name}",
        "    State:          Running",
        "    Last State:     Terminated",
        "      Reason:       OOMKilled",
        "      Exit Code:    137",
        f"    Restart Count:  {c.num(1, 30)}",
        "    Limits:",
        f"      memory:  {limit}",
    ]

    return Failure(
        message=(
            f"Container in pod {name} was OOMKilled (exit code 137, memory limit "
            f"{limit})"
        ),
        root_cause=(
            f"The workload's memory grows past its {limit} limit under peak "
            "traffic; usage has risen since the cache size was increased."
        ),
        suggested_fix=(
            "Cap the in-process cache, then size the limit from the p99 of "
            f"measured usage (above {limit})."
        ),
        command="",
        output=output,
        exit_code=137,
    )


@registry.add(
    "k8s.failed_scheduling",
    FailureType.INFRASTRUCTURE_ERROR,
    stage="deploy",
    sources=CLUSTER,
    weight=1.5,
    confidence=0.88,
)
def failed_scheduling(c: Context) -> Failure:
    nodes = c.num(6, 40)
    cpu = c.num(1, nodes - 2)
    message = (
        f"0/{nodes} nodes are available: {cpu} Insufficient cpu, {nodes - cpu} "
        "node(s) had untolerated taint {node.kubernetes.io/unreachable: }. "
        "preemption: 0/{nodes} nodes are available."
    ).replace("{nodes}", str(nodes))
    name = pod(c)

    output = [
        _events_header(c, name),
        "LAST SEEN   TYPE      REASON             OBJECT    MESSAGE",
        (
            f"{c.num(1, 30)}s         Warning   FailedScheduling   pod/{name}   "
            f"{message}"
        ),
    ]

    return Failure(
        message=message,
        root_cause=(
            "A node pool upgrade drained several nodes while the cluster "
            "autoscaler had hit its maximum size, so new pods cannot be placed."
        ),
        suggested_fix=(
            "Raise the node pool's maximum size or pause the upgrade until "
            "capacity is back."
        ),
        command="",
        output=output,
    )


@registry.add(
    "k8s.readiness_probe",
    FailureType.DEPLOYMENT_FAILURE,
    stage="deploy",
    sources=EVERYWHERE,
    weight=2,
    confidence=0.8,
)
def readiness_probe(c: Context) -> Failure:
    name, status = pod(c), c.pick((500, 503))
    deployment = c.repository.name
    output = [
        f'Waiting for deployment "{deployment}" rollout to finish: 1 of 3 updated '
        "replicas are available...",
        f"Warning  Unhealthy  pod/{name}  Readiness probe failed: HTTP probe failed "
        f"with statuscode: {status}",
        f'error: deployment "{deployment}" exceeded its progress deadline',
    ]

    return Failure(
        message=(
            f'error: deployment "{deployment}" exceeded its progress deadline '
            f"(readiness probe failed with statuscode: {status})"
        ),
        root_cause=(
            "The new pods answer the readiness probe with an error because "
            "/readyz checks a dependency that the new config points at the "
            f"wrong host ({status})."
        ),
        suggested_fix="Roll back, fix the dependency host in the config, and redeploy.",
        command=f"kubectl rollout status deployment/{deployment} --timeout=300s",
        output=output,
    )


@registry.add(
    "k8s.forbidden",
    FailureType.PERMISSION_DENIED,
    stage="deploy",
    sources=CI,
    weight=1.2,
    confidence=0.93,
)
def forbidden(c: Context) -> Failure:
    namespace = c.pick(K8S_NAMESPACES)
    resource = c.pick(("deployments", "configmaps", "cronjobs", "ingresses"))
    group = {
        "deployments": "apps",
        "cronjobs": "batch",
        "ingresses": "networking.k8s.io",
    }.get(resource, "")
    message = (
        f"Error from server (Forbidden): {resource}{'.' + group if group else ''} "
        f'"{c.repository.name}" is forbidden: User "system:serviceaccount:ci:deployer" '
        f'cannot patch resource "{resource}" in API group "{group}" in the '
        f'namespace "{namespace}"'
    )

    return Failure(
        message=message,
        root_cause=(
            f"The CI deployer's Role in {namespace} does not allow `patch` on "
            f"{resource}."
        ),
        suggested_fix=(
            f"Add `patch` on {resource} to the deployer Role in {namespace} "
            "(through the platform repo)."
        ),
        command=f"kubectl -n {namespace} apply -f k8s/",
        output=[f"{resource}/{c.repository.name} configured", message],
    )


@registry.add(
    "k8s.missing_secret",
    FailureType.CONFIGURATION_ERROR,
    stage="deploy",
    sources=EVERYWHERE,
    weight=1.5,
    confidence=0.9,
)
def missing_secret(c: Context) -> Failure:
    secret = f"{c.repository.name}-{c.pick(('env', 'db', 'credentials'))}"
    name = pod(c)
    output = [
        _events_header(c, name),
        f'Warning  Failed  pod/{name}  Error: secret "{secret}" not found',
        f"pod/{name}  0/1  CreateContainerConfigError",
    ]

    return Failure(
        message=f'Error: secret "{secret}" not found (CreateContainerConfigError)',
        root_cause=(
            f"The deployment reads {c.pick(ENVIRONMENT_VARIABLES)} from secret "
            f"{secret}, "
            "which exists in staging but was never created in this environment."
        ),
        suggested_fix=(
            f"Create {secret} through the secrets operator for this environment "
            "before deploying."
        ),
        command="",
        output=output,
    )


@registry.add(
    "k8s.image_pull_unauthorized",
    FailureType.AUTHENTICATION_ERROR,
    stage="deploy",
    sources=CLUSTER,
    confidence=0.92,
)
def image_pull_unauthorized(c: Context) -> Failure:
    name, tag = pod(c), f"{image(c)}:sha-{c.hex(7)}"
    message = (
        f'Failed to pull image "{tag}": failed to authorize: failed to fetch '
        "oauth token: unexpected status: 401 Unauthorized"
    )

    return Failure(
        message=message,
        root_cause=(
            "The namespace's imagePullSecret holds a registry token that expired "
            "yesterday, so new pods cannot pull the private image."
        ),
        suggested_fix=(
            "Rotate the pull secret (or let the registry credential operator "
            "refresh it) and restart the rollout."
        ),
        command="",
        output=[
            _events_header(c, name),
            f"Warning  Failed  pod/{name}  {message}",
            f"Warning  Failed  pod/{name}  Error: ErrImagePull",
        ],
    )


@registry.add(
    "k8s.service_dns",
    FailureType.NETWORK_ERROR,
    stage="deploy",
    sources=CLUSTER,
    confidence=0.84,
)
def service_dns(c: Context) -> Failure:
    service = c.pick(("postgres", "redis", "kafka", "payments-api", "auth-service"))
    namespace = c.pick(K8S_NAMESPACES)
    message = (
        f"dial tcp: lookup {service}.{namespace}.svc.cluster.local on "
        "10.96.0.10:53: no such host"
    )

    return Failure(
        message=message,
        root_cause=(
            f"The workload connects to {service} in {namespace}, but that service "
            "was renamed in the platform chart; cluster DNS has no such name."
        ),
        suggested_fix=f"Point the configuration at the new service name of {service}.",
        command="",
        output=[f"$ kubectl logs {pod(c)} --since=10m", message, message],
    )


@registry.add(
    "argocd.hook_deadline",
    FailureType.TIMEOUT,
    stage="deploy",
    sources=CLUSTER,
    confidence=0.83,
)
def hook_deadline(c: Context) -> Failure:
    job = f"{c.repository.name}-migrate-{c.hex(5)}"
    seconds = c.pick((300, 600, 900))
    message = (
        f"PreSync hook Job/{job} failed: Job was active longer than specified "
        f"deadline (activeDeadlineSeconds: {seconds})"
    )

    return Failure(
        message=message,
        root_cause=(
            f"The migration hook ran longer than its {seconds} s deadline: it "
            "rewrites a large table in one transaction."
        ),
        suggested_fix=(
            "Split the migration into batches that run in the background, and "
            "keep the PreSync hook to schema changes."
        ),
        command="",
        output=["Phase:              Failed", f"Message:            {message}"],
    )


@registry.add(
    "k8s.volume_permission",
    FailureType.PERMISSION_DENIED,
    stage="deploy",
    sources=CLUSTER,
    confidence=0.86,
)
def volume_permission(c: Context) -> Failure:
    directory = c.pick(("/data/cache", "/var/lib/app/uploads", "/srv/models"))
    message = f"mkdir {directory}: permission denied"

    return Failure(
        message=message,
        root_cause=(
            "The image now runs as a non-root user, but the volume is owned by "
            "root and the pod sets no fsGroup."
        ),
        suggested_fix="Set `securityContext.fsGroup` on the pod to the image's group.",
        command="",
        output=[f"$ kubectl logs {pod(c)}", message, "Error: container exited 1"],
    )


@registry.add(
    "k8s.evicted_ephemeral_storage",
    FailureType.DISK_SPACE,
    stage="deploy",
    sources=CLUSTER,
    confidence=0.9,
)
def evicted_ephemeral_storage(c: Context) -> Failure:
    used = c.num(3, 12)
    message = (
        "The node was low on resource: ephemeral-storage. Threshold quantity: "
        f"{c.num(2, 8)}Gi, available: {c.num(100, 900)}Mi. Container app was "
        f"using {used}Gi, request is 0."
    )

    return Failure(
        message=f"Pod evicted: {message}",
        root_cause=(
            f"The container writes temporary files ({used} GiB) to its own "
            "filesystem and has no ephemeral-storage request, so the kubelet "
            "evicted it when the node disk filled up."
        ),
        suggested_fix=(
            "Write temporary files to an emptyDir with a sizeLimit and request "
            "ephemeral storage for the container."
        ),
        command="",
        output=["Status:  Failed", "Reason:  Evicted", f"Message: {message}"],
    )
