"""Highlights: the words of a page's incidents that the search matched, marked.

Computed here rather than by either database, so both mark the same words:
the text is cut into words exactly as the full-text index cuts it, and every
run of words that matches a positive phrase of the query is wrapped in
`<mark>` tags. Fragments are HTML-escaped, so a client may insert them into a
page as they are. Excluded words are never marked.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from devflowfix.models import Incident
from devflowfix.search.fulltext import WORD, Phrase, TextQuery

# Long texts (the log above all) give the fragments around their first matches.
FRAGMENT_CONTEXT_CHARS = 60
MAX_FRAGMENTS = 3
WHOLE_TEXT_CHARS = 300

Span = tuple[int, int]


def highlight_incident(incident: Incident, query: TextQuery) -> dict[str, list[str]]:
    """Marked fragments per field of `incident`, for the fields that matched."""
    fields: dict[str, Iterable[str]] = {
        "error_message": [incident.error_message],
        "root_cause": [incident.root_cause or ""],
        "error_log": [incident.error_log or ""],
        "repository": [incident.repository or ""],
        "workflow": [incident.workflow or ""],
        "tags": list(incident.tags or ()),
    }

    highlights: dict[str, list[str]] = {}
    for name, texts in fields.items():
        fragments = [
            fragment
            for value in texts
            for fragment in fragments_of(value, query.positives)
        ]
        if fragments:
            highlights[name] = fragments[:MAX_FRAGMENTS]

    return highlights


def fragments_of(value: str, phrases: Iterable[Phrase]) -> list[str]:
    """`value` (or pieces of it, when long) with the matches of `phrases` marked."""
    spans = _merge(span for phrase in phrases for span in _matches(value, phrase))
    if not spans:
        return []
    if len(value) <= WHOLE_TEXT_CHARS:
        return [_mark(value, spans, 0, len(value))]
    return [_mark(value, spans, start, end) for start, end in _windows(value, spans)]


def _matches(value: str, phrase: Phrase) -> list[Span]:
    words = [(match.group().lower(), match.span()) for match in WORD.finditer(value)]
    size = len(phrase.words)
    found: list[Span] = []
    for index in range(len(words) - size + 1):
        window = words[index : index + size]
        if all(
            _word_matches(word, wanted, prefix=phrase.prefix and position == size - 1)
            for position, ((word, _), wanted) in enumerate(
                zip(window, phrase.words, strict=True)
            )
        ):
            found.append((window[0][1][0], window[-1][1][1]))

    return found


def _word_matches(word: str, wanted: str, *, prefix: bool) -> bool:
    return word.startswith(wanted) if prefix else word == wanted


def _merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _windows(value: str, spans: list[Span]) -> list[Span]:
    windows: list[Span] = []
    for start, end in spans:
        window = (
            max(0, start - FRAGMENT_CONTEXT_CHARS),
            min(len(value), end + FRAGMENT_CONTEXT_CHARS),
        )
        if windows and window[0] <= windows[-1][1]:
            windows[-1] = (windows[-1][0], window[1])
        elif len(windows) == MAX_FRAGMENTS:
            break
        else:
            windows.append(window)

    return windows


def _mark(value: str, spans: list[Span], start: int, end: int) -> str:
    parts = ["…" if start > 0 else ""]
    position = start
    for span_start, span_end in spans:
        if span_end <= start or span_start >= end:
            continue
        parts.append(html.escape(value[position:span_start]))
        parts.append(f"<mark>{html.escape(value[span_start:span_end])}</mark>")
        position = span_end

    parts.append(html.escape(value[position:end]))
    parts.append("…" if end < len(value) else "")

    return "".join(parts)
