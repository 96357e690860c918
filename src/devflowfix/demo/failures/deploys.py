"""Failures of deploys: Argo CD syncs, Helm releases and post-deploy smoke tests."""

from __future__ import annotations

from devflowfix.demo.failures.base import CI, CLUSTER, Context, Failure, Registry
from devflowfix.demo.failures.pools import K8S_NAMESPACES
from devflowfix.vocabulary import FailureType

registry = Registry()


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
