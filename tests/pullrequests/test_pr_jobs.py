"""pr_creation through `POST /api/v1/jobs`, on each deployment.

The remote is a real bare repository served by the forge stand-in over git's
HTTP protocol (or a bare repository on disk), and the forge's GitHub API opens
the pull requests. SQLite runs the job on the app's embedded runner,
PostgreSQL on a Procrastinate worker in this process. Logs are captured as
JSON lines at debug level, so a test can wait for a job's end and look for
the token in everything the service logged.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from conftest import make_settings
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.models import Incident, User
from devflowfix.pullrequests.remotes import Provider
from factories import (
    auth_headers,
    git,
    make_incident,
    make_integration,
    make_user,
    remote_refs,
)
from forge import FORGE_TOKEN, SEED_FILES, Answer, FakeForge
from job_helpers import JobApi, wait_until

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
CONFLICTING_PATCH = PATCH.replace("-    return sum(values)", "-    return values")
TITLE = "Fix test failure: AssertionError: total([0.1, 0.2]) returned an int"


class CapturedLogs(logging.Handler):
    """Every log line of the service, formatted as it writes them (JSON)."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.formatted: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.formatted.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.formatted)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(self.formatted)]

    def wait_for(self, event: str, **fields: Any) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next(
                (
                    line
                    for line in self.events()
                    if line.get("event") == event
                    and all(line.get(key) == value for key, value in fields.items())
                ),
                None,
            )

        return wait_until(found, what=f"the log event {event} {fields}")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        allow_local_remotes=True,
        public_url="https://devflowfix.example.com",
        log_json=True,
        log_level="DEBUG",
    )


@pytest.fixture
def logs(app: FastAPI) -> Iterator[CapturedLogs]:
    """The app's log lines; `create_app` has configured the root logger."""
    root = logging.getLogger()
    captured = CapturedLogs(root.handlers[0].formatter)
    root.addHandler(captured)
    yield captured
    root.removeHandler(captured)


@pytest.fixture
def member(database: Database, settings: Settings, forge: FakeForge) -> User:
    """A member of acme, whose GitHub integration is the forge with its token."""
    make_integration(
        database,
        settings,
        webhook_secret=None,
        token=FORGE_TOKEN,
        base_url=forge.url,
    )
    return make_user(database)


@pytest.fixture
def jobs(
    logs: CapturedLogs,
    client: TestClient,
    job_worker: None,
    member: User,
    settings: Settings,
    forge: FakeForge,
) -> JobApi:
    return JobApi(client, auth_headers(member, settings))


@pytest.fixture
def incident(database: Database, member: User) -> Incident:
    return make_incident(
        database,
        member,
        failure_type="test_failure",
        error_message="AssertionError: total([0.1, 0.2]) returned an int",
        root_cause="sum() starts from the integer 0",
        suggested_fix="Start the sum from 0.0",
    )


def _remote(forge: FakeForge) -> Path:
    return forge.root / "acme" / "web-app.git"


def _branch(incident: Incident) -> str:
    return f"devflowfix/fix-{incident.public_id}"


def _fix_of(jobs: JobApi, incident: Incident) -> dict[str, Any]:
    response = jobs.client.get(
        f"/api/v1/incidents/{incident.public_id}", headers=jobs.headers
    )
    fix: dict[str, Any] = response.json()["fix"]
    return fix


def _run(jobs: JobApi, parameters: dict[str, Any]) -> dict[str, Any]:
    job = jobs.create("pr_creation", parameters)
    return jobs.wait_until_final(job["job_id"])


def test_a_job_pushes_exactly_the_change_and_records_the_pull_request(
    jobs: JobApi, forge: FakeForge, incident: Incident
) -> None:
    remote = _remote(forge)
    base = git(remote, "rev-parse", "main").strip()
    branch = _branch(incident)

    created = jobs.create(
        "pr_creation", {"incident_id": incident.public_id, "patch": PATCH}
    )
    done = jobs.wait_until_final(created["job_id"])

    commit = remote_refs(remote)[f"refs/heads/{branch}"]
    url = f"{forge.url}/acme/web-app/pull/1"
    assert (created["status"], created["parameters"]) == (
        "queued",
        {"incident_id": incident.public_id, "patch": PATCH},
    )
    assert (done["status"], done["progress"], done["error_message"]) == (
        "completed",
        100,
        None,
    )
    assert done["current_step"] == "Recording the fix on the incident"
    assert done["result_url"] is None
    assert done["result"] == {
        "incident_id": incident.public_id,
        "repository": "acme/web-app",
        "remote": f"{forge.url}/acme/web-app.git",
        "provider": "github",
        "base_branch": "main",
        "base_commit_sha": base,
        "branch": branch,
        "commit_sha": commit,
        "changed_files": ["app.py"],
        "pushed": True,
        "pull_request_url": url,
        "pull_request_number": 1,
        "pull_request_created": True,
        "message": f"Pushed {commit[:12]} to {branch}. Opened pull request #1.",
    }
    assert git(remote, "rev-parse", f"{branch}^").strip() == base
    assert git(remote, "diff", "--name-only", base, branch) == "app.py\n"
    assert git(remote, "show", f"{branch}:app.py") == FIXED_APP
    assert git(remote, "show", f"{branch}:README.md") == SEED_FILES["README.md"]
    assert git(remote, "log", "-1", "--format=%s%n%(trailers)", branch) == (
        f"{TITLE}\nDevFlowFix-Incident: {incident.public_id}\n"
        "DevFlowFix-Incident-URL: https://devflowfix.example.com/api/v1/incidents/"
        f"{incident.public_id}\n\n"
    )
    assert [(p.number, p.project, p.head, p.base, p.title) for p in forge.pulls] == [
        (1, "acme/web-app", branch, "main", TITLE)
    ]
    assert _fix_of(jobs, incident) == {
        "pull_request_url": url,
        "branch": branch,
        "commit_sha": commit,
    }


def test_a_second_job_for_the_incident_opens_nothing_new(
    jobs: JobApi, forge: FakeForge, incident: Incident
) -> None:
    first = _run(jobs, {"incident_id": incident.public_id, "patch": PATCH})
    refs = remote_refs(_remote(forge))

    second = _run(jobs, {"incident_id": incident.public_id, "patch": PATCH})

    branch = _branch(incident)
    assert second["status"] == "completed"
    assert second["result"] == {
        **first["result"],
        "pushed": False,
        "pull_request_created": False,
        "message": f"{branch} already holds the change; nothing was pushed. Pull "
        "request #1 was already open.",
    }
    assert remote_refs(_remote(forge)) == refs
    assert len(forge.pulls) == 1
    assert [r.method for r in forge.api_requests()] == ["GET", "POST", "GET"]


def test_a_conflicting_patch_fails_the_job_with_gits_reason(
    jobs: JobApi, forge: FakeForge, incident: Incident
) -> None:
    refs = remote_refs(_remote(forge))

    done = _run(jobs, {"incident_id": incident.public_id, "patch": CONFLICTING_PATCH})

    assert (done["status"], done["result"]) == ("failed", None)
    assert done["error_message"] == (
        "The patch does not apply: error: patch failed: app.py:1; error: app.py: "
        "patch does not apply"
    )
    assert done["current_step"] == "Applying the changes"
    assert remote_refs(_remote(forge)) == refs
    assert forge.pulls == []
    assert _fix_of(jobs, incident) == {
        "pull_request_url": None,
        "branch": None,
        "commit_sha": None,
    }


def test_a_cancel_before_the_push_leaves_the_remote_untouched(
    jobs: JobApi, forge: FakeForge, incident: Incident, logs: CapturedLogs
) -> None:
    refs = remote_refs(_remote(forge))
    fetch = forge.hold_git("git-upload-pack")
    job_id = jobs.create(
        "pr_creation", {"incident_id": incident.public_id, "patch": PATCH}
    )["job_id"]
    fetch.wait_for_arrival()

    response = jobs.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=jobs.headers)
    fetch.release()
    logs.wait_for("job.finished", job_id=job_id)

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["progress"]) == (
        "cancelled",
        5,
    )
    job = jobs.read(job_id)
    assert (job["status"], job["result"], job["error_message"]) == (
        "cancelled",
        None,
        None,
    )
    assert remote_refs(_remote(forge)) == refs
    assert [r for r in forge.git_requests() if "receive-pack" in r.path] == []
    assert [r for r in forge.requests if "receive-pack" in str(r.query)] == []
    assert forge.pulls == []
    assert _fix_of(jobs, incident)["branch"] is None


def test_a_cancel_after_the_push_started_is_refused_and_the_job_completes(
    jobs: JobApi, forge: FakeForge, incident: Incident
) -> None:
    push = forge.hold_git("git-receive-pack")
    job_id = jobs.create(
        "pr_creation", {"incident_id": incident.public_id, "patch": PATCH}
    )["job_id"]
    push.wait_for_arrival()

    response = jobs.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=jobs.headers)
    during = jobs.read(job_id)
    push.release()
    done = jobs.wait_until_final(job_id)

    branch = _branch(incident)
    assert response.status_code == 409
    assert response.json()["message"] == (
        f"Job {job_id} can no longer be cancelled: its work has started to take "
        f"effect (Pushing {branch}), so it runs to its end."
    )
    assert (during["status"], during["progress"]) == ("processing", 70)
    assert done["status"] == "completed"
    assert done["result"]["pull_request_url"] == f"{forge.url}/acme/web-app/pull/1"
    assert (
        done["result"]["commit_sha"]
        == remote_refs(_remote(forge))[f"refs/heads/{branch}"]
    )
    assert _fix_of(jobs, incident)["commit_sha"] == done["result"]["commit_sha"]


def test_the_token_never_shows_in_jobs_logs_or_errors(
    jobs: JobApi,
    forge: FakeForge,
    incident: Incident,
    database: Database,
    member: User,
    logs: CapturedLogs,
) -> None:
    other = make_incident(database, member, error_message="Another failure")
    completed = _run(jobs, {"incident_id": incident.public_id, "patch": PATCH})
    forge.queue(Answer(401, {"message": f"Bad credentials: {FORGE_TOKEN}"}))

    failed = _run(jobs, {"incident_id": other.public_id, "patch": PATCH})

    logs.wait_for("job.finished", job_id=failed["job_id"])
    assert completed["status"] == "completed"
    assert (failed["status"], failed["error_message"]) == (
        "failed",
        f"The branch devflowfix/fix-{other.public_id} was pushed, but the pull "
        "request failed: GitHub answered 401 to GET /repos/acme/web-app/pulls (check "
        "the token in the team's GitHub integration): Bad credentials: ***",
    )
    answers = [
        jobs.client.get(path, headers=jobs.headers).text
        for path in (
            f"/api/v1/jobs/{completed['job_id']}",
            f"/api/v1/jobs/{failed['job_id']}",
            "/api/v1/jobs",
            "/api/v1/jobs/active",
            f"/api/v1/incidents/{incident.public_id}",
        )
    ]
    basic = base64.b64encode(f"x-access-token:{FORGE_TOKEN}".encode()).decode()
    written = logs.text
    assert any(line["event"] == "git.command" for line in logs.events())
    for secret in (FORGE_TOKEN, basic):
        assert all(secret not in answer for answer in answers)
        assert secret not in written
    assert {forge.basic_password(r.headers) for r in forge.git_requests()} == {
        FORGE_TOKEN
    }


def test_a_plain_git_remote_gets_the_branch_without_a_pull_request(
    jobs: JobApi, incident: Incident, bare_remote: Path
) -> None:
    done = _run(
        jobs,
        {
            "incident_id": incident.public_id,
            "files": {"app.py": FIXED_APP},
            "repository": str(bare_remote),
        },
    )

    branch = _branch(incident)
    commit = remote_refs(bare_remote)[f"refs/heads/{branch}"]
    assert done["status"] == "completed"
    assert {key: done["result"][key] for key in ("provider", "pull_request_url")} == {
        "provider": None,
        "pull_request_url": None,
    }
    assert done["result"]["commit_sha"] == commit
    assert git(bare_remote, "diff", "--name-only", "main", branch) == "app.py\n"
    assert git(bare_remote, "show", f"{branch}:app.py") == FIXED_APP
    assert _fix_of(jobs, incident) == {
        "pull_request_url": None,
        "branch": branch,
        "commit_sha": commit,
    }


def test_another_users_job_is_a_404(
    jobs: JobApi, database: Database, settings: Settings, incident: Incident
) -> None:
    job_id = _run(jobs, {"incident_id": incident.public_id, "patch": PATCH})["job_id"]
    teammate = auth_headers(make_user(database), settings)
    stranger = auth_headers(make_user(database, team="globex"), settings)

    answers = [
        jobs.client.request(method, f"/api/v1/jobs/{job_id}{suffix}", headers=headers)
        for headers in (teammate, stranger)
        for method, suffix in (("GET", ""), ("POST", "/cancel"), ("DELETE", ""))
    ]

    assert [answer.status_code for answer in answers] == [404] * 6
    assert {answer.json()["message"] for answer in answers} == {f"No job {job_id}."}
    assert jobs.read(job_id)["status"] == "completed"


def test_a_rate_limited_api_is_retried_after_the_wait_and_the_job_completes(
    jobs: JobApi, forge: FakeForge, incident: Incident
) -> None:
    forge.queue(Answer(429, {"message": "Too many requests"}, {"Retry-After": "1"}))

    done = _run(jobs, {"incident_id": incident.public_id, "patch": PATCH})

    assert (done["status"], done["error_message"]) == ("completed", None)
    assert done["result"]["pull_request_url"] == f"{forge.url}/acme/web-app/pull/1"
    assert [r.method for r in forge.api_requests()] == ["GET", "GET", "POST"]
    assert len(forge.pulls) == 1


def test_a_rate_limit_that_persists_fails_the_job_with_the_providers_message(
    jobs: JobApi, forge: FakeForge, incident: Incident
) -> None:
    limited = Answer(429, {"message": "Too many requests"}, {"Retry-After": "0"})
    forge.queue(limited, limited, limited)

    done = _run(jobs, {"incident_id": incident.public_id, "patch": PATCH})

    branch = _branch(incident)
    assert (done["status"], done["result"]) == ("failed", None)
    assert done["error_message"] == (
        f"The branch {branch} was pushed, but the pull request failed: GitHub "
        "answered 429 to GET /repos/acme/web-app/pulls (still rate limited after 3 "
        "attempts): Too many requests"
    )
    assert forge.has_branch("acme/web-app", branch) is True
    assert forge.pulls == []


def test_a_gitlab_incident_gets_a_merge_request_through_the_teams_gitlab(
    jobs: JobApi,
    forge: FakeForge,
    database: Database,
    settings: Settings,
    member: User,
) -> None:
    make_integration(
        database,
        settings,
        provider=Provider.GITLAB,
        webhook_secret=None,
        token=FORGE_TOKEN,
        base_url=forge.url,
    )
    incident = make_incident(
        database, member, source="gitlab_ci", repository="acme/tools/cli", branch=None
    )

    done = _run(
        jobs, {"incident_id": incident.public_id, "files": {"app.py": FIXED_APP}}
    )

    branch = _branch(incident)
    pushed = forge.root / "acme" / "tools" / "cli.git"
    url = f"{forge.url}/acme/tools/cli/-/merge_requests/1"
    path = "/api/v4/projects/acme%2Ftools%2Fcli/merge_requests"
    create = forge.api_requests()[-1]
    assert (done["status"], done["result"]["provider"]) == ("completed", "gitlab")
    assert done["result"]["pull_request_url"] == url
    assert done["result"]["commit_sha"] == remote_refs(pushed)[f"refs/heads/{branch}"]
    assert git(pushed, "show", f"{branch}:app.py") == FIXED_APP
    assert [(r.method, r.path) for r in forge.api_requests()] == [
        ("GET", path),
        ("POST", path),
    ]
    assert (create.body["source_branch"], create.body["target_branch"]) == (
        branch,
        "main",
    )
    assert create.headers["PRIVATE-TOKEN"] == FORGE_TOKEN
    assert _fix_of(jobs, incident)["pull_request_url"] == url
