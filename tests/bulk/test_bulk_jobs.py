"""bulk_update and bulk_delete through the jobs API, on each deployment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import make_settings
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.models import Incident, IncidentTag, Job, User
from devflowfix.vocabulary import Role, Severity
from factories import auth_headers, make_incidents, make_user
from job_helpers import JobApi

HAPPENED_AT = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)


@pytest.fixture
def admin(database: Database) -> User:
    return make_user(database, role=Role.ADMIN)


@pytest.fixture
def jobs(
    client: TestClient, job_worker: None, admin: User, settings: Settings
) -> JobApi:
    return JobApi(client, auth_headers(admin, settings))


def _incidents(database: Database, ids: list[int]) -> list[Incident]:
    with database.transaction(write=False) as session:
        return list(
            session.scalars(
                select(Incident).where(Incident.id.in_(ids)).order_by(Incident.id)
            )
        )


def _tag_rows(database: Database, ids: list[int]) -> dict[int, set[str]]:
    with database.transaction(write=False) as session:
        rows = session.execute(
            select(IncidentTag.incident_id, IncidentTag.tag).where(
                IncidentTag.incident_id.in_(ids)
            )
        )
        found: dict[int, set[str]] = {incident_id: set() for incident_id in ids}
        for incident_id, tag in rows:
            found[incident_id].add(tag)

        return found


def _public_ids(database: Database, ids: list[int]) -> list[str]:
    return [incident.public_id for incident in _incidents(database, ids)]


def _run(jobs: JobApi, job_type: str, parameters: dict[str, Any]) -> dict[str, Any]:
    job = jobs.create(job_type, parameters)
    done = jobs.wait_until_final(job["job_id"])
    assert done["status"] == "completed", done
    return done


def test_bulk_update_by_ids_changes_those_incidents_and_keeps_tags_in_sync(
    jobs: JobApi, database: Database, admin: User
) -> None:
    chosen = make_incidents(database, admin, 3)
    others = make_incidents(database, admin, 2)

    done = _run(
        jobs,
        "bulk_update",
        {
            "incident_ids": _public_ids(database, chosen),
            "changes": {
                "outcome": "success",
                "severity": "critical",
                "root_cause": "Registry outage",
                "tags_add": ["Triaged", "npm"],
                "tags_remove": ["frontend"],
            },
        },
    )

    assert done["result"] == {"matched": 3, "changed": 3, "unchanged": 0}
    assert done["current_step"] == "Checked 3 of 3 incidents, changed 3"
    for incident in _incidents(database, chosen):
        assert incident.outcome == "success"
        assert incident.severity is Severity.CRITICAL
        assert incident.root_cause == "Registry outage"
        assert incident.tags == ["npm", "triaged"]
        assert incident.updated_at > HAPPENED_AT
    assert _tag_rows(database, chosen) == {
        incident_id: {"npm", "triaged"} for incident_id in chosen
    }
    for incident in _incidents(database, others):
        assert (incident.outcome, incident.updated_at) == ("pending", HAPPENED_AT)


def test_bulk_update_by_filters_stays_in_the_team(
    jobs: JobApi, database: Database, admin: User
) -> None:
    low = make_incidents(database, admin, 4, severity=Severity.LOW)
    high = make_incidents(database, admin, 2)
    stranger = make_user(database, team="globex")
    theirs = make_incidents(database, stranger, 3, severity=Severity.LOW)

    done = _run(
        jobs,
        "bulk_update",
        {
            "filters": {"severities": ["low"], "outcomes": ["pending"]},
            "changes": {"outcome": "escalated"},
        },
    )

    assert done["result"] == {"matched": 4, "changed": 4, "unchanged": 0}
    assert {incident.outcome for incident in _incidents(database, low)} == {"escalated"}
    assert {incident.outcome for incident in _incidents(database, high + theirs)} == {
        "pending"
    }


def test_incidents_already_changed_count_as_unchanged(
    jobs: JobApi, database: Database, admin: User
) -> None:
    make_incidents(database, admin, 2, outcome="success")
    pending = make_incidents(database, admin, 3)

    done = _run(jobs, "bulk_update", {"filters": {}, "changes": {"outcome": "success"}})

    assert done["result"] == {"matched": 5, "changed": 3, "unchanged": 2}
    assert {incident.outcome for incident in _incidents(database, pending)} == {
        "success"
    }


def test_resolving_sets_the_resolution_time_and_reopening_clears_it(
    jobs: JobApi, database: Database, admin: User
) -> None:
    ids = make_incidents(database, admin, 2)
    public_ids = _public_ids(database, ids)

    resolved = _run(
        jobs, "bulk_update", {"incident_ids": public_ids, "changes": {"resolved": True}}
    )
    after_resolve = _incidents(database, ids)
    again = _run(
        jobs, "bulk_update", {"incident_ids": public_ids, "changes": {"resolved": True}}
    )
    reopened = _run(
        jobs,
        "bulk_update",
        {"incident_ids": public_ids, "changes": {"resolved": False}},
    )

    assert resolved["result"]["changed"] == 2
    for incident in after_resolve:
        assert incident.resolved_at is not None
        assert incident.resolution_time_seconds == int(
            (incident.resolved_at - HAPPENED_AT).total_seconds()
        )
    assert again["result"] == {"matched": 2, "changed": 0, "unchanged": 2}
    assert reopened["result"]["changed"] == 2
    assert [
        (incident.resolved_at, incident.resolution_time_seconds)
        for incident in _incidents(database, ids)
    ] == [(None, None), (None, None)]


def test_a_null_root_cause_clears_it(
    jobs: JobApi, database: Database, admin: User
) -> None:
    ids = make_incidents(database, admin, 1, root_cause="Guess")

    _run(
        jobs,
        "bulk_update",
        {"incident_ids": _public_ids(database, ids), "changes": {"root_cause": None}},
    )

    assert _incidents(database, ids)[0].root_cause is None


def test_bulk_update_goes_through_every_batch_with_progress(
    database_url: str, tmp_path: Any, database: Database, admin: User
) -> None:
    from devflowfix.app import create_app

    settings = make_settings(database_url, tmp_path, bulk_batch_size=3)
    ids = make_incidents(database, admin, 10)
    with TestClient(create_app(settings, database=database)) as client:
        api = JobApi(client, auth_headers(admin, settings))
        if database.is_sqlite:
            done = _run(
                api, "bulk_update", {"filters": {}, "changes": {"tags_add": ["x"]}}
            )
        else:
            from devflowfix.jobs.scaled import ScaledWorker

            worker = ScaledWorker(database, settings)
            worker.start_in_thread()
            try:
                done = _run(
                    api, "bulk_update", {"filters": {}, "changes": {"tags_add": ["x"]}}
                )
            finally:
                worker.stop()

    assert done["result"] == {"matched": 10, "changed": 10, "unchanged": 0}
    assert done["current_step"] == "Checked 10 of 10 incidents, changed 10"
    assert all(
        tags == {"frontend", "npm", "x"} for tags in _tag_rows(database, ids).values()
    )


def test_a_retried_bulk_job_resumes_after_its_last_committed_batch(
    client: TestClient,
    job_worker: None,
    database: Database,
    settings: Settings,
    admin: User,
) -> None:
    ids = make_incidents(database, admin, 10)
    # As if an earlier attempt had committed the first four and then died.
    checkpoint = {
        "max_id": ids[-1],
        "matched": 10,
        "cursor": ids[3],
        "processed": 4,
        "acted": 4,
        "finished": False,
    }
    now = datetime.now(UTC)
    with database.transaction() as session:
        job = Job(
            user_id=admin.id,
            team_id=admin.team_id,
            job_type="bulk_update",
            status="queued",
            attempts=1,
            parameters={"filters": {}, "changes": {"outcome": "success"}},
            checkpoint=checkpoint,
            created_at=now,
            updated_at=now,
        )
        session.add(job)
        session.flush()
        client.app.state.job_dispatcher.submit(session, job)

    api = JobApi(client, auth_headers(admin, settings))

    done = api.wait_until_final(job.public_id)

    assert done["status"] == "completed"
    assert done["result"] == {"matched": 10, "changed": 10, "unchanged": 0}
    outcomes = [incident.outcome for incident in _incidents(database, ids)]
    assert outcomes == ["pending"] * 4 + ["success"] * 6


def test_bulk_delete_removes_the_incidents_and_their_tags(
    jobs: JobApi, database: Database, admin: User
) -> None:
    doomed = make_incidents(database, admin, 3, outcome="failed")
    kept = make_incidents(database, admin, 2)

    done = _run(jobs, "bulk_delete", {"filters": {"outcomes": ["failed"]}})

    assert done["result"] == {"matched": 3, "deleted": 3}
    assert done["current_step"] == "Deleted 3 of 3 incidents"
    assert _incidents(database, doomed) == []
    assert _tag_rows(database, doomed) == {incident_id: set() for incident_id in doomed}
    assert len(_incidents(database, kept)) == 2


def test_bulk_delete_is_for_admins_only(
    client: TestClient, database: Database, settings: Settings, admin: User
) -> None:
    ids = make_incidents(database, admin, 1)
    member = make_user(database, role=Role.MEMBER)

    response = client.post(
        "/api/v1/jobs",
        json={
            "job_type": "bulk_delete",
            "parameters": {"incident_ids": _public_ids(database, ids)},
        },
        headers=auth_headers(member, settings),
    )

    assert response.status_code == 403
    assert response.json()["message"] == (
        "Running bulk_delete jobs needs the admin role or higher."
    )
    assert len(_incidents(database, ids)) == 1


def test_ids_of_another_team_are_a_422_that_names_them(
    client: TestClient, database: Database, settings: Settings, admin: User
) -> None:
    stranger = make_user(database, team="globex")
    theirs = _public_ids(database, make_incidents(database, stranger, 1))
    mine = _public_ids(database, make_incidents(database, admin, 1))

    response = client.post(
        "/api/v1/jobs",
        json={
            "job_type": "bulk_update",
            "parameters": {
                "incident_ids": mine + theirs + ["inc_000000000000"],
                "changes": {"outcome": "success"},
            },
        },
        headers=auth_headers(admin, settings),
    )

    assert response.status_code == 422
    missing = sorted([*theirs, "inc_000000000000"])
    assert response.json()["message"] == (
        f"Your team has no incidents {', '.join(missing)}."
    )


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"changes": {"outcome": "success"}}, "give either incident_ids or filters"),
        (
            {
                "incident_ids": ["inc_000000000001"],
                "filters": {},
                "changes": {"outcome": "success"},
            },
            "give either incident_ids or filters",
        ),
        ({"filters": {}, "changes": {}}, "give at least one change"),
        ({"filters": {}}, "Field required"),
        (
            {"filters": {}, "changes": {"tags_add": ["a"], "tags_remove": ["a"]}},
            "a tag cannot be both added and removed",
        ),
        ({"filters": {}, "changes": {"outcome": None}}, "outcome cannot be null"),
        ({"filters": {}, "changes": {"outcome": "fixed"}}, "Input should be"),
        (
            {"filters": {"search_query": "-flaky"}, "changes": {"outcome": "success"}},
            "The search needs at least one word to match",
        ),
        ({"incident_ids": ["42"], "changes": {"outcome": "success"}}, "pattern"),
        ({"incident_ids": [], "changes": {"outcome": "success"}}, "at least 1"),
    ],
)
def test_bad_bulk_parameters_are_a_422_and_change_nothing(
    client: TestClient,
    database: Database,
    settings: Settings,
    admin: User,
    parameters: dict[str, Any],
    message: str,
) -> None:
    ids = make_incidents(database, admin, 1)

    response = client.post(
        "/api/v1/jobs",
        json={"job_type": "bulk_update", "parameters": parameters},
        headers=auth_headers(admin, settings),
    )

    assert response.status_code == 422
    body = response.json()
    assert message in body["message"] + " ".join(
        error["msg"] for error in body["errors"]
    )
    assert _incidents(database, ids)[0].outcome == "pending"
    with database.transaction(write=False) as session:
        assert session.scalar(select(Job.id)) is None
