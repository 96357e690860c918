"""How alike two failures are, from their error signatures.

A signature is the deciding rule and the error message with everything that
changes between runs (numbers, hashes, paths, times) blanked out. Two
incidents with the same signature score 1.0; otherwise the score is the
overlap of their signature words (Jaccard), with a bonus when the same rule
decided both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

WORD = re.compile(r"[a-z][a-z0-9_.\-]{1,60}")
SEARCH_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,40}")
SAME_RULE_BONUS = 0.15
MIN_SCORE = 0.35
MAX_SIMILAR = 5
MAX_SEARCH_TERMS = 3
COMMON_WORDS = frozenset(
    {
        "error",
        "errors",
        "failed",
        "failure",
        "fatal",
        "with",
        "from",
        "this",
        "that",
        "exit",
        "code",
        "could",
        "cannot",
        "found",
        "line",
        "file",
        "none",
        "true",
        "false",
        "test",
        "tests",
    }
)


@dataclass(frozen=True)
class Candidate:
    """A past incident as the similarity search sees it."""

    incident_id: str
    signature: str
    failure_type: str
    resolved: bool
    suggested_fix: str | None


@dataclass(frozen=True)
class Match:
    candidate: Candidate
    score: float

    def as_json(self) -> dict[str, object]:
        return {
            "incident_id": self.candidate.incident_id,
            "score": self.score,
            "failure_type": self.candidate.failure_type,
            "resolved": self.candidate.resolved,
        }


def words_of(signature: str) -> frozenset[str]:
    return frozenset(WORD.findall(signature.lower()))


def rule_of(signature: str) -> str:
    return signature.split(":", 1)[0]


def similarity(signature: str, other: str) -> float:
    """1.0 for the same signature; else word overlap, plus a same-rule bonus."""
    if signature == other:
        return 1.0

    mine, theirs = words_of(signature), words_of(other)
    if not mine or not theirs:
        return 0.0

    score = len(mine & theirs) / len(mine | theirs)
    if rule_of(signature) == rule_of(other):
        score += SAME_RULE_BONUS

    return round(min(score, 0.99), 2)


def rank_similar(signature: str, candidates: Iterable[Candidate]) -> list[Match]:
    """The most similar candidates above `MIN_SCORE`, best first."""
    unique = {candidate.incident_id: candidate for candidate in candidates}
    matches = [
        Match(candidate, similarity(signature, candidate.signature))
        for candidate in unique.values()
    ]
    kept = [match for match in matches if match.score >= MIN_SCORE]
    kept.sort(key=lambda match: (-match.score, match.candidate.incident_id))
    return kept[:MAX_SIMILAR]


def search_terms(message: str) -> str | None:
    """A few distinctive words of an error message, for a text search."""
    words = [
        word
        for word in dict.fromkeys(SEARCH_WORD.findall(message))
        if word.lower() not in COMMON_WORDS
    ]
    words.sort(key=len, reverse=True)
    return " ".join(words[:MAX_SEARCH_TERMS]) or None


def fix_from_history(
    matches: Iterable[Match], *, min_score: float = 0.5
) -> Match | None:
    """The best match that was resolved and says what fixed it."""
    for match in matches:
        if (
            match.score >= min_score
            and match.candidate.resolved
            and (match.candidate.suggested_fix)
        ):
            return match
    return None
