"""A fix pull request end to end: a real bare repository, both databases."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.errors import Conflict, NotFound, ValidationFailed
from devflowfix.models import Incident, User
from devflowfix.pullrequests.branches import BaseTree, JobHooks, PullRequestCancelled
from devflowfix.pullrequests.remotes import Credentials, Provider
from devflowfix.pullrequests.schemas import NO_CHANGES, FixTarget, PullRequestParameters
from devflowfix.pullrequests.service import create_fix_pull_request, load_fix_target
from factories import git, make_git_remote, make_incident, make_user, remote_refs
from forge import SEED_FILES

PATCH = """\
diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -1,2 +1,2 @@
 def total(values):
-    return sum(values)
+    return sum(values, 0.0)
"""
FIXED_APP = "def total(values):\n    return sum(values, 0.0)\n"
STEPS = [
    (5, "Resolving the repository"),
    (10, "Fetching main"),
    (30, "Creating {branch}"),
    (45, "Applying the changes"),
    (60, "Committing the fix"),
    (70, "Pushing {branch}"),
    (85, "Opening the pull request"),
    (95, "Recording the fix on the incident"),
]


class Job:
    """Stands in for the job context: records progress, cancels after a step."""

    def __init__(self, database: Database, cancel_after: str | None = None) -> None:
        self.database = database
        self.cancel_after = cancel_after
        self.steps: list[tuple[int, str]] = []

    def report(self, progress: int, step: str) -> None:
        self.steps.append((progress, step))

    def cancelled(self) -> bool:
        if self.cancel_after is None:
            return False
        return any(step.startswith(self.cancel_after) for _, step in self.steps)

    @property
    def hooks(self) -> JobHooks:
        return JobHooks(
            report=self.report,
            cancelled=self.cancelled,
            transaction=self.database.transaction,
        )


@pytest.fixture
def member(database: Database) -> User:
    return make_user(database)


@pytest.fixture
def incident(database: Database, member: User) -> FixTarget:
    made = make_incident(
        database,
        member,
        failure_type="test_failure",
        error_message="AssertionError: total([0.1, 0.2]) returned an int",
        root_cause="sum() starts from the integer 0",
        suggested_fix="Start the sum from 0.0",
        commit_sha="3f9c2a7e1b4d",
        run_url="https://ci.example.com/runs/17",
    )
    with database.transaction() as session:
        return load_fix_target(session, member.team_id, made.public_id)


def run_fix(
    incident: FixTarget,
    settings: Settings,
    job: Job,
    credentials: Mapping[Provider, Credentials] | None = None,
    **parameters: Any,
) -> dict[str, Any]:
    return create_fix_pull_request(
        incident,
        PullRequestParameters.model_validate(
            {"incident_id": incident.incident_id, **parameters},
            context={"allow_local_remotes": True, "changes_optional": True},
        ),
        credentials=credentials or {},
        settings=settings,
        hooks=job.hooks,
    )


def recorded_fix(database: Database, incident_id: str) -> tuple[Any, ...]:
    with database.transaction(write=False) as session:
        row = session.execute(
            select(
                Incident.fix_pull_request_url,
                Incident.fix_branch,
                Incident.fix_commit_sha,
            ).where(Incident.public_id == incident_id)
        ).one()
    return tuple(row)


def test_a_patch_lands_on_the_fix_branch_of_a_plain_remote(
    database: Database, settings: Settings, incident: FixTarget, bare_remote: Path
) -> None:
    base = git(bare_remote, "rev-parse", "main").strip()
    branch = f"devflowfix/fix-{incident.incident_id}"
    job = Job(database)

    result = run_fix(incident, settings, job, patch=PATCH, repository=str(bare_remote))

    commit = remote_refs(bare_remote)[f"refs/heads/{branch}"]
    assert result == {
        "incident_id": incident.incident_id,
        "repository": str(bare_remote),
        "remote": str(bare_remote),
        "provider": None,
        "base_branch": "main",
        "base_commit_sha": base,
        "branch": branch,
        "commit_sha": commit,
        "changed_files": ["app.py"],
        "pushed": True,
        "pull_request_url": None,
        "pull_request_number": None,
        "pull_request_created": False,
        "message": f"Pushed {commit[:12]} to {branch}. The remote has no "
        "pull-request API, so none was opened.",
    }
    assert git(bare_remote, "show", f"{branch}:app.py") == FIXED_APP
    assert git(bare_remote, "show", f"{branch}:README.md") == SEED_FILES["README.md"]
    assert git(bare_remote, "rev-parse", f"{branch}^").strip() == base
    # %B ends the message with one more newline.
    assert git(bare_remote, "log", "-1", "--format=%B", commit) == (
        "Fix test failure: AssertionError: total([0.1, 0.2]) returned an int\n\n"
        "Root cause: sum() starts from the integer 0\n\n"
        "Suggested fix: Start the sum from 0.0\n\n"
        f"DevFlowFix-Incident: {incident.incident_id}\n"
        "DevFlowFix-Incident-URL: https://devflowfix.example.com/api/v1/incidents/"
        f"{incident.incident_id}\n\n"
    )
    assert job.steps == [(p, s.format(branch=branch)) for p, s in STEPS]
    assert recorded_fix(database, incident.incident_id) == (None, branch, commit)


def test_a_second_run_pushes_and_opens_nothing_new(
    database: Database, settings: Settings, incident: FixTarget, bare_remote: Path
) -> None:
    first = run_fix(
        incident, settings, Job(database), patch=PATCH, repository=str(bare_remote)
    )
    refs_after_first = remote_refs(bare_remote)
    job = Job(database)

    second = run_fix(incident, settings, job, patch=PATCH, repository=str(bare_remote))

    branch = first["branch"]
    assert remote_refs(bare_remote) == refs_after_first
    assert second == {
        **first,
        "pushed": False,
        "message": f"{branch} already holds the change; nothing was pushed. The "
        "remote has no pull-request API, so none was opened.",
    }
    assert job.steps[2] == (30, f"Reusing {branch}")


def test_whole_files_are_committed_as_given_and_a_rerun_changes_nothing(
    database: Database, settings: Settings, incident: FixTarget, bare_remote: Path
) -> None:
    files = {"app.py": FIXED_APP, "tests/test_app.py": "assert True\n"}

    first = run_fix(
        incident, settings, Job(database), files=files, repository=str(bare_remote)
    )
    second = run_fix(
        incident, settings, Job(database), files=files, repository=str(bare_remote)
    )

    branch = first["branch"]
    assert first["changed_files"] == ["app.py", "tests/test_app.py"]
    assert git(bare_remote, "show", f"{branch}:tests/test_app.py") == "assert True\n"
    assert git(bare_remote, "show", f"{branch}:app.py") == FIXED_APP
    assert second["pushed"] is False
    assert second["commit_sha"] == first["commit_sha"]


def test_a_changed_fix_adds_a_commit_on_top_of_the_branch(
    database: Database, settings: Settings, incident: FixTarget, bare_remote: Path
) -> None:
    first = run_fix(
        incident, settings, Job(database), patch=PATCH, repository=str(bare_remote)
    )

    second = run_fix(
        incident,
        settings,
        Job(database),
        files={"CHANGELOG.md": "Sums are floats.\n"},
        repository=str(bare_remote),
    )

    branch = first["branch"]
    assert second["pushed"] is True
    assert git(bare_remote, "rev-parse", f"{branch}^").strip() == first["commit_sha"]
    assert second["changed_files"] == ["CHANGELOG.md", "app.py"]
    assert recorded_fix(database, incident.incident_id)[2] == second["commit_sha"]


def test_a_conflicting_patch_fails_cleanly_and_leaves_the_remote_untouched(
    database: Database, settings: Settings, incident: FixTarget, bare_remote: Path
) -> None:
    before = remote_refs(bare_remote)
    conflicting = PATCH.replace("-    return sum(values)", "-    return values")

    with pytest.raises(ValidationFailed) as caught:
        run_fix(
            incident,
            settings,
            Job(database),
            patch=conflicting,
            repository=str(bare_remote),
        )

    assert caught.value.errors == [
        {
            "loc": ["patch"],
            "msg": "The patch does not apply: error: patch failed: app.py:1; "
            "error: app.py: patch does not apply",
            "type": "value_error",
        }
    ]
    assert remote_refs(bare_remote) == before
    assert recorded_fix(database, incident.incident_id) == (None, None, None)


@pytest.mark.parametrize(
    "cancel_after",
    ["Resolving", "Fetching", "Creating", "Applying", "Committing"],
)
def test_cancel_before_the_push_leaves_the_remote_untouched(
    cancel_after: str,
    database: Database,
    settings: Settings,
    incident: FixTarget,
    bare_remote: Path,
) -> None:
    before = remote_refs(bare_remote)
    job = Job(database, cancel_after=cancel_after)

    with pytest.raises(PullRequestCancelled):
        run_fix(incident, settings, job, patch=PATCH, repository=str(bare_remote))

    assert remote_refs(bare_remote) == before
    assert job.steps[-1][1].startswith(cancel_after)
    assert recorded_fix(database, incident.incident_id) == (None, None, None)


def test_a_cancel_after_the_push_lets_the_job_finish(
    database: Database, settings: Settings, incident: FixTarget, bare_remote: Path
) -> None:
    job = Job(database, cancel_after="Pushing")

    result = run_fix(incident, settings, job, patch=PATCH, repository=str(bare_remote))

    assert job.cancelled() is True
    assert job.steps[-1] == (95, "Recording the fix on the incident")
    assert recorded_fix(database, incident.incident_id)[2] == result["commit_sha"]


def test_changes_that_are_already_on_the_base_are_a_conflict(
    database: Database, settings: Settings, incident: FixTarget, bare_remote: Path
) -> None:
    with pytest.raises(Conflict) as caught:
        run_fix(
            incident,
            settings,
            Job(database),
            files={"README.md": SEED_FILES["README.md"]},
            repository=str(bare_remote),
        )

    assert caught.value.message == (
        "The changes are already on main; there is nothing to fix."
    )
    assert list(remote_refs(bare_remote)) == ["refs/heads/main"]


def test_the_base_is_the_incidents_branch_when_the_remote_has_it(
    database: Database, settings: Settings, member: User, tmp_path: Path
) -> None:
    remote = make_git_remote(tmp_path / "release.git", SEED_FILES)
    git(remote, "branch", "release/2.0", "main")
    on_release = make_incident(database, member, branch="release/2.0")
    gone = make_incident(database, member, branch="feature/deleted")
    with database.transaction() as session:
        release_target = load_fix_target(session, member.team_id, on_release.public_id)
        gone_target = load_fix_target(session, member.team_id, gone.public_id)

    release = run_fix(
        release_target, settings, Job(database), patch=PATCH, repository=str(remote)
    )
    fallback = run_fix(
        gone_target, settings, Job(database), patch=PATCH, repository=str(remote)
    )

    assert release["base_branch"] == "release/2.0"
    assert fallback["base_branch"] == "main"


def test_a_missing_base_branch_is_named(
    database: Database, settings: Settings, incident: FixTarget, bare_remote: Path
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        run_fix(
            incident,
            settings,
            Job(database),
            patch=PATCH,
            repository=str(bare_remote),
            base_branch="develop",
        )

    assert caught.value.errors[0]["msg"] == "the repository has no branch develop"


def test_without_changes_or_a_language_model_the_job_says_what_to_give(
    database: Database, settings: Settings, incident: FixTarget, bare_remote: Path
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        run_fix(incident, settings, Job(database), repository=str(bare_remote))

    assert caught.value.errors[0]["msg"] == NO_CHANGES
    assert list(remote_refs(bare_remote)) == ["refs/heads/main"]


def test_a_language_model_proposes_the_changes_when_none_are_given(
    database: Database, settings: Settings, incident: FixTarget, bare_remote: Path
) -> None:
    seen: list[tuple[str, list[str], str | None]] = []

    def propose(target: FixTarget, base: BaseTree) -> dict[str, Any]:
        seen.append((target.incident_id, base.list_files(), base.read_file("app.py")))
        return {"patch": PATCH}

    result = create_fix_pull_request(
        incident,
        PullRequestParameters.model_validate(
            {"incident_id": incident.incident_id, "repository": str(bare_remote)},
            context={"allow_local_remotes": True, "changes_optional": True},
        ),
        credentials={},
        settings=settings,
        hooks=Job(database).hooks,
        propose=propose,
    )

    assert seen == [
        (incident.incident_id, ["README.md", "app.py"], SEED_FILES["app.py"])
    ]
    assert git(bare_remote, "show", f"{result['branch']}:app.py") == FIXED_APP


def test_proposed_changes_are_validated_like_a_request(
    database: Database, settings: Settings, incident: FixTarget, bare_remote: Path
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        create_fix_pull_request(
            incident,
            PullRequestParameters.model_validate(
                {"incident_id": incident.incident_id, "repository": str(bare_remote)},
                context={"allow_local_remotes": True, "changes_optional": True},
            ),
            credentials={},
            settings=settings,
            hooks=Job(database).hooks,
            propose=lambda target, base: {"files": {"../../etc/cron.d/x": "boom"}},
        )

    assert caught.value.message == (
        "The proposed changes cannot be used: Value error, the path must not "
        "leave the repository ('..')"
    )
    assert list(remote_refs(bare_remote)) == ["refs/heads/main"]


def test_local_remotes_need_the_setting(
    database: Database, settings: Settings, incident: FixTarget, bare_remote: Path
) -> None:
    locked = settings.model_copy(update={"allow_local_remotes": False})

    with pytest.raises(ValidationFailed) as caught:
        run_fix(
            incident, locked, Job(database), patch=PATCH, repository=str(bare_remote)
        )

    assert caught.value.errors[0]["loc"] == ["repository"]
    assert list(remote_refs(bare_remote)) == ["refs/heads/main"]


def test_another_teams_incident_is_not_found(
    database: Database, incident: FixTarget
) -> None:
    stranger = make_user(database, team="globex")

    with database.transaction() as session, pytest.raises(NotFound):
        load_fix_target(session, stranger.team_id, incident.incident_id)
