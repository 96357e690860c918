"""The jobs API contract on each deployment: create, read, list, limits, keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import make_settings
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.jobs import registry
from devflowfix.models import Job, User
from devflowfix.vocabulary import Role
from factories import auth_headers, make_user
from job_helpers import JobApi


def test_create_answers_201_with_location_and_the_contract_fields(
    jobs: JobApi, gates: Any
) -> None:
    gate = gates.new()

    response = jobs.client.post(
        "/api/v1/jobs",
        json={"job_type": "test_gate", "parameters": {"gate": gate}},
        headers=jobs.headers,
    )

    assert response.status_code == 201
    body = response.json()
    job_id = body["job_id"]
    assert job_id.startswith("job_")
    assert len(job_id) == 16
    assert response.headers["location"] == f"http://testserver/api/v1/jobs/{job_id}"
    assert body["status_url"] == f"http://testserver/api/v1/jobs/{job_id}"
    assert body["job_type"] == "test_gate"
    assert body["status"] in {"queued", "processing"}
    assert body["parameters"] == {"gate": gate}
    assert body["result"] is None
    assert body["result_url"] is None
    assert body["error_message"] is None
    assert body["completed_at"] is None
    assert body["created_at"].endswith("Z")
    assert set(body) == {
        "job_id",
        "job_type",
        "status",
        "progress",
        "current_step",
        "created_at",
        "started_at",
        "completed_at",
        "estimated_completion",
        "result",
        "error_message",
        "user_id",
        "parameters",
        "status_url",
        "result_url",
    }


def test_location_follows_to_the_same_job(jobs: JobApi) -> None:
    response = jobs.client.post(
        "/api/v1/jobs", json={"job_type": "test_record"}, headers=jobs.headers
    )

    followed = jobs.client.get(response.headers["location"], headers=jobs.headers)

    assert followed.status_code == 200
    assert followed.json()["job_id"] == response.json()["job_id"]
    assert followed.json()["user_id"] == response.json()["user_id"]


def test_a_job_runs_to_completion_with_its_result(jobs: JobApi) -> None:
    job = jobs.create("test_record")

    done = jobs.wait_until_final(job["job_id"])

    assert done["status"] == "completed"
    assert done["progress"] == 100
    assert done["result"] == {"ran": True}
    assert done["started_at"] is not None
    assert done["completed_at"] >= done["started_at"] >= done["created_at"]
    assert done["estimated_completion"] is None


def test_unknown_job_type_is_a_422(client: TestClient, member: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/jobs", json={"job_type": "mine_bitcoin"}, headers=member
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["job_type"]
    assert response.json()["message"].startswith("unknown job type 'mine_bitcoin'")


def test_a_contract_job_type_without_a_handler_is_a_clear_422(
    client: TestClient, member: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(registry._registered, "pr_creation", raising=False)

    response = client.post(
        "/api/v1/jobs", json={"job_type": "pr_creation"}, headers=member
    )

    assert response.status_code == 422
    assert response.json()["message"] == (
        "job type pr_creation is not available on this server"
    )


def test_bad_parameters_are_a_422_that_points_at_them(
    client: TestClient, member: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/jobs",
        json={"job_type": "test_gate", "parameters": {"gate": 5, "extra": 1}},
        headers=member,
    )

    assert response.status_code == 422
    body = response.json()
    assert body["message"] == "Invalid parameters for a test_gate job."
    assert [error["loc"] for error in body["errors"]] == [
        ["body", "parameters", "gate"]
    ]


def test_parameters_must_be_an_object(
    client: TestClient, member: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/jobs",
        json={"job_type": "test_record", "parameters": [1, 2]},
        headers=member,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "parameters"]


def test_nothing_is_stored_when_a_create_is_refused(
    client: TestClient, member: dict[str, str], database: Database
) -> None:
    client.post("/api/v1/jobs", json={"job_type": "nope"}, headers=member)
    client.post(
        "/api/v1/jobs",
        json={"job_type": "test_gate", "parameters": {}},
        headers=member,
    )

    with database.transaction(write=False) as session:
        assert session.query(Job).count() == 0


def test_a_viewer_cannot_run_member_jobs(
    client: TestClient, database: Database, settings: Settings
) -> None:
    viewer = auth_headers(make_user(database, role=Role.VIEWER), settings)

    refused = client.post(
        "/api/v1/jobs",
        json={"job_type": "test_gate", "parameters": {"gate": "x"}},
        headers=viewer,
    )
    allowed = client.post(
        "/api/v1/jobs", json={"job_type": "test_record"}, headers=viewer
    )

    assert refused.status_code == 403
    assert refused.json()["message"] == (
        "Running test_gate jobs needs the member role or higher."
    )
    assert allowed.status_code == 201


def test_jobs_need_a_token(client: TestClient) -> None:
    response = client.get("/api/v1/jobs")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_another_users_job_is_a_404_everywhere(
    jobs: JobApi, database: Database, settings: Settings
) -> None:
    job_id = jobs.create("test_record")["job_id"]
    jobs.wait_until_final(job_id)
    teammate = auth_headers(make_user(database, role=Role.ADMIN), settings)
    client = jobs.client

    answers = [
        client.get(f"/api/v1/jobs/{job_id}", headers=teammate),
        client.post(f"/api/v1/jobs/{job_id}/cancel", headers=teammate),
        client.delete(f"/api/v1/jobs/{job_id}", headers=teammate),
        client.get(f"/api/v1/jobs/{job_id}/download", headers=teammate),
    ]

    assert [answer.status_code for answer in answers] == [404, 404, 404, 404]
    assert answers[0].json()["message"] == f"No job {job_id}."
    assert client.get("/api/v1/jobs", headers=teammate).json()["total"] == 0
    assert jobs.read(job_id)["status"] == "completed"


def test_list_filters_by_type_and_status_newest_first(jobs: JobApi) -> None:
    first = jobs.create("test_record")["job_id"]
    failed = jobs.create("test_fail", {"message": "no"})["job_id"]
    last = jobs.create("test_record")["job_id"]
    for job_id in (first, failed, last):
        jobs.wait_until_final(job_id)

    def listed(**query: str) -> dict[str, Any]:
        response = jobs.client.get("/api/v1/jobs", params=query, headers=jobs.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    everything = listed()
    records = listed(job_type="test_record")
    failures = listed(status="failed")
    second_page = listed(page="2", page_size="2")

    assert [job["job_id"] for job in everything["jobs"]] == [last, failed, first]
    assert (everything["total"], everything["page"], everything["page_size"]) == (
        3,
        1,
        20,
    )
    assert [job["job_id"] for job in records["jobs"]] == [last, first]
    assert [job["job_id"] for job in failures["jobs"]] == [failed]
    assert failures["total"] == 1
    assert [job["job_id"] for job in second_page["jobs"]] == [first]
    assert second_page["total"] == 3
    assert set(everything["jobs"][0]) == {
        "job_id",
        "job_type",
        "status",
        "progress",
        "created_at",
        "completed_at",
        "status_url",
        "result_url",
    }


@pytest.mark.parametrize(
    "query",
    [
        {"page_size": "101"},
        {"page_size": "0"},
        {"page": "0"},
        {"status": "running"},
        {"job_type": "mine_bitcoin"},
    ],
)
def test_bad_list_parameters_are_a_422(
    client: TestClient, member: dict[str, str], query: dict[str, str]
) -> None:
    response = client.get("/api/v1/jobs", params=query, headers=member)

    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"


def test_active_and_statistics_are_routes_of_their_own(
    client: TestClient, member: dict[str, str]
) -> None:
    active = client.get("/api/v1/jobs/active", headers=member)
    statistics = client.get("/api/v1/jobs/stats/overview", headers=member)

    assert active.status_code == 200
    assert active.json() == {"success": True, "count": 0, "jobs": []}
    assert statistics.status_code == 200
    assert statistics.json() == {
        "success": True,
        "statistics": {
            "total_jobs": 0,
            "by_status": {
                "queued": 0,
                "processing": 0,
                "completed": 0,
                "failed": 0,
                "cancelled": 0,
            },
            "by_type": {},
            "success_rate": 0.0,
            "active_jobs": 0,
        },
    }


def test_active_jobs_show_running_and_queued_jobs_oldest_first(
    jobs: JobApi, gates: Any
) -> None:
    gate = gates.new()
    running = [
        jobs.create("test_gate", {"gate": gate, "progress": 65, "step": "Waiting"})
        for _ in range(2)
    ]
    queued = jobs.create("test_gate", {"gate": gate})
    for job in running:
        jobs.wait_for(job["job_id"], lambda job: job["progress"] == 65, "to report")

    body = jobs.client.get("/api/v1/jobs/active", headers=jobs.headers).json()

    assert body["success"] is True
    assert body["count"] == 3
    assert [job["job_id"] for job in body["jobs"]] == [
        running[0]["job_id"],
        running[1]["job_id"],
        queued["job_id"],
    ]
    assert [job["status"] for job in body["jobs"]] == [
        "processing",
        "processing",
        "queued",
    ]
    assert body["jobs"][0]["current_step"] == "Waiting"
    assert body["jobs"][0]["progress"] == 65
    assert body["jobs"][0]["started_at"] is not None
    assert body["jobs"][2]["started_at"] is None
    assert set(body["jobs"][0]) == {
        "job_id",
        "job_type",
        "status",
        "progress",
        "current_step",
        "created_at",
        "started_at",
    }


def _store_jobs(
    database: Database, user: User, counts: dict[tuple[str, str], int]
) -> None:
    """Jobs as rows, out of every runner's reach: queued ones are not due for
    a day, processing ones are held by a live worker on another host."""
    now = datetime.now(UTC)
    held = {
        "claim_token": "held-elsewhere",
        "claimed_by": "elsewhere:1:0:worker",
        "lease_expires_at": now + timedelta(hours=1),
    }
    with database.transaction() as session:
        for (job_type, status), count in counts.items():
            for _ in range(count):
                job = Job(
                    user_id=user.id,
                    team_id=user.team_id,
                    job_type=job_type,
                    status=status,
                    parameters={},
                    created_at=now,
                    updated_at=now,
                    run_after=now + timedelta(days=1),
                )
                if status == "processing":
                    for name, value in held.items():
                        setattr(job, name, value)
                session.add(job)


def test_statistics_count_by_status_and_type(
    client: TestClient, database: Database, settings: Settings
) -> None:
    user = make_user(database)
    other = make_user(database)
    _store_jobs(
        database,
        user,
        {
            ("export_csv", "completed"): 20,
            ("export_pdf", "completed"): 13,
            ("export_pdf", "failed"): 2,
            ("bulk_update", "completed"): 10,
            ("pr_creation", "queued"): 2,
            ("pr_creation", "processing"): 1,
            ("pr_creation", "failed"): 1,
            ("pr_creation", "cancelled"): 1,
        },
    )
    _store_jobs(database, other, {("export_csv", "failed"): 7})

    response = client.get(
        "/api/v1/jobs/stats/overview", headers=auth_headers(user, settings)
    )

    assert response.json() == {
        "success": True,
        "statistics": {
            "total_jobs": 50,
            "by_status": {
                "queued": 2,
                "processing": 1,
                "completed": 43,
                "failed": 3,
                "cancelled": 1,
            },
            "by_type": {
                "export_csv": 20,
                "export_pdf": 15,
                "bulk_update": 10,
                "pr_creation": 5,
            },
            "success_rate": 93.48,
            "active_jobs": 3,
        },
    }


def test_one_more_than_the_active_limit_is_a_429(
    database_url: str, tmp_path: Any, database: Database, gates: Any
) -> None:
    from devflowfix.app import create_app

    settings = make_settings(database_url, tmp_path, max_active_jobs_per_user=2)
    user = make_user(database)
    headers = auth_headers(user, settings)
    gate = gates.new()
    with TestClient(create_app(settings, database=database)) as client:
        api = JobApi(client, headers)
        first = api.create("test_gate", {"gate": gate})
        api.create("test_gate", {"gate": gate})

        refused = client.post(
            "/api/v1/jobs",
            json={"job_type": "test_gate", "parameters": {"gate": gate}},
            headers=headers,
        )
        client.post(f"/api/v1/jobs/{first['job_id']}/cancel", headers=headers)
        accepted = client.post(
            "/api/v1/jobs",
            json={"job_type": "test_record"},
            headers=headers,
        )
        gates.open(gate)

    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "5"
    assert refused.json()["error"] == "rate_limited"
    assert refused.json()["message"] == (
        "You have 2 queued or processing jobs, the most allowed; wait for one to "
        "finish or cancel one."
    )
    assert accepted.status_code == 201


def test_the_same_idempotency_key_and_parameters_return_the_same_job(
    jobs: JobApi,
) -> None:
    first = jobs.create("test_fail", {"message": "x"}, key="import-2026-12-03")

    again = jobs.create("test_fail", {"message": "x"}, key="import-2026-12-03")
    listed = jobs.client.get("/api/v1/jobs", headers=jobs.headers).json()

    assert again["job_id"] == first["job_id"]
    assert listed["total"] == 1


def test_the_same_idempotency_key_with_other_parameters_is_a_409(
    jobs: JobApi,
) -> None:
    first = jobs.create("test_fail", {"message": "x"}, key="key-1")

    response = jobs.client.post(
        "/api/v1/jobs",
        json={"job_type": "test_fail", "parameters": {"message": "y"}},
        headers={**jobs.headers, "Idempotency-Key": "key-1"},
    )

    assert response.status_code == 409
    assert response.json()["message"] == (
        f"The Idempotency-Key was already used for job {first['job_id']} with "
        "another job type or other parameters."
    )


def test_idempotency_keys_are_per_user(
    jobs: JobApi, database: Database, settings: Settings
) -> None:
    other = JobApi(
        jobs.client, auth_headers(make_user(database, role=Role.MEMBER), settings)
    )

    mine = jobs.create("test_record", key="shared-key")
    theirs = other.create("test_record", key="shared-key")

    assert mine["job_id"] != theirs["job_id"]


def test_an_unusable_idempotency_key_is_a_422(jobs: JobApi) -> None:
    response = jobs.client.post(
        "/api/v1/jobs",
        json={"job_type": "test_record"},
        headers={**jobs.headers, "Idempotency-Key": "has spaces"},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["Idempotency-Key"]


def test_the_fixed_routes_allow_only_their_own_methods(
    client: TestClient, member: dict[str, str]
) -> None:
    response = client.delete("/api/v1/jobs/active", headers=member)

    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


def test_a_path_that_is_no_job_id_is_a_404(
    client: TestClient, member: dict[str, str]
) -> None:
    response = client.get("/api/v1/jobs/not-a-job", headers=member)

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
