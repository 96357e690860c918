"""The rule library: every rule's examples match, templates fill, patterns are safe."""

from __future__ import annotations

import re

import pytest

from devflowfix.analysis.rules import RULES, Rule
from devflowfix.analysis.rules.base import NOT_SHOWN, PLACEHOLDER
from devflowfix.vocabulary import FailureType

# An unbounded quantifier (`*`, `+`, `{n,}`) applied to a group that itself
# holds one is how regexes backtrack catastrophically.
NESTED_UNBOUNDED = re.compile(
    r"\((?:[^()\\]|\\.)*(?:[*+]|\{\d+,\})(?:[^()\\]|\\.)*\)(?:[*+]|\{\d+,\})"
)
UNBOUNDED = re.compile(r"(?<!\\)(?:[*+]|\{\d+,\})")
CHARACTER_CLASS = re.compile(r"\[(?:[^\]\\]|\\.)*\]")


def quantifiers_of(pattern: str) -> str:
    """The pattern without its character classes, whose `+` and `*` are literal."""
    return CHARACTER_CLASS.sub("C", pattern)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.rule_id)
def test_every_example_matches_and_passes_the_prefilter(rule: Rule) -> None:
    for example in rule.examples:
        match = rule.pattern.search(example)

        assert match is not None, example
        assert rule.applies_to(example.lower()), example


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.rule_id)
def test_templates_name_only_the_patterns_groups(rule: Rule) -> None:
    groups = {name.rstrip("0123456789") for name in rule.pattern.groupindex}
    if rule.collect:
        groups.add(f"{rule.collect}_list")

    for template in (rule.root_cause, rule.suggested_fix):
        assert set(PLACEHOLDER.findall(template)) <= groups, template
        assert template.count("[") == template.count("]"), template


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.rule_id)
def test_examples_give_a_cause_without_gaps(rule: Rule) -> None:
    match = rule.pattern.search(rule.examples[0])
    assert match is not None

    root_cause, suggested_fix = rule.describe([match])

    assert root_cause.endswith(".")
    assert not PLACEHOLDER.search(root_cause)
    assert "[" not in root_cause or "[" in rule.examples[0]
    assert suggested_fix


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.rule_id)
def test_patterns_have_no_unbounded_or_nested_quantifiers(rule: Rule) -> None:
    pattern = quantifiers_of(rule.pattern.pattern)

    assert not NESTED_UNBOUNDED.search(pattern), rule.pattern.pattern
    assert not UNBOUNDED.search(pattern), rule.pattern.pattern


def test_rule_ids_are_unique() -> None:
    ids = [rule.rule_id for rule in RULES]

    assert len(ids) == len(set(ids))


def test_every_failure_type_has_rules() -> None:
    covered = {rule.failure_type for rule in RULES}

    assert covered == set(FailureType)


def test_a_group_the_match_left_empty_reads_as_not_shown() -> None:
    rule = next(rule for rule in RULES if rule.rule_id == "jvm.class_version")
    match = rule.pattern.search("error: release version 21 not supported")
    assert match is not None

    root_cause, _ = rule.describe([match])

    assert root_cause == (
        "The job's JDK is older than the code needs: release 21 is not supported."
    )
    assert NOT_SHOWN not in root_cause


def test_collected_values_are_listed_with_a_count_of_the_rest() -> None:
    rule = next(rule for rule in RULES if rule.rule_id == "go.test_failed")
    text = "\n".join(f"--- FAIL: TestCase{n} (0.01s)" for n in range(5))

    root_cause, _ = rule.describe(list(rule.pattern.finditer(text)))

    assert root_cause == ("Go test failed: TestCase0, TestCase1, TestCase2 and 2 more.")
