"""What a rule is: a pattern that names a failure type and explains it.

A rule's pattern finds the evidence; its keywords are lower-case literals of
which at least one appears in any text the pattern matches (and `requires`
literals all of which do), so the matcher can skip a rule with substring tests
before running its regex. Its `root_cause`
and `suggested_fix` are templates filled from the pattern's named groups.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from devflowfix.analysis.paths import workspace_relative
from devflowfix.vocabulary import FailureType

MAX_VALUE_CHARS = 160
NOT_SHOWN = "(not shown in the log)"
PATH_GROUPS = frozenset({"file", "path", "directory", "location"})
OPTIONAL_PART = re.compile(r"\[([^\[\]]*)\]")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


class Tier(IntEnum):
    """How much a match says: a cause outranks a tool's verdict, which outranks
    a generic failure line. Within a tier, a rule's `weight` (0-2) breaks ties:
    the runner's limits (network, disk, memory, credentials) explain the
    ecosystem errors they cause, so their rules weigh more.

    A rule sees warning lines only when `on_warnings` is set: some tools print
    their failing verdict as a warning (Prettier, the Go race detector)."""

    GENERIC = 1
    TOOL = 2
    CAUSE = 3


@dataclass(frozen=True)
class Rule:
    rule_id: str
    failure_type: FailureType
    tier: Tier
    pattern: re.Pattern[str]
    keywords: tuple[str, ...]
    root_cause: str
    suggested_fix: str
    examples: tuple[str, ...]
    collect: str | None = None
    weight: int = 0
    on_warnings: bool = False
    requires: tuple[str, ...] = ()

    def applies_to(self, lowered: str) -> bool:
        """Whether the rule's literals are in `lowered`, so its regex may match."""
        return self.applies_given(literals_in(lowered, self.literals))

    def applies_given(self, present: frozenset[str]) -> bool:
        """Whether the rule may match a text that contains exactly `present`
        of the library's literals."""
        return not present.isdisjoint(self.keywords) and present.issuperset(
            self.requires
        )

    @property
    def literals(self) -> frozenset[str]:
        return frozenset(self.keywords) | frozenset(self.requires)

    def describe(self, matches: Sequence[re.Match[str]]) -> tuple[str, str]:
        """The root cause sentence and the fix, filled from the matches (the
        first match that has a value gives it)."""
        values: dict[str, Any] = {}
        for match in matches:
            for name, value in _clean(match.groupdict()).items():
                values.setdefault(name, value)

        if self.collect:
            values[f"{self.collect}_list"] = _listing(
                [match.group(self.collect) for match in matches]
            )

        return fill(self.root_cause, values), fill(self.suggested_fix, values)


class _Values(dict[str, Any]):
    """Template values; a group the match did not fill reads as a hint."""

    def __missing__(self, key: str) -> str:
        return NOT_SHOWN


def literals_in(lowered: str, literals: frozenset[str]) -> frozenset[str]:
    """Those of `literals` that occur in `lowered`."""
    return frozenset(literal for literal in literals if literal in lowered)


def fill(template: str, values: dict[str, Any]) -> str:
    """Format `template`; a `[...]` part is kept only when its values exist."""

    def optional(part: re.Match[str]) -> str:
        names = PLACEHOLDER.findall(part.group(1))
        return part.group(1) if all(name in values for name in names) else ""

    return OPTIONAL_PART.sub(optional, template).format_map(_Values(values))


def _clean(groups: Mapping[str, str | None]) -> dict[str, str]:
    # A pattern with alternatives names a group `file2` where the first
    # alternative has `file`; whichever matched fills `file`.
    cleaned: dict[str, str] = {}
    for name, value in groups.items():
        if value is None:
            continue
        text = " ".join(value.split())
        name = name.rstrip("0123456789")
        if name in PATH_GROUPS:
            text = workspace_relative(text)
        if len(text) > MAX_VALUE_CHARS:
            text = text[: MAX_VALUE_CHARS - 3] + "..."

        cleaned.setdefault(name, text.rstrip("."))

    return cleaned


def _listing(values: Sequence[str | None]) -> str:
    distinct = list(dict.fromkeys(" ".join(v.split()) for v in values if v))
    if not distinct:
        return NOT_SHOWN
    if len(distinct) <= 3:
        return ", ".join(distinct)
    return ", ".join(distinct[:3]) + f" and {len(distinct) - 3} more"


def rule(
    rule_id: str,
    failure_type: FailureType,
    tier: Tier,
    pattern: str,
    *,
    keywords: Sequence[str],
    cause: str,
    fix: str,
    examples: Sequence[str],
    collect: str | None = None,
    ignore_case: bool = False,
    weight: int = 0,
    on_warnings: bool = False,
    requires: Sequence[str] = (),
) -> Rule:
    """A rule with its pattern compiled for multi-line text."""
    flags = re.MULTILINE | (re.IGNORECASE if ignore_case else 0)
    return Rule(
        rule_id=rule_id,
        failure_type=failure_type,
        tier=tier,
        pattern=re.compile(pattern, flags),
        keywords=tuple(keyword.lower() for keyword in keywords),
        root_cause=cause,
        suggested_fix=fix,
        examples=tuple(examples),
        collect=collect,
        weight=weight,
        on_warnings=on_warnings,
        requires=tuple(literal.lower() for literal in requires),
    )
