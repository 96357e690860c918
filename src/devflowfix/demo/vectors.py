"""Each demo row's `search_vector`, written by the loader instead of the server.

Computing the vector is most of the server's work per copied row; but the demo's
texts come from a few thousand bundles, so the server computes the vector of
each distinct text once, with the column's own expression per field
(`search.vectors`), and each row's vector is put together here the way
PostgreSQL's `||` joins the fields' vectors: every field's word positions
continue after the highest position of the fields before it.

A log excerpt's `logs.HOUR` placeholders take the row's 'YYYY-MM-DDTHH'. The
log's vector is computed with three marker words in their place, and a row's
hour words take the markers' positions. A repeated word needs no merging here:
PostgreSQL's tsvector input merges the positions of a word listed twice.

Whenever one of these assumptions does not hold for a bundle (a placeholder
that is not cut off from its neighbours, markers that do not come out as three
consecutive words, too many positions of one word, positions past the limit),
its rows get no vector, and the insert trigger computes theirs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Engine, text

from devflowfix.demo.bundles import Pipeline
from devflowfix.demo.logs import HOUR
from devflowfix.search.vectors import FIELDS, NON_TEXT, field_vector

# Stand-ins for the three words of 'YYYY-MM-DDTHH' ('2026', '12', '03t17').
MARKERS = ("zqhourmarkera", "zqhourmarkerb", "zqhourmarkerc")
MARKED_HOUR = " ".join(MARKERS)
# A word keeps at most 256 positions, and a position is at most 16,383: below
# both, joining vectors and reading a vector's text drop nothing.
MAX_WORD_POSITIONS = 255
MAX_POSITION = 16_382
# Characters that the vector's separator pass turns into spaces.
SEPARATOR = re.compile(r"[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]")
# One word of a tsvector's text: the quoted lexeme and its positions.
ENTRY = re.compile(r"'((?:[^']|'')*)'(?::([0-9A-D,]+))?")
WEIGHT_LETTERS = {"A": "A", "B": "B", "C": "C", "D": ""}
QUERY_CHUNK = 2_000
# Each field's weight, in the order the column's expression joins them.
_WEIGHTS = dict(FIELDS)
QUERY_STREAMS = 2

Words = list[tuple[str, list[int]]]


def parse(vector: str) -> Words:
    """The words of a tsvector's text, each with its positions."""
    return [
        (lexeme, [int(p.rstrip("ABCD")) for p in positions.split(",")])
        for lexeme, positions in ENTRY.findall(vector)
        if positions
    ]


def highest(words: Words) -> int:
    # A tsvector's text lists each word's positions in ascending order.
    return max([positions[-1] for _, positions in words], default=0)


def most_positions(words: Words) -> int:
    return max([len(positions) for _, positions in words], default=0)


def render(words: Words, shift: int, weight: str) -> str:
    """`words` as tsvector text, positions moved on by `shift`, with `weight`."""
    letter = WEIGHT_LETTERS[weight]
    rendered = []
    for lexeme, positions in words:
        if len(positions) == 1:
            rendered.append(f"'{lexeme}':{positions[0] + shift}{letter}")
        else:
            moved = ",".join([f"{p + shift}{letter}" for p in positions])
            rendered.append(f"'{lexeme}':{moved}")
    return " ".join(rendered)


@dataclass(frozen=True, slots=True)
class _Log:
    """A log excerpt's vector without the hour words, and where they go."""

    words: Words
    highest: int
    # Positions of the hour's first, second and third words; empty without HOUR.
    hours: tuple[list[int], list[int], list[int]] | None


@dataclass(frozen=True, slots=True)
class _Variant:
    """What a row of one bundle's shares, analysed or not, ready to join."""

    static: str
    # The hour words' positions as text, or None when the log has no HOUR.
    hours: tuple[str, str, str] | None
    tags: tuple[str, ...]


class RowVectors:
    """The tsvector text of demo rows, from their bundle, tags and hour."""

    def __init__(
        self,
        pipelines: Sequence[Pipeline],
        fields: dict[str, dict[str, str]],
        hour_words: dict[int, tuple[str, str, str] | None],
    ) -> None:
        self.pipelines = pipelines
        self.fields = fields
        self.hour_words = hour_words
        # Per (pipeline, bundle, analysed): some 28,000 at a million rows,
        # 1.7 KB each. Each bundle's parsed texts are dropped once both of its
        # variants are made.
        self.variants: dict[tuple[int, int, bool], _Variant | None] = {}

    def text(
        self, pipeline: int, bundle: int, analysed: bool, tags: int, hour: int
    ) -> str | None:
        """The row's vector as tsvector text; None leaves it to the trigger."""
        key = (pipeline, bundle, analysed)
        try:
            variant = self.variants[key]
        except KeyError:
            self._make(pipeline, bundle)
            variant = self.variants[key]
        if variant is None:
            return None
        if variant.hours is None:
            return variant.static + variant.tags[tags]

        words = self.hour_words.get(hour)
        if words is None:
            return None
        first, second, third = variant.hours
        return (
            f"{variant.static} '{words[0]}':{first} '{words[1]}':{second} "
            f"'{words[2]}':{third}{variant.tags[tags]}"
        )

    def _make(self, pipeline: int, bundle: int) -> None:
        """Both variants of a bundle's rows: analysed, and without a root cause."""
        source = self.pipelines[pipeline]
        item = source.bundles[bundle]
        fields = self.fields
        marked = _marked(item.error_log)
        log = (
            None if marked is None else _split_log(fields["error_log"][marked], marked)
        )
        message = parse(fields["error_message"][item.error_message])
        root_cause = parse(fields["root_cause"][item.root_cause])
        workflow = parse(fields["workflow"][item.workflow])
        repository = parse(fields["repository"][source.repository.slug])
        tags = [parse(fields["tags"][tags_json]) for _, tags_json in item.tag_choices]
        for analysed in (True, False):
            parts = [
                (message, "A"),
                (root_cause if analysed else [], "B"),
                (workflow, "C"),
                (repository, "B"),
            ]
            self.variants[(pipeline, bundle, analysed)] = (
                None if log is None else _variant(parts, log, tags)
            )


def _variant(
    parts: list[tuple[Words, str]], log: _Log, tags: list[Words]
) -> _Variant | None:
    """A row's vector but for its hour words and tags, and the tags' choices."""
    shift, rendered, seen = 0, [], _Counter()
    for words, weight in parts:
        if words:
            rendered.append(render(words, shift, weight))
        seen.add(words)
        shift += highest(words)
    if log.words:
        rendered.append(render(log.words, shift, "D"))
    seen.add(log.words)
    hours = None
    if log.hours is not None:
        hours = _hour_positions(log.hours, shift)
        seen.add_positions(3 * len(log.hours[0]))
    shift += log.highest

    choices: list[str] = []
    tag_counts = 0
    for words in tags:
        choices.append(" " + render(words, shift, "C") if words else "")
        tag_counts = max(tag_counts, most_positions(words))
        if highest(words) + shift > MAX_POSITION:
            return None

    if seen.most + tag_counts > MAX_WORD_POSITIONS or shift > MAX_POSITION:
        return None
    return _Variant(" ".join(rendered), hours, tuple(choices))


class _Counter:
    """A bound on any word's positions in a row: its most in one part, summed."""

    def __init__(self) -> None:
        self.most = 0

    def add(self, words: Words) -> None:
        self.most += most_positions(words)

    def add_positions(self, positions: int) -> None:
        self.most += positions


def _hour_positions(
    hours: tuple[list[int], list[int], list[int]], shift: int
) -> tuple[str, str, str]:
    first, second, third = (
        ",".join(str(position + shift) for position in positions) for positions in hours
    )
    return first, second, third


def _marked(log: str) -> str | None:
    """The log with markers for HOUR; None if an HOUR touches a word."""
    start = 0
    while (found := log.find(HOUR, start)) >= 0:
        before = log[found - 1] if found else " "
        after = log[found + 1] if found + 1 < len(log) else " "
        if not (SEPARATOR.match(before) and SEPARATOR.match(after)):
            return None
        start = found + 1
    return log.replace(HOUR, MARKED_HOUR)


def _split_log(vector: str, marked: str) -> _Log | None:
    """The marked log's words apart from the markers, whose positions must be
    three consecutive ones for every HOUR."""
    words = parse(vector)
    occurrences = marked.count(MARKED_HOUR)
    found = dict(word for word in words if word[0] in MARKERS)
    rest = [word for word in words if word[0] not in MARKERS]
    if occurrences == 0:
        return None if found else _Log(rest, highest(words), None)

    firsts, seconds, thirds = (sorted(found.get(marker, [])) for marker in MARKERS)
    if len(firsts) != occurrences or any(
        len(positions) != occurrences for positions in (seconds, thirds)
    ):
        return None
    for first, second, third in zip(firsts, seconds, thirds, strict=True):
        if (second, third) != (first + 1, first + 2):
            return None
    return _Log(rest, highest(words), (firsts, seconds, thirds))


def compute_row_vectors(
    engine: Engine,
    pipelines: Sequence[Pipeline],
    hours: Iterable[int],
    hour_text: Callable[[int], str],
) -> RowVectors:
    """Ask the server for every distinct text's vector, field by field."""
    texts: dict[str, set[str]] = {field: set() for field in _WEIGHTS}
    for pipeline in pipelines:
        texts["repository"].add(pipeline.repository.slug)
        for bundle in pipeline.bundles:
            texts["error_message"].add(bundle.error_message)
            texts["root_cause"].add(bundle.root_cause)
            texts["workflow"].add(bundle.workflow)
            marked = _marked(bundle.error_log)
            if marked is not None:
                texts["error_log"].add(marked)
            texts["tags"].update(tags_json for _, tags_json in bundle.tag_choices)

    hour_texts = {hour: hour_text(hour) for hour in hours}
    jobs = [
        (field, weight, chunk)
        for field, weight, values in (
            *(
                (field, _WEIGHTS[field], sorted(values))
                for field, values in texts.items()
            ),
            ("hour", "D", sorted(set(hour_texts.values()))),
        )
        for chunk in _chunks(values, QUERY_CHUNK)
    ]
    # The logs are most of the work: two connections share it.
    jobs.sort(key=lambda job: -sum(len(value) for value in job[2]))
    with ThreadPoolExecutor(QUERY_STREAMS, thread_name_prefix="demo-vectors") as pool:
        results = list(pool.map(lambda job: _field_vectors(engine, *job), jobs))

    fields: dict[str, dict[str, str]] = {field: {} for field in (*texts, "hour")}
    for (field, _, chunk), vectors in zip(jobs, results, strict=True):
        fields[field].update(zip(chunk, vectors, strict=True))
    by_text = fields.pop("hour")
    hour_words = {
        hour: _hour_words(by_text[value]) for hour, value in hour_texts.items()
    }
    return RowVectors(pipelines, fields, hour_words)


def _chunks(values: list[str], size: int) -> list[list[str]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


def _field_vectors(
    engine: Engine, field: str, weight: str, values: list[str]
) -> list[str]:
    # tags is jsonb in the table: its text is the jsonb's, not the JSON given.
    value = "CAST(CAST(u.value AS jsonb) AS text)" if field in NON_TEXT else "u.value"
    query = text(
        f"SELECT CAST({field_vector(value, weight)} AS text) "  # noqa: S608
        "FROM unnest(CAST(:values AS text[])) WITH ORDINALITY AS u(value, n) "
        "ORDER BY u.n"
    )
    with engine.connect() as connection:
        return list(connection.scalars(query, {"values": values}))


def _hour_words(vector: str) -> tuple[str, str, str] | None:
    """The hour's three words in order, if it is three words."""
    at: dict[int, str] = {}
    for lexeme, positions in parse(vector):
        for position in positions:
            at[position] = lexeme
    if sorted(at) != [1, 2, 3]:
        return None
    return at[1], at[2], at[3]
