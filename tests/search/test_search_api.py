"""POST and GET /api/v1/incidents/search on each database: shape, rules, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from conftest import make_settings
from devflowfix.app import create_app
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.incidents.schemas import IncidentRead
from devflowfix.models import Incident, User
from devflowfix.search.dates import DatePreset, resolve_preset
from devflowfix.vocabulary import Role
from factories import auth_headers, make_incident, make_user

SEARCH = "/api/v1/incidents/search"
PAGINATION_FIELDS = {
    "current_page", "page_size", "total_items", "total_pages", "has_previous",
    "has_next", "previous_url", "next_url", "first_url", "last_url",
    "next_cursor", "previous_cursor", "total_items_relation",
}  # fmt: skip


@pytest.fixture
def member(database: Database) -> User:
    return make_user(database, role=Role.MEMBER)


@pytest.fixture
def headers(member: User, settings: Settings) -> dict[str, str]:
    return auth_headers(member, settings)


def search(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    response = client.post(SEARCH, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def messages(body: dict[str, Any]) -> list[str]:
    return [incident["error_message"] for incident in body["incidents"]]


def set_created_at(database: Database, incident_id: int, when: datetime) -> None:
    with database.transaction() as session:
        session.execute(
            update(Incident)
            .where(Incident.id == incident_id)
            .values(created_at=when, updated_at=when)
        )


def test_answer_has_the_shape_of_the_spec(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    for number in range(3):
        make_incident(
            database,
            member,
            error_message=f"Timeout error in CI pipeline {number}",
            severity="critical" if number else "low",
            confidence=0.85,
        )

    body = search(
        client,
        headers,
        search_query="timeout error",
        severities=["high", "critical"],
        min_confidence=0.7,
        date_preset="last_7_days",
        page=1,
        page_size=1,
    )

    assert set(body) == {"success", "incidents", "pagination", "summary"}
    assert body["success"] is True
    assert messages(body) == ["Timeout error in CI pipeline 2"]
    assert set(body["incidents"][0]) == set(IncidentRead.model_fields)
    pagination = body["pagination"]
    assert set(pagination) == PAGINATION_FIELDS
    query = (
        "&search_query=timeout+error&severities=high&severities=critical"
        "&min_confidence=0.7&date_preset=last_7_days&sort_by=created_at&sort_order=desc"
    )
    assert {key: value for key, value in pagination.items() if "cursor" not in key} == {
        "current_page": 1,
        "page_size": 1,
        "total_items": 2,
        "total_pages": 2,
        "has_previous": False,
        "has_next": True,
        "previous_url": None,
        "next_url": f"http://testserver{SEARCH}?page=2&page_size=1{query}",
        "first_url": f"http://testserver{SEARCH}?page=1&page_size=1{query}",
        "last_url": f"http://testserver{SEARCH}?page=2&page_size=1{query}",
        "total_items_relation": "eq",
    }
    assert pagination["previous_cursor"] is None
    assert isinstance(pagination["next_cursor"], str)
    window = resolve_preset(DatePreset.LAST_7_DAYS, now=datetime.now(UTC))
    assert body["summary"]["total_results"] == 2
    assert body["summary"]["filters_applied"] == {
        "search_query": "timeout error",
        "severities": ["high", "critical"],
        "min_confidence": 0.7,
        "date_preset": "last_7_days",
    }
    assert isinstance(body["summary"]["search_duration_ms"], int)
    assert body["summary"]["date_range"] == {
        "start_date": window.start.isoformat().replace("+00:00", "Z"),
        "end_date": (window.end - timedelta(seconds=1))
        .isoformat()
        .replace("+00:00", "Z"),
        "preset": "last_7_days",
    }


def test_date_range_shows_custom_dates_and_nulls(
    client: TestClient, headers: dict[str, str]
) -> None:
    custom = search(
        client,
        headers,
        start_date="2025-01-01T00:00:00Z",
        end_date="2025-12-28T23:59:59+01:00",
    )
    open_range = search(client, headers)

    assert custom["summary"]["date_range"] == {
        "start_date": "2025-01-01T00:00:00Z",
        "end_date": "2025-12-28T22:59:59Z",
        "preset": None,
    }
    assert open_range["summary"]["date_range"] == {
        "start_date": None,
        "end_date": None,
        "preset": None,
    }
    assert open_range["summary"]["filters_applied"] == {}


def test_search_sees_only_the_callers_team(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    make_incident(database, member, error_message="ours timeout")
    stranger = make_user(database, team="other")
    make_incident(database, stranger, error_message="theirs timeout")

    body = search(client, headers, search_query="timeout", include_facets=True)

    assert messages(body) == ["ours timeout"]
    assert body["summary"]["facets"]["counted"] == 1


def test_viewer_may_search_and_a_missing_token_is_401(
    client: TestClient, database: Database, settings: Settings
) -> None:
    viewer = auth_headers(make_user(database, role=Role.VIEWER), settings)

    assert client.post(SEARCH, json={}, headers=viewer).status_code == 200
    response = client.post(SEARCH, json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_severity_sorts_in_its_own_order(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    for severity in ("high", "low", "critical", "medium"):
        make_incident(database, member, error_message=severity, severity=severity)

    ascending = search(client, headers, sort_by="severity", sort_order="asc")
    descending = search(client, headers, sort_by="severity", sort_order="desc")

    assert messages(ascending) == ["low", "medium", "high", "critical"]
    assert messages(descending) == ["critical", "high", "medium", "low"]


def test_missing_values_sort_as_the_smallest(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    for name, confidence in (("a", 0.5), ("b", None), ("c", 0.9), ("d", None)):
        make_incident(database, member, error_message=name, confidence=confidence)

    ascending = search(client, headers, sort_by="confidence", sort_order="asc")
    descending = search(client, headers, sort_by="confidence", sort_order="desc")

    assert messages(ascending) == ["b", "d", "a", "c"]
    assert messages(descending) == ["c", "a", "d", "b"]


def test_every_filter_field_selects_its_incidents(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    make_incident(
        database,
        member,
        error_message="one",
        source="jenkins",
        severity="low",
        outcome="success",
        failure_type="timeout",
        tags=["backend", "api"],
        repository="acme/api",
        confidence=0.2,
    )
    two = make_incident(database, member, error_message="two", tags=["backend"])
    set_created_at(database, two.id, datetime(2025, 6, 1, 12, tzinfo=UTC))

    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"sources": ["jenkins", "circleci"]}, ["one"]),
        ({"severities": ["high"]}, ["two"]),
        ({"outcomes": ["success"]}, ["one"]),
        ({"failure_types": ["timeout"]}, ["one"]),
        ({"tags": ["backend"]}, ["one", "two"]),
        ({"tags": ["backend", "api"]}, ["one"]),
        ({"repository": "acme/api"}, ["one"]),
        ({"min_confidence": 0.5}, ["two"]),
        ({"max_confidence": 0.5}, ["one"]),
        ({"min_confidence": 0.2, "max_confidence": 0.2}, ["one"]),
        ({"start_date": "2025-06-01T00:00:00Z", "end_date": "2025-06-02"}, ["two"]),
        ({"end_date": "2025-06-01T11:59:59Z"}, []),
        ({"date_preset": "today"}, ["one"]),
        ({"search_query": "one"}, ["one"]),
    ]
    for body, expected in cases:
        assert messages(search(client, headers, **body)) == expected, body


@pytest.mark.parametrize("preset", list(DatePreset))
def test_every_date_preset_selects_its_days(
    client: TestClient,
    database: Database,
    member: User,
    headers: dict[str, str],
    preset: DatePreset,
) -> None:
    window = resolve_preset(preset, now=datetime.now(UTC))
    inside = make_incident(database, member, error_message="inside")
    before = make_incident(database, member, error_message="before")
    set_created_at(database, inside.id, window.start)
    set_created_at(database, before.id, window.start - timedelta(microseconds=1))

    body = search(client, headers, date_preset=preset.value)

    assert messages(body) == ["inside"]
    assert body["summary"]["date_range"]["preset"] == preset.value


def test_page_urls_work_when_followed(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    for number in range(7):
        make_incident(database, member, error_message=f"build {number}", tags=["ci"])
    make_incident(database, member, error_message="build untagged", tags=[])

    first = search(client, headers, search_query="build", tags=["ci"], page_size=3)
    seen = messages(first)
    url = first["pagination"]["next_url"]
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        seen += messages(response.json())
        url = response.json()["pagination"]["next_url"]
    last = client.get(first["pagination"]["last_url"], headers=headers).json()

    assert seen == [f"build {number}" for number in reversed(range(7))]
    assert last["pagination"]["current_page"] == 3
    assert messages(last) == ["build 0"]
    assert dict(parse_qsl(urlsplit(first["pagination"]["first_url"]).query)) == {
        "page": "1",
        "page_size": "3",
        "search_query": "build",
        "tags": "ci",
        "sort_by": "created_at",
        "sort_order": "desc",
    }


def test_get_takes_lists_as_repeated_parameters(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    for severity in ("low", "high", "critical"):
        make_incident(database, member, error_message=severity, severity=severity)

    response = client.get(
        SEARCH,
        params=[
            ("severities", "low"),
            ("severities", "critical"),
            ("sort_by", "severity"),
        ],
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert messages(response.json()) == ["critical", "low"]


def test_cursors_page_forward_and_back(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    for number in range(5):
        make_incident(database, member, error_message=f"m{number}", confidence=0.5)

    pages = [search(client, headers, sort_by="confidence", page_size=2)]
    while pages[-1]["pagination"]["next_cursor"]:
        pages.append(
            search(client, headers, cursor=pages[-1]["pagination"]["next_cursor"])
        )
    back = [pages[-1]]
    while back[-1]["pagination"]["previous_cursor"]:
        back.append(
            search(client, headers, cursor=back[-1]["pagination"]["previous_cursor"])
        )

    assert [messages(page) for page in pages] == [["m4", "m3"], ["m2", "m1"], ["m0"]]
    assert [page["pagination"]["current_page"] for page in pages] == [1, 2, 3]
    assert [messages(page) for page in reversed(back)] == [
        messages(page) for page in pages
    ]
    assert pages[1]["pagination"]["has_previous"] is True
    assert pages[1]["pagination"]["previous_url"].startswith(
        f"http://testserver{SEARCH}?page=1&"
    )


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_cursor_continues_exactly_while_incidents_arrive(
    client: TestClient,
    database: Database,
    member: User,
    headers: dict[str, str],
    order: str,
) -> None:
    for number in range(6):
        make_incident(database, member, error_message=f"old {number}")
    expected = messages(search(client, headers, sort_order=order, page_size=6))

    first = search(client, headers, sort_order=order, page_size=3)
    for number in range(4):
        make_incident(database, member, error_message=f"new {number}")
    second = search(client, headers, cursor=first["pagination"]["next_cursor"])

    assert messages(first) + messages(second) == expected
    assert second["pagination"]["current_page"] == 2


def test_relevance_ranks_better_matches_first(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    make_incident(
        database, member, error_message="build", error_log="oom killed by kernel"
    )
    make_incident(
        database, member, error_message="oom oom oom killed", error_log="oom again"
    )
    make_incident(database, member, error_message="unrelated", error_log=None)

    body = search(client, headers, search_query="oom killed", sort_by="relevance")

    assert messages(body) == ["oom oom oom killed", "build"]


def test_facets_count_every_match(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    make_incident(database, member, error_message="x", source="jenkins", severity="low")
    make_incident(database, member, error_message="x", outcome="failed")
    make_incident(database, member, error_message="y")

    body = search(client, headers, search_query="x", include_facets=True, page_size=1)

    facets = body["summary"]["facets"]
    assert {key: value for key, value in facets["sources"].items() if value} == {
        "jenkins": 1,
        "github_actions": 1,
    }
    assert facets["severities"] == {"low": 1, "medium": 0, "high": 1, "critical": 0}
    assert facets["outcomes"]["failed"] == 1
    assert facets["outcomes"]["pending"] == 1
    assert facets["failure_types"]["dependency_error"] == 2
    assert sum(facets["failure_types"].values()) == 2
    assert (facets["counted"], facets["relation"]) == (2, "eq")
    assert "facets" not in search(client, headers)["summary"]


def test_highlights_mark_matched_words_escaped(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    make_incident(
        database,
        member,
        error_message="<script>alert(1)</script> npm ERR! code ERESOLVE",
        root_cause="Peer dependency conflict",
        error_log="line\n" * 100 + "npm ERR! code ERESOLVE\n" + "tail\n" * 100,
        tags=["npm"],
    )

    body = search(client, headers, search_query='"npm err" eresolve', highlight=True)

    assert body["incidents"][0]["highlights"] == {
        "error_message": [
            "&lt;script&gt;alert(1)&lt;/script&gt; <mark>npm ERR</mark>! code "
            "<mark>ERESOLVE</mark>"
        ],
        # 60 characters around the match on each side.
        "error_log": [
            "…"
            + "line\n" * 12
            + "<mark>npm ERR</mark>! code <mark>ERESOLVE</mark>"
            + "\ntail" * 12
            + "…"
        ],
    }
    assert (
        "highlights" not in search(client, headers, search_query="npm")["incidents"][0]
    )


def test_count_limit_counts_to_it_and_says_so(
    database: Database, member: User, tmp_path: Path
) -> None:
    settings = make_settings(
        str(database.engine.url.render_as_string(hide_password=False)),
        tmp_path,
        search_count_limit=10,
    )
    headers = auth_headers(member, settings)
    for number in range(12):
        make_incident(database, member, error_message=f"flaky {number:02}")

    with TestClient(create_app(settings, database=database)) as client:
        first = search(client, headers, page_size=5, include_facets=True)
        third = search(client, headers, page=3, page_size=5)

    assert first["pagination"]["total_items"] == 10
    assert first["pagination"]["total_items_relation"] == "gte"
    assert first["pagination"]["total_pages"] == 2
    assert first["pagination"]["last_url"].startswith(
        f"http://testserver{SEARCH}?page=2&"
    )
    assert first["summary"]["total_results"] == 10
    assert first["summary"]["facets"]["counted"] == 10
    assert first["summary"]["facets"]["relation"] == "gte"
    assert messages(third) == ["flaky 01", "flaky 00"]
    assert third["pagination"]["has_next"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"min_confidence": 0.9, "max_confidence": 0.1}, "body"),
        ({"min_confidence": 1.5}, "min_confidence"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 101}, "page_size"),
        ({"page": 0}, "page"),
        ({"sort_by": "name"}, "sort_by"),
        ({"sort_order": "up"}, "sort_order"),
        ({"sort_by": "relevance"}, "body"),
        ({"sort_by": "relevance", "search_query": "   "}, "body"),
        ({"date_preset": "last_year"}, "date_preset"),
        ({"date_preset": "today", "end_date": "2025-01-01T00:00:00Z"}, "body"),
        ({"severities": ["urgent"]}, "severities"),
        ({"colour": "red"}, "colour"),
        ({"cursor": "abc", "page": 2}, "body"),
        ({"cursor": "abc", "severities": ["high"]}, "body"),
        ({"search_query": "-only -exclusions"}, "search_query"),
        ({"search_query": "x" * 10_001}, "search_query"),
    ],
)
def test_invalid_searches_are_422(
    client: TestClient, headers: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = client.post(SEARCH, json=body, headers=headers)

    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation_error"
    assert field in response.json()["errors"][0]["loc"]


def test_changed_or_foreign_cursors_are_422(
    client: TestClient,
    database: Database,
    member: User,
    headers: dict[str, str],
    tmp_path: Path,
) -> None:
    for number in range(3):
        make_incident(database, member, error_message=f"m{number}")
    cursor = search(client, headers, page_size=1)["pagination"]["next_cursor"]
    body, tag = cursor.split(".")
    changed = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + tag
    other = make_settings(
        str(database.engine.url.render_as_string(hide_password=False)),
        tmp_path,
        secret_key="another-secret-" + "z" * 40,
    )
    with TestClient(create_app(other, database=database)) as foreign:
        foreign_answer = foreign.post(
            SEARCH, json={"cursor": cursor}, headers=auth_headers(member, other)
        )

    for token in (changed, "garbage", cursor + "x", "a.b.c", "=="):
        response = client.post(SEARCH, json={"cursor": token}, headers=headers)
        assert response.status_code == 422, token
        assert response.json()["errors"][0]["loc"] == ["cursor"]
    assert foreign_answer.status_code == 422


HOSTILE_QUERIES = [
    '"', '""', '"unbalanced', "a/b/c", "/", "a:b", "::", "(foo)", ")(", "*", "**",
    "-", "--", "-*", "' OR 1=1 --", '"; DROP TABLE incidents; --', "%", "_", "\\",
    "NEAR(a b)", "AND OR NOT", "^foo", "{error_message}: x", "🔥🚀", "a\x00b",
    "\x00", "tab\there", "שלום עולם", "zero\u200bwidth", "col:umn*", "x" * 10_000,
    "ab " * 3_333, '"' + "word " * 70 + '"', "-\"a b\" -c", "a-b-c", "$1", "?", "@@",
]  # fmt: skip


def test_any_query_text_is_200_or_422_and_changes_nothing(
    client: TestClient, database: Database, member: User, headers: dict[str, str]
) -> None:
    make_incident(database, member, error_message="a b c incidents x")

    statuses = {}
    for query in HOSTILE_QUERIES:
        response = client.post(SEARCH, json={"search_query": query}, headers=headers)
        statuses[query] = response.status_code
        if response.status_code == 422:
            assert response.json()["errors"][0]["loc"][-1] == "search_query"

    assert set(statuses.values()) <= {200, 422}, statuses
    assert statuses["a/b/c"] == 200
    assert statuses["🔥🚀"] == 422
    with database.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 1


@pytest.mark.parametrize(
    "sort_by",
    ["created_at", "updated_at", "severity", "confidence", "resolution_time_seconds"],
)
@pytest.mark.parametrize("sort_order", ["asc", "desc"])
def test_cursor_pages_equal_numbered_pages_in_every_order(
    client: TestClient,
    database: Database,
    member: User,
    headers: dict[str, str],
    sort_by: str,
    sort_order: str,
) -> None:
    for number, severity in enumerate(["low", "high", "high", "critical", "low"]):
        make_incident(
            database,
            member,
            error_message=f"m{number}",
            severity=severity,
            confidence=None if number % 2 else 0.5,
            resolved_at="2026-11-28T11:00:00Z" if number < 2 else None,
        )
    order = {"sort_by": sort_by, "sort_order": sort_order, "page_size": 2}

    numbered = [
        messages(search(client, headers, **order, page=page)) for page in (1, 2, 3)
    ]
    followed = [search(client, headers, **order)]
    while followed[-1]["pagination"]["next_cursor"]:
        followed.append(
            search(client, headers, cursor=followed[-1]["pagination"]["next_cursor"])
        )

    assert [messages(page) for page in followed] == numbered
