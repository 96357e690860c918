"""The shared incident filters: validation, date presets and each condition."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from devflowfix.db import Database
from devflowfix.incidents import service as incidents
from devflowfix.incidents.schemas import IncidentCreate
from devflowfix.models import Incident
from devflowfix.search.dates import DatePreset, resolve_preset
from devflowfix.search.repository import filter_conditions
from devflowfix.search.schemas import IncidentFilters
from factories import incident_payload, make_user

NOW = datetime(2025, 12, 28, 15, 0, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        (DatePreset.TODAY, utc(2025, 12, 28), utc(2025, 12, 29)),
        (DatePreset.YESTERDAY, utc(2025, 12, 27), utc(2025, 12, 28)),
        (DatePreset.THIS_WEEK, utc(2025, 12, 22), utc(2025, 12, 29)),
        (DatePreset.LAST_WEEK, utc(2025, 12, 15), utc(2025, 12, 22)),
        (DatePreset.THIS_MONTH, utc(2025, 12, 1), utc(2026, 1, 1)),
        (DatePreset.LAST_MONTH, utc(2025, 11, 1), utc(2025, 12, 1)),
        (DatePreset.LAST_7_DAYS, utc(2025, 12, 21), utc(2025, 12, 29)),
        (DatePreset.LAST_30_DAYS, utc(2025, 11, 28), utc(2025, 12, 29)),
        (DatePreset.LAST_90_DAYS, utc(2025, 9, 29), utc(2025, 12, 29)),
    ],
)
def test_presets_resolve_to_utc_days(
    preset: DatePreset, start: datetime, end: datetime
) -> None:
    window = resolve_preset(preset, now=NOW)

    assert (window.start, window.end) == (start, end)


def test_last_month_in_january_is_december() -> None:
    window = resolve_preset(DatePreset.LAST_MONTH, now=utc(2026, 1, 15))

    assert (window.start, window.end) == (utc(2025, 12, 1), utc(2026, 1, 1))


def test_timezone_shifts_the_days() -> None:
    window = resolve_preset(DatePreset.TODAY, now=NOW, timezone="America/New_York")

    assert (window.start, window.end) == (utc(2025, 12, 28, 5), utc(2025, 12, 29, 5))


@pytest.mark.parametrize(
    "values",
    [
        {"min_confidence": 0.9, "max_confidence": 0.1},
        {"date_preset": "today", "start_date": "2025-01-01T00:00:00Z"},
        {"start_date": "2025-02-01T00:00:00Z", "end_date": "2025-01-01T00:00:00Z"},
        {"date_preset": "last_year"},
        {"severities": ["urgent"]},
        {"timezone": "Mars/Olympus"},
        {"min_confidence": 2},
        {"colour": "red"},
    ],
)
def test_invalid_filters_are_rejected(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        IncidentFilters.model_validate(values)


def test_applied_lists_only_what_was_set() -> None:
    filters = IncidentFilters.model_validate(
        {"severities": ["high"], "search_query": "timeout", "tags": None}
    )

    assert filters.applied() == {"severities": ["high"], "search_query": "timeout"}


def _matching(database: Database, team_id: int, **values: object) -> set[str]:
    filters = IncidentFilters.model_validate(values)
    with database.transaction(write=False) as session:
        conditions = filter_conditions(
            filters, team_id, now=datetime.now(UTC), dialect=database.dialect
        )
        return set(session.scalars(select(Incident.error_message).where(*conditions)))


def test_each_filter_selects_its_incidents(database: Database) -> None:
    user = make_user(database)
    other = make_user(database, team="other")
    rows = [
        incident_payload(error_message="a", severity="low", tags=["x"], confidence=0.2),
        incident_payload(
            error_message="b",
            severity="critical",
            source="jenkins",
            tags=["x", "y"],
            confidence=0.9,
            repository="acme/api",
            error_log="ModuleNotFoundError: No module named 'yaml'",
        ),
        incident_payload(
            error_message="c",
            outcome="success",
            failure_type="timeout",
            confidence=None,
        ),
    ]
    with database.transaction() as session:
        for row in rows:
            incidents.create_incident(
                session, user, IncidentCreate.model_validate(row), max_log_bytes=65536
            )

        incidents.create_incident(
            session,
            other,
            IncidentCreate.model_validate(incident_payload(error_message="z")),
            max_log_bytes=65536,
        )

    team = user.team_id
    assert _matching(database, team) == {"a", "b", "c"}
    assert _matching(database, team, severities=["critical", "low"]) == {"a", "b"}
    assert _matching(database, team, sources=["jenkins"]) == {"b"}
    assert _matching(database, team, outcomes=["success"]) == {"c"}
    assert _matching(database, team, failure_types=["timeout"]) == {"c"}
    assert _matching(database, team, tags=["x"]) == {"a", "b"}
    assert _matching(database, team, tags=["x", "y"]) == {"b"}
    assert _matching(database, team, repository="acme/api") == {"b"}
    assert _matching(database, team, min_confidence=0.5) == {"b"}
    assert _matching(database, team, max_confidence=0.5) == {"a"}
    assert _matching(database, team, search_query="ModuleNotFoundError") == {"b"}
    assert _matching(database, team, search_query="ModuleNotFoundError -yaml") == set()
    assert _matching(database, team, search_query='"no module named"') == {"b"}
    assert _matching(database, team, search_query="module* -ERESOLVE") == {"b"}
    assert _matching(database, team, date_preset="today") == {"a", "b", "c"}
    assert _matching(database, team, date_preset="yesterday") == set()
