"""JobContext, the handler's side of the engine, on a claimed job row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from conftest import make_settings
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.jobs import context as context_module
from devflowfix.jobs.context import JobCancelled, JobContext
from devflowfix.jobs.results import ResultStore
from devflowfix.models import Incident, Job
from factories import make_incidents, make_user
from job_helpers import claimed_context, stored_job


@pytest.fixture
def context(database: Database, settings: Settings) -> JobContext:
    return claimed_context(database, settings, checkpoint={"cursor": 7})


def test_the_context_describes_its_job(context: JobContext) -> None:
    assert context.job_id.startswith("job_")
    assert context.user_id.startswith("usr_")
    assert context.attempt == 1
    assert context.checkpoint_data == {"cursor": 7}
    assert context.created_at.tzinfo is UTC


def test_progress_is_a_percentage_or_done_out_of_total(
    context: JobContext, database: Database
) -> None:
    context.report(12.9, "Reading incidents")
    first = stored_job(database, context)
    context.report(450, total=1000)
    second = stored_job(database, context)
    context.report(5, total=0)

    assert (first.progress, first.current_step) == (12, "Reading incidents")
    assert (second.progress, second.current_step) == (45, "Reading incidents")
    assert stored_job(database, context).progress == 100


def test_the_estimate_follows_the_measured_rate(
    context: JobContext, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    started = context._started
    monkeypatch.setattr(context_module.time, "monotonic", lambda: started + 30.0)
    monkeypatch.setattr(context_module, "utcnow", lambda: now)

    context.report(25)

    assert stored_job(database, context).estimated_completion == now + timedelta(
        seconds=90
    )


def test_progress_writes_are_throttled(
    database_url: str, tmp_path: Path, database: Database
) -> None:
    settings = make_settings(database_url, tmp_path, job_progress_interval_seconds=60)
    context = claimed_context(database, settings, checkpoint={"cursor": 7})

    context.report(10, "First")
    with context.transaction():
        pass

    assert stored_job(database, context).progress == 10
    context.report(20, "Second")
    assert stored_job(database, context).progress == 10


def test_a_transaction_commits_the_work_with_checkpoint_and_progress(
    context: JobContext, database: Database
) -> None:
    user = make_user(database, team="other")
    incident_id = make_incidents(database, user, 1)[0]

    with context.transaction() as session:
        session.execute(
            update(Incident).where(Incident.id == incident_id).values(outcome="success")
        )
        context.checkpoint({"cursor": incident_id})
        context.report(50, "Half of it")

    job = stored_job(database, context)
    assert (job.checkpoint, job.progress, job.current_step) == (
        {"cursor": incident_id},
        50,
        "Half of it",
    )
    assert job.lease_expires_at is not None
    with database.transaction(write=False) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        assert incident.outcome == "success"


def test_a_transaction_of_a_cancelled_job_commits_nothing(
    context: JobContext, database: Database
) -> None:
    user = make_user(database, team="other")
    incident_id = make_incidents(database, user, 1)[0]
    with database.transaction() as session:
        session.execute(
            update(Job)
            .where(Job.id == context.claim.row_id)
            .values(status="cancelled", claim_token=None)
        )

    with pytest.raises(JobCancelled), context.transaction() as session:
        session.execute(
            update(Incident).where(Incident.id == incident_id).values(outcome="success")
        )

    with database.transaction(write=False) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        assert incident.outcome == "pending"
    assert context.cancelled() is True


def test_a_checkpoint_outside_a_transaction_is_saved_at_once(
    context: JobContext, database: Database
) -> None:
    context.checkpoint({"cursor": 99})

    assert stored_job(database, context).checkpoint == {"cursor": 99}
    assert context.checkpoint_data == {"cursor": 99}


def test_an_engine_abort_request_counts_as_cancelled(
    database: Database, settings: Settings
) -> None:
    claimed = claimed_context(database, settings, checkpoint={"cursor": 7})
    context = JobContext(
        claimed.claim,
        database=database,
        settings=settings,
        results=ResultStore(settings.results_dir),
        abort_requested=lambda: True,
    )

    assert context.cancelled() is True
    with pytest.raises(JobCancelled):
        context.report(10)


def test_a_result_file_appears_only_when_complete(
    context: JobContext, settings: Settings
) -> None:
    job_dir = settings.results_dir / context.job_id

    with context.open_result("export.csv", "text/csv") as stream:
        stream.write(b"a,b\n")
        names_while_writing = [path.name for path in job_dir.rglob("*")]

    assert names_while_writing[-1] == ".partial-export.csv"
    result = context.result
    assert result is not None
    assert (result.filename, result.content_type, result.size_bytes) == (
        "export.csv",
        "text/csv",
        4,
    )
    assert (settings.results_dir / result.relative_path).read_bytes() == b"a,b\n"
    assert [path.name for path in job_dir.rglob("*") if path.is_file()] == [
        "export.csv"
    ]


def test_a_result_file_is_discarded_when_writing_fails(
    context: JobContext, settings: Settings
) -> None:
    def write_then_fail() -> None:
        with context.open_result("export.csv", "text/csv") as stream:
            stream.write(b"a,b\n")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_then_fail()

    assert context.result is None
    assert list((settings.results_dir / context.job_id).iterdir()) == []
