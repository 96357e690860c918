"""Failures of image builds and registries: BuildKit, Docker Hub, pushes, daemons."""

from __future__ import annotations

from devflowfix.demo.failures.base import Context, Failure, Registry
from devflowfix.demo.failures.pools import BASE_IMAGES, INSTALL_COMMANDS, image
from devflowfix.vocabulary import FailureType

registry = Registry()


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
