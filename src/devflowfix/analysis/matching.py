"""Run the rules over a log view and rank what they found.

A rule runs only when one of its keywords is in the text (a substring test,
far cheaper than a regex), and stops after `MAX_MATCHES` matches. Matches on
warning lines are dropped: a warning did not fail the build. A finding inside
the step the CI marked as failed outranks one elsewhere in the log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from devflowfix.analysis.logtext import LogView
from devflowfix.analysis.rules import LITERALS, Rule, Tier, literals_in
from devflowfix.vocabulary import FailureType

MAX_MATCHES = 20
MAX_EVIDENCE = 5
MAX_EVIDENCE_CHARS = 300
# After the CI's error line, a few lines still belong to the failure (the
# message GitHub prints under `##[error]`, GitLab's final status).
REGION_GRACE_LINES = 5
IN_FAILURE_BONUS = 3
CONTEST_MARGIN = 3


@dataclass(frozen=True)
class Evidence:
    line_number: int
    text: str


@dataclass(frozen=True)
class Finding:
    """What one rule (or one hint from the CI) says about the failure."""

    rule_id: str
    failure_type: FailureType
    tier: Tier
    in_failure: bool
    line: int
    root_cause: str
    suggested_fix: str
    evidence: tuple[Evidence, ...] = ()
    message: str | None = None
    weight: int = 0

    @property
    def score(self) -> int:
        bonus = IN_FAILURE_BONUS if self.in_failure else 0
        return int(self.tier) * 10 + bonus + self.weight


@dataclass(frozen=True)
class Ranking:
    """The winning finding, whether a different type came close, and the rest."""

    winner: Finding | None
    contested: bool
    findings: tuple[Finding, ...]


def find_all(view: LogView, rules: Sequence[Rule]) -> list[Finding]:
    """Every rule's finding in `view`, in rule order."""
    region = failure_region(view)
    present = literals_in(view.lowered, LITERALS)
    findings = []
    for rule in rules:
        if not rule.applies_given(present):
            continue
        matches = _matches(view, rule)
        if matches:
            findings.append(make_finding(view, rule, matches, region))

    return findings


def rank(findings: Sequence[Finding]) -> Ranking:
    """Order findings by score, earliest first on a tie: the first error is
    usually the cause and the later ones its consequences."""
    ordered = sorted(findings, key=lambda item: (-item.score, item.line))
    if not ordered:
        return Ranking(None, False, ())

    winner = ordered[0]

    contested = any(
        other.failure_type not in (winner.failure_type, FailureType.UNKNOWN)
        and other.score >= winner.score - CONTEST_MARGIN
        for other in ordered[1:]
    )
    return Ranking(winner, contested, tuple(ordered))


def _matches(view: LogView, rule: Rule) -> list[re.Match[str]]:
    kept = []
    for match in rule.pattern.finditer(view.text):
        if not rule.on_warnings and view.is_warning(view.line_at(match.start())):
            continue
        kept.append(match)
        if len(kept) >= MAX_MATCHES:
            break
    return kept


def failure_region(view: LogView) -> range | None:
    if not view.error_lines:
        return None
    step = view.failing_step()
    start = step.line if step is not None else 0
    return range(start, view.error_lines[0] + REGION_GRACE_LINES)


def make_finding(
    view: LogView, rule: Rule, matches: list[re.Match[str]], region: range | None
) -> Finding:
    lines = [view.line_at(match.start()) for match in matches]
    inside = [line for line in lines if region is None or line in region]

    first = inside[0] if inside else lines[0]

    root_cause, suggested_fix = rule.describe(matches)
    return Finding(
        rule_id=rule.rule_id,
        failure_type=rule.failure_type,
        tier=rule.tier,
        in_failure=bool(inside),
        line=first,
        root_cause=root_cause,
        suggested_fix=suggested_fix,
        evidence=tuple(
            Evidence(view.line_number(line), view.lines[line][:MAX_EVIDENCE_CHARS])
            for line in dict.fromkeys(lines[:MAX_EVIDENCE])
        ),
        message=_message(view, matches[lines.index(first)]),
        weight=rule.weight,
    )


def _message(view: LogView, match: re.Match[str]) -> str:
    """The log line(s) the match stands on: the error message as the log said it."""
    first = view.line_at(match.start())
    last = view.line_at(max(match.start(), match.end() - 1))
    text = view.lines[first].strip()
    if last != first:
        text = f"{text} {view.lines[last].strip()}"
    return text
