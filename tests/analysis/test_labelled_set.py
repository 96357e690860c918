"""The labelled set: coverage, accuracy, the facts named, and calibration.

The confidence is checked out of sample: each log's confidence comes from a
table measured on every other log (leave one out), so a log never vouches for
its own rule.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path

from devflowfix.analysis.calibration import CEILING, UNKNOWN_CONFIDENCE, measure
from devflowfix.analysis.cli import SHIPPED_TABLE, table_text
from devflowfix.analysis.labelled import (
    Verdict,
    accuracy,
    calibrate,
    judge,
    load_labelled_set,
)
from devflowfix.vocabulary import FailureType

LOGS = Path(__file__).resolve().parent.parent / "data" / "logs"
ECOSYSTEMS = {
    "python",
    "javascript",
    "java",
    "go",
    "rust",
    "dotnet",
    "ruby",
    "php",
    "c_cpp",
    "docker",
    "kubernetes",
    "terraform",
    "shell",
}
BUCKETS = ((0.0, 0.5), (0.5, 0.75), (0.75, 0.9), (0.9, 1.01))
MIN_BUCKET_SIZE = 10
MAX_CALIBRATION_GAP = 0.1


@cache
def verdicts() -> tuple[Verdict, ...]:
    return tuple(judge(load_labelled_set(LOGS)))


def test_the_set_has_150_logs_covering_every_type_ecosystem_and_provider() -> None:
    logs = [verdict.log for verdict in verdicts()]

    assert len(logs) >= 150
    assert {log.failure_type for log in logs} == set(FailureType)
    assert {log.ecosystem for log in logs} >= ECOSYSTEMS
    assert {log.provider for log in logs} >= {"github", "gitlab", "jenkins"}
    assert min(Counter(log.failure_type for log in logs).values()) >= 4


def test_accuracy_is_at_least_90_percent() -> None:
    assert accuracy(verdicts()) >= 0.9


def test_every_failure_type_is_mostly_right() -> None:
    by_type: dict[FailureType, list[bool]] = {}
    for verdict in verdicts():
        by_type.setdefault(verdict.log.failure_type, []).append(verdict.correct)

    for failure_type, results in by_type.items():
        assert sum(results) / len(results) >= 0.75, failure_type


def test_right_answers_name_what_the_log_names() -> None:
    missing = [
        (verdict.log.file, fact)
        for verdict in verdicts()
        if verdict.correct
        for fact in verdict.log.facts
        if fact not in verdict.analysis.root_cause
    ]

    assert missing == []


def test_failing_steps_and_file_references_are_found() -> None:
    wrong_steps = [
        (verdict.log.file, verdict.analysis.failing_step)
        for verdict in verdicts()
        if verdict.log.step and verdict.analysis.failing_step != verdict.log.step
    ]
    missing_references = [
        verdict.log.file
        for verdict in verdicts()
        if verdict.log.reference
        and verdict.log.reference
        not in [str(item) for item in verdict.analysis.file_references]
    ]

    assert wrong_steps == []
    assert missing_references == []


def test_unknown_means_low_confidence() -> None:
    unknown = [v for v in verdicts() if not v.classified]

    assert unknown
    assert {verdict.analysis.confidence for verdict in unknown} == {UNKNOWN_CONFIDENCE}


def leave_one_out_confidences() -> list[tuple[float, bool]]:
    outcomes = [verdict.outcome() for verdict in verdicts()]
    samples = []
    for index, outcome in enumerate(outcomes):
        if outcome is None:
            continue
        others = [item for n, item in enumerate(outcomes) if n != index and item]
        table = measure(others)
        confidence = table.confidence(
            outcome.rule_id, outcome.tier, contested=outcome.contested
        )
        samples.append((confidence, outcome.correct))

    return samples


def test_confidence_is_calibrated_out_of_sample() -> None:
    samples = leave_one_out_confidences()
    checked, gaps = 0, {}
    for low, high in BUCKETS:
        bucket = [(c, ok) for c, ok in samples if low <= c < high]
        if len(bucket) < MIN_BUCKET_SIZE:
            continue
        stated = sum(confidence for confidence, _ in bucket) / len(bucket)
        observed = sum(ok for _, ok in bucket) / len(bucket)
        gaps[(low, high)] = round(observed - stated, 3)
        checked += len(bucket)

    # Buckets too small to judge may hold only a few verdicts in all.
    assert checked >= 0.9 * len(samples)
    assert all(abs(gap) <= MAX_CALIBRATION_GAP for gap in gaps.values()), gaps


def test_overall_calibration_error_is_small() -> None:
    samples = leave_one_out_confidences()

    stated = sum(confidence for confidence, _ in samples) / len(samples)
    observed = sum(ok for _, ok in samples) / len(samples)

    assert abs(observed - stated) <= 0.05
    assert max(confidence for confidence, _ in samples) <= CEILING


def test_the_shipped_calibration_table_is_current() -> None:
    fresh = table_text(calibrate(verdicts()).to_json())

    assert SHIPPED_TABLE.read_text() == fresh, (
        "run `devflowfix analysis calibrate tests/data/logs` and commit the table"
    )


def test_the_manifest_lists_every_log_file_once() -> None:
    manifest = json.loads((LOGS / "labels.json").read_text())
    listed = [entry["file"] for entry in manifest["logs"]]

    assert sorted(listed) == sorted(path.name for path in LOGS.glob("*.log"))
    assert len(listed) == len(set(listed))
