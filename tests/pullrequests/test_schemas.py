"""Parameters of a fix pull request: exactly one change, safe paths, sane sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import make_settings
from devflowfix.errors import ValidationFailed
from devflowfix.pullrequests.paths import check_repository_path, patch_paths
from devflowfix.pullrequests.schemas import (
    MAX_FILE_BYTES,
    NO_CHANGES,
    PullRequestParameters,
    check_branch_name,
)
from devflowfix.pullrequests.service import validate_pull_request_parameters

INCIDENT = "inc_0123456789ab"
PATCH = "--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-a\n+b\n"


def errors_of(raw: dict[str, Any], tmp_path: Path, **options: Any) -> list[Any]:
    settings = make_settings("sqlite://", tmp_path, **options.pop("settings", {}))
    with pytest.raises(ValidationFailed) as caught:
        validate_pull_request_parameters(raw, settings=settings, **options)
    assert caught.value.status_code == 422
    return caught.value.errors


def test_a_patch_or_files_with_the_incident_is_enough(tmp_path: Path) -> None:
    settings = make_settings("sqlite://", tmp_path)

    with_patch = validate_pull_request_parameters(
        {"incident_id": INCIDENT, "patch": PATCH}, settings=settings
    )
    with_files = validate_pull_request_parameters(
        {"incident_id": INCIDENT, "files": {"src/app.py": "print(1)\n"}},
        settings=settings,
    )

    assert with_patch == PullRequestParameters(incident_id=INCIDENT, patch=PATCH)
    assert with_files.files == {"src/app.py": "print(1)\n"}
    assert with_files.repository is None
    assert with_files.base_branch is None


def test_both_changes_at_once_are_a_422(tmp_path: Path) -> None:
    raw = {"incident_id": INCIDENT, "patch": PATCH, "files": {"a.py": "x"}}

    assert errors_of(raw, tmp_path) == [
        {
            "loc": ["parameters"],
            "msg": "Value error, give either `patch` or `files`, not both",
            "type": "value_error",
        }
    ]


def test_no_changes_without_a_language_model_is_a_422_that_says_what_to_give(
    tmp_path: Path,
) -> None:
    assert errors_of({"incident_id": INCIDENT}, tmp_path) == [
        {
            "loc": ["parameters"],
            "msg": f"Value error, {NO_CHANGES}",
            "type": "value_error",
        }
    ]


def test_no_changes_is_fine_when_a_language_model_can_propose_them(
    tmp_path: Path,
) -> None:
    settings = make_settings("sqlite://", tmp_path)

    parameters = validate_pull_request_parameters(
        {"incident_id": INCIDENT}, settings=settings, can_propose=True
    )

    assert parameters.is_empty is True


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../secrets.txt", "the path must not leave the repository ('..')"),
        ("src/../../x", "the path must not leave the repository ('..')"),
        ("/etc/passwd", "the path must be relative to the repository root"),
        (".git/config", "the path must not be inside .git"),
        ("sub/.GIT/hooks/pre-commit", "the path must not be inside .git"),
        ("src\\app.py", "separate directories with /, not \\"),
        ("src//app.py", "the path has an empty or '.' part"),
        ("./app.py", "the path has an empty or '.' part"),
        ("src/", "the path has an empty or '.' part"),
        ("", "a path has 1 to 1024 characters"),
        ("bad\nname", "a path has no control characters"),
    ],
)
def test_file_paths_that_escape_the_repository_are_a_422(
    path: str, message: str, tmp_path: Path
) -> None:
    errors = errors_of({"incident_id": INCIDENT, "files": {path: "x"}}, tmp_path)

    assert errors == [
        {
            "loc": ["parameters", "files", path, "[key]"],
            "msg": f"Value error, {message}",
            "type": "value_error",
        }
    ]


def test_patches_that_touch_paths_outside_the_repository_are_a_422(
    tmp_path: Path,
) -> None:
    escaping = "--- a/../outside.py\n+++ b/../outside.py\n@@ -1 +1 @@\n-a\n+b\n"

    errors = errors_of({"incident_id": INCIDENT, "patch": escaping}, tmp_path)

    assert errors == [
        {
            "loc": ["parameters", "patch"],
            "msg": "Value error, the patch touches a path it may not: the path must "
            "not leave the repository ('..')",
            "type": "value_error",
        }
    ]


def test_text_that_is_no_patch_is_a_422(tmp_path: Path) -> None:
    errors = errors_of({"incident_id": INCIDENT, "patch": "just words"}, tmp_path)

    assert errors[0]["msg"] == (
        "Value error, the patch names no file; give a unified diff as `git diff` "
        "prints it"
    )


def test_huge_files_are_a_422(tmp_path: Path) -> None:
    huge = "x" * (MAX_FILE_BYTES + 1)

    errors = errors_of({"incident_id": INCIDENT, "files": {"big.txt": huge}}, tmp_path)

    assert errors == [
        {
            "loc": ["parameters", "files", "big.txt"],
            "msg": f"Value error, a file may have at most {MAX_FILE_BYTES} bytes",
            "type": "value_error",
        }
    ]


def test_local_repositories_follow_the_server_setting(tmp_path: Path) -> None:
    raw = {"incident_id": INCIDENT, "patch": PATCH, "repository": "/srv/git/app.git"}
    allowed = make_settings("sqlite://", tmp_path, allow_local_remotes=True)

    errors = errors_of(raw, tmp_path)
    parameters = validate_pull_request_parameters(raw, settings=allowed)

    assert errors == [
        {
            "loc": ["parameters", "repository"],
            "msg": "Value error, local repository paths are turned off on this "
            "server (DEVFLOWFIX_ALLOW_LOCAL_REMOTES)",
            "type": "value_error",
        }
    ]
    assert parameters.repository == "/srv/git/app.git"


def test_other_mistakes_are_reported_field_by_field(tmp_path: Path) -> None:
    raw = {
        "incident_id": "42",
        "patch": PATCH,
        "base_branch": "-delete",
        "title": "",
        "colour": "red",
    }

    errors = errors_of(raw, tmp_path)

    assert [error["loc"] for error in errors] == [
        ["parameters", "incident_id"],
        ["parameters", "base_branch"],
        ["parameters", "title"],
        ["parameters", "colour"],
    ]


@pytest.mark.parametrize(
    "name",
    ["-x", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "x.lock", "a/", ".a"],
)
def test_branch_names_follow_gits_rules(name: str) -> None:
    with pytest.raises(ValueError, match="not a valid git branch name"):
        check_branch_name(name)


def test_branch_names_may_carry_the_refs_heads_prefix() -> None:
    assert check_branch_name("refs/heads/release/1.2") == "release/1.2"


def test_patch_paths_read_git_headers_renames_and_quoted_names() -> None:
    patch = (
        "diff --git a/old name.py b/new name.py\n"
        "similarity index 90%\n"
        "rename from old name.py\n"
        "rename to new name.py\n"
        "--- a/old name.py\n"
        "+++ b/new name.py\n"
        "@@ -1,2 +1,2 @@\n"
        "--- a removed line that looks like a header\n"
        "+++ an added one too\n"
        " context\n"
        'diff --git "a/caf\\303\\251.txt" "b/caf\\303\\251.txt"\n'
        "new file mode 100644\n"
        "--- /dev/null\n"
        '+++ "b/caf\\303\\251.txt"\n'
        "@@ -0,0 +1 @@\n"
        "+hello\n"
    )

    assert patch_paths(patch) == ["old name.py", "new name.py", "café.txt"]


def test_a_valid_path_comes_back_unchanged() -> None:
    assert check_repository_path("src/app/main.py") == "src/app/main.py"
