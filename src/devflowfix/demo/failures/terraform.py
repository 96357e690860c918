"""Failures of Terraform plans and applies."""

from __future__ import annotations

from devflowfix.demo.failures.base import Context, Failure, Registry
from devflowfix.vocabulary import FailureType

registry = Registry()

RESOURCES = (
    ("aws_db_instance", "main"),
    ("aws_s3_bucket", "artifacts"),
    ("aws_iam_role", "ci_deployer"),
    ("aws_eks_node_group", "general"),
    ("google_container_node_pool", "default"),
    ("aws_security_group", "api"),
    ("google_bigquery_dataset", "events"),
    ("aws_elasticache_cluster", "sessions"),
)


def _module(c: Context) -> str:
    return c.pick(("modules/network", "modules/database", "envs/staging", "envs/prod"))


@registry.add(
    "terraform.unsupported_argument",
    FailureType.CONFIGURATION_ERROR,
    stage="infra",
    ecosystems="terraform",
    weight=2,
    confidence=0.92,
)
def unsupported_argument(c: Context) -> Failure:
    resource, name = c.pick(RESOURCES)
    argument = c.pick(("enable_logging", "storage_encrypted", "versioning", "tags_all"))
    path, at = f"{_module(c)}/main.tf", c.num(5, 200)

    output = [
        "Error: Unsupported argument",
        "",
        f'  on {path} line {at}, in resource "{resource}" "{name}":',
        f"  {at}:   {argument} = true",
        "",
        f'An argument named "{argument}" is not expected here.',
    ]

    return Failure(
        message=(
            f'Error: Unsupported argument: An argument named "{argument}" is not '
            f"expected here ({path} line {at})"
        ),
        root_cause=(
            f"The provider upgrade moved `{argument}` of {resource} to a separate "
            "resource; the module still sets it inline."
        ),
        suggested_fix=(
            f"Move `{argument}` to its own resource as the provider's upgrade "
            "guide describes, and pin the provider."
        ),
        command="terraform plan -input=false -out=tfplan",
        output=output,
    )


@registry.add(
    "terraform.state_lock",
    FailureType.INFRASTRUCTURE_ERROR,
    stage="infra",
    ecosystems="terraform",
    weight=1.5,
    confidence=0.9,
)
def state_lock(c: Context) -> Failure:
    lock_id = f"{c.hex(8)}-{c.hex(4)}-{c.hex(4)}-{c.hex(4)}-{c.hex(12)}"
    output = [
        "Error: Error acquiring the state lock",
        "",
        "Error message: ConditionalCheckFailedException: The conditional request "
        "failed",
        "Lock Info:",
        f"  ID:        {lock_id}",
        f"  Path:      {c.repository.name}-tfstate/{_module(c)}/terraform.tfstate",
        "  Operation: OperationTypeApply",
        "  Who:       runner@fv-az" + str(c.num(100, 999)) + "-" + str(c.num(100, 999)),
        "",
        "Terraform acquires a state lock to protect the state from being written",
        "by multiple users at the same time.",
    ]

    return Failure(
        message=(
            "Error: Error acquiring the state lock: "
            "ConditionalCheckFailedException: The conditional request failed"
        ),
        root_cause=(
            f"An earlier apply was cancelled and left lock {lock_id} behind in the "
            "DynamoDB lock table."
        ),
        suggested_fix=(
            "Check that no apply is running, then `terraform force-unlock "
            f"{lock_id}`; add a concurrency group to the workflow."
        ),
        command="terraform apply -input=false tfplan",
        output=output,
    )


@registry.add(
    "terraform.access_denied",
    FailureType.PERMISSION_DENIED,
    stage="infra",
    ecosystems="terraform",
    weight=1.5,
    confidence=0.93,
)
def access_denied(c: Context) -> Failure:
    action = c.pick(
        (
            "iam:CreateRole",
            "s3:PutBucketPolicy",
            "rds:ModifyDBInstance",
            "kms:CreateGrant",
        )
    )
    resource, name = c.pick(RESOURCES)
    account = c.num(100000000000, 999999999999)
    request = f"{c.hex(8)}-{c.hex(4)}-{c.hex(4)}-{c.hex(4)}-{c.hex(12)}"
    message = (
        f"api error AccessDenied: User: arn:aws:sts::{account}:assumed-role/"
        f"ci-terraform/GitHubActions is not authorized to perform: {action}"
    )
    output = [
        f"{resource}.{name}: Modifying...",
        f"Error: updating {resource} ({name}): operation error: https response "
        f"error StatusCode: 403, RequestID: {request}, {message}",
    ]

    return Failure(
        message=message,
        root_cause=(
            f"The CI role's policy does not grant {action}, which the change to "
            f"{resource}.{name} needs."
        ),
        suggested_fix=(
            f"Grant {action} on the specific resource to the ci-terraform role "
            "(least privilege), then re-run."
        ),
        command="terraform apply -input=false tfplan",
        output=output,
    )


@registry.add(
    "terraform.no_credentials",
    FailureType.AUTHENTICATION_ERROR,
    stage="infra",
    ecosystems="terraform",
    confidence=0.9,
)
def no_credentials(c: Context) -> Failure:
    output = [
        "Initializing the backend...",
        "Error: No valid credential sources found",
        "",
        '  with provider["registry.terraform.io/hashicorp/aws"],',
        f'  on providers.tf line {c.num(1, 20)}, in provider "aws":',
        "Please see https://registry.terraform.io/providers/hashicorp/aws",
        "Error: failed to refresh cached credentials, no EC2 IMDS role found",
    ]

    return Failure(
        message="Error: No valid credential sources found",
        root_cause=(
            "The OIDC role assumption step was skipped for pull requests from "
            "forks, so the AWS provider has no credentials."
        ),
        suggested_fix=(
            "Run plans that need cloud credentials only on trusted branches, or "
            "grant `id-token: write` to the job."
        ),
        command="terraform plan -input=false",
        output=output,
    )


@registry.add(
    "terraform.already_exists",
    FailureType.DEPLOYMENT_FAILURE,
    stage="infra",
    ecosystems="terraform",
    weight=1.2,
    confidence=0.86,
)
def already_exists(c: Context) -> Failure:
    resource, name = c.pick(RESOURCES)
    environment = c.pick(("prod", "staging"))
    identifier = f"{c.repository.namespace}-{name.replace('_', '-')}-{environment}"
    message = f"Error: creating {resource} ({identifier}): already exists"

    output = [
        f"{resource}.{name}: Creating...",
        f"{message}",
        "",
        f"  with {resource}.{name},",
        f"  on {_module(c)}/main.tf line {c.num(5, 200)}",
    ]

    return Failure(
        message=message,
        root_cause=(
            f"{identifier} was created by hand during an incident and never "
            "imported into the state."
        ),
        suggested_fix=(
            f"Import it (`terraform import {resource}.{name} {identifier}`) and "
            "re-run the apply."
        ),
        command="terraform apply -input=false tfplan",
        output=output,
    )


@registry.add(
    "terraform.fmt", FailureType.LINT_ERROR, stage="lint", ecosystems="terraform"
)
def fmt(c: Context) -> Failure:
    files = sorted(
        {
            f"{_module(c)}/{c.pick(('main', 'variables', 'outputs'))}.tf"
            for _ in range(c.num(1, 3))
        }
    )
    return Failure(
        message=(
            f"terraform fmt -check: {len(files)} file(s) need formatting ({files[0]})"
        ),
        root_cause="Terraform files were committed without running `terraform fmt`.",
        suggested_fix=(
            "Run `terraform fmt -recursive` and commit; add it to pre-commit."
        ),
        command="terraform fmt -check -recursive",
        output=files,
        exit_code=3,
    )


@registry.add(
    "terraform.capacity",
    FailureType.INFRASTRUCTURE_ERROR,
    stage="infra",
    ecosystems="terraform",
    confidence=0.85,
)
def capacity(c: Context) -> Failure:
    instance = c.pick(("m6i.2xlarge", "c7g.xlarge", "r6i.large", "g5.xlarge"))
    zone = c.pick(("eu-west-1a", "eu-west-1b", "us-east-1c"))
    message = (
        "InsufficientInstanceCapacity: We currently do not have sufficient "
        f"{instance} capacity in the Availability Zone you requested ({zone})."
    )

    return Failure(
        message=message,
        root_cause=(
            f"The cloud provider ran out of {instance} capacity in {zone} while "
            "the node group scaled."
        ),
        suggested_fix=(
            "Allow several instance types and zones in the node group so scaling "
            "can fall back."
        ),
        command="terraform apply -input=false tfplan",
        output=[
            "aws_eks_node_group.general: Modifying...",
            f"Error: waiting for EKS Node Group update: {message}",
        ],
    )
