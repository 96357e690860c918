"""Full-text matching: FTS5 on SQLite, a tsvector with a GIN index on PostgreSQL.

Both databases index error_message, root_cause, error_log, repository, workflow
and tags, and both cut text into the same words: every run of letters and
digits is one lower-cased word, everything else separates words. So
`ModuleNotFoundError` is one word, `npm ERR!` is `npm err`, and `src/app.py:42`
is the four words `src app py 42`. A search term that cuts into several words
is matched as a phrase, so `src/app.py:42` finds exactly that sequence.

Migration 0002_search creates the index objects; this module builds the match
expressions and hides every difference between the two databases.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ClauseElement,
    Column,
    ColumnElement,
    Float,
    Select,
    and_,
    bindparam,
    column,
    exists,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors

from devflowfix.db.hints import SelectT, indexed_by
from devflowfix.errors import ValidationFailed
from devflowfix.models import Incident
from devflowfix.search.query import Term, parse_query
from devflowfix.search.schemas import IncidentFilters
from devflowfix.vocabulary import FailureType, Outcome, Severity, Source

# The covering index of incident ids with every filter column (0002_search),
# and SQLite's narrow one with the team and the facets only (0014), whose
# entries are a third as wide: a statement that reads no other column of the
# incidents looks its ids up there.
ID_INDEX = "ix_incidents_search_id"
FACET_INDEX = "ix_incidents_search_facets"
FACET_INDEX_COLUMNS = frozenset(
    {"id", "team_id", "severity", "source", "outcome", "failure_type"}
)
FTS_TABLE = table("incidents_fts", column("rowid"), column("incidents_fts"))
SEARCH_VECTOR = literal_column("incidents.search_vector", TSVECTOR)

# A word is a run of letters and digits; `_` separates, as in FTS5's unicode61.
WORD = re.compile(r"[^\W_]+")
# PostgreSQL does not index words longer than 2,047 bytes.
MAX_WORD_CHARS = 500
MAX_PHRASE_WORDS = 64
# Column weights of BM25 on SQLite, in FTS5 column order. PostgreSQL gives the
# same columns the weights A (error_message), B (root cause, repository), C
# (workflow, tags) and D (error_log) in the generated column.
# The seventh column holds the facet words, which no user query reaches.
BM25_WEIGHTS = (4.0, 2.0, 1.0, 2.0, 1.5, 1.5, 0.0)
# The seventh column of the FTS5 table holds each incident's facets as words
# (0015), which a search's count matches together with the text, so that
# FTS5 intersects the lists itself. A query with a word that could match a
# facet word is restricted to the six text columns; others go without the
# restriction, which costs FTS5 a look at every match's columns (5,000
# matches of `npm`: 0.57 ms instead of 0.45).
FTS5_TEXT_COLUMNS = "{error_message root_cause error_log repository workflow tags}"
VECTOR_WEIGHTS = "ABCD"


def facet_word(prefix: str, value: str) -> str:
    """One facet word of the `search_facets` column: the prefix, then the value
    without the underscores FTS5 splits on (the severity as its rank)."""
    return prefix + value.replace("_", "")


# Each facet filter of IncidentFilters with the prefix of its words and every
# value it can take.
FACET_FILTERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("severities", "sev", tuple(Severity)),
    ("sources", "src", tuple(Source)),
    ("outcomes", "out", tuple(Outcome)),
    ("failure_types", "fail", tuple(FailureType)),
)


def _facet_value(prefix: str, value: str) -> str:
    return str(Severity(value).rank) if prefix == "sev" else str(value)


FACET_WORDS = frozenset(
    facet_word(prefix, _facet_value(prefix, value))
    for _, prefix, values in FACET_FILTERS
    for value in values
)


def words_of(text: str) -> list[str]:
    """The words full-text search sees in `text`."""
    return [word.lower() for word in WORD.findall(text)]


@dataclass(frozen=True, slots=True)
class Phrase:
    """Consecutive words; with `prefix`, the last word only has to start so."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class TextQuery:
    """A search query cut into words: every positive phrase, no negative one."""

    positives: tuple[Phrase, ...]
    negatives: tuple[Phrase, ...] = ()

    def fts5(self) -> str:
        """The FTS5 MATCH expression; every word is quoted, so none is syntax."""
        positive = " AND ".join(_fts5_phrase(phrase) for phrase in self.positives)
        if not self.negatives:
            return positive
        negative = " OR ".join(_fts5_phrase(phrase) for phrase in self.negatives)
        return f"({positive}) NOT ({negative})"

    @property
    def reaches_facets(self) -> bool:
        """True when a word or prefix of the query could match a facet word."""
        for phrase in (*self.positives, *self.negatives):
            *whole, last = (word.lower() for word in phrase.words)
            if any(word in FACET_WORDS for word in whole):
                return True
            if phrase.prefix:
                if any(facet.startswith(last) for facet in FACET_WORDS):
                    return True
            elif last in FACET_WORDS:
                return True
        return False

    @property
    def prefixed(self) -> bool:
        """True when a phrase ends in a prefix: FTS5 then merges every word's list."""
        return any(phrase.prefix for phrase in (*self.positives, *self.negatives))

    def tsquery(self) -> str:
        """The tsquery text, used verbatim as a `tsquery` (no parser involved)."""
        parts = [_tsquery_phrase(phrase) for phrase in self.positives]
        parts.extend(f"!{_tsquery_phrase(phrase)}" for phrase in self.negatives)
        return " & ".join(parts)

    def index_tsquery(self) -> str | None:
        """A looser tsquery for the GIN index, or None when `tsquery` is as good.

        A phrase is one alternative per weight, and the GIN index cannot tell
        that each needs all of the phrase's words, so it merges their whole
        posting lists (`exit code 137`: 48 ms). Every word of every positive
        phrase, without weights, skips through the rarest word's list instead
        (12 ms); the exact query then checks the few incidents it finds.
        """
        if all(len(phrase.words) == 1 for phrase in self.positives):
            return None
        lexemes = dict.fromkeys(
            _lexeme(word, prefix=phrase.prefix and last)
            for phrase in self.positives
            for word, last in _with_last(phrase.words)
        )
        return " & ".join(lexemes)


def _fts5_phrase(phrase: Phrase) -> str:
    quoted = '"' + " ".join(phrase.words) + '"'
    return quoted + " *" if phrase.prefix else quoted


def _tsquery_phrase(phrase: Phrase) -> str:
    if len(phrase.words) == 1:
        return _lexeme(phrase.words[0], prefix=phrase.prefix)

    # One weight throughout keeps the phrase inside one field (see 0002_search).
    # TODO: the GIN index knows words, not their order, so a phrase of common
    # words rechecks the vector of every incident holding all of them
    # (`package.json`: 3,668 incidents at a million, none a match; 16 ms).
    # TODO: tsvector positions stop at 16,383, so a phrase past that word of an
    # incident's texts (a long log) is not found on PostgreSQL.
    alternatives = [
        " <-> ".join(
            _lexeme(word, prefix=phrase.prefix and last, weight=weight)
            for word, last in _with_last(phrase.words)
        )
        for weight in VECTOR_WEIGHTS
    ]

    return "(" + " | ".join(f"({alternative})" for alternative in alternatives) + ")"


def _lexeme(word: str, *, prefix: bool, weight: str = "") -> str:
    marks = ("*" if prefix else "") + weight
    return f"'{word}'" + (f":{marks}" if marks else "")


def _with_last(words: tuple[str, ...]) -> list[tuple[str, bool]]:
    return [(word, index == len(words) - 1) for index, word in enumerate(words)]


def compile_query(search_query: str) -> TextQuery:
    """The words to match for a user's query; nothing matchable is a 422."""
    positives: list[Phrase] = []
    negatives: list[Phrase] = []
    for term in parse_query(search_query):
        phrase = _phrase_of(term)
        if phrase is not None:
            (negatives if term.negated else positives).append(phrase)

    if not positives:
        raise ValidationFailed.for_field(
            "search_query",
            "The search needs at least one word or number to match; punctuation "
            "and symbols alone match nothing.",
        )

    return TextQuery(tuple(positives), tuple(negatives))


def _phrase_of(term: Term) -> Phrase | None:
    words = words_of(term.text)
    if not words:
        return None
    if any(len(word) > MAX_WORD_CHARS for word in words):
        raise ValidationFailed.for_field(
            "search_query",
            f"A word of the search is longer than {MAX_WORD_CHARS} characters.",
        )
    if len(words) > MAX_PHRASE_WORDS:
        raise ValidationFailed.for_field(
            "search_query", f"A phrase of the search has over {MAX_PHRASE_WORDS} words."
        )

    return Phrase(tuple(words), prefix=term.prefix)


def _fts5_match(query: TextQuery, facets: Sequence[str] = ()) -> ColumnElement[bool]:
    expression = query.fts5()
    if query.reaches_facets:
        expression = f"{FTS5_TEXT_COLUMNS} : ({expression})"
    if facets:
        clauses = " AND ".join(f"search_facets : ({clause})" for clause in facets)
        expression = f"({expression}) AND {clauses}"
    return FTS_TABLE.c.incidents_fts.op("MATCH")(bindparam(None, expression))


def facet_clauses(filters: IncidentFilters) -> tuple[str, ...]:
    """The facet filters as FTS5 clauses of facet words, one per filter.

    The words are those of the `search_facets` column (migration 0015): the
    severity's rank, the other values without the underscores FTS5 splits on.
    """
    clauses = []
    for field, prefix, _ in FACET_FILTERS:
        values = getattr(filters, field) or ()
        if values:
            words = [
                facet_word(prefix, _facet_value(prefix, value)) for value in values
            ]
            clauses.append(" OR ".join(words))
    return tuple(clauses)


def _tsquery_of(query: TextQuery) -> ColumnElement[object]:
    return bindparam(None, query.tsquery(), type_=TSQUERY)


def fts5_matches(query: TextQuery) -> Select[int]:
    """The ids of every incident (of any team) whose text matches, on SQLite."""
    return select(FTS_TABLE.c.rowid).where(_fts5_match(query))


def matches_by_index(query: TextQuery, dialect: str) -> ColumnElement[bool]:
    """The text condition as a set lookup: good when few incidents match."""
    if dialect == "sqlite":
        return Incident.id.in_(fts5_matches(query))
    loose = query.index_tsquery()
    if loose is None:
        return SEARCH_VECTOR.op("@@")(_tsquery_of(query))
    # As a function call the exact test is a filter the index cannot take.
    return and_(
        SEARCH_VECTOR.op("@@")(bindparam(None, loose, type_=TSQUERY)),
        func.ts_match_vq(SEARCH_VECTOR, _tsquery_of(query)),
    )


def matches_row_by_row(query: TextQuery, dialect: str) -> ColumnElement[bool]:
    """The text condition checked per incident: good when most of them match.

    Used while walking an ordered index, so that a broad query stops after one
    page instead of collecting every match first. PostgreSQL checks the stored
    vector of the row itself; the caller turns bitmap scans off for the query.
    """
    if dialect == "sqlite":
        return exists(
            select(literal(1))
            .select_from(FTS_TABLE)
            .where(FTS_TABLE.c.rowid == Incident.id, _fts5_match(query))
        )

    return SEARCH_VECTOR.op("@@")(_tsquery_of(query))


def text_query_of(filters: IncidentFilters) -> TextQuery | None:
    """The compiled `search_query` of `filters`; None when it is empty or blank."""
    if filters.search_query is None or not filters.search_query.strip():
        return None
    return compile_query(filters.search_query)


def relevance_score(query: TextQuery, dialect: str) -> ColumnElement[float]:
    """Higher is more relevant: BM25 on SQLite, ts_rank on PostgreSQL.

    FTS5's bm25() is lower for better matches, so it is negated. On SQLite the
    expression is only valid in a query that reads `incidents_fts` with MATCH.
    """
    if dialect == "sqlite":
        weights = [literal(weight, Float) for weight in BM25_WEIGHTS]
        return -func.bm25(literal_column("incidents_fts"), *weights)
    return func.ts_rank(SEARCH_VECTOR, _tsquery_of(query)).cast(Float)


def fts5_ranked_matches(
    query: TextQuery, extra: list[ColumnElement[bool]]
) -> Select[int, float]:
    """Matching ids with their score on SQLite, joined to the incidents.

    `extra` are conditions on the incidents columns; the FTS5 table drives, so
    its rows come in id order.
    """
    score = relevance_score(query, "sqlite").label("score")
    return (
        select(FTS_TABLE.c.rowid.label("incident_id"), score)
        .select_from(FTS_TABLE)
        .join(Incident, Incident.id == FTS_TABLE.c.rowid)
        .where(_fts5_match(query), and_(*extra))
    )


@dataclass(frozen=True, slots=True)
class NewestMatches:
    """The newest matches of a text query over all teams, as FTS5 lists them.

    `count` matches, up to the limit asked for, with ids from `floor` (0 when
    they are all the matches) to `top`. Only a prefix query keeps their `ids`:
    each FTS5 read of a prefix such as `time*` merges the lists of all the
    words it covers, so a broad search checks the newest windows of its order
    and counts against the list without asking FTS5 again. A plain word's
    list is cheap to read again over a window's id range.
    """

    count: int
    floor: int
    top: int
    ids: frozenset[int] | None = None

    def covering(self, incident_ids: Sequence[int]) -> frozenset[int] | None:
        """The listed ids when they hold every match among `incident_ids`."""
        if self.ids is None or min(incident_ids) < self.floor:
            return None
        return self.ids

    def share(self) -> float | None:
        """The share of the incidents from `floor` up that match, if it is known."""
        if not self.floor:
            return None
        return self.count / (self.top - self.floor + 1)


def newest_matches(session: Session, query: TextQuery, limit: int) -> NewestMatches:
    """Up to `limit` matches of `query` (all teams), newest id first, on SQLite.

    FTS5 lists the matches directly, which is cheap up to a few thousand;
    PostgreSQL estimates instead (see density.py).
    """
    newest = (
        fts5_matches(query).order_by(FTS_TABLE.c.rowid.desc()).limit(limit).subquery()
    )
    if not query.prefixed:
        # Their number and bounds only, summed up inside SQLite: for 5,000
        # ids of a plain word 0.9 ms in all instead of 1.5 ms to fetch them.
        summary = select(
            func.count(), func.min(newest.c.rowid), func.max(newest.c.rowid)
        )
        count, lowest, highest = session.execute(summary).one()
        floor = int(lowest) if count == limit else 0
        return NewestMatches(int(count), floor, int(highest or 0))

    # One string of ids instead of a row per id: 5,000 ids arrive in 0.9 ms
    # instead of 2.0 ms.
    listed = session.scalar(select(func.group_concat(newest.c.rowid)))
    ids = [int(incident_id) for incident_id in listed.split(",")] if listed else []
    floor = min(ids) if len(ids) == limit else 0
    return NewestMatches(len(ids), floor, max(ids, default=0), frozenset(ids))


# A window of ids spread over at most this many times its size is checked with
# one read of the FTS5 index over the id range; a wider one id by id.
RANGE_SPREAD = 64


def matching_ids(
    session: Session,
    query: TextQuery,
    incident_ids: list[int],
    newest: NewestMatches | None = None,
) -> set[int]:
    """Those of `incident_ids` whose text matches `query`, on SQLite."""
    if not incident_ids:
        return set()
    listed = None if newest is None else newest.covering(incident_ids)
    if listed is not None:
        return set(listed.intersection(incident_ids))

    low, high = min(incident_ids), max(incident_ids)
    if high - low <= RANGE_SPREAD * len(incident_ids):
        # Incident ids follow their creation closely, so a window of an order
        # by date is a short id range; FTS5 reads just that part of its lists.
        in_range = fts5_matches(query).where(FTS_TABLE.c.rowid.between(low, high))
        return set(session.scalars(in_range)) & set(incident_ids)

    each = fts5_matches(query).where(FTS_TABLE.c.rowid.in_(incident_ids))

    return set(session.scalars(each))


def count_fts5_matches(
    session: Session,
    query: TextQuery,
    conditions: tuple[ColumnElement[bool], ...],
    cap: int,
    newest: NewestMatches | None = None,
    facets: Sequence[str] = (),
) -> int:
    """Matches of `query` that meet `conditions`, counted to `cap + 1`, on SQLite.

    FTS5 gives the matches newest id first, each one looked up in the id index
    with its filter columns (narrower than the incident rows). Newest first,
    since date filters mostly ask for recent incidents: the last seven days of
    a common word's million matches are counted from its first matches, not
    its last. For a prefix query, whose every read from FTS5 merges the lists
    of all the words it covers, the `newest` matches already listed are
    counted first, and FTS5 is asked only for older ones if they fall short.
    The `facets` clauses (of the same filters as some of `conditions`) go to
    FTS5 with the text, which intersects the lists itself: `npm` among
    critical incidents then looks up 1,001 ids instead of 10,500.
    """
    counted, below = 0, None
    if newest is not None and newest.ids and query.prefixed:
        known = func.json_each(json.dumps(sorted(newest.ids))).table_valued("value")
        counted = count_by_id_index(
            session,
            select(literal(1))
            .select_from(Incident)
            .where(Incident.id.in_(select(known.c.value)), *conditions),
            cap + 1,
        )
        if counted > cap or newest.floor == 0:
            return counted
        below = FTS_TABLE.c.rowid < newest.floor

    older = (
        select(literal(1))
        .select_from(FTS_TABLE)
        .join(Incident, Incident.id == FTS_TABLE.c.rowid)
        .where(_fts5_match(query, facets), *conditions)
        .order_by(FTS_TABLE.c.rowid.desc())
    )
    if below is not None:
        older = older.where(below)
    return counted + count_by_id_index(session, older, cap + 1 - counted)


def count_by_id_index(session: Session, rows: Select[Any], limit: int) -> int:
    """How many of `rows` there are, up to `limit`, read through an id index.

    On SQLite the incidents are read through the narrowest covering id index
    that exists (`db.hints.indexed_by`); elsewhere the rows are counted as
    they are.
    """
    inner = by_id_index(session, rows.limit(limit)).subquery()
    return int(session.scalar(select(func.count()).select_from(inner)) or 0)


def by_id_index(session: Session, query: SelectT) -> SelectT:
    """`query` reading the incidents through the narrowest id index that covers it."""
    if incident_columns(query) <= FACET_INDEX_COLUMNS:
        return indexed_by(session, query, Incident, FACET_INDEX, ID_INDEX)
    return indexed_by(session, query, Incident, ID_INDEX)


def incident_columns(statement: ClauseElement) -> set[str]:
    """The names of the incidents columns that `statement` reads, subqueries too."""
    incidents = Incident.__table__
    return {
        element.name
        for element in visitors.iterate(statement)
        if isinstance(element, Column) and element.table is incidents
    }
