"""`analyse_log`: from a CI log to a failure type, root cause, fix and confidence.

Pure and offline: no database, no network. The last 8 KB of the log are read
first, because CI logs say why they failed at the end; a longer tail is read
only when that holds no tool-level finding.
"""

from __future__ import annotations

from dataclasses import dataclass

from devflowfix.analysis.calibration import (
    UNKNOWN_CONFIDENCE,
    Calibration,
    shipped_calibration,
)
from devflowfix.analysis.extract import (
    FileReference,
    clean_message,
    error_signature,
    failing_step,
    find_references,
)
from devflowfix.analysis.logtext import LogView, read_log, tail_of
from devflowfix.analysis.matching import Evidence, Finding, Ranking, find_all, rank
from devflowfix.analysis.rules import RULES, Tier
from devflowfix.vocabulary import FailureType

# The first pass reads this much of the end; when it holds no tool-level
# finding, the second pass reads up to `SECOND_PASS_CHARS` of the end.
TAIL_CHARS = 8_000
# TODO: a cause written only further than this from the end of a log is never
# read; when nothing later names it, the incident comes out `unknown`.
SECOND_PASS_CHARS = 256_000
UNKNOWN_CAUSE = "The log does not show a recognisable cause of the failure."
UNKNOWN_FIX = (
    "Read the output of the last command before the failure; run the job with "
    "verbose output (for example `set -x`) so the next failure says more."
)


@dataclass(frozen=True)
class AnalysisHints:
    """What the CI said about the job besides its log."""

    conclusion: str | None = None
    failing_step: str | None = None


@dataclass(frozen=True)
class Analysis:
    failure_type: FailureType
    root_cause: str
    suggested_fix: str
    confidence: float
    rule_id: str | None
    contested: bool
    matched_rules: tuple[str, ...]
    error_message: str | None
    failing_step: str | None
    file_references: tuple[FileReference, ...]
    evidence: tuple[Evidence, ...]
    signature: str | None


# The CI's own verdict on a job, for when its log says little.
HINTS: dict[str, tuple[str, FailureType, str, str]] = {
    "timed_out": (
        "hint.timed_out",
        FailureType.TIMEOUT,
        "The CI stopped the job because it ran past its time limit.",
        "Find the step that hangs or slowed down (compare step durations with "
        "a passing run); raise the limit only for real slow work.",
    ),
    "runner_system_failure": (
        "hint.runner_failure",
        FailureType.INFRASTRUCTURE_ERROR,
        "The CI runner failed (a system failure), not the job's code.",
        "Re-run the job; if it recurs, check the runner's health and logs.",
    ),
    "startup_failure": (
        "hint.startup_failure",
        FailureType.CONFIGURATION_ERROR,
        "The workflow could not start: its configuration is invalid or refers "
        "to something that does not exist.",
        "Open the run in the CI's web page for the exact error, then fix the "
        "workflow file.",
    ),
}


def analyse_log(
    text: str,
    *,
    hints: AnalysisHints | None = None,
    calibration: Calibration | None = None,
) -> Analysis:
    """Analyse a CI log; never raises on any text."""
    hints = hints or AnalysisHints()
    calibration = calibration or shipped_calibration()
    view, findings = _read_and_match(text)
    findings.extend(_hint_findings(hints, len(view.lines)))

    ranking = rank(findings)
    return _analysis(view, ranking, hints, calibration)


def _read_and_match(text: str) -> tuple[LogView, list[Finding]]:
    tail, start = tail_of(text, TAIL_CHARS)
    view = read_log(tail, first_line_number=text.count("\n", 0, start) + 1)
    findings = find_all(view, RULES)

    if start > 0 and not any(item.tier >= Tier.TOOL for item in findings):
        tail, start = tail_of(text, SECOND_PASS_CHARS)
        view = read_log(tail, first_line_number=text.count("\n", 0, start) + 1)
        findings = find_all(view, RULES)
    return view, findings


def _hint_findings(hints: AnalysisHints, line_count: int) -> list[Finding]:
    if hints.conclusion not in HINTS:
        return []

    rule_id, failure_type, cause, fix = HINTS[hints.conclusion]
    return [
        Finding(
            rule_id=rule_id,
            failure_type=failure_type,
            tier=Tier.CAUSE,
            in_failure=True,
            line=line_count,
            root_cause=cause,
            suggested_fix=fix,
        )
    ]


@dataclass(frozen=True)
class _Verdict:
    """The part of an analysis that the winning finding decides."""

    failure_type: FailureType
    root_cause: str
    suggested_fix: str
    confidence: float
    rule_id: str | None = None
    contested: bool = False
    evidence: tuple[Evidence, ...] = ()


def _verdict(ranking: Ranking, calibration: Calibration) -> _Verdict:
    winner = ranking.winner
    if winner is None:
        return _Verdict(
            FailureType.UNKNOWN, UNKNOWN_CAUSE, UNKNOWN_FIX, UNKNOWN_CONFIDENCE
        )

    if winner.failure_type is FailureType.UNKNOWN:
        return _Verdict(
            FailureType.UNKNOWN,
            winner.root_cause,
            winner.suggested_fix,
            UNKNOWN_CONFIDENCE,
            winner.rule_id,
            evidence=winner.evidence,
        )

    confidence = calibration.confidence(
        winner.rule_id, winner.tier, contested=ranking.contested
    )
    return _Verdict(
        winner.failure_type,
        winner.root_cause,
        winner.suggested_fix,
        confidence,
        winner.rule_id,
        ranking.contested,
        winner.evidence,
    )


def _analysis(
    view: LogView, ranking: Ranking, hints: AnalysisHints, calibration: Calibration
) -> Analysis:
    winner = ranking.winner
    around = winner.line if winner is not None else None
    message = clean_message(winner.message if winner else _last_error_line(view))
    verdict = _verdict(ranking, calibration)

    signed_by = (
        verdict.rule_id
        if verdict.failure_type is not FailureType.UNKNOWN
        else "unknown"
    )
    return Analysis(
        failure_type=verdict.failure_type,
        root_cause=verdict.root_cause,
        suggested_fix=verdict.suggested_fix,
        confidence=verdict.confidence,
        rule_id=verdict.rule_id,
        contested=verdict.contested,
        matched_rules=tuple(item.rule_id for item in ranking.findings),
        error_message=message,
        failing_step=hints.failing_step or failing_step(view, around),
        file_references=find_references(view, around),
        evidence=verdict.evidence,
        signature=error_signature(signed_by or "unknown", message) if message else None,
    )


def _last_error_line(view: LogView) -> str | None:
    for index in reversed(view.error_lines):
        line = view.lines[index].strip()
        if line:
            return line
    return None
