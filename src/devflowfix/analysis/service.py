"""Analysing incidents: run the engine on an incident's log and record the result.

`analyse_incident` works inside a caller's session. `run_incident_analysis`
does the whole job for one incident with the slow parts (fetching the log,
asking the language model) outside any transaction, so a slow provider never
holds the database's write lock.

An incident a person classified (a failure type other than `unknown`, or a
root cause) keeps its classification on a first analysis; `replace=True`
(re-analysis) overwrites it. The analysis details (matched rules, similar
incidents, signature, time) are always recorded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import httpx
import structlog
from sqlalchemy.orm import Session

from devflowfix.analysis import repository
from devflowfix.analysis.engine import Analysis, AnalysisHints, analyse_log
from devflowfix.analysis.llm import LanguageModel, Refinement
from devflowfix.analysis.schemas import AnalysisSelection
from devflowfix.analysis.similar import (
    Match,
    fix_from_history,
    rank_similar,
    search_terms,
)
from devflowfix.bulk.repository import missing_incident_ids
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.errors import ValidationFailed
from devflowfix.incidents import repository as incidents_repository
from devflowfix.incidents.service import cap_log
from devflowfix.integrations.crypto import SecretBox, SecretUnreadable
from devflowfix.integrations.logs import LogTarget, fetch_job_log
from devflowfix.integrations.retry import FetchOptions, LogFetchError, Sleep
from devflowfix.integrations.service import log_target_for
from devflowfix.models import Incident, User
from devflowfix.models.base import utcnow
from devflowfix.search.repository import filter_conditions
from devflowfix.vocabulary import FailureType

log = structlog.get_logger(__name__)

ANALYSED = "analysed"
AWAITING_LOG = "awaiting_log"
LOG_UNAVAILABLE = "log_unavailable"
NEEDS_LOG = frozenset({AWAITING_LOG, LOG_UNAVAILABLE})
DEFAULT_MAX_LOG_BYTES = 64 * 1024
# How many unknown ids a 422 names before it says "and N more".
NAMED_MISSING_IDS = 10


@dataclass(frozen=True)
class IncidentAnalysis:
    """What the analysis of one incident found and recorded."""

    incident_id: str
    analysis: Analysis
    similar: tuple[Match, ...]
    refined: bool
    log_error: str | None = None


def hints_for(incident: Incident) -> AnalysisHints:
    """What the provider's event said besides the log."""
    details = incident.provider_details or {}
    hint = details.get("hint")
    step = details.get("failed_step")
    return AnalysisHints(
        conclusion=hint if isinstance(hint, str) else None,
        failing_step=step if isinstance(step, str) else None,
    )


def text_to_analyse(incident: Incident, log_text: str | None) -> str:
    """The fetched log, else the stored excerpt, else the error message."""
    return log_text or incident.error_log or incident.error_message


def analyse_incident(
    session: Session,
    incident: Incident,
    *,
    log_text: str | None = None,
    llm: LanguageModel | None = None,
    replace: bool = False,
    max_log_bytes: int = DEFAULT_MAX_LOG_BYTES,
) -> IncidentAnalysis:
    """Analyse the incident's log (or `log_text`, which is then stored) and
    record the failure type, root cause, fix, confidence and similar incidents."""
    text = text_to_analyse(incident, log_text)
    analysis = analyse_log(text, hints=hints_for(incident))

    refinement = llm.refine(analysis, text) if llm is not None else None

    return record_analysis(
        session,
        incident,
        analysis,
        refinement=refinement,
        llm_model=llm.model if llm is not None and refinement else None,
        log_text=log_text,
        replace=replace,
        max_log_bytes=max_log_bytes,
    )


def record_analysis(
    session: Session,
    incident: Incident,
    analysis: Analysis,
    *,
    refinement: Refinement | None = None,
    llm_model: str | None = None,
    log_text: str | None = None,
    replace: bool = False,
    max_log_bytes: int = DEFAULT_MAX_LOG_BYTES,
    now: datetime | None = None,
) -> IncidentAnalysis:
    """Write an analysis onto the incident, with its similar incidents."""
    now = now or utcnow()

    similar = _similar(session, incident, analysis, now)
    if log_text is not None:
        incident.error_log = cap_log(log_text, max_log_bytes)

    if replace or _unclassified(incident):
        _classify(incident, analysis, refinement, fix_from_history(similar))
    _replace_placeholder(incident, analysis)

    incident.analysed_at = now
    incident.matched_rules = [
        *analysis.matched_rules,
        *([f"llm:{llm_model}"] if llm_model else []),
    ]
    incident.similar_incidents = [match.as_json() for match in similar]
    incident.error_signature = analysis.signature

    if log_text is not None or incident.analysis_status not in NEEDS_LOG:
        incident.analysis_status, incident.analysis_error = ANALYSED, None
    else:
        incident.analysis_status = LOG_UNAVAILABLE
    incident.updated_at = now

    session.flush()
    log.info(
        "analysis.recorded",
        incident_id=incident.public_id,
        failure_type=analysis.failure_type.value,
        confidence=analysis.confidence,
        rule_id=analysis.rule_id,
        similar=len(similar),
    )

    return IncidentAnalysis(
        incident.public_id, analysis, tuple(similar), refinement is not None
    )


def record_log_failure(session: Session, incident: Incident, message: str) -> None:
    """Note on the incident that its log could not be fetched, and why."""
    incident.analysis_status = LOG_UNAVAILABLE
    incident.analysis_error = message[:2000]
    incident.updated_at = utcnow()

    session.flush()
    log.warning("analysis.log_unavailable", incident_id=incident.public_id)


def _unclassified(incident: Incident) -> bool:
    return incident.failure_type == FailureType.UNKNOWN and not incident.root_cause


def _classify(
    incident: Incident,
    analysis: Analysis,
    refinement: Refinement | None,
    history: Match | None,
) -> None:
    root_cause = refinement.root_cause if refinement else analysis.root_cause
    fix = refinement.suggested_fix if refinement else analysis.suggested_fix

    if history is not None and history.candidate.suggested_fix:
        # The fix that worked for the same failure before comes first.
        earlier = history.candidate.suggested_fix.split("\n\n", 1)[0].strip()
        fix = f"What fixed {history.candidate.incident_id}: {earlier}\n\n{fix}"

    incident.failure_type = analysis.failure_type.value
    incident.root_cause = root_cause
    incident.suggested_fix = fix
    incident.confidence = analysis.confidence


def _replace_placeholder(incident: Incident, analysis: Analysis) -> None:
    details = dict(incident.provider_details or {})
    if details.get("placeholder_message") and analysis.error_message:
        incident.error_message = analysis.error_message
        details["placeholder_message"] = False
        incident.provider_details = details


def _similar(
    session: Session, incident: Incident, analysis: Analysis, now: datetime
) -> list[Match]:
    if analysis.signature is None:
        return []

    candidates = repository.find_similar_candidates(
        session,
        incident,
        signature=analysis.signature,
        failure_type=analysis.failure_type.value,
        terms=search_terms(analysis.error_message or ""),
        now=now,
    )

    return rank_similar(analysis.signature, candidates)


def run_incident_analysis(
    database: Database,
    team_id: int,
    incident_id: str,
    settings: Settings,
    *,
    llm: LanguageModel | None = None,
    replace: bool = False,
    client: httpx.Client | None = None,
    sleep: Sleep = time.sleep,
) -> IncidentAnalysis | None:
    """Fetch the incident's log if it awaits one, analyse it, record the result.

    Returns None when the team has no such incident (it may have been deleted).
    """
    with database.transaction(write=False) as session:
        incident = incidents_repository.find_incident(session, team_id, incident_id)
        if incident is None:
            return None
        target, log_error = _log_target(session, incident, settings)
        text_before = text_to_analyse(incident, None)
        hints = hints_for(incident)

    log_text = None
    if target is not None:
        log_text, log_error = _fetch(target, settings, client, sleep)

    text = log_text or text_before
    analysis = analyse_log(text, hints=hints)
    refinement = llm.refine(analysis, text) if llm is not None else None

    with database.transaction(write=True) as session:
        incident = incidents_repository.find_incident(session, team_id, incident_id)
        if incident is None:
            return None
        if log_error is not None:
            record_log_failure(session, incident, log_error)
        result = record_analysis(
            session,
            incident,
            analysis,
            refinement=refinement,
            llm_model=llm.model if llm is not None and refinement else None,
            log_text=log_text,
            replace=replace,
            max_log_bytes=settings.max_error_log_bytes,
        )

    return IncidentAnalysis(
        result.incident_id, analysis, result.similar, result.refined, log_error
    )


def _log_target(
    session: Session, incident: Incident, settings: Settings
) -> tuple[LogTarget | None, str | None]:
    if incident.analysis_status not in NEEDS_LOG:
        return None, None

    try:
        return log_target_for(
            session, incident, SecretBox.from_settings(settings)
        ), None
    except LogFetchError as error:
        return None, str(error)
    except SecretUnreadable as error:
        return None, error.message


def _fetch(
    target: LogTarget,
    settings: Settings,
    client: httpx.Client | None,
    sleep: Sleep,
) -> tuple[str | None, str | None]:
    try:
        text = fetch_job_log(
            target, FetchOptions.from_settings(settings), client=client, sleep=sleep
        )
    except LogFetchError as error:
        return None, str(error)
    return text, None


def check_analysis_selection(
    session: Session, user: User, selection: AnalysisSelection
) -> None:
    """Refuse ids that are not the team's, and filters that cannot run (422)."""
    if selection.filters is not None:
        dialect = session.get_bind().dialect.name
        filter_conditions(
            selection.filters, user.team_id, now=utcnow(), dialect=dialect
        )
        return

    missing = missing_incident_ids(session, user.team_id, selection.unique_ids() or [])
    if missing:
        named = ", ".join(missing[:NAMED_MISSING_IDS])
        more = len(missing) - NAMED_MISSING_IDS
        suffix = f" and {more} more" if more > 0 else ""
        raise ValidationFailed.for_field(
            "incident_ids", f"Your team has no incidents {named}{suffix}."
        )
