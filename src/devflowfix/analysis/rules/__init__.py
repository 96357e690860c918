"""The rule library, one module per family of tools."""

from __future__ import annotations

from devflowfix.analysis.rules import (
    access,
    delivery,
    javascript,
    jvm,
    native,
    platform,
    python,
    quality,
    scripting,
)
from devflowfix.analysis.rules.base import Rule, Tier, literals_in, rule

RULES: tuple[Rule, ...] = (
    *python.RULES,
    *javascript.RULES,
    *jvm.RULES,
    *native.RULES,
    *scripting.RULES,
    *delivery.RULES,
    *platform.RULES,
    *access.RULES,
    *quality.RULES,
)
RULES_BY_ID: dict[str, Rule] = {item.rule_id: item for item in RULES}
LITERALS: frozenset[str] = frozenset().union(*(item.literals for item in RULES))

__all__ = ["LITERALS", "RULES", "RULES_BY_ID", "Rule", "Tier", "literals_in", "rule"]
