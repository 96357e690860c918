"""Docker, Kubernetes, Helm, Terraform and deployment tools."""

from __future__ import annotations

from devflowfix.analysis.rules.base import Rule, Tier, rule
from devflowfix.vocabulary import FailureType as F

RULES: tuple[Rule, ...] = (
    rule(
        "docker.build_step",
        F.DOCKER_ERROR,
        Tier.TOOL,
        r"(?:ERROR: )?failed to solve: process \"(?P<command>[^\n]{1,200}?)\" did "
        r"not complete successfully: exit code: (?P<code>\d{1,3})",
        keywords=["did not complete successfully"],
        cause="The Docker build failed: the Dockerfile step `{command}` exited "
        "with code {code}.",
        fix="Run `docker build` locally and read the output of that step; "
        "the error is usually in the command's own output just above.",
        examples=[
            'ERROR: failed to solve: process "/bin/sh -c npm run build" did not '
            "complete successfully: exit code: 1"
        ],
    ),
    rule(
        "docker.context_file",
        F.DOCKER_ERROR,
        Tier.CAUSE,
        r"failed to compute cache key: failed to calculate checksum of ref "
        r"[^\n]{0,120}\"(?P<path>[^\"\n]{1,200})\": not found|COPY failed: file "
        r"not found in build context[^\n]{0,100}stat (?P<path2>[^:\n]{1,200}):|"
        r"failed to read dockerfile: open (?P<path3>[^:\n]{1,200}): no such file",
        keywords=[
            "failed to compute cache key",
            "copy failed",
            "failed to read dockerfile",
        ],
        cause="The Docker build cannot find {path} in the build context.",
        fix="Check the COPY/ADD path and the build context directory, and "
        "that .dockerignore does not exclude {path}.",
        examples=[
            "ERROR: failed to solve: failed to compute cache key: failed to "
            'calculate checksum of ref 7f1c::q2: "/dist": not found'
        ],
    ),
    rule(
        "docker.image_not_found",
        F.DOCKER_ERROR,
        Tier.CAUSE,
        r"manifest for (?P<image>\S{1,200}) not found: manifest unknown|"
        r"failed to resolve source metadata for (?P<image2>\S{1,200}): "
        r"[^\n]{0,120}not found|pull access denied for (?P<image3>[^\s,]{1,200}), "
        r"repository does not exist",
        keywords=[
            "manifest unknown",
            "failed to resolve source metadata",
            "pull access denied",
        ],
        cause="Docker cannot pull the image {image}: that name or tag does not "
        "exist (or is private).",
        fix="Check the image name and tag (it may have been renamed or "
        "deleted); log in first if the repository is private.",
        examples=[
            "Error response from daemon: manifest for node:22.99-alpine not "
            "found: manifest unknown: manifest unknown"
        ],
    ),
    rule(
        "docker.rate_limit",
        F.DOCKER_ERROR,
        Tier.CAUSE,
        r"toomanyrequests: You have reached your (?:unauthenticated )?pull rate limit",
        keywords=["toomanyrequests"],
        cause="Docker Hub refused the pull: the runner reached Docker Hub's "
        "pull rate limit.",
        fix="Log in to Docker Hub before pulling (authenticated pulls have a "
        "higher limit) or use a registry mirror or cache.",
        examples=[
            "toomanyrequests: You have reached your unauthenticated pull rate "
            "limit. https://www.docker.com/increase-rate-limit"
        ],
    ),
    rule(
        "docker.port_allocated",
        F.DOCKER_ERROR,
        Tier.CAUSE,
        r"Bind for (?P<address>[\d.:\[\]]{1,60}) failed: port is already allocated",
        keywords=["port is already allocated"],
        cause="Docker cannot start the container: {address} is already taken "
        "by another container or process on the runner.",
        fix="Stop the container that holds the port (a leftover from an "
        "earlier run), or publish the service on another port.",
        examples=["Bind for 0.0.0.0:5432 failed: port is already allocated."],
    ),
    rule(
        "docker.exec_format",
        F.DOCKER_ERROR,
        Tier.CAUSE,
        r"exec (?P<binary>\S{1,200}): exec format error",
        keywords=["exec format error"],
        cause="The image's binary {binary} is built for another CPU "
        "architecture than the runner's (exec format error).",
        fix="Pull or build the image for the runner's platform (--platform "
        "linux/amd64), or publish a multi-architecture image.",
        examples=["exec /usr/local/bin/edge-agent: exec format error"],
    ),
    rule(
        "docker.dockerfile_parse",
        F.DOCKER_ERROR,
        Tier.CAUSE,
        r"dockerfile parse error on line (?P<line>\d{1,6}): (?P<reason>[^\n]{1,160})",
        keywords=["dockerfile parse error"],
        cause="The Dockerfile does not parse: line {line}: {reason}.",
        fix="Fix line {line} of the Dockerfile (a misspelt instruction or a "
        "broken line continuation).",
        examples=["dockerfile parse error on line 12: unknown instruction: RUNN"],
    ),
    rule(
        "docker.daemon",
        F.INFRASTRUCTURE_ERROR,
        Tier.CAUSE,
        r"Cannot connect to the Docker daemon at (?P<socket>\S{1,200})",
        keywords=["cannot connect to the docker daemon"],
        cause="No Docker daemon is reachable at {socket} on the runner.",
        fix="Use a runner with Docker, or start the service (docker:dind "
        "service in GitLab, with DOCKER_HOST set).",
        examples=[
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
            "Is the docker daemon running?"
        ],
    ),
    rule(
        "k8s.image_pull",
        F.DEPLOYMENT_FAILURE,
        Tier.CAUSE,
        r"(?:Failed to pull image \"(?P<image>[^\"\n]{1,200})\"|\b(?:ErrImagePull|"
        r"ImagePullBackOff)\b)",
        keywords=["failed to pull image", "errimagepull", "imagepullbackoff"],
        cause="The deployment failed: Kubernetes cannot pull the image[ {image}] "
        "(ErrImagePull/ImagePullBackOff).",
        fix="Check that the image tag was pushed, and that the cluster has the "
        "imagePullSecret for its registry.",
        examples=[
            "Warning  Failed  12s  kubelet  Failed to pull image "
            '"ghcr.io/acme/api:4f2a9c1": not found'
        ],
    ),
    rule(
        "k8s.crash_loop",
        F.DEPLOYMENT_FAILURE,
        Tier.CAUSE,
        r"\bCrashLoopBackOff\b",
        keywords=["crashloopbackoff"],
        cause="The deployment failed: the new pods crash on start (CrashLoopBackOff).",
        fix="Read the pods' logs (`kubectl logs --previous`) for the crash, "
        "usually a missing setting or a failing start-up check, and roll back.",
        examples=["api-7c9d8b6f5-x2x9k   0/1     CrashLoopBackOff   4   2m"],
    ),
    rule(
        "k8s.rollout",
        F.DEPLOYMENT_FAILURE,
        Tier.TOOL,
        r"error: deployment \"(?P<deployment>[^\"\n]{1,120})\" exceeded its "
        r"progress deadline|error: timed out waiting for the condition on "
        r"(?P<deployment2>[\w./\-]{1,120})",
        keywords=["progress deadline", "timed out waiting for the condition"],
        cause="The rollout of {deployment} did not become ready in time.",
        fix="Check the new pods' events and logs (`kubectl describe`), fix the "
        "start-up problem and roll out again.",
        examples=['error: deployment "api" exceeded its progress deadline'],
    ),
    rule(
        "k8s.oom_killed",
        F.OUT_OF_MEMORY,
        Tier.CAUSE,
        r"\bOOMKilled\b",
        keywords=["oomkilled"],
        cause="A container was killed for using more memory than its limit "
        "(OOMKilled).",
        fix="Raise the container's memory limit or reduce its memory use.",
        examples=["      Reason:       OOMKilled"],
    ),
    rule(
        "k8s.forbidden",
        F.PERMISSION_DENIED,
        Tier.CAUSE,
        r"is forbidden: User \"(?P<user>[^\"\n]{1,120})\" cannot (?P<verb>\w{1,20}) "
        r"resource \"(?P<resource>[^\"\n]{1,80})\"",
        keywords=["is forbidden: user"],
        cause="Kubernetes RBAC forbids {user} to {verb} {resource}.",
        fix="Grant the deploy identity a Role/ClusterRole that allows {verb} "
        "on {resource} in that namespace.",
        examples=[
            'Error from server (Forbidden): deployments.apps "api" is forbidden: '
            'User "system:serviceaccount:ci:deployer" cannot patch resource '
            '"deployments" in API group "apps" in the namespace "prod"'
        ],
    ),
    rule(
        "k8s.unauthorized",
        F.AUTHENTICATION_ERROR,
        Tier.CAUSE,
        r"error: You must be logged in to the server \(Unauthorized\)",
        keywords=["must be logged in to the server"],
        cause="kubectl's credentials were rejected by the cluster (Unauthorized).",
        fix="Refresh the kubeconfig or token the job uses; cloud credentials "
        "for the cluster may have expired.",
        examples=["error: You must be logged in to the server (Unauthorized)"],
    ),
    rule(
        "k8s.invalid_manifest",
        F.CONFIGURATION_ERROR,
        Tier.CAUSE,
        r"error: error validating \"(?P<file>[^\"\n]{1,200})\": error validating "
        r"data: (?P<reason>[^\n]{1,200})|error: error parsing (?P<file2>[^:\n]"
        r"{1,200}): (?P<reason2>[^\n]{1,200})",
        keywords=["error validating", "error parsing"],
        cause="The Kubernetes manifest {file} is invalid: {reason}.",
        fix="Fix {file} (`kubectl apply --dry-run=server` validates it).",
        examples=[
            'error: error validating "k8s/deployment.yaml": error validating '
            'data: ValidationError(Deployment.spec): unknown field "replica"'
        ],
    ),
    rule(
        "k8s.insufficient_resources",
        F.INFRASTRUCTURE_ERROR,
        Tier.CAUSE,
        r"\d{1,5}/\d{1,5} nodes are available: [^\n]{0,200}?Insufficient "
        r"(?P<resource>cpu|memory|nvidia\.com/gpu|ephemeral-storage)",
        keywords=["nodes are available"],
        cause="The cluster has no node with enough {resource} to schedule the pods.",
        fix="Lower the pods' {resource} requests, scale the node pool, or "
        "free capacity.",
        examples=[
            "Warning  FailedScheduling  default-scheduler  0/3 nodes are "
            "available: 3 Insufficient cpu."
        ],
    ),
    rule(
        "helm.failed",
        F.DEPLOYMENT_FAILURE,
        Tier.TOOL,
        r"Error: (?P<operation>UPGRADE|INSTALLATION) FAILED: (?P<reason>[^\n]{1,200})",
        keywords=["upgrade failed", "installation failed"],
        cause="Helm {operation} failed: {reason}.",
        fix="Run `helm status` and `kubectl describe` on the release's pods; "
        "roll back with `helm rollback` if production is affected.",
        weight=1,
        examples=["Error: UPGRADE FAILED: context deadline exceeded"],
    ),
    rule(
        "terraform.state_lock",
        F.INFRASTRUCTURE_ERROR,
        Tier.CAUSE,
        r"Error acquiring the state lock",
        keywords=["error acquiring the state lock"],
        cause="Terraform cannot take the state lock: another run holds it (or "
        "a crashed run left it).",
        fix="Wait for the other run; if none is running, release the lock "
        "with `terraform force-unlock` and the lock id.",
        examples=["\u2502 Error: Error acquiring the state lock"],
    ),
    rule(
        "terraform.provider_install",
        F.DEPENDENCY_ERROR,
        Tier.CAUSE,
        r"Error: (?:Failed to query available provider packages|Failed to install "
        r"provider|Inconsistent dependency lock file)",
        keywords=[
            "provider packages",
            "failed to install provider",
            "dependency lock file",
        ],
        cause="terraform init cannot install the providers the configuration "
        "needs (or the lock file disagrees).",
        fix="Check the required_providers versions and .terraform.lock.hcl; "
        "run `terraform init -upgrade` locally and commit the lock file.",
        examples=["\u2502 Error: Failed to query available provider packages"],
    ),
    rule(
        "terraform.credentials",
        F.AUTHENTICATION_ERROR,
        Tier.CAUSE,
        r"No valid credential sources found|InvalidClientTokenId|ExpiredToken|"
        r"The security token included in the request is (?:invalid|expired)|"
        r"error configuring Terraform AWS Provider",
        keywords=[
            "no valid credential sources",
            "invalidclienttokenid",
            "expiredtoken",
            "security token included",
            "error configuring terraform",
        ],
        cause="The cloud provider rejected the job's credentials (missing, "
        "invalid or expired).",
        fix="Check the credentials the job gets (OIDC role, access key "
        "secrets) and that they have not expired.",
        examples=["\u2502 Error: No valid credential sources found"],
    ),
    rule(
        "terraform.config",
        F.CONFIGURATION_ERROR,
        Tier.TOOL,
        r"Error: (?P<message>Unsupported argument|Missing required argument|"
        r"Reference to undeclared [\w ]{1,40}|Invalid reference|Unsupported "
        r"block type|Invalid value for [\w ]{1,60}|Argument or block definition "
        r"required|Duplicate resource [^\n]{1,80})(?:\n[^\n]{0,300}){0,3}?\n"
        r"[^\n]{0,10}on (?P<file>[\w/.\-]{1,200}\.tf) line (?P<line>\d{1,7})",
        keywords=["error:"],
        cause="The Terraform configuration is invalid: {message} in {file} at "
        "line {line}.",
        fix="Fix {file}:{line}; `terraform validate` checks the configuration "
        "without touching infrastructure.",
        examples=[
            "\u2502 Error: Unsupported argument\n\u2502 \n\u2502   on main.tf line 14, "
            'in resource "aws_s3_bucket" "logs":'
        ],
    ),
    rule(
        "terraform.apply",
        F.DEPLOYMENT_FAILURE,
        Tier.TOOL,
        r"Error: (?P<message>(?:creating|updating|deleting|waiting for)[^\n]{1,200})",
        keywords=[
            "error: creating",
            "error: updating",
            "error: deleting",
            "error: waiting for",
        ],
        cause="terraform apply failed: {message}.",
        fix="Read the provider's error in the message; fix the resource's "
        "settings (or quota) and apply again.",
        examples=[
            "\u2502 Error: creating RDS DB Instance (orders): "
            "InvalidParameterCombination"
        ],
    ),
    rule(
        "terraform.fmt",
        F.LINT_ERROR,
        Tier.TOOL,
        r"terraform fmt -check[^\n]{0,80}(?:\n[^\n]{0,200}){0,3}?\n"
        r"(?P<file>[\w/.\-]{1,200}\.tf)$",
        keywords=["fmt -check"],
        cause="`terraform fmt -check` failed: {file} is not formatted.",
        fix="Run `terraform fmt -recursive` and commit the result.",
        examples=["$ terraform fmt -check -recursive\nmodules/vpc/main.tf"],
    ),
    rule(
        "deploy.rollback",
        F.DEPLOYMENT_FAILURE,
        Tier.CAUSE,
        r"\b(?:UPDATE_ROLLBACK_COMPLETE|UPDATE_ROLLBACK_IN_PROGRESS|"
        r"ROLLBACK_COMPLETE|ROLLBACK_IN_PROGRESS)\b|Deployment (?:failed|was "
        r"rolled back)|failed to (?:stabilize|reach a steady state)|Health check "
        r"(?:failed|did not pass)|Waiter Services?Stable failed",
        keywords=[
            "rollback",
            "deployment failed",
            "rolled back",
            "stabilize",
            "steady state",
            "stable failed",
            "health check",
        ],
        ignore_case=True,
        cause="The deployment failed and was rolled back (the new version did "
        "not become healthy).",
        fix="Read the failing health check or stack event, fix the release "
        "and deploy again; production runs the previous version meanwhile.",
        examples=["Stack orders-prod is in UPDATE_ROLLBACK_COMPLETE state"],
    ),
)
