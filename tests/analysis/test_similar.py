"""Similarity of error signatures, search terms and fixes from history."""

from __future__ import annotations

from devflowfix.analysis.similar import (
    MAX_SIMILAR,
    Candidate,
    fix_from_history,
    rank_similar,
    search_terms,
    similarity,
)

SIGNATURE = "python.module_not_found: ModuleNotFoundError: No module named 'respx'"


def candidate(
    incident_id: str, signature: str, *, resolved: bool = False, fix: str | None = None
) -> Candidate:
    return Candidate(incident_id, signature, "dependency_error", resolved, fix)


def test_the_same_signature_is_a_perfect_match() -> None:
    assert similarity(SIGNATURE, SIGNATURE) == 1.0


def test_another_module_of_the_same_rule_is_close_but_not_the_same() -> None:
    other = SIGNATURE.replace("respx", "httpx")

    assert similarity(SIGNATURE, other) == 0.86


def test_unrelated_failures_score_low() -> None:
    other = "npm.eresolve: npm error code ERESOLVE"

    assert similarity(SIGNATURE, other) == 0.0


def test_ranking_keeps_the_best_above_the_threshold_once_each() -> None:
    candidates = [
        candidate("inc_a", SIGNATURE),
        candidate("inc_a", SIGNATURE),
        candidate("inc_b", SIGNATURE.replace("respx", "httpx")),
        candidate("inc_c", "npm.eresolve: npm error code ERESOLVE"),
        *(candidate(f"inc_z{n}", SIGNATURE) for n in range(MAX_SIMILAR)),
    ]

    ranked = rank_similar(SIGNATURE, candidates)

    assert [match.candidate.incident_id for match in ranked] == [
        "inc_a",
        "inc_z0",
        "inc_z1",
        "inc_z2",
        "inc_z3",
    ]


def test_search_terms_are_the_most_distinctive_words() -> None:
    message = "ModuleNotFoundError: No module named 'respx' while collecting tests"

    assert search_terms(message) == "ModuleNotFoundError collecting module"
    assert search_terms("error: failed") is None


def test_a_resolved_match_with_a_fix_is_offered() -> None:
    ranked = rank_similar(
        SIGNATURE,
        [
            candidate("inc_open", SIGNATURE),
            candidate("inc_done", SIGNATURE, resolved=True, fix="Pin respx."),
            candidate("inc_nofix", SIGNATURE, resolved=True),
        ],
    )

    offered = fix_from_history(ranked)

    assert offered is not None
    assert offered.candidate.incident_id == "inc_done"
