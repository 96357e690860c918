"""Reading a search plan: its pages, its count, its facets, the page's incidents."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, literal, select, type_coerce
from sqlalchemy.orm import Session, defer
from sqlalchemy.types import NullType

from devflowfix.models import Incident, IncidentTag
from devflowfix.search import fulltext, repository
from devflowfix.search.cursors import SortKey
from devflowfix.search.fulltext import TextQuery
from devflowfix.search.ordering import Segment
from devflowfix.search.repository import SearchPlan, TagLed, has_tag
from devflowfix.vocabulary import Severity


def _segment_query(
    plan: SearchPlan,
    segment: Segment,
    *,
    reverse: bool,
    key: SortKey | None = None,
    stored: bool = False,
) -> Select[Any]:
    """The incident ids and sort values of a segment, in walking order.

    With `stored` the sort values come as the database stores them, for a
    caller that converts only the few it keeps (see `_walk_verified`).
    """
    ordering = plan.ordering
    value = type_coerce(ordering.value, NullType()) if stored else ordering.value
    query = (
        select(ordering.incident_id, value)
        .select_from(plan.source)
        .where(*plan.conditions, *ordering.conditions(segment))
    )
    if key is not None:
        beyond = ordering.beyond(segment, key, reverse=reverse)
        if beyond is not None:
            query = query.where(beyond)

    return query.order_by(*ordering.order_by(segment, reverse=reverse))


def _keys(plan: SearchPlan, rows: Sequence[Any]) -> list[SortKey]:
    return [plan.ordering.key_of(value, incident_id) for incident_id, value in rows]


def fetch_page(
    session: Session, plan: SearchPlan, *, offset: int, limit: int
) -> list[SortKey]:
    """The sort keys of up to `limit` incidents after the first `offset`."""
    repository.apply_settings(session, plan.settings)
    if plan.verify is not None:
        return _fetch_verified(
            session, plan, None, skip=offset, limit=limit, reverse=False
        )

    keys: list[SortKey] = []
    skip = offset
    for segment in plan.ordering.segments():
        if len(keys) >= limit:
            break
        query = _segment_query(plan, segment, reverse=False)
        rows = session.execute(query.offset(skip).limit(limit - len(keys))).all()
        if rows:
            keys.extend(_keys(plan, rows))
            skip = 0
        elif skip:
            skip -= _count_segment(session, plan, segment, cap=skip)

    return keys


def fetch_beyond(
    session: Session, plan: SearchPlan, key: SortKey, *, limit: int, reverse: bool
) -> list[SortKey]:
    """The sort keys of up to `limit` incidents after `key` (before, if `reverse`).

    With `reverse` the keys come nearest-first, that is in reverse order.
    """
    repository.apply_settings(session, plan.settings)
    if plan.verify is not None:
        return _fetch_verified(session, plan, key, skip=0, limit=limit, reverse=reverse)

    keys: list[SortKey] = []
    for segment in plan.ordering.segments_from(key, reverse=reverse):
        query = _segment_query(plan, segment, reverse=reverse, key=key)
        keys.extend(_keys(plan, session.execute(query.limit(limit - len(keys))).all()))
        if len(keys) >= limit:
            break

    return keys


# Windows of a broad walk on SQLite start at a few pages and grow, so that a
# query that matches most incidents reads little and a rarer one does not take
# many trips. The first is sized by the share of incidents the newest matches
# show, with room to spare: `npm` (one in ten) reads 315 rows for a page of 20
# in one trip, not 84 and then 336.
FIRST_WINDOW = 64
LARGEST_WINDOW = 16_384
WINDOW_SLACK = 1.5


def _fetch_verified(
    session: Session,
    plan: SearchPlan,
    key: SortKey | None,
    *,
    skip: int,
    limit: int,
    reverse: bool,
) -> list[SortKey]:
    ordering = plan.ordering
    segments = (
        ordering.segments(reverse=reverse)
        if key is None
        else ordering.segments_from(key, reverse=reverse)
    )
    keys: list[SortKey] = []
    if plan.verify is None:
        return keys

    for segment in segments:
        found, skip = _walk_verified(
            session,
            plan,
            plan.verify,
            segment,
            key,
            skip=skip,
            limit=limit - len(keys),
            reverse=reverse,
        )
        keys.extend(found)
        if len(keys) >= limit:
            break

    return keys


def _walk_verified(
    session: Session,
    plan: SearchPlan,
    text_query: TextQuery,
    segment: Segment,
    key: SortKey | None,
    *,
    skip: int,
    limit: int,
    reverse: bool,
) -> tuple[list[SortKey], int]:
    """Walk one segment window by window, keeping the incidents whose text matches.

    Returns the keys found and how many matches are still to skip.
    """
    found: list[SortKey] = []
    wanted = skip + limit
    share = None if plan.newest is None else plan.newest.share()
    expected = 4 * wanted if not share else math.ceil(wanted / share * WINDOW_SLACK)
    window = min(max(FIRST_WINDOW, expected), LARGEST_WINDOW)
    position = key
    # The walk reads many more rows than it keeps: it reads their sort values
    # as stored and converts only those of the rows it keeps (a datetime
    # costs microseconds, and a rare word reads thousands of rows a page).
    ordering = plan.ordering
    dialect = session.get_bind().dialect
    convert = ordering.value.type.dialect_impl(dialect).result_processor(
        dialect, None
    ) or (lambda stored: stored)
    while len(found) < limit:
        query = _segment_query(
            plan, segment, reverse=reverse, key=position, stored=True
        )
        rows = session.execute(query.limit(window)).all()
        if not rows:
            break
        matching = fulltext.matching_ids(
            session, text_query, [row[0] for row in rows], plan.newest
        )
        for incident_id, stored in rows:
            if incident_id not in matching:
                continue
            if skip:
                skip -= 1
                continue
            found.append(ordering.key_of(convert(stored), incident_id))
            if len(found) == limit:
                break
        if len(rows) < window:
            break
        position = ordering.key_of(convert(rows[-1][1]), rows[-1][0])
        window = min(window * 4, LARGEST_WINDOW)

    return found, skip


def _count_segment(
    session: Session, plan: SearchPlan, segment: Segment, *, cap: int
) -> int:
    inner = (
        select(literal(1))
        .select_from(plan.source)
        .where(*plan.conditions, *plan.ordering.conditions(segment))
        .limit(cap)
        .subquery()
    )
    return int(session.scalar(select(func.count()).select_from(inner)) or 0)


def count_matches(session: Session, plan: SearchPlan, *, cap: int) -> int:
    """How many incidents the plan selects, counting no further than `cap + 1`."""
    repository.apply_settings(session, plan.settings)
    if plan.ranked is not None and repository.dialect_of(session) == "sqlite":
        # Testing each incident of the team against FTS5 reads a hundred
        # incidents per match of a 1% word; FTS5 lists the matches directly.
        return fulltext.count_fts5_matches(
            session, plan.ranked, plan.fields, cap, facets=plan.facets
        )
    if plan.verify is not None:
        return fulltext.count_fts5_matches(
            session, plan.verify, plan.conditions, cap, plan.newest, plan.facets
        )
    if plan.tag_led is not None:
        return _count_tag_led(session, plan.tag_led, cap)
    repository.apply_settings(session, plan.count_settings or ())

    inner = (
        select(literal(1))
        .select_from(Incident)
        .where(*plan.matches)
        .order_by(*plan.count_order)
        .limit(cap + 1)
        .subquery()
    )

    return int(session.scalar(select(func.count()).select_from(inner)) or 0)


def _count_tag_led(session: Session, led: TagLed, cap: int) -> int:
    first, *others = led.tags
    entry = IncidentTag.__table__.alias("led")
    entries = (
        select(literal(1))
        .select_from(entry)
        .join(Incident, Incident.id == entry.c.incident_id)
        .where(
            entry.c.team_id == led.team_id,
            entry.c.tag == first,
            *(has_tag(tag, led.team_id, entry.c.incident_id) for tag in others),
            *led.others,
        )
    )
    return fulltext.count_by_id_index(session, entries, cap + 1)


def facet_values(
    session: Session, incident_ids: Sequence[int]
) -> list[tuple[str, Severity, str, str]]:
    """Source, severity, outcome and failure type of each given incident."""
    query = select(
        Incident.source, Incident.severity, Incident.outcome, Incident.failure_type
    ).where(Incident.id.in_(incident_ids))
    # The id indexes carry these columns; the rows themselves are wide.
    rows = session.execute(fulltext.by_id_index(session, query))
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def load_incidents(
    session: Session, incident_ids: Sequence[int], *, with_log: bool
) -> list[Incident]:
    """The incidents with these ids, in the order given."""
    if not incident_ids:
        return []
    query = select(Incident).where(Incident.id.in_(incident_ids))
    if not with_log:
        query = query.options(defer(Incident.error_log))
    found = {incident.id: incident for incident in session.scalars(query)}
    return [found[incident_id] for incident_id in incident_ids if incident_id in found]
