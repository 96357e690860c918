"""`GET /api/v1/analytics` and its export on each database: every figure, exactly."""

from __future__ import annotations

import csv
import io
import random
import statistics
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from devflowfix.analytics.service import analytics_period
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.models import User
from factories import auth_headers, make_incident, make_user

ANALYTICS = "/api/v1/analytics"
TODAY = datetime.now(UTC).date()


def noon(days_ago: int) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(12), UTC)


def stamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def add(
    database: Database,
    user: User,
    days_ago: int,
    *,
    resolved_after: int | None = None,
    **overrides: Any,
) -> None:
    """An incident created at noon `days_ago` days back, failing an hour earlier."""
    created_at = noon(days_ago)
    failed_at = created_at - timedelta(hours=1)
    resolved_at = (
        None
        if resolved_after is None
        else failed_at + timedelta(seconds=resolved_after)
    )
    make_incident(
        database,
        user,
        created_at=created_at,
        timestamp=stamp(failed_at),
        resolved_at=None if resolved_at is None else stamp(resolved_at),
        **overrides,
    )


@pytest.fixture
def member(database: Database) -> User:
    return make_user(database)


@pytest.fixture
def headers(member: User, settings: Settings) -> dict[str, str]:
    return auth_headers(member, settings)


@pytest.fixture
def history(database: Database, member: User) -> None:
    """Five incidents in the last seven days, one before, one of another team."""
    add(
        database,
        member,
        0,
        source="github_actions",
        severity="critical",
        outcome="success",
        failure_type="timeout",
        repository="acme/api",
        resolved_after=600,
    )
    add(
        database,
        member,
        0,
        source="jenkins",
        severity="high",
        outcome="failed",
        failure_type="build_failure",
        repository="acme/api",
    )
    add(
        database,
        member,
        1,
        source="github_actions",
        severity="low",
        outcome="pending",
        failure_type="build_failure",
        repository="acme/web",
    )
    add(
        database,
        member,
        3,
        source="gitlab_ci",
        severity="medium",
        outcome="success",
        failure_type="timeout",
        repository="acme/api",
        resolved_after=1800,
    )
    add(
        database,
        member,
        3,
        source="github_actions",
        severity="high",
        outcome="success",
        failure_type="test_failure",
        repository=None,
        resolved_after=3600,
    )
    add(
        database,
        member,
        10,
        source="github_actions",
        severity="high",
        outcome="failed",
        failure_type="build_failure",
        repository="acme/api",
        resolved_after=7200,
    )
    outsider = make_user(database, team="other")
    add(
        database,
        outsider,
        0,
        severity="critical",
        outcome="success",
        repository="other/secret",
        resolved_after=60,
    )


def zeros(names: list[str]) -> dict[str, int]:
    return dict.fromkeys(names, 0)


SOURCES = [
    "github_actions",
    "gitlab_ci",
    "jenkins",
    "circleci",
    "azure_pipelines",
    "argocd",
    "kubernetes",
    "manual",
]
OUTCOMES = [
    "pending",
    "success",
    "failed",
    "escalated",
    "rolled_back",
    "timeout",
    "cancelled",
]


@pytest.mark.usefixtures("history")
def test_figures_of_the_last_days_are_exact(
    client: TestClient, headers: dict[str, str]
) -> None:
    response = client.get(f"{ANALYTICS}?days=7", headers=headers)

    assert response.status_code == 200
    body = response.json()
    start = TODAY - timedelta(days=6)
    assert body["days"] == 7
    assert body["team"] == "acme"
    assert body["period"] == {
        "start": f"{start.isoformat()}T00:00:00Z",
        "end": f"{(TODAY + timedelta(days=1)).isoformat()}T00:00:00Z",
        "days": 7,
    }
    assert body["totals"] == {
        "incidents": 5,
        "resolved": 3,
        "unresolved": 2,
        "decided": 4,
        "succeeded": 3,
        "success_rate": 75.0,
    }
    assert body["resolution_time_seconds"] == {
        "mean": 2000.0,
        "median": 1800.0,
        "p90": 3240.0,
    }
    assert body["by_source"] == {
        **zeros(SOURCES),
        "github_actions": 3,
        "jenkins": 1,
        "gitlab_ci": 1,
    }
    assert list(body["by_source"]) == SOURCES
    assert body["by_severity"] == {"low": 1, "medium": 1, "high": 2, "critical": 1}
    assert body["by_outcome"] == {
        **zeros(OUTCOMES),
        "success": 3,
        "failed": 1,
        "pending": 1,
    }
    assert {k: v for k, v in body["by_failure_type"].items() if v} == {
        "timeout": 2,
        "build_failure": 2,
        "test_failure": 1,
    }
    assert len(body["by_failure_type"]) == 18
    assert body["top_repositories"] == [
        {"name": "acme/api", "incidents": 3},
        {"name": "acme/web", "incidents": 1},
    ]
    assert body["top_failure_types"] == [
        {"name": "build_failure", "incidents": 2},
        {"name": "timeout", "incidents": 2},
        {"name": "test_failure", "incidents": 1},
    ]


@pytest.mark.usefixtures("history")
def test_daily_series_covers_every_day_with_zeros(
    client: TestClient, headers: dict[str, str]
) -> None:
    daily = client.get(f"{ANALYTICS}?days=7", headers=headers).json()["daily"]

    expected = []
    for offset in range(6, -1, -1):
        incidents = {0: 2, 1: 1, 3: 2}.get(offset, 0)
        resolved = {0: 1, 3: 2}.get(offset, 0)
        day = (TODAY - timedelta(days=offset)).isoformat()
        expected.append({"date": day, "incidents": incidents, "resolved": resolved})
    assert daily == expected


@pytest.mark.usefixtures("history")
def test_change_compares_with_the_previous_period_of_the_same_length(
    client: TestClient, headers: dict[str, str]
) -> None:
    body = client.get(f"{ANALYTICS}?days=7", headers=headers).json()

    previous_start = TODAY - timedelta(days=13)
    assert body["previous"]["period"] == {
        "start": f"{previous_start.isoformat()}T00:00:00Z",
        "end": f"{(TODAY - timedelta(days=6)).isoformat()}T00:00:00Z",
        "days": 7,
    }
    assert body["previous"]["totals"] == {
        "incidents": 1,
        "resolved": 1,
        "unresolved": 0,
        "decided": 1,
        "succeeded": 0,
        "success_rate": 0.0,
    }
    assert body["change"] == {
        "incidents": {"current": 5, "previous": 1, "difference": 4, "percent": 400.0},
        "resolved": {"current": 3, "previous": 1, "difference": 2, "percent": 200.0},
        "unresolved": {"current": 2, "previous": 0, "difference": 2, "percent": None},
        "success_rate": {
            "current": 75.0,
            "previous": 0.0,
            "difference": 75.0,
            "percent": None,
        },
        "resolution_mean_seconds": {
            "current": 2000.0,
            "previous": 7200.0,
            "difference": -5200.0,
            "percent": -72.2,
        },
        "resolution_median_seconds": {
            "current": 1800.0,
            "previous": 7200.0,
            "difference": -5400.0,
            "percent": -75.0,
        },
        "resolution_p90_seconds": {
            "current": 3240.0,
            "previous": 7200.0,
            "difference": -3960.0,
            "percent": -55.0,
        },
    }


@pytest.mark.usefixtures("history")
def test_another_team_sees_only_its_own_figures(
    client: TestClient, database: Database, settings: Settings
) -> None:
    outsider = make_user(database, team="other")

    body = client.get(
        f"{ANALYTICS}?days=7", headers=auth_headers(outsider, settings)
    ).json()

    assert body["team"] == "other"
    assert body["totals"]["incidents"] == 1
    assert body["top_repositories"] == [{"name": "other/secret", "incidents": 1}]


def test_percentiles_match_percentile_cont_on_many_values(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    generator = random.Random(5)
    seconds = [generator.randint(30, 90_000) for _ in range(23)]
    for value in seconds:
        add(database, member, 2, resolved_after=value)

    times = client.get(f"{ANALYTICS}?days=3", headers=headers).json()[
        "resolution_time_seconds"
    ]

    cuts = statistics.quantiles(seconds, n=10, method="inclusive")
    assert times == {
        "mean": round(statistics.fmean(seconds), 1),
        "median": round(statistics.median(seconds), 1),
        "p90": round(cuts[8], 1),
    }


def test_a_team_without_incidents_gets_zeros_and_no_rates(
    client: TestClient, headers: dict[str, str]
) -> None:
    body = client.get(ANALYTICS, headers=headers).json()

    assert body["days"] == 30
    assert body["totals"] == {
        "incidents": 0,
        "resolved": 0,
        "unresolved": 0,
        "decided": 0,
        "succeeded": 0,
        "success_rate": None,
    }
    assert body["resolution_time_seconds"] == {
        "mean": None,
        "median": None,
        "p90": None,
    }
    assert len(body["daily"]) == 30
    assert {day["incidents"] for day in body["daily"]} == {0}
    assert body["top_repositories"] == []
    assert body["change"]["incidents"] == {
        "current": 0,
        "previous": 0,
        "difference": 0,
        "percent": None,
    }


def read_csv(text: str) -> list[tuple[str, ...]]:
    return [tuple(row) for row in csv.reader(io.StringIO(text, newline=""))]


@pytest.mark.usefixtures("history")
def test_csv_export_is_one_tidy_table_of_every_figure(
    client: TestClient, headers: dict[str, str]
) -> None:
    response = client.get(f"{ANALYTICS}/export?format=csv&days=7", headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    name = f"analytics-7-days-{datetime.now(UTC).date().isoformat()}.csv"
    assert response.headers["content-disposition"] == (
        f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
    )
    rows = read_csv(response.text)
    assert rows[0] == ("section", "metric", "period", "dimension", "value")
    assert len(rows) == 1 + 94
    start = (TODAY - timedelta(days=6)).isoformat()
    for expected in [
        ("period", "start", "current", "", f"{start}T00:00:00Z"),
        ("period", "days", "previous", "", "7"),
        ("totals", "incidents", "current", "", "5"),
        ("totals", "success_rate", "current", "", "75.0"),
        ("totals", "success_rate", "previous", "", "0.0"),
        ("resolution_time_seconds", "p90", "current", "", "3240.0"),
        ("change", "incidents", "current", "difference", "4"),
        ("change", "incidents", "current", "percent", "400.0"),
        ("change", "unresolved", "current", "percent", ""),
        ("by_source", "incidents", "current", "gitlab_ci", "1"),
        ("by_severity", "incidents", "current", "critical", "1"),
        ("by_outcome", "incidents", "current", "rolled_back", "0"),
        ("by_failure_type", "incidents", "current", "timeout", "2"),
        ("daily", "incidents", "current", TODAY.isoformat(), "2"),
        ("daily", "resolved", "current", start, "0"),
        ("top_repositories", "incidents", "current", "acme/api", "3"),
        ("top_failure_types", "incidents", "current", "test_failure", "1"),
    ]:
        assert expected in rows
    assert [row[0] for row in rows[1:]] == sorted(
        (row[0] for row in rows[1:]), key=SECTION_ORDER.index
    )


SECTION_ORDER = [
    "period",
    "totals",
    "resolution_time_seconds",
    "change",
    "by_source",
    "by_severity",
    "by_outcome",
    "by_failure_type",
    "daily",
    "top_repositories",
    "top_failure_types",
]


def pdf_pages(data: bytes) -> list[str]:
    pages = PdfReader(io.BytesIO(data)).pages
    return [" ".join(page.extract_text().split()) for page in pages]


@pytest.mark.usefixtures("history")
def test_pdf_export_shows_figures_change_and_a_chart_per_breakdown(
    client: TestClient, headers: dict[str, str]
) -> None:
    response = client.get(f"{ANALYTICS}/export?format=pdf&days=7", headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    pages = pdf_pages(response.content)
    text = " ".join(pages)
    start = (TODAY - timedelta(days=6)).isoformat()
    assert "Analytics report" in pages[0]
    assert f"Team acme · the last 7 days, {start} to {TODAY.isoformat()} (UTC)" in text
    assert "5 incidents 3 resolved 2 unresolved 75.0 % success rate" in text
    assert "33 min mean resolution 30 min median resolution 54 min p90" in text
    assert "Against the previous 7 days" in text
    assert "Incidents 5 1 +4 +400.0 %" in text
    assert "Mean resolution time 33 min 2 h -1 h 26 min -72.2 %" in text
    for title in (
        "Incidents and resolutions per day (UTC)",
        "Incidents by severity",
        "Incidents by outcome",
        "Incidents by source",
        "Incidents by failure type",
        "Top repositories",
        "Top failure types",
    ):
        assert title in text
    assert "acme/api 3" in text
    assert "other/secret" not in text
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page


def test_pdf_export_without_incidents_says_there_is_nothing_to_show(
    client: TestClient, headers: dict[str, str]
) -> None:
    response = client.get(f"{ANALYTICS}/export?format=pdf", headers=headers)

    pages = pdf_pages(response.content)
    assert len(pages) == 1
    assert "Nothing to show: the team has no incidents in this period." in pages[0]
    assert "0 incidents 0 resolved 0 unresolved" in pages[0]


@pytest.mark.parametrize(
    ("path", "loc"),
    [
        (f"{ANALYTICS}?days=0", ["query", "days"]),
        (f"{ANALYTICS}?days=366", ["query", "days"]),
        (f"{ANALYTICS}?days=week", ["query", "days"]),
        (f"{ANALYTICS}/export?format=csv&days=0", ["query", "days"]),
        (f"{ANALYTICS}/export?format=pdf&days=366", ["query", "days"]),
        (f"{ANALYTICS}/export?format=xml", ["query", "format"]),
        (f"{ANALYTICS}/export?days=30", ["query", "format"]),
    ],
)
def test_bad_parameters_are_a_422_envelope(
    client: TestClient, headers: dict[str, str], path: str, loc: list[str]
) -> None:
    response = client.get(path, headers=headers)

    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"
    assert response.json()["errors"][0]["loc"] == loc


def test_analytics_need_a_token(client: TestClient) -> None:
    assert client.get(ANALYTICS).status_code == 401
    assert client.get(f"{ANALYTICS}/export?format=csv").status_code == 401


def test_period_is_whole_utc_days_ending_today() -> None:
    period = analytics_period(3, datetime(2026, 12, 3, 23, 59, tzinfo=UTC))

    assert (period.start, period.end) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2026, 12, 4, tzinfo=UTC),
    )
