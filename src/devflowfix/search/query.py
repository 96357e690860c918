"""The search-query language: words, "quoted phrases", -exclusions and prefix*."""

from __future__ import annotations

import re
from dataclasses import dataclass

from devflowfix.errors import ValidationFailed

MAX_TERMS = 32
_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')


@dataclass(frozen=True)
class Term:
    text: str
    phrase: bool = False
    negated: bool = False
    prefix: bool = False


def parse_query(query: str) -> list[Term]:
    """Split a user's query into terms; a query with nothing to match is a 422."""
    if query.count('"') % 2:
        query += '"'

    terms: list[Term] = []
    for match in _TOKEN.finditer(query):
        negated_phrase, phrase, word = match.groups()
        if phrase is not None:
            if phrase.strip():
                terms.append(
                    Term(phrase.strip(), phrase=True, negated=bool(negated_phrase))
                )
            continue
        terms.extend(_word_term(word))

    if len(terms) > MAX_TERMS:
        raise ValidationFailed.for_field(
            "search_query", f"A search has at most {MAX_TERMS} terms."
        )
    if not any(not term.negated for term in terms):
        raise ValidationFailed.for_field(
            "search_query",
            "The search needs at least one word to match, not only exclusions.",
        )

    return terms


def _word_term(word: str) -> list[Term]:
    negated = word.startswith("-") and len(word) > 1
    if negated:
        word = word[1:]
    prefix = word.endswith("*") and len(word.rstrip("*")) > 0
    word = word.rstrip("*") if prefix else word
    if not word or word == "-":
        return []
    return [Term(word, negated=negated, prefix=prefix)]
