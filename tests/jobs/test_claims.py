"""Claims: atomic under concurrency, exclusive across runners and processes, and
fenced, so a worker that lost its claim changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.jobs import repository, service
from devflowfix.jobs.context import ClaimLost, JobContext
from devflowfix.jobs.dispatch import JobDispatcher, LocalDispatcher
from devflowfix.jobs.embedded import EmbeddedRunner
from devflowfix.jobs.execution import (
    JobRuntime,
    claim_next,
    record_completed,
    worker_identity,
)
from devflowfix.jobs.leases import LeaseKeeper
from devflowfix.jobs.maintenance import recover_abandoned_jobs
from devflowfix.jobs.results import ResultStore
from devflowfix.jobs.scaled import ProcrastinateDispatcher, ScaledWorker
from devflowfix.models import Incident, Job, User
from devflowfix.models.base import utcnow
from factories import make_incidents, make_job, make_user
from job_helpers import wait_until


def _dispatcher(database: Database) -> JobDispatcher:
    return LocalDispatcher() if database.is_sqlite else ProcrastinateDispatcher()


def _runtime(database: Database, settings: Settings, name: str) -> JobRuntime:
    return JobRuntime(
        database=database,
        settings=settings,
        dispatcher=_dispatcher(database),
        keeper=LeaseKeeper(database, settings),
        results=ResultStore(settings.results_dir),
        worker_name=worker_identity(name),
    )


def _enqueue(database: Database, user: User, count: int) -> list[str]:
    dispatcher = _dispatcher(database)
    with database.transaction() as session:
        jobs = [
            service.enqueue_job(
                session,
                user,
                "test_record",
                {},
                dispatcher=dispatcher,
                settings=Settings(),
                limit_active=False,
            )
            for _ in range(count)
        ]

    return [job.public_id for job in jobs]


def _statuses(database: Database) -> Counter[str]:
    with database.transaction(write=False) as session:
        return Counter(session.scalars(select(Job.status)))


def test_concurrent_claimers_never_claim_the_same_job(
    database: Database, settings: Settings
) -> None:
    user = make_user(database)
    for _ in range(40):
        make_job(database, user)

    runtimes = [_runtime(database, settings, f"claimer-{n}") for n in range(6)]
    claimed: list[int] = []
    start = threading.Barrier(len(runtimes))

    def claim_all(runtime: JobRuntime) -> None:
        start.wait()
        while (claim := claim_next(runtime)) is not None:
            claimed.append(claim.row_id)

    threads = [threading.Thread(target=claim_all, args=(r,)) for r in runtimes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(claimed) == 40
    assert len(set(claimed)) == 40
    assert _statuses(database) == Counter({"processing": 40})


def test_only_one_worker_claims_a_given_job(
    database: Database, settings: Settings
) -> None:
    user = make_user(database)
    job = make_job(database, user)
    runtimes = [_runtime(database, settings, f"worker-{n}") for n in range(8)]
    winners: list[str] = []
    start = threading.Barrier(len(runtimes))

    def claim(runtime: JobRuntime) -> None:
        start.wait()
        now = utcnow()
        request = repository.ClaimRequest(
            runtime.worker_name, runtime.worker_name, now, now + timedelta(minutes=1)
        )
        with database.transaction() as session:
            if repository.claim_job(session, job.public_id, request) is not None:
                winners.append(runtime.worker_name)

    threads = [threading.Thread(target=claim, args=(r,)) for r in runtimes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(winners) == 1
    with database.transaction(write=False) as session:
        stored = session.get(Job, job.id)
        assert stored is not None
        assert (stored.status, stored.attempts, stored.claimed_by) == (
            "processing",
            1,
            winners[0],
        )


@pytest.fixture
def runners(database: Database, settings: Settings) -> Iterator[None]:
    """Three job runners on the test database, each with its own engine."""
    handles: list[EmbeddedRunner | ScaledWorker] = []
    databases = [Database.from_settings(settings) for _ in range(3)]
    for number, own in enumerate(databases):
        if database.is_sqlite:
            runner = EmbeddedRunner(own, settings, workers=3, name=f"runner-{number}")
            runner.start()
        else:
            runner = ScaledWorker(own, settings, concurrency=3)
            runner.start_in_thread()
        handles.append(runner)

    yield
    for handle in handles:
        handle.stop()
    for own in databases:
        own.dispose()


def test_every_job_runs_exactly_once_with_several_runners(
    database: Database, runners: None, calls: list[tuple[str, int]]
) -> None:
    user = make_user(database)

    job_ids = _enqueue(database, user, 90)

    wait_until(
        lambda: _statuses(database) == Counter({"completed": 90}),
        what="every job to complete",
    )
    assert sorted(job_id for job_id, _ in calls) == sorted(job_ids)
    assert {attempt for _, attempt in calls} == {1}


CLAIMING_PROCESS = """
import json, sys
from datetime import timedelta
from devflowfix.db import Database, create_db_engine
from devflowfix.jobs import repository
from devflowfix.models.base import utcnow

database = Database(create_db_engine(sys.argv[1]))
claimed = []
while True:
    now = utcnow()
    until = now + timedelta(minutes=5)
    request = repository.ClaimRequest(sys.argv[2], sys.argv[2], now, until)
    with database.transaction() as session:
        job = repository.claim_next_job(session, request)
        if job is None:
            break
        claimed.append(job.id)
print(json.dumps(claimed))
"""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_processes_sharing_one_sqlite_file_claim_each_job_once(
    database: Database, database_url: str
) -> None:
    user = make_user(database)
    for _ in range(150):
        make_job(database, user)

    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMING_PROCESS, database_url, f"process-{n}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    claimed = [json.loads(process.communicate(timeout=120)[0]) for process in processes]

    everything = [job_id for ids in claimed for job_id in ids]
    assert len(everything) == 150
    assert len(set(everything)) == 150
    assert _statuses(database) == Counter({"processing": 150})


def _take_over(database: Database, settings: Settings, runtime: JobRuntime) -> None:
    """Let the lease run out, recover the job and have another worker claim it."""
    later = utcnow() + timedelta(seconds=settings.job_lease_seconds + 1)
    recover_abandoned_jobs(runtime, now=later)
    assert claim_next(_runtime(database, settings, "successor")) is not None


def test_a_worker_that_lost_its_claim_changes_nothing(
    database: Database, settings: Settings
) -> None:
    user = make_user(database)
    incident_id = make_incidents(database, user, 1)[0]
    make_job(database, user)
    runtime = _runtime(database, settings, "first")
    claim = claim_next(runtime)
    assert claim is not None
    context = JobContext(
        claim, database=database, settings=settings, results=runtime.results
    )
    _take_over(database, settings, runtime)

    with pytest.raises(ClaimLost):
        context.report(50, "Halfway")
    with pytest.raises(ClaimLost), context.transaction() as session:
        session.execute(
            update(Incident).where(Incident.id == incident_id).values(outcome="success")
        )

    outcome = record_completed(runtime, context, {"done": True})

    assert outcome is None
    with database.transaction(write=False) as session:
        job = session.get(Job, claim.row_id)
        incident = session.get(Incident, incident_id)
        assert job is not None
        assert incident is not None
        assert (job.status, job.progress, job.current_step, job.result) == (
            "processing",
            0,
            None,
            None,
        )
        assert job.claimed_by == worker_identity("successor")
        assert job.attempts == 2
        assert incident.outcome == "pending"


def test_a_cancelled_claim_stops_the_handler_at_its_next_report(
    database: Database, settings: Settings
) -> None:
    user = make_user(database)
    make_job(database, user)
    runtime = _runtime(database, settings, "worker")
    claim = claim_next(runtime)
    assert claim is not None
    context = JobContext(
        claim, database=database, settings=settings, results=runtime.results
    )
    with database.transaction() as session:
        job = session.get(Job, claim.row_id)
        assert job is not None
        repository.cancel_active_job(session, job, datetime.now(UTC))

    runtime.keeper.track(context)
    runtime.keeper.tick()

    assert context.cancelled() is True
    assert context.stop_reason is not None
    assert context.stop_reason.__name__ == "JobCancelled"
