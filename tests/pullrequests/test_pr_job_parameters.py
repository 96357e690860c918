"""What `POST /api/v1/jobs` refuses for pr_creation, before any job is queued."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from devflowfix.app import create_app
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.models import Incident, User
from devflowfix.pullrequests.schemas import NO_CHANGES
from devflowfix.vocabulary import Role
from factories import auth_headers, make_incident, make_user

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


@pytest.fixture
def headers(member: User, settings: Settings) -> dict[str, str]:
    return auth_headers(member, settings)


@pytest.fixture
def incident(database: Database, member: User) -> Incident:
    return make_incident(database, member)


def _create(
    client: TestClient, headers: dict[str, str], parameters: dict[str, Any]
) -> Any:
    return client.post(
        "/api/v1/jobs",
        json={"job_type": "pr_creation", "parameters": parameters},
        headers=headers,
    )


def _errors(response: Any) -> list[tuple[list[Any], str]]:
    return [(error["loc"], error["msg"]) for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {"files": {"../etc/cron.d/job": "x"}},
            [
                (
                    ["body", "parameters", "files", "../etc/cron.d/job", "[key]"],
                    "Value error, the path must not leave the repository ('..')",
                )
            ],
        ),
        (
            {"files": {"/etc/passwd": "x"}},
            [
                (
                    ["body", "parameters", "files", "/etc/passwd", "[key]"],
                    "Value error, the path must be relative to the repository root",
                )
            ],
        ),
        (
            {"patch": PATCH.replace("a/app.py", "a/../app.py")},
            [
                (
                    ["body", "parameters", "patch"],
                    "Value error, the patch touches a path it may not: the path "
                    "must not leave the repository ('..')",
                )
            ],
        ),
        ({}, [(["body", "parameters"], f"Value error, {NO_CHANGES}")]),
        (
            {"patch": PATCH, "files": {"app.py": "x"}},
            [
                (
                    ["body", "parameters"],
                    "Value error, give either `patch` or `files`, not both",
                )
            ],
        ),
    ],
    ids=["dot-dot", "absolute", "patch-escapes", "no-changes", "both"],
)
def test_unusable_changes_are_a_422_that_names_them(
    client: TestClient,
    headers: dict[str, str],
    incident: Incident,
    changes: dict[str, Any],
    errors: list[tuple[list[Any], str]],
) -> None:
    response = _create(client, headers, {"incident_id": incident.public_id, **changes})

    assert response.status_code == 422
    assert response.json()["message"] == "Invalid parameters for a pr_creation job."
    assert _errors(response) == errors
    assert client.get("/api/v1/jobs", headers=headers).json()["total"] == 0


def test_another_teams_incident_is_refused_like_a_missing_one(
    client: TestClient, database: Database, headers: dict[str, str]
) -> None:
    theirs = make_incident(database, make_user(database, team="globex"))

    answers = [
        _create(client, headers, {"incident_id": incident_id, "patch": PATCH})
        for incident_id in (theirs.public_id, "inc_000000000000")
    ]

    assert [answer.status_code for answer in answers] == [422, 422]
    assert [_errors(answer) for answer in answers] == [
        [
            (
                ["body", "parameters", "incident_id"],
                f"Your team has no incident {incident_id}.",
            )
        ]
        for incident_id in (theirs.public_id, "inc_000000000000")
    ]
    assert answers[0].json()["message"] == (
        f"Your team has no incident {theirs.public_id}."
    )


def test_an_incident_without_a_repository_needs_one_given(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    bare = make_incident(database, member, repository=None)

    refused = _create(client, headers, {"incident_id": bare.public_id, "patch": PATCH})
    accepted = _create(
        client,
        headers,
        {"incident_id": bare.public_id, "patch": PATCH, "repository": "acme/api"},
    )

    assert refused.status_code == 422
    assert _errors(refused) == [
        (
            ["body", "parameters", "repository"],
            f"Incident {bare.public_id} names no repository; give `repository`.",
        )
    ]
    assert accepted.status_code == 201
    assert accepted.json()["parameters"] == {
        "incident_id": bare.public_id,
        "patch": PATCH,
        "repository": "acme/api",
    }


def test_local_paths_follow_the_servers_setting(
    database: Database,
    settings: Settings,
    headers: dict[str, str],
    incident: Incident,
    tmp_path: Path,
) -> None:
    parameters = {
        "incident_id": incident.public_id,
        "patch": PATCH,
        "repository": str(tmp_path / "remote.git"),
    }
    # No runner: the accepted job only needs to be queued.
    servers = [
        create_app(
            settings.model_copy(
                update={"allow_local_remotes": allowed, "job_workers": 0}
            ),
            database=database,
        )
        for allowed in (False, True)
    ]

    with TestClient(servers[0]) as locked:
        refused = _create(locked, headers, parameters)
    with TestClient(servers[1]) as open_server:
        accepted = _create(open_server, headers, parameters)

    assert refused.status_code == 422
    assert _errors(refused) == [
        (
            ["body", "parameters", "repository"],
            "Value error, local repository paths are turned off on this server "
            "(DEVFLOWFIX_ALLOW_LOCAL_REMOTES)",
        )
    ]
    assert accepted.status_code == 201


def test_a_viewer_cannot_open_pull_requests(
    client: TestClient, database: Database, settings: Settings, incident: Incident
) -> None:
    viewer = auth_headers(make_user(database, role=Role.VIEWER), settings)

    response = _create(client, viewer, {"incident_id": incident.public_id})

    assert response.status_code == 403
    assert response.json()["message"] == (
        "Running pr_creation jobs needs the member role or higher."
    )
