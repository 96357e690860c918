"""PostgreSQL's `search_vector`: the expression that fills it, field by field.

Migration 0012 fills the column by a trigger with this expression (it keeps
its own copy, as migrations are frozen); the demo loader computes the same
vector for its rows and writes it itself, and tests compare the two. Each
field's words get the field's weight, and the fields' vectors are joined with
`||`, which continues each one's word positions after the highest position of
the fields before it.
"""

from __future__ import annotations

from collections.abc import Callable

# ASCII punctuation, symbols and control characters become spaces before
# PostgreSQL's parser sees the text, so that it finds the same words as FTS5's
# unicode61 tokenizer instead of its own file paths, URLs and version numbers.
SEPARATORS = r"'[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+'"
# The fields in the order their vectors are joined, each with its weight.
FIELDS: tuple[tuple[str, str], ...] = (
    ("error_message", "A"),
    ("root_cause", "B"),
    ("workflow", "C"),
    ("repository", "B"),
    ("error_log", "D"),
    ("tags", "C"),
)
# Fields whose column is not text: tags is jsonb, indexed as its JSON text.
NON_TEXT = frozenset({"tags"})


def field_vector(value: str, weight: str) -> str:
    """One field's weighted vector, `value` being an SQL text expression."""
    return (
        "setweight(to_tsvector('simple'::regconfig, regexp_replace("
        f"coalesce({value}, ''), {SEPARATORS}, ' ', 'g')), '{weight}')"
    )


def column_text(field: str, prefix: str = "") -> str:
    """The text of `field`'s column as the vector reads it."""
    return f"{prefix}{field}::text" if field in NON_TEXT else f"{prefix}{field}"


def search_vector(column: Callable[[str], str] = column_text) -> str:
    """The whole vector, with `column(field)` as each field's text expression."""
    return " || ".join(field_vector(column(field), weight) for field, weight in FIELDS)


# Over the incidents table's own columns, as a query or a check reads them.
POSTGRES_VECTOR = search_vector()
