"""Fix pull requests on a stand-in GitHub and GitLab: git over HTTP plus their APIs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.errors import UpstreamFailed, ValidationFailed
from devflowfix.logging import configure_logging
from devflowfix.models import User
from devflowfix.pullrequests.branches import JobHooks
from devflowfix.pullrequests.providers import RetryPolicy
from devflowfix.pullrequests.remotes import Credentials, Provider
from devflowfix.pullrequests.schemas import FixTarget, PullRequestParameters
from devflowfix.pullrequests.service import create_fix_pull_request, load_fix_target
from factories import auth_headers, git, make_incident, make_user, remote_refs
from forge import FORGE_TOKEN, Answer, FakeForge

PATCH = """\
diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -1,2 +1,2 @@
 def total(values):
-    return sum(values)
+    return sum(values, 0.0)
"""


@pytest.fixture
def member(database: Database) -> User:
    return make_user(database)


def target_of(database: Database, member: User, **overrides: Any) -> FixTarget:
    made = make_incident(database, member, **overrides)
    with database.transaction() as session:
        return load_fix_target(session, member.team_id, made.public_id)


def credentials_for(
    forge: FakeForge, provider: Provider
) -> dict[Provider, Credentials]:
    api = "/api/v3" if provider is Provider.GITHUB else "/api/v4"
    return {provider: Credentials(token=FORGE_TOKEN, base_url=forge.url + api)}


def run_fix(
    incident: FixTarget,
    settings: Settings,
    database: Database,
    credentials: dict[Provider, Credentials],
    *,
    report: Any = None,
    work_root: Path | None = None,
    sleeps: list[float] | None = None,
    **parameters: Any,
) -> dict[str, Any]:
    waits = sleeps if sleeps is not None else []
    return create_fix_pull_request(
        incident,
        PullRequestParameters(incident_id=incident.incident_id, **parameters),
        credentials=credentials,
        settings=settings,
        hooks=JobHooks(
            report=report or (lambda progress, step: None),
            cancelled=lambda: False,
            transaction=database.transaction,
        ),
        retry_policy=RetryPolicy(attempts=3, max_wait_seconds=60, sleep=waits.append),
        work_root=work_root,
    )


def test_github_gets_the_pushed_branch_and_one_pull_request(
    database: Database,
    settings: Settings,
    member: User,
    forge: FakeForge,
    client: TestClient,
) -> None:
    incident = target_of(database, member, repository="acme/web-app", branch="main")
    credentials = credentials_for(forge, Provider.GITHUB)
    branch = f"devflowfix/fix-{incident.incident_id}"

    first = run_fix(incident, settings, database, credentials, patch=PATCH)
    second = run_fix(incident, settings, database, credentials, patch=PATCH)

    repository = forge.root / "acme" / "web-app.git"
    url = f"{forge.url}/acme/web-app/pull/1"
    assert first["provider"] == "github"
    assert first["remote"] == f"{forge.url}/acme/web-app.git"
    assert first["commit_sha"] == remote_refs(repository)[f"refs/heads/{branch}"]
    assert (first["pull_request_url"], first["pull_request_number"]) == (url, 1)
    assert first["pull_request_created"] is True
    assert first["message"] == (
        f"Pushed {first['commit_sha'][:12]} to {branch}. Opened pull request #1."
    )
    assert second == {
        **first,
        "pushed": False,
        "pull_request_created": False,
        "message": f"{branch} already holds the change; nothing was pushed. "
        "Pull request #1 was already open.",
    }
    assert [(p.number, p.head, p.base) for p in forge.pulls] == [(1, branch, "main")]
    shown = client.get(
        f"/api/v1/incidents/{incident.incident_id}",
        headers=auth_headers(member, settings),
    ).json()
    assert shown["fix"] == {
        "pull_request_url": url,
        "branch": branch,
        "commit_sha": first["commit_sha"],
    }


def test_the_default_title_and_body_describe_the_incident(
    database: Database, settings: Settings, member: User, forge: FakeForge
) -> None:
    incident = target_of(
        database,
        member,
        repository="acme/web-app",
        branch="main",
        commit_sha="3f9c2a7e1b4d5a6b",
        failure_type="test_failure",
        error_message="AssertionError: total([0.1, 0.2]) returned an int",
        root_cause="sum() starts from the integer 0",
        suggested_fix="Start the sum from 0.0",
        run_url="https://ci.example.com/runs/17",
    )

    run_fix(
        incident,
        settings,
        database,
        credentials_for(forge, Provider.GITHUB),
        patch=PATCH,
    )

    (pull,) = forge.pulls
    link = f"https://devflowfix.example.com/api/v1/incidents/{incident.incident_id}"
    assert (
        pull.title
        == "Fix test failure: AssertionError: total([0.1, 0.2]) returned an int"
    )
    assert pull.body == (
        f"DevFlowFix opened this pull request for incident [{incident.incident_id}]"
        f"({link}): a test failure from github_actions in `acme/web-app` on `main` "
        "at `3f9c2a7e1b4d`. It targets `main`.\n\n"
        "CI run: https://ci.example.com/runs/17\n\n"
        "### Error\n\n```\nAssertionError: total([0.1, 0.2]) returned an int\n```\n\n"
        "### Root cause\n\nsum() starts from the integer 0\n\n"
        "### Suggested fix\n\nStart the sum from 0.0\n\n"
        "### Changes\n\n- `app.py`\n"
    )


def test_gitlab_gets_the_pushed_branch_and_one_merge_request(
    database: Database, settings: Settings, member: User, forge: FakeForge
) -> None:
    incident = target_of(
        database, member, source="gitlab_ci", repository="acme/tools/cli", branch=None
    )
    credentials = credentials_for(forge, Provider.GITLAB)

    first = run_fix(
        incident,
        settings,
        database,
        credentials,
        files={"app.py": "def total(values):\n    return sum(values, 0.0)\n"},
        title="Start sums from 0.0",
        body="Floats all the way.",
    )
    second = run_fix(
        incident,
        settings,
        database,
        credentials,
        files={"app.py": "def total(values):\n    return sum(values, 0.0)\n"},
    )

    branch = f"devflowfix/fix-{incident.incident_id}"
    url = f"{forge.url}/acme/tools/cli/-/merge_requests/1"
    assert first["provider"] == "gitlab"
    assert first["base_branch"] == "main"
    assert (first["pull_request_url"], first["pull_request_created"]) == (url, True)
    assert (second["pull_request_url"], second["pull_request_created"]) == (url, False)
    assert [(p.head, p.base, p.title, p.body) for p in forge.pulls] == [
        (branch, "main", "Start sums from 0.0", "Floats all the way.")
    ]
    pushed = forge.root / "acme" / "tools" / "cli.git"
    assert git(pushed, "log", "-1", "--format=%s", branch) == "Start sums from 0.0\n"


def test_the_token_never_appears_in_files_results_logs_or_errors(
    database: Database,
    settings: Settings,
    member: User,
    forge: FakeForge,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(json_lines=True, level="DEBUG")
    incident = target_of(database, member, repository="acme/web-app", branch="main")
    credentials = credentials_for(forge, Provider.GITHUB)
    work_root = tmp_path / "work"
    found_in_files: list[str] = []
    config_lists: list[str] = []

    def inspect_workspace(progress: int, step: str) -> None:
        if not step.startswith("Pushing"):
            return
        (workspace,) = [path / "repository" for path in work_root.iterdir()]
        config_lists.append(git(workspace, "config", "--list"))
        for path in workspace.rglob("*"):
            if path.is_file() and FORGE_TOKEN.encode() in path.read_bytes():
                found_in_files.append(str(path))

    result = run_fix(
        incident,
        settings,
        database,
        credentials,
        report=inspect_workspace,
        work_root=work_root,
        patch=PATCH,
    )
    forge.queue(Answer(401, {"message": f"Bad credentials {FORGE_TOKEN}"}))
    with pytest.raises(UpstreamFailed) as caught:
        run_fix(incident, settings, database, credentials, patch=PATCH)

    logs = capsys.readouterr().err
    assert found_in_files == []
    assert len(config_lists) == 1
    assert FORGE_TOKEN not in config_lists[0]
    assert FORGE_TOKEN not in json.dumps(result)
    assert FORGE_TOKEN not in str(caught.value)
    assert str(caught.value).endswith("integration): Bad credentials ***")
    assert '"event": "pull_request.completed"' in logs
    assert '"event": "git.command"' in logs
    assert FORGE_TOKEN not in logs
    assert list(work_root.iterdir()) == []


def test_a_failing_api_after_the_push_fails_the_job_and_a_rerun_finishes_it(
    database: Database, settings: Settings, member: User, forge: FakeForge
) -> None:
    incident = target_of(database, member, repository="acme/web-app", branch="main")
    credentials = credentials_for(forge, Provider.GITHUB)
    broken = Answer(500, {"message": "Server Error"})
    forge.queue(broken, broken, broken)
    sleeps: list[float] = []

    with pytest.raises(UpstreamFailed) as caught:
        run_fix(incident, settings, database, credentials, sleeps=sleeps, patch=PATCH)

    branch = f"devflowfix/fix-{incident.incident_id}"
    pushed = remote_refs(forge.root / "acme" / "web-app.git")[f"refs/heads/{branch}"]
    rerun = run_fix(incident, settings, database, credentials, patch=PATCH)

    assert str(caught.value) == (
        f"The branch {branch} was pushed, but the pull request failed: GitHub "
        "answered 500 to GET /repos/acme/web-app/pulls: Server Error"
    )
    assert sleeps == [1.0, 2.0]
    assert rerun["commit_sha"] == pushed
    assert (rerun["pushed"], rerun["pull_request_created"]) == (False, True)


def test_a_provider_without_a_token_fails_before_anything_is_sent(
    database: Database, settings: Settings, member: User, forge: FakeForge
) -> None:
    incident = target_of(database, member, repository="acme/web-app")

    with pytest.raises(ValidationFailed) as caught:
        run_fix(
            incident,
            settings,
            database,
            {Provider.GITHUB: Credentials(base_url=forge.url + "/api/v3")},
            patch=PATCH,
        )

    assert caught.value.errors[0]["msg"] == (
        "no github token is configured for the team; an admin sets one with "
        "PUT /api/v1/integrations/github"
    )
    assert forge.requests == []


def test_a_refused_git_push_names_gits_reason(
    database: Database, settings: Settings, member: User, forge: FakeForge
) -> None:
    incident = target_of(database, member, repository="acme/web-app", branch="main")
    wrong = {
        Provider.GITHUB: Credentials(token="ghp_wrong", base_url=forge.url + "/api/v3")
    }

    with pytest.raises(UpstreamFailed) as caught:
        run_fix(incident, settings, database, wrong, patch=PATCH)

    assert str(caught.value) == (
        f"git ls-remote failed: fatal: could not read Username for '{forge.url}': "
        "terminal prompts disabled"
    )
    assert forge.pulls == []
