"""Confidence that means what it says, measured on a labelled set of logs.

For every rule we count, over the labelled set, how often its verdict was the
right failure type. A rule seen only a few times borrows strength from its
tier (all rules of the same tier pooled): the confidence is the rule's hit
rate smoothed towards the tier's, with `pseudo_count` imaginary samples at the
tier's rate. When a rule of a different failure type scored almost as high
(the verdict is contested), the confidence is scaled by the factor measured on
the contested verdicts of the set. `unknown` always gets a low, fixed value.

The table is produced by `devflowfix analysis calibrate` and shipped with the
package; a test recomputes it from the labelled set and fails when it is stale.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from devflowfix.analysis.rules import Tier

TABLE_FILE = "calibration.json"
PSEUDO_COUNT = 3.0
CEILING = 0.97
UNKNOWN_CONFIDENCE = 0.1
CONTESTED_FLOOR = 0.3
# Until contested verdicts are measured, assume they are right 3 times in 4.
CONTESTED_PRIOR = 0.75
CONTESTED_PSEUDO_COUNT = 2.0


@dataclass(frozen=True)
class Tally:
    hits: int = 0
    total: int = 0

    def add(self, correct: bool) -> Tally:
        return Tally(self.hits + int(correct), self.total + 1)


@dataclass(frozen=True)
class Outcome:
    """One labelled log's verdict: which rule decided and whether it was right."""

    rule_id: str
    tier: Tier
    contested: bool
    correct: bool


@dataclass(frozen=True)
class Calibration:
    rules: Mapping[str, Tally] = field(default_factory=dict)
    tiers: Mapping[Tier, Tally] = field(default_factory=dict)
    contested_factor: float = 0.75

    def confidence(self, rule_id: str, tier: Tier, *, contested: bool) -> float:
        """The calibrated probability that this verdict names the right type."""
        tier_tally = self.tiers.get(tier, Tally())
        prior = (tier_tally.hits + 1) / (tier_tally.total + 2)

        tally = self.rules.get(rule_id, Tally())
        value = (tally.hits + PSEUDO_COUNT * prior) / (tally.total + PSEUDO_COUNT)
        value = min(value, CEILING)
        if contested:
            value *= self.contested_factor

        return round(value, 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "pseudo_count": PSEUDO_COUNT,
            "contested_factor": self.contested_factor,
            "tiers": {tier.name.lower(): _pair(t) for tier, t in self.tiers.items()},
            "rules": {rule_id: _pair(t) for rule_id, t in sorted(self.rules.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Calibration:
        return cls(
            rules={key: Tally(*value) for key, value in data["rules"].items()},
            tiers={
                Tier[key.upper()]: Tally(*value) for key, value in data["tiers"].items()
            },
            contested_factor=float(data["contested_factor"]),
        )


def _pair(tally: Tally) -> list[int]:
    return [tally.hits, tally.total]


def measure(outcomes: Iterable[Outcome]) -> Calibration:
    """Build the table from labelled outcomes (uncontested ones set the rates)."""
    outcomes = list(outcomes)
    rules: dict[str, Tally] = {}
    tiers: dict[Tier, Tally] = {}
    for outcome in outcomes:
        if outcome.contested:
            continue
        rules[outcome.rule_id] = rules.get(outcome.rule_id, Tally()).add(
            outcome.correct
        )
        tiers[outcome.tier] = tiers.get(outcome.tier, Tally()).add(outcome.correct)

    base = Calibration(rules=rules, tiers=tiers, contested_factor=1.0)
    contested = [outcome for outcome in outcomes if outcome.contested]
    expected = sum(
        base.confidence(item.rule_id, item.tier, contested=False) for item in contested
    )

    hits = sum(item.correct for item in contested)
    prior = CONTESTED_PSEUDO_COUNT * CONTESTED_PRIOR
    factor = (hits + prior) / (expected + CONTESTED_PSEUDO_COUNT)
    factor = min(1.0, max(CONTESTED_FLOOR, factor))

    return Calibration(rules=rules, tiers=tiers, contested_factor=round(factor, 3))


@cache
def shipped_calibration() -> Calibration:
    """The table measured on the project's labelled set, shipped in the package."""
    text = resources.files("devflowfix.analysis").joinpath(TABLE_FILE).read_text()
    return Calibration.from_json(json.loads(text))
