"""Failures of image builds, registries, Kubernetes workloads, Helm and Argo CD."""

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
    BASE_IMAGES,
    ENVIRONMENT_VARIABLES,
    INSTALL_COMMANDS,
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


def _buildkit_step(c: Context, step: str) -> tuple[str, str]:
    number = c.num(6, 18)
    stage = f"[{c.pick(('builder', 'build', 'deps'))} {c.num(3, 6)}/{c.num(7, 11)}]"
    return f"#{number} {stage} RUN {step}", f"#{number}"


@registry.add(
    "docker.build_step_failed",
    FailureType.DOCKER_ERROR,
    stage="image",
    weight=2,
    confidence=0.85,
)
def build_step_failed(c: Context) -> Failure:
    step = INSTALL_COMMANDS[c.repository.ecosystem]
    header, prefix = _buildkit_step(c, step)
    code = c.pick((1, 2, 100, 127))
    output = [
        "#1 [internal] load build definition from Dockerfile",
        f"#1 transferring dockerfile: {c.num(900, 4000)}B done",
        header,
        f"{prefix} {c.seconds(1, 90)} {step.split()[0]}: error while loading shared "
        "libraries: libssl.so.1.1: cannot open shared object file"
        if code == 127
        else f"{prefix} {c.seconds(1, 90)} error: lock file is out of date",
        f'{prefix} ERROR: process "/bin/sh -c {step}" did not complete '
        f"successfully: exit code: {code}",
        "------",
        f"Dockerfile:{c.num(8, 30)}",
        f'ERROR: failed to solve: process "/bin/sh -c {step}" did not complete '
        f"successfully: exit code: {code}",
    ]
    return Failure(
        message=(
            f'ERROR: failed to solve: process "/bin/sh -c {step}" did not complete '
            f"successfully: exit code: {code}"
        ),
        root_cause=(
            "The image's builder stage moved to a new base image whose packages "
            f"break `{step}` (exit code {code})."
        ),
        suggested_fix=(
            "Pin the builder base image by digest and update it deliberately; "
            "rebuild locally with `docker build --progress=plain`."
        ),
        command=f"docker buildx build --push -t {image(c)}:sha-{c.hex(7)} .",
        output=output,
    )


@registry.add(
    "docker.pull_rate_limit",
    FailureType.DOCKER_ERROR,
    stage="image",
    weight=1.2,
    confidence=0.95,
)
def pull_rate_limit(c: Context) -> Failure:
    base = c.pick(BASE_IMAGES)
    output = [
        f"#3 [internal] load metadata for docker.io/library/{base}",
        f"#3 ERROR: failed to copy: httpReadSeeker: failed open: unexpected status "
        "code https://registry-1.docker.io/v2/library/"
        f"{base.split(':')[0]}/manifests/sha256:{c.hex(64)}: 429 Too Many Requests "
        "- Server message: toomanyrequests: You have reached your pull rate limit.",
        "------",
        f"ERROR: failed to solve: {base}: failed to resolve source metadata",
    ]
    return Failure(
        message="toomanyrequests: You have reached your pull rate limit.",
        root_cause=(
            "Anonymous pulls from Docker Hub share the runner pool's public IP and "
            "hit the hourly pull limit."
        ),
        suggested_fix=(
            "Log in to Docker Hub in the job, or pull base images through the "
            "registry mirror."
        ),
        command=f"docker build -t {image(c)}:latest .",
        output=output,
    )


@registry.add(
    "docker.copy_not_found", FailureType.DOCKER_ERROR, stage="image", confidence=0.9
)
def copy_not_found(c: Context) -> Failure:
    missing = c.pick(
        ("requirements.txt", "package-lock.json", "go.sum", "Gemfile.lock", "dist/")
    )
    line_number = c.num(5, 25)
    output = [
        f"#{c.num(6, 12)} [build 4/8] COPY {missing} ./",
        f"#{c.num(6, 12)} ERROR: failed to calculate checksum of ref "
        f'{c.hex(25)}::{c.hex(25)}: "/{missing}": not found',
        "------",
        f"Dockerfile:{line_number}",
        f"ERROR: failed to solve: failed to compute cache key: failed to "
        f'calculate checksum of ref: "/{missing}": not found',
    ]
    return Failure(
        message=f'failed to compute cache key: "/{missing}": not found',
        root_cause=(
            f"Dockerfile:{line_number} copies {missing}, which .dockerignore "
            "excludes from the build context since the last change."
        ),
        suggested_fix=(
            f"Remove {missing} from .dockerignore or copy it from the build stage."
        ),
        command="docker build .",
        output=output,
    )


@registry.add(
    "docker.exit_137",
    FailureType.OUT_OF_MEMORY,
    stage="image",
    weight=1.5,
    confidence=0.86,
)
def exit_137(c: Context) -> Failure:
    step = {
        "rust": "cargo build --release",
        "node": "npm run build",
        "java": "./gradlew bootJar",
        "cpp": "cmake --build build -j 8",
        "go": "go build -o /out/app ./cmd/app",
    }.get(c.repository.ecosystem, INSTALL_COMMANDS[c.repository.ecosystem])
    header, prefix = _buildkit_step(c, step)
    output = [
        header,
        f"{prefix} {c.seconds(60, 600)} Compiling {c.noun()} v{c.version(0, 3)}",
        f'{prefix} ERROR: process "/bin/sh -c {step}" did not complete '
        "successfully: exit code: 137",
        f'ERROR: failed to solve: process "/bin/sh -c {step}" did not complete '
        "successfully: exit code: 137",
    ]
    return Failure(
        message=(
            f'process "/bin/sh -c {step}" did not complete successfully: exit code: 137'
        ),
        root_cause=(
            f"`{step}` was killed by the OOM killer (exit code 137): the image "
            f"build runs {c.pick((8, 16))} parallel jobs on a 7 GB runner."
        ),
        suggested_fix=(
            "Limit build parallelism in the Dockerfile or build on a larger runner."
        ),
        command="docker buildx build .",
        output=output,
    )


@registry.add(
    "docker.registry_unauthorized",
    FailureType.AUTHENTICATION_ERROR,
    stage="image",
    weight=1.5,
    confidence=0.93,
)
def registry_unauthorized(c: Context) -> Failure:
    tag = f"{image(c)}:sha-{c.hex(7)}"
    denied = c.chance(0.5)
    reason = (
        "denied: requested access to the resource is denied"
        if denied
        else "unauthorized: authentication required"
    )
    status = "403 Forbidden" if denied else "401 Unauthorized"
    output = [
        f"The push refers to repository [{tag.rsplit(':', 1)[0]}]",
        f"{c.hex(12)}: Preparing",
        f"{c.hex(12)}: Preparing",
        f"{reason}",
        f"Error: failed to push {tag}: {status}",
    ]
    return Failure(
        message=f"Error: failed to push {tag}: {reason}",
        root_cause=(
            "The registry token used by the job cannot write to the package"
            + (
                ": it belongs to a bot without write access."
                if denied
                else "; it expired after its 90-day lifetime."
            )
        ),
        suggested_fix=(
            "Use the workflow's built-in token with `packages: write`, or rotate "
            "the deploy token."
        ),
        command=f"docker push {tag}",
        output=output,
    )


@registry.add(
    "docker.socket_permission",
    FailureType.PERMISSION_DENIED,
    stage="image",
    confidence=0.94,
)
def socket_permission(c: Context) -> Failure:
    output = [
        "permission denied while trying to connect to the Docker daemon socket at "
        'unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/'
        'v1.45/images/json": dial unix /var/run/docker.sock: connect: permission '
        "denied",
    ]
    return Failure(
        message=(
            "permission denied while trying to connect to the Docker daemon socket "
            "at unix:///var/run/docker.sock"
        ),
        root_cause=(
            "The job's user on the self-hosted runner is not in the `docker` group "
            "after the runner image was rebuilt."
        ),
        suggested_fix=(
            "Add the runner user to the docker group in the runner image, or build "
            "with rootless BuildKit."
        ),
        command="docker build .",
        output=output,
    )


@registry.add(
    "docker.daemon_down",
    FailureType.INFRASTRUCTURE_ERROR,
    stage="image",
    confidence=0.8,
)
def daemon_down(c: Context) -> Failure:
    output = [
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
        "Is the docker daemon running?",
    ]
    return Failure(
        message=(
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
            "Is the docker daemon running?"
        ),
        root_cause=(
            "The docker-in-docker service container had not finished starting when "
            "the job ran its first docker command."
        ),
        suggested_fix=(
            "Wait for the daemon (`until docker info; do sleep 1; done`) before "
            "building."
        ),
        command="docker info",
        output=output,
    )


def _events_header(c: Context) -> str:
    return (
        f"$ kubectl -n {c.pick(K8S_NAMESPACES)} get events "
        f"--field-selector involvedObject.name={pod(c)}"
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
        _events_header(c),
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
    output = [
        _events_header(c),
        "LAST SEEN   TYPE      REASON             OBJECT    MESSAGE",
        (
            f"{c.num(1, 30)}s         Warning   FailedScheduling   pod/{pod(c)}   "
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
        _events_header(c),
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
    "argocd.sync_failed",
    FailureType.DEPLOYMENT_FAILURE,
    stage="deploy",
    sources=frozenset({*CLUSTER}),
    weight=2,
    confidence=0.85,
)
def sync_failed(c: Context) -> Failure:
    policy = c.pick(
        ("require-resource-limits", "disallow-latest-tag", "require-run-as-non-root")
    )
    message = (
        "one or more objects failed to apply, reason: admission webhook "
        f'"validate.kyverno.svc-fail" denied the request: resource Deployment/'
        f"{c.pick(K8S_NAMESPACES)}/{c.repository.name} was blocked due to the "
        f"following policies {policy}"
    )
    output = [
        "Operation:          Sync",
        f"Sync Revision:      {c.hex(40)}",
        "Phase:              Failed",
        f"Message:            {message}",
    ]
    return Failure(
        message=f"SyncFailed: {message}",
        root_cause=(
            f"The new manifests violate the cluster policy `{policy}`, so the "
            "admission webhook rejects them."
        ),
        suggested_fix=(
            f"Change the chart values to satisfy `{policy}` and let Argo CD sync again."
        ),
        command="",
        output=output,
    )


@registry.add(
    "argocd.comparison_error",
    FailureType.CONFIGURATION_ERROR,
    stage="deploy",
    sources=CLUSTER,
    weight=1.5,
    confidence=0.88,
)
def comparison_error(c: Context) -> Failure:
    chart = c.repository.name
    at, column = c.num(10, 80), c.num(5, 40)
    value = c.pick(
        (".Values.image.tag", ".Values.resources.limits", ".Values.ingress.host")
    )
    message = (
        "ComparisonError: Failed to load target state: failed to generate manifest "
        f"for source 1 of 1: `helm template . --name-template {chart}` failed exit "
        f"status 1: Error: template: {chart}/templates/deployment.yaml:{at}:{column}: "
        f'executing "{chart}/templates/deployment.yaml" at <{value}>: nil pointer '
        "evaluating interface {}"
    )
    return Failure(
        message=message,
        root_cause=(
            f"The environment's values file lacks {value}, which the chart now "
            "requires."
        ),
        suggested_fix=(
            f"Add {value} to the environment values, or give it a default in the chart."
        ),
        command="",
        output=["Health Status:      Unknown", f"Conditions:         {message}"],
    )


@registry.add(
    "helm.upgrade_timeout",
    FailureType.TIMEOUT,
    stage="deploy",
    sources=CI,
    weight=1.2,
    confidence=0.86,
)
def helm_upgrade_timeout(c: Context) -> Failure:
    release = c.repository.name
    output = [
        f"upgrade.go:{c.num(100, 500)}: [debug] preparing upgrade for {release}",
        f"wait.go:{c.num(40, 90)}: [debug] beginning wait for {c.num(3, 12)} "
        "resources with timeout of 5m0s",
        "Error: UPGRADE FAILED: context deadline exceeded",
        "helm.go:84: [debug] timed out waiting for the condition",
    ]
    return Failure(
        message="Error: UPGRADE FAILED: timed out waiting for the condition",
        root_cause=(
            f"`helm upgrade --wait --timeout 5m` gave up while the {release} pods "
            "were still pulling the new, much larger image."
        ),
        suggested_fix=(
            "Slim the image or raise the Helm timeout; check why pulls take over "
            "five minutes."
        ),
        command=f"helm upgrade --install {release} ./chart --wait --timeout 5m",
        output=output,
    )


@registry.add(
    "helm.operation_in_progress",
    FailureType.DEPLOYMENT_FAILURE,
    stage="deploy",
    sources=CI,
    confidence=0.92,
)
def operation_in_progress(c: Context) -> Failure:
    release = c.repository.name
    message = (
        "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in "
        "progress"
    )
    return Failure(
        message=message,
        root_cause=(
            f"A previous deploy of {release} was cancelled mid-upgrade and left "
            "the release in pending-upgrade."
        ),
        suggested_fix=(
            f"Roll the release back (`helm rollback {release}`) and serialise "
            "deploys with a concurrency group."
        ),
        command=f"helm upgrade --install {release} ./chart --wait",
        output=[
            f"history.go:56: [debug] getting history for release {release}",
            message,
        ],
    )


@registry.add(
    "deploy.smoke_test",
    FailureType.DEPLOYMENT_FAILURE,
    stage="deploy",
    sources=CI,
    weight=1.5,
    confidence=0.78,
)
def smoke_test(c: Context) -> Failure:
    environment = c.pick(("staging", "prod"))
    host = f"{c.repository.name}.{environment}.{c.repository.owner}.internal"
    status = c.pick((502, 503, 500))
    output = [
        f"Deployed {c.repository.name} revision {c.num(20, 900)}",
        f"Running smoke tests against https://{host}",
        f"curl: (22) The requested URL returned error: {status}",
        "Smoke tests failed; rolling back",
        "Rollback was a success! Happy Helming!",
    ]
    return Failure(
        message=(
            "Smoke test failed after deploy: curl: (22) The requested URL "
            f"returned error: {status}"
        ),
        root_cause=(
            f"https://{host}/healthz answers {status} after the deploy: the new "
            "version needs a database migration that the pipeline runs after the "
            "smoke test."
        ),
        suggested_fix=(
            "Run migrations before the smoke test (as a pre-upgrade hook) and redeploy."
        ),
        command=f"curl -fsS https://{host}/healthz",
        output=output,
        exit_code=22,
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
            _events_header(c),
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
