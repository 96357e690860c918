"""Incident filters as conditions, and the plan that says how a search reads them."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    Select,
    any_,
    bindparam,
    exists,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from devflowfix.models import Incident, IncidentTag
from devflowfix.search import density, fulltext
from devflowfix.search.fulltext import TextQuery
from devflowfix.search.ordering import Ordering
from devflowfix.search.schemas import IncidentFilters, SortField, SortOrder
from devflowfix.vocabulary import Severity

# PostgreSQL planner settings per text plan, for the search's own statements.
# Each sets all three scans, since a later statement of the same transaction
# may run under another plan's settings. A selective query must come from the
# GIN index, never from walking an order and testing each row; a broad one
# must walk the order and stop after a page.


# Memory for a count's bitmap of GIN matches: with the default 4 MB the bitmap
# of a word in one incident of ten (100,000 rows at a million) turns lossy, and
# every row of a lossy page is tested again from its stored vector (a count of
# `npm` among critical incidents: 80 ms with 4 MB, 33 ms with 64 MB).
SEARCH_WORK_MEM = "64MB"


def _scans(*, seqscan: bool, indexscan: bool, bitmapscan: bool) -> tuple[str, ...]:
    switches = {
        "enable_seqscan": "on" if seqscan else "off",
        "enable_indexscan": "on" if indexscan else "off",
        "enable_bitmapscan": "on" if bitmapscan else "off",
        "work_mem": SEARCH_WORK_MEM,
    }
    calls = ", ".join(
        f"set_config('{name}', '{value}', true)" for name, value in switches.items()
    )
    return (f"SELECT {calls}",)


_SELECTIVE_SETTINGS = _scans(seqscan=True, indexscan=False, bitmapscan=True)
_BROAD_SETTINGS = _scans(seqscan=True, indexscan=True, bitmapscan=False)
# Counting from the GIN index only: a table scan would test every vector.
_INDEX_COUNT_SETTINGS = _scans(seqscan=False, indexscan=False, bitmapscan=True)
# A walked count reads the newest incidents through the creation index: a
# table scan starts at the oldest rows, which are seldom in memory (`python`:
# 48 ms from the table, 17 ms from the newest end).
_WALK_COUNT_SETTINGS = _scans(seqscan=False, indexscan=True, bitmapscan=False)
WALK_COUNT_ORDER = (Incident.created_at.desc(), Incident.id.desc())
# A broad query's count either walks the newest incidents, testing each one's
# stored vector, until it has found `count_limit + 1` matches, or reads the
# words' posting lists from the GIN index once, however many matches they
# hold. Their costs per row walked and per match read, in microseconds, at a
# million incidents: `npm` (one in ten) walks 10,700 rows in 23 ms and reads
# its 100,000 matches in 28 ms; `ERESOLVE` (one in a hundred) would walk
# 100,000 rows and reads 10,000 matches in 3 ms. A prefix merges the lists of
# every word it covers, which costs about twice as much per match.
WALK_ROW_MICROSECONDS = 2.2
INDEX_MATCH_MICROSECONDS = 0.28
PREFIX_INDEX_FACTOR = 2.0


def walks_count(estimate: density.MatchEstimate, cap: int, *, prefixed: bool) -> bool:
    """True when walking the newest incidents counts to `cap` faster than the index."""
    if estimate.share <= 0:
        return False
    walk = (cap + 1) / estimate.share * WALK_ROW_MICROSECONDS
    index = estimate.matches * INDEX_MATCH_MICROSECONDS
    return walk < (index * PREFIX_INDEX_FACTOR if prefixed else index)


def filter_conditions(
    filters: IncidentFilters, team_id: int, *, now: datetime, dialect: str
) -> list[ColumnElement[bool]]:
    """The WHERE conditions that select the team's incidents matching `filters`."""
    conditions = field_conditions(filters, team_id, now=now)
    text_query = fulltext.text_query_of(filters)
    if text_query is not None:
        conditions.append(fulltext.matches_by_index(text_query, dialect))
    return conditions


def field_conditions(
    filters: IncidentFilters,
    team_id: int,
    *,
    now: datetime,
    confidence_index: bool = True,
) -> list[ColumnElement[bool]]:
    """Every condition of `filters` except the full-text one.

    Without `confidence_index` the confidence range is written so that no
    index on confidence can serve it (see `search_conditions`).
    """
    conditions: list[ColumnElement[bool]] = [Incident.team_id == team_id]
    confidence = Incident.confidence if confidence_index else Incident.confidence + 0
    if filters.sources:
        conditions.append(Incident.source.in_(filters.sources))
    if filters.severities:
        conditions.append(
            Incident.severity.in_([Severity(value) for value in filters.severities])
        )
    if filters.outcomes:
        conditions.append(Incident.outcome.in_(filters.outcomes))
    if filters.failure_types:
        conditions.append(Incident.failure_type.in_(filters.failure_types))
    if filters.repository:
        conditions.append(Incident.repository == filters.repository)
    if filters.min_confidence is not None:
        conditions.append(confidence >= filters.min_confidence)
    if filters.max_confidence is not None:
        conditions.append(confidence <= filters.max_confidence)
    for tag in filters.tags or ():
        conditions.append(has_tag(tag, team_id))
    conditions.extend(_date_conditions(filters, now))

    return conditions


def search_conditions(
    session: Session,
    filters: IncidentFilters,
    team_id: int,
    *,
    now: datetime,
    sort_by: SortField,
) -> list[ColumnElement[bool]]:
    """The field conditions of a search sorted by `sort_by`.

    SQLite takes the (team, confidence) index for a confidence range whatever
    the order, and then sorts every incident in the range (seconds at a
    million); walking the order's own index stops after one page instead.
    """
    by_order = dialect_of(session) == "sqlite" and sort_by != SortField.CONFIDENCE
    return field_conditions(filters, team_id, now=now, confidence_index=not by_order)


def has_tag(
    tag: str, team_id: int, incident_id: ColumnElement[int] | None = None
) -> ColumnElement[bool]:
    """The incident (by default the row of `incidents`) carries `tag`."""
    tagged = IncidentTag.__table__.alias("tagged")
    return exists(
        select(tagged.c.incident_id).where(
            tagged.c.team_id == team_id,
            tagged.c.tag == tag,
            tagged.c.incident_id
            == (Incident.id if incident_id is None else incident_id),
        )
    )


@dataclass(frozen=True, slots=True)
class TagLed:
    """A count led by the incidents of one tag (SQLite, no text query).

    Every match carries the tag, so walking its entries in the tag index reads
    only candidates, where walking the team's incidents tests every one (a
    tag on 1% of them: a hundred incidents per match). The other tags are
    looked up by the tag entry's incident id before the incident is read.
    """

    team_id: int
    tags: tuple[str, ...]
    # Every condition of the search but the tags.
    others: tuple[ColumnElement[bool], ...]


def tag_led(
    session: Session,
    filters: IncidentFilters,
    team_id: int,
    *,
    now: datetime,
    sort_by: SortField,
) -> TagLed | None:
    """How to count a search with tags from the tag index, or None if not so."""
    if not filters.tags or filters.search_query or dialect_of(session) != "sqlite":
        return None
    untagged = filters.model_copy(update={"tags": None})
    others = search_conditions(session, untagged, team_id, now=now, sort_by=sort_by)
    return TagLed(team_id, tuple(filters.tags), tuple(others))


def _date_conditions(
    filters: IncidentFilters, now: datetime
) -> list[ColumnElement[bool]]:
    window = filters.date_range(now)
    if window is None:
        return []

    conditions: list[ColumnElement[bool]] = []
    if window.start is not None:
        conditions.append(Incident.created_at >= window.start)
    if window.end is not None:
        conditions.append(
            Incident.created_at <= window.end
            if window.end_inclusive
            else Incident.created_at < window.end
        )

    return conditions


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """Where a search's incidents come from, in which order, and how to ask."""

    source: FromClause
    conditions: tuple[ColumnElement[bool], ...]
    ordering: Ordering
    # Conditions on the incidents table that select every match, for counting.
    matches: tuple[ColumnElement[bool], ...]
    settings: tuple[str, ...] = ()
    # Planner settings and order of the count, where they differ from the pages'.
    count_settings: tuple[str, ...] | None = None
    count_order: tuple[ColumnElement[Any], ...] = ()
    # A broad text query on SQLite, checked window by window while the order
    # is walked (the conditions leave it out).
    verify: TextQuery | None = None
    # A broad text query ranked by relevance, with the field conditions: on
    # SQLite its matches are counted from the FTS5 index (see count_matches).
    ranked: TextQuery | None = None
    fields: tuple[ColumnElement[bool], ...] = ()
    # Tag filters without text on SQLite: the count walks the tag index.
    tag_led: TagLed | None = None
    # The newest matches of `verify`, already listed by FTS5.
    newest: fulltext.NewestMatches | None = None
    # The facet filters as FTS5 clauses, for SQLite's counts of a broad query
    # (see fulltext.facet_clauses).
    facets: tuple[str, ...] = ()


def plan_search(
    session: Session,
    conditions: list[ColumnElement[bool]],
    text_query: TextQuery | None,
    *,
    sort_by: SortField,
    sort_order: SortOrder,
    broad_limit: int,
    count_limit: int,
    tag_led: TagLed | None = None,
    facets: tuple[str, ...] = (),
) -> SearchPlan:
    """How to run a search: which text condition, order and planner settings.

    A query whose text matches more than `broad_limit` incidents is broad: it
    walks the order and tests each incident, so a page costs the same however
    many incidents match. Fewer matches come from the full-text index first.
    `count_limit` is how far the count goes, and how many of its newest
    matches a broad query ranks by relevance. `facets` are the facet filters
    as FTS5 clauses, with which SQLite counts a broad query's matches.
    """
    dialect = dialect_of(session)
    if text_query is None:
        selected = tuple(conditions)
        ordering = Ordering.of(sort_by, sort_order)
        return SearchPlan(
            Incident.__table__, selected, ordering, selected, tag_led=tag_led
        )

    estimate: density.MatchEstimate | None = None
    newest: fulltext.NewestMatches | None = None
    if dialect == "sqlite":
        newest = fulltext.newest_matches(session, text_query, broad_limit + 1)
        matches = float(newest.count)
    else:
        estimate = density.estimate_matches(session, text_query, broad_limit)
        matches = estimate.matches
    # Zero makes every text search broad, even one the estimate finds nothing for.
    broad = matches > broad_limit or broad_limit == 0
    settings = _planner_settings(dialect, broad=broad)
    match = (
        fulltext.matches_row_by_row(text_query, dialect)
        if broad
        else fulltext.matches_by_index(text_query, dialect)
    )
    selected = (*conditions, match)
    if sort_by == SortField.RELEVANCE:
        limit = count_limit if broad else None
        share = None if estimate is None else estimate.share
        plan = _relevance_plan(
            session, text_query, conditions, sort_order, selected, limit, share
        )
        if not broad:
            return plan
        if estimate is None:
            return dataclasses.replace(plan, facets=facets)
        return _counted_broadly(plan, conditions, text_query, estimate, count_limit)

    ordering = Ordering.of(sort_by, sort_order)
    if not broad:
        return SearchPlan(Incident.__table__, selected, ordering, selected, settings)
    if estimate is None:
        return SearchPlan(
            Incident.__table__,
            tuple(conditions),
            ordering,
            selected,
            verify=text_query,
            newest=newest,
            facets=facets,
        )

    # PostgreSQL walks the order's index and tests each row it meets in the
    # same statement; at the density that makes a query broad, a page meets
    # a few thousand rows at most.
    plan = SearchPlan(Incident.__table__, selected, ordering, selected, settings)
    return _counted_broadly(plan, conditions, text_query, estimate, count_limit)


def _counted_broadly(
    plan: SearchPlan,
    conditions: list[ColumnElement[bool]],
    text_query: TextQuery,
    estimate: density.MatchEstimate,
    count_limit: int,
) -> SearchPlan:
    """`plan` with the count of a broad query on PostgreSQL: walked or indexed."""
    if walks_count(estimate, count_limit, prefixed=text_query.prefixed):
        walked = fulltext.matches_row_by_row(text_query, "postgresql")
        return dataclasses.replace(
            plan,
            matches=(*conditions, walked),
            count_settings=_WALK_COUNT_SETTINGS,
            count_order=WALK_COUNT_ORDER,
        )

    indexed = fulltext.matches_by_index(text_query, "postgresql")
    return dataclasses.replace(
        plan,
        matches=(*conditions, indexed),
        count_settings=_INDEX_COUNT_SETTINGS,
        count_order=(),
    )


def _planner_settings(dialect: str, *, broad: bool) -> tuple[str, ...]:
    if dialect == "sqlite":
        return ()
    return _BROAD_SETTINGS if broad else _SELECTIVE_SETTINGS


def _relevance_plan(
    session: Session,
    text_query: TextQuery,
    conditions: list[ColumnElement[bool]],
    sort_order: SortOrder,
    matches: tuple[ColumnElement[bool], ...],
    limit: int | None,
    share: float | None,
) -> SearchPlan:
    # Scoring every match of a broad query costs time in proportion to the
    # matches; it ranks the `limit` most recently stored ones instead.
    # TODO: an older match that scores higher is then missing from the ranking.
    if dialect_of(session) == "sqlite":
        ranked = fulltext.fts5_ranked_matches(text_query, conditions)
        if limit is not None:
            ranked = ranked.order_by(fulltext.FTS_TABLE.c.rowid.desc()).limit(limit)
        return _ranked_plan(
            ranked, sort_order, matches, (), text_query, conditions, limit is not None
        )

    match = fulltext.matches_by_index(text_query, "postgresql")
    chosen: ColumnElement[bool] = Incident.id.in_(
        select(Incident.id).where(*conditions, match).scalar_subquery()
    )
    if limit is not None:
        newest = _newest_matches(session, list(conditions), match, limit, share)
        chosen = Incident.id == any_(bindparam(None, newest, type_=_IDS))
    # Scores only the chosen incidents: ts_rank reads each one's whole vector.
    ranked = select(
        Incident.id.label("incident_id"),
        fulltext.relevance_score(text_query, "postgresql").label("score"),
    ).where(chosen)
    settings = _SELECTIVE_SETTINGS if limit is None else _INDEX_COUNT_SETTINGS

    return _ranked_plan(
        ranked, sort_order, matches, settings, text_query, conditions, limit is not None
    )


def _ranked_plan(
    ranked: Select[int, float],
    sort_order: SortOrder,
    matches: tuple[ColumnElement[bool], ...],
    settings: tuple[str, ...],
    text_query: TextQuery,
    conditions: list[ColumnElement[bool]],
    broad: bool,
) -> SearchPlan:
    candidates = ranked.subquery("candidates")
    ordering = Ordering.of(
        SortField.RELEVANCE,
        sort_order,
        value=candidates.c.score,
        incident_id=candidates.c.incident_id,
    )
    if not broad:
        return SearchPlan(candidates, (), ordering, matches, settings)

    return SearchPlan(
        candidates,
        (),
        ordering,
        matches,
        settings,
        ranked=text_query,
        fields=tuple(conditions),
    )


# Incident ids bound as one PostgreSQL array, not a parameter each.
_IDS = ARRAY(BigInteger)
# The newest matches of a broad query are searched for among the newest ids
# first, in id ranges that grow by this factor until they hold enough.
RANKED_SPAN_GROWTH = 8
# The first range holds twice as many ids as the estimated share of matches
# says `limit` matches need: a 1% query starts at 200,000 ids, not 8,000.
RANKED_SPAN_MARGIN = 2.0


def _newest_matches(
    session: Session,
    scope: list[ColumnElement[bool]],
    match: ColumnElement[bool],
    limit: int,
    share: float | None,
) -> list[int]:
    """The ids of the newest `limit` matches, or of all of them if fewer match.

    The GIN index and an id range combine in one bitmap, so each try reads the
    matches in the range only, not every match of a common word. Each try
    checks what it found, so the estimated `share` only saves tries. The
    ids found are the ones ranked: they are not looked up a second time.
    """
    apply_settings(session, _BROAD_SETTINGS)
    highest = int(session.scalar(select(func.max(Incident.id))) or 0)
    apply_settings(session, _INDEX_COUNT_SETTINGS)
    span = RANKED_SPAN_GROWTH * limit
    if share:
        span = max(span, math.ceil(RANKED_SPAN_MARGIN * limit / share))
    newest = select(Incident.id).where(*scope, match).order_by(Incident.id.desc())
    while span < highest:
        found = list(
            session.scalars(newest.where(Incident.id > highest - span).limit(limit))
        )
        if len(found) == limit:
            return found
        span *= RANKED_SPAN_GROWTH

    return list(session.scalars(newest.limit(limit)))


def dialect_of(session: Session) -> str:
    """`sqlite` or `postgresql`: the database the session talks to."""
    return session.get_bind().dialect.name


_APPLIED = "search.planner_settings"


def apply_settings(session: Session, settings: tuple[str, ...]) -> None:
    """Send a plan's planner settings, once per transaction and change."""
    transaction = session.get_transaction()
    if not settings or session.info.get(_APPLIED) == (transaction, settings):
        return
    for statement in settings:
        session.execute(text(statement))
    session.info[_APPLIED] = (transaction, settings)
