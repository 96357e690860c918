"""A fix pull request from running servers, as a user gets one.

SQLite: one `devflowfix serve` process, whose embedded runner runs the job.
PostgreSQL: `devflowfix serve` and a `devflowfix worker` process. Everything
goes through HTTP: sign in, set the team's GitHub integration (the forge
stand-in), report an incident, analyse it, `POST /api/v1/jobs` with
`pr_creation`, poll the job to its end. The job's final JSON is left in the
test's temporary directory as `final-job.json`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import POSTGRES_URL, TEST_SECRET_KEY
from devflowfix.analysis.service import run_incident_analysis
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.db.migrate import upgrade_to_head
from devflowfix.vocabulary import Role
from factories import PASSWORD, git, incident_payload, make_user, remote_refs
from forge import FORGE_TOKEN, FakeForge
from job_helpers import FINAL_STATUSES, wait_until
from processes import Processes, free_port, own_database, service_environment

pytestmark = pytest.mark.slow

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
PYTEST_LOG = """\
============================= test session starts ==============================
collected 3 items

tests/test_app.py ..F                                                    [100%]

=================================== FAILURES ===================================
_________________________________ test_total ___________________________________

    def test_total():
>       assert isinstance(total([0.1, 0.2]), float)
E       AssertionError: assert False

tests/test_app.py:7: AssertionError
=========================== short test summary info ============================
FAILED tests/test_app.py::test_total - AssertionError: assert False
========================= 1 failed, 2 passed in 0.12s ==========================
##[error]Process completed with exit code 1.
"""
EMAIL = "lead@acme.example.com"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def served_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own, which the server processes share."""
    if request.param == "postgres" and not POSTGRES_URL:
        pytest.skip("DEVFLOWFIX_TEST_POSTGRES_URL is not set")
    with own_database(request.param, tmp_path, "devflowfix_pr_served") as url:
        yield url


@pytest.fixture
def database(served_url: str) -> Iterator[Database]:
    database = Database.from_settings(Settings(database_url=served_url))
    upgrade_to_head(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def server(
    served_url: str, database: Database, tmp_path: Path
) -> Iterator[tuple[str, Processes]]:
    """The base URL of a running server (and, on PostgreSQL, a worker)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = service_environment(
        served_url,
        tmp_path,
        secret_key=TEST_SECRET_KEY,
        public_url=base,
        log_level="DEBUG",
        log_json="true",
        job_workers="1",
    )
    processes = Processes(environment, tmp_path)
    try:
        processes.serve(port=port, ready="/readyz")
        if not database.is_sqlite:
            processes.start("worker")
        yield base, processes
    finally:
        processes.stop_all()


@pytest.fixture
def client(server: tuple[str, Processes]) -> Iterator[httpx.Client]:
    """An HTTP client of the running server, not signed in yet."""
    with httpx.Client(base_url=server[0], timeout=30) as client:
        yield client


def _sign_in(client: httpx.Client) -> None:
    answer = client.post(
        "/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"


def _checked(answer: httpx.Response, status: int) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def test_a_running_server_pushes_the_fix_and_records_the_pull_request(
    server: tuple[str, Processes],
    client: httpx.Client,
    database: Database,
    served_url: str,
    forge: FakeForge,
    tmp_path: Path,
) -> None:
    processes = server[1]
    admin = make_user(database, role=Role.ADMIN, email=EMAIL)
    _sign_in(client)
    _checked(
        client.put(
            "/api/v1/integrations/github",
            json={"token": FORGE_TOKEN, "base_url": forge.url},
        ),
        200,
    )
    reported = _checked(
        client.post(
            "/api/v1/incidents",
            json=incident_payload(
                failure_type="unknown",
                root_cause=None,
                error_message="FAILED tests/test_app.py::test_total",
                error_log=PYTEST_LOG,
            ),
        ),
        201,
    )
    incident_id = reported["incident_id"]
    run_incident_analysis(
        database, admin.team_id, incident_id, Settings(database_url=served_url)
    )
    analysed = _checked(client.get(f"/api/v1/incidents/{incident_id}"), 200)

    created = client.post(
        "/api/v1/jobs",
        json={
            "job_type": "pr_creation",
            "parameters": {"incident_id": incident_id, "patch": PATCH},
        },
    )
    job_url = created.headers["Location"]
    final = wait_until(
        lambda: (
            (job := _checked(client.get(job_url), 200))["status"] in FINAL_STATUSES
            and job
        ),
        timeout=120,
        what="the pr_creation job to end",
    )
    (tmp_path / "final-job.json").write_text(json.dumps(final, indent=2))

    remote = forge.root / "acme" / "web-app.git"
    branch = f"devflowfix/fix-{incident_id}"
    commit = remote_refs(remote)[f"refs/heads/{branch}"]
    url = f"{forge.url}/acme/web-app/pull/1"
    assert created.status_code == 201
    assert (analysed["analysis"]["status"], analysed["failure_type"]) == (
        "analysed",
        "test_failure",
    )
    assert (final["status"], final["progress"], final["error_message"]) == (
        "completed",
        100,
        None,
    )
    assert final["result"]["pull_request_url"] == url
    assert (final["result"]["branch"], final["result"]["commit_sha"]) == (
        branch,
        commit,
    )
    assert git(remote, "show", f"{branch}:app.py") == FIXED_APP
    assert git(remote, "diff", "--name-only", "main", branch) == "app.py\n"
    assert f"### Root cause\n\n{analysed['root_cause']}" in forge.pulls[0].body
    fix = _checked(client.get(f"/api/v1/incidents/{incident_id}"), 200)["fix"]
    assert fix == {"pull_request_url": url, "branch": branch, "commit_sha": commit}
    written = processes.output()
    assert '"event": "pull_request.completed"' in written
    assert FORGE_TOKEN not in written
    assert FORGE_TOKEN not in json.dumps(final)
