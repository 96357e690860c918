"""Rules of incident search: which page to return, how it is counted and linked."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from devflowfix.config import Settings
from devflowfix.models import Incident, User
from devflowfix.models.base import utcnow
from devflowfix.search import pages, repository
from devflowfix.search.cursors import (
    Cursor,
    Direction,
    SortKey,
    decode_cursor,
    encode_cursor,
    invalid_cursor,
)
from devflowfix.search.fulltext import TextQuery, facet_clauses, text_query_of
from devflowfix.search.highlights import highlight_incident
from devflowfix.search.ordering import parse_sort_value, segment_kinds
from devflowfix.search.repository import SearchPlan
from devflowfix.search.schemas import (
    MAX_PAGE,
    DateRangeSummary,
    FacetCounts,
    IncidentFilters,
    Pagination,
    Relation,
    SearchHit,
    SearchRequest,
    SearchResponse,
    SearchSummary,
    SortField,
    SortOrder,
)
from devflowfix.vocabulary import FailureType, Outcome, Severity, Source

log = structlog.get_logger(__name__)

# Builds the absolute URL of a search page from its query parameters.
PageUrl = Callable[[list[tuple[str, str]]], str]


@dataclass(frozen=True, slots=True)
class SearchLimits:
    """`count_limit`: how far totals and facets count; `broad_limit`: how many
    text matches make a query broad enough to walk the order instead."""

    count_limit: int
    broad_limit: int

    @classmethod
    def from_settings(cls, settings: Settings) -> SearchLimits:
        return cls(
            count_limit=settings.search_count_limit,
            broad_limit=settings.search_broad_matches,
        )


@dataclass(frozen=True, slots=True)
class SearchSpec:
    """One search to run, read from a request or from the cursor it carries."""

    filters: IncidentFilters
    sort_by: SortField
    sort_order: SortOrder
    page: int
    page_size: int
    highlight: bool
    include_facets: bool
    resolved_at: datetime
    direction: Direction | None = None
    key: SortKey | None = None


@dataclass(frozen=True, slots=True)
class PageWindow:
    keys: list[SortKey]
    has_previous: bool
    has_next: bool


@dataclass(frozen=True, slots=True)
class Total:
    items: int
    relation: Relation


def search_incidents(
    session: Session,
    user: User,
    request: SearchRequest,
    *,
    secret_key: str,
    limits: SearchLimits,
    page_url: PageUrl,
) -> SearchResponse:
    """One page of the team's incidents that match the search, with its summary."""
    started = time.perf_counter()
    spec = read_spec(request, secret_key, now=utcnow())
    text_query = text_query_of(spec.filters)
    conditions = repository.search_conditions(
        session, spec.filters, user.team_id, now=spec.resolved_at, sort_by=spec.sort_by
    )
    plan = repository.plan_search(
        session,
        conditions,
        text_query,
        sort_by=spec.sort_by,
        sort_order=spec.sort_order,
        broad_limit=limits.broad_limit,
        count_limit=limits.count_limit,
        tag_led=repository.tag_led(
            session,
            spec.filters,
            user.team_id,
            now=spec.resolved_at,
            sort_by=spec.sort_by,
        ),
        facets=facet_clauses(spec.filters),
    )

    window = _page_window(session, plan, spec)
    total, facets = _count(session, plan, spec, window, limits.count_limit)
    hits = _hits(session, window, text_query if spec.highlight else None, spec)

    summary = SearchSummary(
        total_results=total.items,
        filters_applied=spec.filters.applied(),
        search_duration_ms=round((time.perf_counter() - started) * 1000),
        date_range=_date_range(spec),
        facets=facets,
    )
    return SearchResponse(
        incidents=hits,
        pagination=_pagination(spec, window, total, secret_key, page_url),
        summary=summary,
    )


def read_spec(request: SearchRequest, secret_key: str, *, now: datetime) -> SearchSpec:
    """The search a request asks for, taken from its cursor when it has one."""
    if request.cursor is None:
        return SearchSpec(
            filters=request.filters(),
            sort_by=SortField(request.sort_by),
            sort_order=SortOrder(request.sort_order),
            page=request.page,
            page_size=request.page_size,
            highlight=request.highlight,
            include_facets=request.include_facets,
            resolved_at=now,
        )

    cursor = decode_cursor(request.cursor, secret_key)
    _check_key(cursor)

    return SearchSpec(
        filters=cursor.filters,
        sort_by=cursor.sort_by,
        sort_order=cursor.sort_order,
        page=cursor.page,
        page_size=cursor.page_size,
        highlight=cursor.highlight,
        include_facets=cursor.include_facets,
        resolved_at=cursor.resolved_at,
        direction=cursor.direction,
        key=cursor.key,
    )


def _check_key(cursor: Cursor) -> None:
    segment, value, _ = cursor.key
    if segment not in segment_kinds(cursor.sort_by, cursor.sort_order):
        raise invalid_cursor()
    try:
        if value is not None:
            parse_sort_value(cursor.sort_by, value)
    except (TypeError, ValueError, KeyError) as exc:
        raise invalid_cursor() from exc


def _page_window(session: Session, plan: SearchPlan, spec: SearchSpec) -> PageWindow:
    size = spec.page_size
    if spec.key is None:
        offset = (spec.page - 1) * size
        keys = pages.fetch_page(session, plan, offset=offset, limit=size + 1)
        return PageWindow(keys[:size], spec.page > 1, len(keys) > size)

    backwards = spec.direction == "previous"
    keys = pages.fetch_beyond(
        session, plan, spec.key, limit=size + 1, reverse=backwards
    )
    if backwards:
        return PageWindow(keys[:size][::-1], len(keys) > size, True)

    return PageWindow(keys[:size], True, len(keys) > size)


def _count(
    session: Session, plan: SearchPlan, spec: SearchSpec, window: PageWindow, limit: int
) -> tuple[Total, FacetCounts | None]:
    # When the first page holds every match, counting them or listing them
    # for the facets again would read the same rows a second time.
    whole_page = spec.key is None and spec.page == 1 and not window.has_next
    if whole_page:
        total = _total(len(window.keys), limit)
    else:
        total = _total(pages.count_matches(session, plan, cap=limit), limit)
    if not spec.include_facets:
        return total, None
    # The facets count the first `limit` matches in the requested order: all
    # of them unless the total is past the limit too.
    if whole_page:
        keys = window.keys[:limit]
    else:
        keys = pages.fetch_page(session, plan, offset=0, limit=limit)
    rows = pages.facet_values(session, [key[2] for key in keys])
    whole = total.relation == "eq" and len(rows) == total.items
    return total, _facets(rows, relation="eq" if whole else "gte")


def _total(counted: int, limit: int) -> Total:
    if counted > limit:
        return Total(limit, "gte")
    return Total(counted, "eq")


def _facets(
    rows: list[tuple[str, Severity, str, str]], *, relation: Relation
) -> FacetCounts:
    sources = Counter(row[0] for row in rows)
    severities = Counter(str(row[1]) for row in rows)
    outcomes = Counter(row[2] for row in rows)
    failure_types = Counter(row[3] for row in rows)

    return FacetCounts(
        sources={value: sources[value] for value in Source},
        severities={value: severities[value] for value in Severity},
        outcomes={value: outcomes[value] for value in Outcome},
        failure_types={value: failure_types[value] for value in FailureType},
        counted=len(rows),
        relation=relation,
    )


def _hits(
    session: Session,
    window: PageWindow,
    text_query: TextQuery | None,
    spec: SearchSpec,
) -> list[SearchHit]:
    incidents = pages.load_incidents(
        session, [key[2] for key in window.keys], with_log=text_query is not None
    )
    return [_hit(incident, text_query, spec.highlight) for incident in incidents]


def _hit(
    incident: Incident, text_query: TextQuery | None, highlight: bool
) -> SearchHit:
    hit = SearchHit.of(incident)
    if not highlight:
        return hit
    marks = highlight_incident(incident, text_query) if text_query else {}
    return hit.model_copy(update={"highlights": marks})


def _date_range(spec: SearchSpec) -> DateRangeSummary:
    window = spec.filters.date_range(spec.resolved_at)
    if window is None:
        return DateRangeSummary(start_date=None, end_date=None, preset=None)
    end = window.end
    if end is not None and not window.end_inclusive:
        # Shown as the last second inside the range, as clients expect a day
        # to end at 23:59:59.
        end -= timedelta(seconds=1)
    return DateRangeSummary(start_date=window.start, end_date=end, preset=window.preset)


def _pagination(
    spec: SearchSpec,
    window: PageWindow,
    total: Total,
    secret_key: str,
    page_url: PageUrl,
) -> Pagination:
    current, size = spec.page, spec.page_size
    total_pages = math.ceil(total.items / size)

    def url(page: int) -> str:
        return page_url(query_items(spec, page))

    return Pagination(
        current_page=current,
        page_size=size,
        total_items=total.items,
        total_pages=total_pages,
        has_previous=window.has_previous,
        has_next=window.has_next,
        previous_url=url(current - 1) if window.has_previous and current > 1 else None,
        next_url=url(current + 1) if window.has_next and current < MAX_PAGE else None,
        first_url=url(1),
        last_url=url(max(total_pages, 1)),
        next_cursor=_cursor(spec, window, secret_key, "next"),
        previous_cursor=_cursor(spec, window, secret_key, "previous"),
        total_items_relation=total.relation,
    )


def _cursor(
    spec: SearchSpec, window: PageWindow, secret_key: str, direction: Direction
) -> str | None:
    if not window.keys:
        return None

    if direction == "next":
        if not window.has_next:
            return None
        page, key = spec.page + 1, window.keys[-1]
    else:
        if not window.has_previous:
            return None
        page, key = max(spec.page - 1, 1), window.keys[0]
    cursor = Cursor(
        filters=spec.filters,
        sort_by=spec.sort_by,
        sort_order=spec.sort_order,
        page_size=spec.page_size,
        highlight=spec.highlight,
        include_facets=spec.include_facets,
        resolved_at=spec.resolved_at,
        page=page,
        direction=direction,
        key=key,
    )

    return encode_cursor(cursor, secret_key)


def query_items(spec: SearchSpec, page: int) -> list[tuple[str, str]]:
    """The GET query parameters of one page of the search; lists repeat."""
    items = [("page", str(page)), ("page_size", str(spec.page_size))]
    for name, value in spec.filters.applied().items():
        for item in value if isinstance(value, list) else [value]:
            items.append((name, _query_value(item)))
    items.append(("sort_by", spec.sort_by.value))
    items.append(("sort_order", spec.sort_order.value))
    if spec.highlight:
        items.append(("highlight", "true"))
    if spec.include_facets:
        items.append(("include_facets", "true"))

    return items


def _query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
