"""A fix proposed by the language model when a pr_creation job names no change.

The model is a local OpenAI-compatible server; the remote and the pull
request API are the forge stand-in, as in test_pr_jobs.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import make_settings
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.models import Incident, User
from devflowfix.pullrequests.proposals import named_files, proposal_prompt
from devflowfix.pullrequests.schemas import FixTarget
from factories import auth_headers, git, make_incident, make_integration, make_user
from forge import FORGE_TOKEN, FakeForge
from job_helpers import JobApi
from provider_server import ProviderServer, Reply, running_server

FIXED_APP = "def total(values):\n    return sum(values, 0.0)\n"
LOG = (
    "export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n"
    '  File "/home/runner/work/web-app/web-app/app.py", line 2, in total\n'
    "E   AssertionError: total([0.1, 0.2]) returned an int\n"
)


class FakeTree:
    """The base branch as a proposer reads it, from a dict."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def read_file(self, path: str) -> str | None:
        return self.files.get(path)

    def list_files(self) -> list[str]:
        return sorted(self.files)


def chat_reply(content: str) -> Reply:
    body = {"choices": [{"message": {"role": "assistant", "content": content}}]}
    return Reply(
        body=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )


@pytest.fixture
def model() -> Iterator[ProviderServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def settings(database_url: str, tmp_path: Path, model: ProviderServer) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        allow_local_remotes=True,
        llm_base_url=f"{model.url}/v1",
        llm_model="local-model",
        llm_api_key="sk-test",
    )


@pytest.fixture
def member(database: Database, settings: Settings, forge: FakeForge) -> User:
    """A member of acme, whose GitHub integration is the forge with its token."""
    make_integration(
        database, settings, webhook_secret=None, token=FORGE_TOKEN, base_url=forge.url
    )
    return make_user(database)


@pytest.fixture
def jobs(
    client: TestClient, job_worker: None, member: User, settings: Settings
) -> JobApi:
    return JobApi(client, auth_headers(member, settings))


@pytest.fixture
def incident(database: Database, member: User) -> Incident:
    return make_incident(
        database,
        member,
        failure_type="test_failure",
        error_message="AssertionError: total([0.1, 0.2]) returned an int",
        error_log=LOG,
        root_cause="sum() starts from the integer 0",
    )


def _target(**fields: Any) -> FixTarget:
    values = {
        "incident_id": "inc_1f2e3d4c5b6a",
        "team_id": 1,
        "source": "github",
        "failure_type": "test_failure",
        "error_message": "AssertionError",
        **fields,
    }
    return FixTarget(**values)


def test_the_files_a_log_names_are_found_by_their_end() -> None:
    paths = ["README.md", "app.py", "src/pkg/core.py", "tests/test_core.py"]
    incident = _target(
        error_message="tests/test_core.py:12: assert 1 == 2",
        error_log=f"{LOG}  at /build/src/pkg/core.py:40\nsee docs.example.com\n",
    )

    assert named_files(incident, paths) == [
        "tests/test_core.py",
        "app.py",
        "src/pkg/core.py",
    ]


def test_the_prompt_shows_the_named_files_and_masks_credentials() -> None:
    tree = FakeTree({"app.py": "def total(values):\n", "README.md": "# Web app\n"})
    incident = _target(error_log=LOG, root_cause="sum() starts from 0")

    prompt = proposal_prompt(incident, tree)  # type: ignore[arg-type]

    assert "Current content of app.py:\n```\ndef total(values):\n\n```" in prompt
    assert "Current content of README.md" not in prompt
    assert "Files of the repository:\nREADME.md\napp.py" in prompt
    assert "Root cause: sum() starts from 0" in prompt
    assert "ghp_" not in prompt
    assert "export GITHUB_***\n" in prompt


def test_a_job_without_changes_pushes_the_models_fix(
    jobs: JobApi, forge: FakeForge, model: ProviderServer, incident: Incident
) -> None:
    answer = {"files": {"app.py": FIXED_APP}}
    model.reply("/v1/chat/completions", chat_reply(f"```json\n{json.dumps(answer)}```"))

    created = jobs.create("pr_creation", {"incident_id": incident.public_id})
    done = jobs.wait_until_final(created["job_id"])

    remote = forge.root / "acme" / "web-app.git"
    branch = f"devflowfix/fix-{incident.public_id}"
    assert (done["status"], done["error_message"]) == ("completed", None)
    assert done["result"]["changed_files"] == ["app.py"]
    assert git(remote, "show", f"{branch}:app.py") == FIXED_APP
    sent = json.loads(model.received[0].body)
    assert sent["model"] == "local-model"
    assert model.received[0].headers["Authorization"] == "Bearer sk-test"
    prompt = sent["messages"][1]["content"]
    assert "def total(values):\n    return sum(values)\n" in prompt
    assert FORGE_TOKEN not in prompt


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("I cannot help with that.", "The language model gave no usable change "),
        ('{"files": {}}', "The language model proposed no change for this incident"),
        (
            '{"files": {"../outside.py": "x = 1\\n"}}',
            "the path must not leave the repository",
        ),
    ],
    ids=["not-json", "no-change", "escaping-path"],
)
def test_an_unusable_proposal_fails_the_job_and_pushes_nothing(
    jobs: JobApi,
    forge: FakeForge,
    model: ProviderServer,
    incident: Incident,
    content: str,
    reason: str,
) -> None:
    model.reply("/v1/chat/completions", chat_reply(content))

    created = jobs.create("pr_creation", {"incident_id": incident.public_id})
    done = jobs.wait_until_final(created["job_id"])

    assert done["status"] == "failed"
    assert reason in done["error_message"]
    branches = git(forge.root / "acme" / "web-app.git", "branch", "--list")
    assert branches == "* main\n"
    assert forge.pulls == []
