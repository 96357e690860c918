"""Full-text matching of the search query against an incident's text columns."""

from __future__ import annotations

from sqlalchemy import ColumnElement, String, and_, cast, func, not_, or_

from devflowfix.models import Incident
from devflowfix.search.query import Term, parse_query

TEXT_COLUMNS = (
    Incident.error_message,
    Incident.root_cause,
    Incident.error_log,
    Incident.repository,
    Incident.workflow,
)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(term: Term) -> ColumnElement[bool]:
    pattern = f"%{_escape_like(term.text.lower())}%"
    columns = [*TEXT_COLUMNS, cast(Incident.tags, String)]
    return or_(
        *(
            func.lower(func.coalesce(column, "")).like(pattern, escape="\\")
            for column in columns
        )
    )


def text_condition(query: str, *, dialect: str) -> ColumnElement[bool]:
    """Incidents whose text matches every term of `query` and none it excludes."""
    parts = [
        not_(_contains(term)) if term.negated else _contains(term)
        for term in parse_query(query)
    ]
    return and_(*parts)
