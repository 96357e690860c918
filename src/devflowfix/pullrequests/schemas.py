"""Parameters and result of a fix pull request (the `pr_creation` job).

Validation reads two flags from the Pydantic validation context:
`allow_local_remotes` (the server setting) and `changes_optional` (true when a
language-model provider can propose the changes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from devflowfix.fields import trimmed
from devflowfix.pullrequests.paths import check_repository_path, patch_paths
from devflowfix.pullrequests.remotes import RepositoryForm, classify_repository

MAX_FILES = 100
MAX_FILE_BYTES = 1024 * 1024
MAX_PATCH_BYTES = 2 * 1024 * 1024
MAX_TITLE_CHARS = 200
MAX_BODY_CHARS = 60_000
NO_CHANGES = (
    "Give the changes: `patch` (a unified diff, as `git diff` prints it) or "
    "`files` (path to new content); no language-model provider is configured "
    "to propose them"
)
BAD_REF_PARTS = re.compile(r"\.\.|@\{|//|[\x00-\x20\x7f~^:?*\[\\]")


# TODO: `files` carries text only (JSON strings, written as UTF-8); a binary
# change needs a `patch` in git's binary format.
def _check_file_content(content: str) -> str:
    if len(content.encode("utf-8")) > MAX_FILE_BYTES:
        raise ValueError(f"a file may have at most {MAX_FILE_BYTES} bytes")
    return content


def _check_patch(patch: str) -> str:
    if len(patch.encode("utf-8")) > MAX_PATCH_BYTES:
        raise ValueError(f"the patch may have at most {MAX_PATCH_BYTES} bytes")

    paths = patch_paths(patch)
    if not paths:
        raise ValueError(
            "the patch names no file; give a unified diff as `git diff` prints it"
        )

    for path in paths:
        try:
            check_repository_path(path)
        except ValueError as exc:
            raise ValueError(f"the patch touches a path it may not: {exc}") from exc

    return patch


def check_branch_name(name: str) -> str:
    """`name` if git takes it as a branch name (check-ref-format), else ValueError."""
    if name.startswith("refs/heads/"):
        name = name.removeprefix("refs/heads/")
    if not name or len(name) > 255 or BAD_REF_PARTS.search(name):
        raise ValueError("not a valid git branch name")
    if name.startswith(("-", "/", ".")) or name.endswith(("/", ".", ".lock")):
        raise ValueError("not a valid git branch name")
    if any(part.startswith(".") for part in name.split("/")) or name == "@":
        raise ValueError("not a valid git branch name")

    return name


RepositoryPath = Annotated[str, AfterValidator(check_repository_path)]
FileContent = Annotated[str, AfterValidator(_check_file_content)]
Patch = Annotated[str, Field(min_length=1), AfterValidator(_check_patch)]
BranchName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255),
    AfterValidator(trimmed),
    AfterValidator(check_branch_name),
]


def _flag(info: ValidationInfo, name: str) -> bool:
    context = info.context if isinstance(info.context, dict) else {}
    return bool(context.get(name, False))


class FixChanges(BaseModel):
    """The change a fix makes: a unified diff or whole files, exactly one of them."""

    model_config = ConfigDict(extra="forbid")

    patch: Patch | None = Field(
        default=None,
        description="A unified diff with a/ and b/ prefixes, as `git diff` prints it.",
    )
    files: (
        Annotated[
            dict[RepositoryPath, FileContent], Field(min_length=1, max_length=MAX_FILES)
        ]
        | None
    ) = Field(
        default=None,
        description="Path relative to the repository root, to the file's new text.",
    )

    @model_validator(mode="after")
    def _check_exactly_one(self, info: ValidationInfo) -> Self:
        if self.patch is not None and self.files is not None:
            raise ValueError("give either `patch` or `files`, not both")
        if self.is_empty and not _flag(info, "changes_optional"):
            raise ValueError(NO_CHANGES)
        return self

    @property
    def is_empty(self) -> bool:
        return self.patch is None and self.files is None


class PullRequestParameters(FixChanges):
    """What `pr_creation` needs: the incident, the change, and optional overrides."""

    incident_id: Annotated[str, Field(pattern=r"^inc_[0-9a-f]{12}$")]
    repository: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=1024),
            AfterValidator(trimmed),
        ]
        | None
    ) = Field(
        default=None,
        description="owner/name, an https URL or a local path; default: the "
        "incident's repository.",
    )
    base_branch: BranchName | None = Field(
        default=None,
        description="Default: the incident's branch, else the repository's default.",
    )
    title: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=MAX_TITLE_CHARS),
            AfterValidator(trimmed),
        ]
        | None
    ) = None
    body: Annotated[str, Field(max_length=MAX_BODY_CHARS)] | None = None

    @field_validator("repository")
    @classmethod
    def _check_repository(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        form = classify_repository(value)
        if form is RepositoryForm.LOCAL and not _flag(info, "allow_local_remotes"):
            raise ValueError(
                "local repository paths are turned off on this server "
                "(DEVFLOWFIX_ALLOW_LOCAL_REMOTES)"
            )
        return value


@dataclass(frozen=True)
class FixTarget:
    """What a fix needs to know of its incident, read once before the work starts."""

    incident_id: str
    team_id: int
    source: str
    failure_type: str
    error_message: str
    repository: str | None = None
    branch: str | None = None
    commit_sha: str | None = None
    run_url: str | None = None
    root_cause: str | None = None
    suggested_fix: str | None = None
    error_log: str | None = None


class PullRequestResult(BaseModel):
    """What a `pr_creation` job records as its result."""

    incident_id: str
    repository: str = Field(description="The repository as given or defaulted.")
    remote: str = Field(description="The git URL pushed to; never with credentials.")
    provider: str | None = Field(description="github, gitlab, or null for plain git.")
    base_branch: str
    base_commit_sha: str
    branch: str
    commit_sha: str
    changed_files: list[str]
    pushed: bool = Field(description="Whether this run pushed a new commit.")
    pull_request_url: str | None
    pull_request_number: int | None
    pull_request_created: bool = Field(description="Whether this run opened it.")
    message: str
