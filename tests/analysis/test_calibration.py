"""The calibration arithmetic: smoothing towards the tier, contested verdicts."""

from __future__ import annotations

import pytest

from devflowfix.analysis.calibration import (
    CEILING,
    Calibration,
    Outcome,
    Tally,
    measure,
)
from devflowfix.analysis.rules import Tier


def outcomes(rule_id: str, hits: int, misses: int, **kwargs: bool) -> list[Outcome]:
    tier = Tier.CAUSE
    contested = kwargs.get("contested", False)
    return [Outcome(rule_id, tier, contested, True)] * hits + [
        Outcome(rule_id, tier, contested, False)
    ] * misses


def test_a_rule_seen_often_gets_its_own_hit_rate() -> None:
    table = measure(outcomes("a", 60, 40))

    assert table.rules["a"] == Tally(60, 100)
    assert table.confidence("a", Tier.CAUSE, contested=False) == pytest.approx(
        0.6, abs=0.01
    )


def test_a_rule_seen_rarely_leans_on_its_tier() -> None:
    table = measure(outcomes("common", 18, 2) + outcomes("rare", 0, 1))

    confidence = table.confidence("rare", Tier.CAUSE, contested=False)

    assert confidence == round((0 + 3 * (19 / 23)) / (1 + 3), 2)


def test_an_unseen_rule_gets_the_tier_rate() -> None:
    table = measure(outcomes("common", 9, 1))

    assert table.confidence("new", Tier.CAUSE, contested=False) == round(10 / 12, 2)


def test_contested_verdicts_are_scaled_by_their_measured_rate() -> None:
    table = measure(outcomes("a", 20, 0) + outcomes("a", 5, 5, contested=True))

    plain = table.confidence("a", Tier.CAUSE, contested=False)
    contested = table.confidence("a", Tier.CAUSE, contested=True)

    assert plain == CEILING
    assert table.contested_factor == round((5 + 2 * 0.75) / (10 * plain + 2), 3)
    assert contested == round(plain * table.contested_factor, 2)


def test_confidence_never_exceeds_the_ceiling() -> None:
    table = measure(outcomes("a", 500, 0))

    assert table.confidence("a", Tier.CAUSE, contested=False) == CEILING


def test_the_table_survives_json() -> None:
    table = measure(outcomes("a", 7, 3) + outcomes("b", 1, 1, contested=True))

    again = Calibration.from_json(table.to_json())

    assert again == table
