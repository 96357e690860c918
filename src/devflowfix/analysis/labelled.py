"""Labelled sets of CI logs: load them, score the engine on them, calibrate.

A labelled set is a directory of log files and a `labels.json` manifest:

    {"logs": [{"file": "python-module-not-found.log",
               "failure_type": "dependency_error",
               "ecosystem": "python", "provider": "github",
               "facts": ["respx"], "step": "pytest",
               "reference": "src/orders/webhooks.py:3",
               "hints": {"conclusion": "timed_out"}}]}

`facts` are strings the root cause must contain when the type is right;
`step`, `reference` and `hints` are optional.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devflowfix.analysis.calibration import Calibration, Outcome, measure
from devflowfix.analysis.engine import Analysis, AnalysisHints, analyse_log
from devflowfix.analysis.rules import RULES_BY_ID, Tier
from devflowfix.vocabulary import FailureType

MANIFEST = "labels.json"


@dataclass(frozen=True)
class LabelledLog:
    file: str
    text: str
    failure_type: FailureType
    ecosystem: str
    provider: str
    facts: tuple[str, ...] = ()
    step: str | None = None
    reference: str | None = None
    hints: AnalysisHints = field(default_factory=AnalysisHints)


@dataclass(frozen=True)
class Verdict:
    """The engine's analysis of one labelled log, and how it compares."""

    log: LabelledLog
    analysis: Analysis

    @property
    def correct(self) -> bool:
        return self.analysis.failure_type is self.log.failure_type

    @property
    def classified(self) -> bool:
        return self.analysis.failure_type is not FailureType.UNKNOWN

    def outcome(self) -> Outcome | None:
        """The calibration sample this verdict gives; none for `unknown`."""
        rule_id = self.analysis.rule_id
        if not self.classified or rule_id is None:
            return None
        return Outcome(
            rule_id, _tier_of(rule_id), self.analysis.contested, self.correct
        )


def _tier_of(rule_id: str) -> Tier:
    rule = RULES_BY_ID.get(rule_id)
    # Hints from the CI stand for a cause, like the strongest rules.
    return rule.tier if rule is not None else Tier.CAUSE


def load_labelled_set(directory: Path) -> list[LabelledLog]:
    """Every log of the set in `directory`, in manifest order."""
    manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    return [_labelled(directory, entry) for entry in manifest["logs"]]


def _labelled(directory: Path, entry: dict[str, Any]) -> LabelledLog:
    return LabelledLog(
        file=entry["file"],
        text=(directory / entry["file"]).read_text(encoding="utf-8"),
        failure_type=FailureType(entry["failure_type"]),
        ecosystem=entry["ecosystem"],
        provider=entry["provider"],
        facts=tuple(entry.get("facts", ())),
        step=entry.get("step"),
        reference=entry.get("reference"),
        hints=AnalysisHints(**entry.get("hints", {})),
    )


def judge(
    logs: Iterable[LabelledLog], calibration: Calibration | None = None
) -> list[Verdict]:
    """Analyse every labelled log."""
    return [
        Verdict(log, analyse_log(log.text, hints=log.hints, calibration=calibration))
        for log in logs
    ]


def calibrate(verdicts: Sequence[Verdict]) -> Calibration:
    """The calibration table these verdicts measure."""
    return measure(
        outcome for verdict in verdicts if (outcome := verdict.outcome()) is not None
    )


def accuracy(verdicts: Sequence[Verdict]) -> float:
    """The share of logs whose failure type the engine named right."""
    if not verdicts:
        return 0.0
    return sum(verdict.correct for verdict in verdicts) / len(verdicts)
