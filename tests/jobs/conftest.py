"""Job types of the tests' own, with handlers the tests can steer.

They are registered for the whole test process, beside the real ones. Workers
run in the test process (the embedded runner, or Procrastinate in a thread), so
the handlers share the gates and records below with the tests.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.jobs.context import (
    JobCancelled,
    JobContext,
    JobFailed,
    RetryableJobError,
)
from devflowfix.jobs.registry import JobType, register_job_type
from devflowfix.vocabulary import Role
from factories import auth_headers, make_user
from job_helpers import JobApi


class Gates:
    """Named events that hold handlers until a test opens them."""

    def __init__(self) -> None:
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def event(self, name: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(name, threading.Event())

    def new(self) -> str:
        name = uuid.uuid4().hex
        self.event(name)
        return name

    def open(self, name: str) -> None:
        self.event(name).set()

    def open_all(self) -> None:
        with self._lock:
            for event in self._events.values():
                event.set()


GATES = Gates()
# (job id, attempt) of every handler call, and the jobs whose handler saw the
# cancellation and stopped.
CALLS: list[tuple[str, int]] = []
STOPPED: set[str] = set()


class GateParameters(BaseModel):
    gate: str
    progress: float = 0
    step: str | None = None


def wait_at_gate(context: JobContext, parameters: GateParameters) -> dict[str, Any]:
    CALLS.append((context.job_id, context.attempt))
    context.report(parameters.progress, parameters.step)
    gate = GATES.event(parameters.gate)
    while not gate.wait(0.01):
        if context.cancelled():
            STOPPED.add(context.job_id)
            raise JobCancelled
    return {"gate": "opened"}


class ResultParameters(BaseModel):
    text: str
    filename: str = "result.txt"
    content_type: str = "text/plain; charset=utf-8"
    gate: str | None = None


def write_result(context: JobContext, parameters: ResultParameters) -> dict[str, Any]:
    with context.open_result(parameters.filename, parameters.content_type) as stream:
        stream.write(parameters.text.encode())
    if parameters.gate is not None:
        gate = GATES.event(parameters.gate)
        while not gate.wait(0.01):
            context.report(50)
    return {"bytes": len(parameters.text.encode())}


class FlakyParameters(BaseModel):
    failures: int


def fail_then_succeed(
    context: JobContext, parameters: FlakyParameters
) -> dict[str, Any]:
    CALLS.append((context.job_id, context.attempt))
    seen = context.checkpoint_data
    if context.attempt <= parameters.failures:
        context.checkpoint({"attempts_seen": context.attempt})
        raise RetryableJobError(f"flaky dependency, attempt {context.attempt}")
    return {"attempt": context.attempt, "resumed_from": seen}


class FailParameters(BaseModel):
    message: str = ""
    crash: bool = False


def fail(context: JobContext, parameters: FailParameters) -> None:
    if parameters.crash:
        raise RuntimeError("internal detail: password=hunter2")
    raise JobFailed(parameters.message)


class NoParameters(BaseModel):
    pass


def record_call(context: JobContext, parameters: NoParameters) -> dict[str, Any]:
    CALLS.append((context.job_id, context.attempt))
    return {"ran": True}


class CommitPointParameters(BaseModel):
    before: str
    after: str


def commit_then_finish(
    context: JobContext, parameters: CommitPointParameters
) -> dict[str, Any]:
    """Wait at `before` without looking at cancellation, pass the commit point,
    then wait at `after`, stopping if the job was cancelled."""
    CALLS.append((context.job_id, context.attempt))
    context.report(20, "Preparing")
    GATES.event(parameters.before).wait(30)
    try:
        context.commit_point()
    except JobCancelled:
        STOPPED.add(context.job_id)
        raise
    context.report(60, "Taking effect")
    gate = GATES.event(parameters.after)
    while not gate.wait(0.01):
        if context.cancelled():
            STOPPED.add(context.job_id)
            raise JobCancelled
    return {"cancellable": context.cancellable}


TEST_JOB_TYPES = [
    JobType(name="test_gate", parameters=GateParameters, handler=wait_at_gate),
    JobType(name="test_result", parameters=ResultParameters, handler=write_result),
    JobType(
        name="test_flaky",
        parameters=FlakyParameters,
        handler=fail_then_succeed,
        max_attempts=3,
    ),
    JobType(name="test_fail", parameters=FailParameters, handler=fail),
    JobType(
        name="test_commit_point",
        parameters=CommitPointParameters,
        handler=commit_then_finish,
    ),
    JobType(
        name="test_record",
        parameters=NoParameters,
        handler=record_call,
        role=Role.VIEWER,
    ),
]
for job_type in TEST_JOB_TYPES:
    register_job_type(job_type)


@pytest.fixture(autouse=True)
def fresh_records() -> None:
    CALLS.clear()
    STOPPED.clear()


@pytest.fixture
def gates() -> Gates:
    return GATES


@pytest.fixture
def calls() -> list[tuple[str, int]]:
    """(job id, attempt) of every handler call of the test job types, in order."""
    return CALLS


@pytest.fixture
def stopped() -> set[str]:
    """The jobs whose handler noticed its cancellation and stopped."""
    return STOPPED


@pytest.fixture
def jobs(
    client: TestClient, job_worker: None, member: dict[str, str]
) -> Iterator[JobApi]:
    """The jobs API as a member, with something running the jobs."""
    yield JobApi(client, member)
    # Before the runners stop: handlers still waiting would hold their shutdown.
    GATES.open_all()


@pytest.fixture
def member(database: Database, settings: Settings) -> dict[str, str]:
    return auth_headers(make_user(database, role=Role.MEMBER), settings)
