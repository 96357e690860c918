"""The incident_analysis and incident_reanalysis job handlers.

Both walk the selected incidents in id order, in batches of
`DEVFLOWFIX_ANALYSIS_BATCH_SIZE`, and analyse each one with
`run_incident_analysis`: it fetches the log outside any transaction and
records the result in a short transaction of its own. After every batch the
counts and where the next batch starts are saved as the checkpoint.

A retried attempt resumes from that checkpoint and analyses nothing twice,
even the incidents done after it: the analysis takes only incidents never
analysed, and the re-analysis only those not analysed since the job was
created. A provider that is down fails the fetch of each incident, which the
incident records; the job goes on and counts it as failed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any, Literal

import httpx
import structlog

from devflowfix.analysis import repository
from devflowfix.analysis.llm import LanguageModel
from devflowfix.analysis.repository import AnalysisScope
from devflowfix.analysis.schemas import (
    AnalysisParameters,
    AnalysisSelection,
    ReanalysisParameters,
)
from devflowfix.analysis.service import check_analysis_selection, run_incident_analysis
from devflowfix.integrations.retry import FetchOptions, new_client
from devflowfix.jobs.context import JobCancelled, JobContext
from devflowfix.jobs.registry import JobType, register_job_type

log = structlog.get_logger(__name__)

# The result lists this many failed incidents with the reason; it counts all.
LISTED_FAILURES = 20
# How often a wait between fetch attempts looks for a cancellation.
CANCEL_CHECK_SECONDS = 0.1

Status = Literal["analysed", "failed", "skipped"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one incident of the job."""

    incident_id: str
    status: Status
    failure_type: str | None = None
    error: str | None = None


@dataclass
class RunState:
    """The job's counts and position; saved as the checkpoint after each batch."""

    up_to_id: int
    matched: int
    cursor: int = 0
    passed: int = 0
    analysed: int = 0
    failed: int = 0
    by_failure_type: dict[str, int] = field(default_factory=dict)
    failed_incidents: list[dict[str, str]] = field(default_factory=list)
    finished: bool = False

    def record(self, outcome: Outcome) -> None:
        if outcome.status == "analysed":
            self.analysed += 1
        elif outcome.status == "failed":
            self.failed += 1
            if len(self.failed_incidents) < LISTED_FAILURES:
                self.failed_incidents.append(
                    {"incident_id": outcome.incident_id, "error": outcome.error or ""}
                )
        if outcome.failure_type is not None:
            counts = self.by_failure_type
            counts[outcome.failure_type] = counts.get(outcome.failure_type, 0) + 1

    def step(self) -> str:
        return f"Analysed {self.analysed + self.failed} of {self.matched} incidents"

    def result(self) -> dict[str, Any]:
        done = self.analysed + self.failed
        return {
            "matched": self.matched,
            "analysed": self.analysed,
            "failed": self.failed,
            "skipped": max(0, self.matched - done),
            "by_failure_type": dict(
                sorted(
                    self.by_failure_type.items(), key=lambda item: (-item[1], item[0])
                )
            ),
            "failed_incidents": self.failed_incidents,
        }


def incident_analysis(
    context: JobContext, parameters: AnalysisParameters
) -> dict[str, Any]:
    """Analyse the selected incidents that were never analysed."""
    return _analyse_in_batches(context, parameters, replace=False)


def incident_reanalysis(
    context: JobContext, parameters: ReanalysisParameters
) -> dict[str, Any]:
    """Analyse the selected incidents again, replacing their earlier results."""
    return _analyse_in_batches(context, parameters, replace=True)


def _analyse_in_batches(
    context: JobContext, selection: AnalysisSelection, *, replace: bool
) -> dict[str, Any]:
    checkpoint = context.checkpoint_data
    state = (
        RunState(**checkpoint)
        if checkpoint
        else _first_state(context, selection, replace=replace)
    )
    scope = _scope(context, selection, state.up_to_id, replace=replace)
    size = context.settings.analysis_batch_size

    with IncidentAnalyser(context, replace=replace) as analyser:
        while not state.finished:
            with context.read() as session:
                batch = repository.find_incidents_to_analyse(
                    session, scope, cursor=state.cursor, limit=size
                )

            for position, (_, incident_id) in enumerate(batch.incidents, 1):
                state.record(analyser.analyse(incident_id))
                context.report(
                    state.passed + position, state.step(), total=state.matched
                )

            state.cursor, state.finished = batch.cursor, batch.last
            state.passed += batch.passed
            context.report(state.passed, state.step(), total=state.matched)
            context.checkpoint(asdict(state))

    return state.result()


def _first_state(
    context: JobContext, selection: AnalysisSelection, *, replace: bool
) -> RunState:
    with context.read() as session:
        up_to_id = repository.highest_incident_id(session)
        scope = _scope(context, selection, up_to_id, replace=replace)
        matched = repository.count_incidents_to_analyse(session, scope)
    return RunState(up_to_id=up_to_id, matched=matched)


def _scope(
    context: JobContext, selection: AnalysisSelection, up_to_id: int, *, replace: bool
) -> AnalysisScope:
    return AnalysisScope(
        team_id=context.team_id,
        now=context.created_at,
        dialect=context.database.engine.dialect.name,
        up_to_id=up_to_id,
        incident_ids=selection.unique_ids(),
        filters=selection.filters,
        analysed_before=context.created_at if replace else None,
    )


class IncidentAnalyser:
    """Analyses a job's incidents one by one, with one HTTP client and model."""

    def __init__(self, context: JobContext, *, replace: bool) -> None:
        self._context = context
        self._replace = replace
        self._client = new_client(FetchOptions.from_settings(context.settings))
        self._llm = LanguageModel.from_settings(context.settings)

    def __enter__(self) -> IncidentAnalyser:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._client.close()
        if self._llm is not None:
            self._llm.close()

    def analyse(self, incident_id: str) -> Outcome:
        """Analyse one incident; a log that cannot be fetched is a failure."""
        if self._context.cancelled():
            raise JobCancelled

        try:
            found = run_incident_analysis(
                self._context.database,
                self._context.team_id,
                incident_id,
                self._context.settings,
                llm=self._llm,
                replace=self._replace,
                client=self._client,
                sleep=self._sleep,
            )
        except httpx.HTTPError as error:
            # What the fetcher does not retry or record (say, a redirect loop):
            # the incident stays as it was, for a later run to try again.
            log.warning(
                "analysis.incident_failed",
                job_id=self._context.job_id,
                incident_id=incident_id,
                reason=type(error).__name__,
            )
            message = f"The log could not be fetched ({type(error).__name__})."
            return Outcome(incident_id, "failed", error=message)

        if found is None:
            return Outcome(incident_id, "skipped")

        failure_type = found.analysis.failure_type.value
        if found.log_error is not None:
            return Outcome(incident_id, "failed", failure_type, found.log_error)

        return Outcome(incident_id, "analysed", failure_type)

    def _sleep(self, seconds: float) -> None:
        # The fetcher's waits between attempts end early on a cancel.
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._context.cancelled():
                raise JobCancelled
            time.sleep(min(left, CANCEL_CHECK_SECONDS))


register_job_type(
    JobType(
        name="incident_analysis",
        parameters=AnalysisParameters,
        handler=incident_analysis,
        validate=check_analysis_selection,
        description="Analyse incidents never analysed: the team's, or those of "
        "the given ids or filters.",
    )
)
register_job_type(
    JobType(
        name="incident_reanalysis",
        parameters=ReanalysisParameters,
        handler=incident_reanalysis,
        validate=check_analysis_selection,
        description="Analyse the given incidents, or those matching filters, "
        "again, replacing earlier results.",
    )
)
