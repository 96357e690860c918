"""Credentials and rights: git, registries, cloud APIs, the file system."""

from __future__ import annotations

from devflowfix.analysis.rules.base import Rule, Tier, rule
from devflowfix.vocabulary import FailureType as F

RULES: tuple[Rule, ...] = (
    rule(
        "git.authentication",
        F.AUTHENTICATION_ERROR,
        Tier.CAUSE,
        r"fatal: Authentication failed for '(?P<url>[^'\n]{1,200})'|remote: Invalid "
        r"username or (?:password|token)|fatal: could not read Username for "
        r"'(?P<url2>[^'\n]{1,200})'|Host key verification failed|"
        r"Permission denied \(publickey[^)\n]{0,40}\)",
        keywords=[
            "authentication failed",
            "invalid username",
            "could not read username",
            "host key verification",
            "(publickey",
        ],
        cause="Git could not authenticate[ to {url}]: the job's credentials "
        "were missing or rejected.",
        fix="Give the job a valid token or deploy key for the repository "
        "(check the secret's name and that it has not expired).",
        weight=1,
        examples=[
            "fatal: Authentication failed for 'https://github.com/acme/infra.git/'"
        ],
    ),
    rule(
        "git.push_denied",
        F.PERMISSION_DENIED,
        Tier.CAUSE,
        r"Permission to (?P<repository>[\w.\-]{1,100}/[\w.\-]{1,100})(?:\.git)? denied "
        r"to (?P<account>[^\s.]{1,100})|remote: error: GH006: Protected branch update "
        r"failed for (?P<branch>\S{1,200})",
        keywords=["permission to", "protected branch update failed"],
        cause="The push was refused: [{account} may not write to {repository}]"
        "[the branch {branch} is protected].",
        fix="Give the job's token write access (contents: write) or push "
        "through a pull request instead of to the protected branch.",
        weight=1,
        examples=["remote: Permission to acme/web.git denied to github-actions[bot]."],
    ),
    rule(
        "github.bad_credentials",
        F.AUTHENTICATION_ERROR,
        Tier.CAUSE,
        r"\bBad credentials\b|HttpError: Requires authentication|"
        r"(?:gh|GraphQL): (?:To use GitHub CLI|authentication required)",
        keywords=[
            "bad credentials",
            "requires authentication",
            "to use github cli",
            "authentication required",
        ],
        cause="The GitHub API rejected the job's token (Bad credentials).",
        fix="Check the token secret the step uses: it may be unset, revoked "
        "or expired.",
        weight=1,
        examples=["HttpError: Bad credentials"],
    ),
    rule(
        "github.not_accessible",
        F.PERMISSION_DENIED,
        Tier.CAUSE,
        r"Resource not accessible by integration|Resource not accessible by "
        r"personal access token",
        keywords=["resource not accessible by"],
        cause="The job's GitHub token lacks a permission the step needs "
        "(Resource not accessible by integration).",
        fix="Add the needed scope to the workflow's `permissions:` block (for "
        "example pull-requests: write) or use a token that has it.",
        weight=1,
        examples=["Error: Resource not accessible by integration"],
    ),
    rule(
        "registry.unauthorized",
        F.AUTHENTICATION_ERROR,
        Tier.CAUSE,
        r"unauthorized: (?:authentication required|incorrect username or password)|"
        r"no basic auth credentials|Error: Cannot perform an interactive login "
        r"from a non TTY device|denied: unauthenticated|status code: 401, reason "
        r"phrase: Unauthorized",
        keywords=[
            "unauthorized",
            "no basic auth credentials",
            "interactive login",
            "denied: unauthenticated",
            "reason phrase: unauthorized",
        ],
        ignore_case=True,
        cause="A registry or API refused the job's credentials (401 "
        "Unauthorized or missing login).",
        fix="Log in with a valid secret before the step (docker/login-action, "
        "a registry token); an empty secret often means it is not available to "
        "this branch or fork.",
        weight=1,
        examples=["Error: Cannot perform an interactive login from a non TTY device"],
    ),
    rule(
        "registry.denied",
        F.PERMISSION_DENIED,
        Tier.CAUSE,
        r"denied: requested access to the resource is denied|denied: "
        r"permission_denied: (?P<scope>[\w_]{1,60})|insufficient_scope",
        keywords=[
            "denied: requested access",
            "permission_denied",
            "insufficient_scope",
        ],
        cause="The registry refused the push: the account may not write to "
        "that repository[ ({scope})].",
        fix="Grant the job's identity push rights to the image repository "
        "(for GHCR: packages: write), and check the image name's owner.",
        weight=1,
        examples=["denied: requested access to the resource is denied"],
    ),
    rule(
        "cloud.access_denied",
        F.PERMISSION_DENIED,
        Tier.CAUSE,
        r"is not authorized to perform: (?P<action>[\w:*\-]{1,120})|"
        r"\bAccessDenied(?:Exception)?\b|AuthorizationFailed|does not have "
        r"(?:permission|storage\.\w{1,40}\.\w{1,40} access)|PERMISSION_DENIED: "
        r"(?P<message>[^\n]{1,160})|UnauthorizedOperation",
        keywords=[
            "is not authorized to perform",
            "accessdenied",
            "authorizationfailed",
            "does not have",
            "permission_denied:",
            "unauthorizedoperation",
        ],
        cause="The cloud provider denied the job's identity[ the action {action}]"
        " (access denied).",
        fix="Grant the deploy role the missing permission (the IAM policy, "
        "role binding or service account), scoped to what the job needs.",
        weight=1,
        examples=[
            "User: arn:aws:sts::123456789012:assumed-role/ci-deploy/gh is not "
            "authorized to perform: ecs:UpdateService on resource: arn:aws:ecs"
        ],
    ),
    rule(
        "fs.eacces",
        F.PERMISSION_DENIED,
        Tier.CAUSE,
        r"EACCES: permission denied, (?P<operation>\w{1,20}) '(?P<path>[^'\n]{1,200})'|"
        r"(?P<path2>(?:\.{0,2}/)[\w/.\-]{1,200}): Permission denied$|"
        r"PermissionError: \[Errno 13\] Permission denied: '(?P<path3>[^'\n]{1,200})'|"
        r"open (?P<path4>/[\w/.\-]{1,200}): permission denied|"
        r": cannot (?:create|open|remove|access|touch) [\w ]{0,30}'(?P<path5>[^'\n]"
        r"{1,200})': Permission denied",
        keywords=["permission denied"],
        ignore_case=True,
        cause="The job may not access {path} (permission denied).",
        fix="Fix the file's owner or mode (a script needs `chmod +x`; files "
        "created by a container as root need chown), or write somewhere the "
        "job owns.",
        weight=1,
        examples=[
            "npm ERR! Error: EACCES: permission denied, mkdir '/usr/lib/node_modules/x'"
        ],
    ),
)
