"""How densely a text query matches on PostgreSQL, to choose the search's plan.

SQLite counts a query's matches in FTS5 up to the broad threshold. On
PostgreSQL that count costs as much as reading the posting lists of the
query's words, which for a word in nine of ten incidents is most of a search's
time budget. So one plain word is judged from the column statistics (its share
among the incidents, near exact for the words that decide), and anything the
statistics only bound from above (phrases, prefixes, several words,
exclusions) is judged from the newest incidents themselves: the share of them
that match. A broad query's plan walks the requested order from the newest
end, so that share is the density the walk meets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from devflowfix.search.fulltext import Phrase, TextQuery

# How many of the newest incidents a probe tests: enough to see a share of
# 0.5% (the default threshold at a million incidents) as a handful of matches.
PROBE_ROWS = 1_000
STATISTICS_SECONDS = 60.0

_PROBE = text(
    "SELECT count(*), count(*) FILTER (WHERE newest.search_vector @@ :query) "
    "FROM (SELECT search_vector FROM incidents ORDER BY id DESC LIMIT :rows) newest"
).bindparams(bindparam("query", type_=TSQUERY), bindparam("rows"))


@dataclass(frozen=True, slots=True)
class MatchEstimate:
    """About how many incidents of all teams match, and their share of all."""

    matches: float
    share: float


@dataclass(slots=True)
class TermStatistics:
    """PostgreSQL's most common words of the search vector, with their shares.

    `floor` is the lowest share in the list: a word missing from it is at
    most that common (ANALYZE keeps the words of its sample above a cutoff).
    """

    rows: float
    shares: dict[str, float] = field(default_factory=dict)
    floor: float = 0.0
    read_at: float = 0.0

    def upper_share(self, query: TextQuery) -> float:
        """At most this share of the incidents match: the rarest positive phrase."""
        return min(self._share(phrase) for phrase in query.positives)

    def knows(self, query: TextQuery) -> bool:
        """True when every positive word of `query` is among the listed words."""
        return all(
            word in self.shares for phrase in query.positives for word in phrase.words
        )

    def _share(self, phrase: Phrase) -> float:
        shares = [self.shares.get(word, self.floor) for word in phrase.words[:-1]]
        last = phrase.words[-1]
        if phrase.prefix:
            shares.append(
                min(1.0, sum(v for k, v in self.shares.items() if k.startswith(last)))
            )
        else:
            shares.append(self.shares.get(last, self.floor))
        return min(shares)


def estimate_matches(session: Session, query: TextQuery, cap: int) -> MatchEstimate:
    """About how many incidents match `query`, on PostgreSQL.

    The statistics decide when they say the query matches at most `cap`
    incidents, or when the query is one plain word they list; otherwise a
    probe of the newest incidents measures the share. (A word just below
    ANALYZE's cutoff, in about 1% of the incidents, is left out of the list
    by one sample and kept by the next.)
    """
    statistics = _term_statistics(session)
    share = statistics.upper_share(query)
    plain = _is_plain_word(query) and statistics.knows(query)
    if statistics.rows * share <= cap or plain:
        return MatchEstimate(statistics.rows * share, share)

    # TODO: a query whose matches lie mostly among older incidents is judged
    # rare and read from the GIN index: slower in proportion to its matches.
    share = _probe_share(session, query)

    return MatchEstimate(statistics.rows * share, share)


def _is_plain_word(query: TextQuery) -> bool:
    if query.negatives or len(query.positives) != 1:
        return False
    phrase = query.positives[0]
    return len(phrase.words) == 1 and not phrase.prefix


def _probe_share(session: Session, query: TextQuery) -> float:
    parameters = {"query": query.tsquery(), "rows": PROBE_ROWS}
    tested, matched = session.execute(_PROBE, parameters).one()
    return matched / tested if tested else 0.0


_statistics: dict[str, TermStatistics] = {}


def _term_statistics(session: Session) -> TermStatistics:
    key = session.get_bind().engine.url.render_as_string(hide_password=True)
    cached = _statistics.get(key)
    if cached is not None and time.monotonic() - cached.read_at < STATISTICS_SECONDS:
        return cached

    row = session.execute(
        text(
            "SELECT c.reltuples, s.most_common_elems::text::text[], "
            "s.most_common_elem_freqs FROM pg_class c LEFT JOIN pg_stats s "
            "ON s.schemaname = current_schema() AND s.tablename = 'incidents' "
            "AND s.attname = 'search_vector' "
            "WHERE c.oid = to_regclass('incidents')"
        )
    ).one()
    rows, words, shares = row
    words, shares = words or [], shares or []
    # The frequencies of the listed words are followed by their lowest one.
    floor = shares[len(words)] if len(shares) > len(words) else 0.0
    statistics = TermStatistics(
        rows=max(float(rows or 0), 0.0),
        shares=dict(zip(words, shares, strict=False)),
        floor=float(floor),
        read_at=time.monotonic(),
    )
    _statistics[key] = statistics

    return statistics
